import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliOf, outcome } from '../support/cli.ts';
import type { GitServer } from '../support/git-server.ts';
import { appKeyPair, startGitHosts, type GitHosts } from '../support/git-hosts.ts';
import type { GitHubStandin } from '../support/github-standin.ts';
import type { GitLabStandin } from '../support/gitlab-standin.ts';
import { waitFor } from '../support/promotions.ts';
import { makeLine, type TestStack } from '../support/stack.ts';

/**
 * A CI run as a gate: a promotion into an environment with a CI gate starts the tenant's GitHub Actions workflow
 * (workflow_dispatch, through the App's installation token, inputs naming the release) once it is approved and about
 * to execute, waits SCHEDULED while the run runs, and goes on only when it succeeded; a failed run rejects it, and the
 * run's page and conclusion are the `ci_run` gate of its decision record. The GitHub stand-in holds every request and
 * answer to GitHub's published REST description.
 */
const APP_ID = '515151';
const INSTALLATION = 8101;
const { privateKey: APP_KEY, publicKey: APP_PUBLIC_KEY } = appKeyPair();

let t: TestStack;
let g: GitServer;
let gh: GitHubStandin;
let gl: GitLabStandin;
const GITLAB_TOKEN = 'glpat-ci-runner-0123456789';
let hosts: GitHosts;
beforeAll(async () => {
  hosts = await startGitHosts('ci-gate-push-token', [
    ['github-app-key', 'GITHUB_APP_KEY', APP_KEY],
    ['gitlab-token', 'GITLAB_CI', GITLAB_TOKEN],
  ]);
  ({ t, g, gh, gl } = hosts);
});
afterAll(async () => {
  await hosts?.stop();
});

/** PATCH /api/v1/environments/production at its current version. */
async function patchProduction(token: string, body: Record<string, unknown>) {
  const { version } = (await t.call('GET', '/api/v1/environments/production', { token })).body;
  return t.call('PATCH', '/api/v1/environments/production', { token, body: { version, ...body } });
}

let repos = 0;
/** A tenant with dev → production, a repository with the App installed and an e2e workflow, and production's CI gate on it. */
async function gated(endsAs?: string, gate: Record<string, unknown> = {}) {
  const tenant = t.tenant();
  const u = await t.users(tenant);
  await makeLine(t, u.admin, ['dev', 'production']);
  await t.call('POST', '/api/v1/environments/dev/configs', { token: u.deployer, body: { key: 'feature.x', value: true } });
  const fullName = `acme/tests-${++repos}`;
  g.repo(fullName, { 'README.md': '# tests\n' });
  gh.installApp({
    appId: APP_ID,
    slug: 'stageline-ci',
    publicKey: APP_PUBLIC_KEY,
    installationId: INSTALLATION + repos,
    repos: [fullName],
  });
  gh.addWorkflow(fullName, 'e2e.yml', ['release', 'promotion'], endsAs);
  const ciGate = {
    repository: fullName,
    workflow: 'e2e.yml',
    inputs: [
      { name: 'release', value: '{{release}}' },
      { name: 'promotion', value: '{{promotion}}' },
    ],
    app: { id: APP_ID, apiUrl: gh.url, privateKeySecret: 'GITHUB_APP_KEY' },
    pollSeconds: 10,
    ...gate,
  };
  const patch = await patchProduction(u.admin, { ciGate });
  expect(patch.status, JSON.stringify(patch.body)).toBe(200);
  return { tenant, u, fullName, ciGate, env: patch.body };
}

async function promote(u: Awaited<ReturnType<typeof gated>>['u']) {
  const r = await t.call('POST', '/api/v1/promotions', { token: u.deployer, body: { sourceEnvironment: 'dev', targetEnvironment: 'production' } });
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  const id = r.body.id as string;
  await waitFor(t, u.viewer, id, ['AWAITING_APPROVAL']);
  const approved = await t.call('POST', `/api/v1/promotions/${id}/approve`, { token: u.approver, body: {} });
  expect(approved.status, JSON.stringify(approved.body)).toBe(200);
  return id;
}

describe('a CI run as a gate', () => {
  it('is set through the API: defaults filled, fields named when wrong, a partial update keeps it, null removes it', async () => {
    const { u, fullName, env } = await gated('success');
    expect(env.ciGate).toEqual({
      host: 'github',
      repository: fullName,
      workflow: 'e2e.yml',
      ref: 'main',
      inputs: [
        { name: 'release', value: '{{release}}' },
        { name: 'promotion', value: '{{promotion}}' },
      ],
      app: { id: APP_ID, apiUrl: gh.url, privateKeySecret: 'GITHUB_APP_KEY' },
      gitlab: null,
      timeoutMinutes: 60,
      pollSeconds: 10,
    });
    const bad = await patchProduction(u.admin, {
      ciGate: {
        repository: 'group/sub/project',
        inputs: [{ name: '__proto__', value: '{{secret}}' }],
        gitlab: { tokenSecret: 'GITLAB_TOKEN' },
      },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.issues.map((i: { path: string }) => i.path).sort()).toEqual(
      ['ciGate.app', 'ciGate.gitlab', 'ciGate.inputs.0.name', 'ciGate.inputs.0.value', 'ciGate.repository', 'ciGate.workflow'].sort(),
    );
    const metadata = await patchProduction(u.admin, {
      ciGate: { repository: fullName, workflow: 'e2e.yml', app: { id: APP_ID, apiUrl: 'http://169.254.169.254/latest', privateKeySecret: 'K' } },
    });
    expect(metadata.status).toBe(400);
    expect(JSON.stringify(metadata.body.error.issues)).toContain('ciGate.app.apiUrl');
    // A partial update of something else keeps the gate; a deployer may not change it.
    const other = await patchProduction(u.admin, { description: 'prod' });
    expect(other.body.ciGate).toEqual(env.ciGate);
    expect((await patchProduction(u.deployer, { ciGate: null })).status).toBe(403);
    const removed = await patchProduction(u.admin, { ciGate: null });
    expect(removed.body.ciGate).toBeNull();
  });

  it('a run that succeeds lets the approved promotion go on: started once with the release, its page in the decision record', async () => {
    const { u, fullName } = await gated('success');
    const id = await promote(u);
    const p = await waitFor(t, u.viewer, id, ['COMPLETED', 'FAILED', 'REJECTED']);
    expect(p.status, JSON.stringify(p.error)).toBe('COMPLETED');
    const runs = gh.workflowRuns(fullName);
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ workflow: 'e2e.yml', ref: 'main', inputs: { promotion: id, release: expect.stringMatching(/^config:/) } });
    expect(p.ciRun).toMatchObject({ host: 'github', run: { id: String(runs[0]!.id) }, status: 'completed', conclusion: 'success' });
    const gate = p.gates.find((x: { gate: string }) => x.gate === 'ci_run');
    expect(gate).toMatchObject({ verdict: 'PASS', blocking: true, evidenceRefs: [expect.stringContaining(`/actions/runs/${runs[0]!.id}`)] });
    const decision = await t.call('GET', `/api/v1/promotions/${id}/decision`, { token: u.viewer });
    expect(JSON.stringify(decision.body)).toContain(`/actions/runs/${runs[0]!.id}`);
    const audit = await t.call('GET', `/api/v1/audit?entityType=promotion&entityId=${id}`, { token: u.viewer });
    const actions = audit.body.items.map((e: { action: string }) => e.action);
    expect(actions.filter((a: string) => a === 'promotion.ci.start')).toHaveLength(1);
    expect(actions.filter((a: string) => a === 'promotion.ci.pass')).toHaveLength(1);
    expect(gh.violations).toEqual([]);
  });

  it('while the run runs the promotion waits SCHEDULED saying so; a failed run rejects it and nothing changes', async () => {
    const { u, fullName } = await gated();
    const id = await promote(u);
    const held = await waitFor(t, u.viewer, id, ['SCHEDULED', 'COMPLETED', 'REJECTED']);
    expect(held.status).toBe('SCHEDULED');
    const [run] = gh.workflowRuns(fullName);
    expect(held.heldBy).toMatchObject({ ci: { run: String(run!.id), status: 'queued' } });
    expect(held.heldBy.reason).toContain(`GitHub Actions run ${run!.id} of e2e.yml is queued`);
    const shown = await outcome(cliOf(t)(u.viewer, 'promotions', 'show', id));
    expect(shown.stdout).toContain(`GitHub Actions run ${run!.id} of e2e.yml is queued`);
    gh.setRun(run!.id, 'completed', 'failure');
    const ended = await waitFor(t, u.viewer, id, ['REJECTED', 'COMPLETED', 'FAILED'], 30_000);
    expect(ended.status).toBe('REJECTED');
    expect(ended.rejection).toMatchObject({ by: 'CI gate', reason: expect.stringContaining(`GitHub Actions run ${run!.id} of e2e.yml ended failure`) });
    expect(ended.gates.find((x: { gate: string }) => x.gate === 'ci_run')).toMatchObject({ verdict: 'FAIL' });
    expect(gh.workflowRuns(fullName)).toHaveLength(1);
    const prod = await t.call('GET', '/api/v1/environments/production/configs', { token: u.viewer });
    expect(JSON.stringify(prod.body)).not.toContain('feature.x');
  });

  it('a workflow GitHub refuses (inputs it does not declare) rejects the promotion at once, naming why', async () => {
    const { u } = await gated('success', { inputs: [{ name: 'unknown', value: 'x' }] });
    const id = await promote(u);
    const ended = await waitFor(t, u.viewer, id, ['REJECTED', 'COMPLETED', 'FAILED']);
    expect(ended.status).toBe('REJECTED');
    expect(ended.rejection.reason).toContain('GitHub refused to start the CI gate');
    expect(ended.rejection.reason).toContain('Unexpected inputs provided');
    expect(ended.rejection.reason).not.toMatch(/ghs_|PRIVATE KEY/);
  });

  it('GitLab: a pipeline on the ref with the inputs as variables; a success lets the promotion go on, a failed one rejects the next', async () => {
    const tenant = t.tenant();
    const u = await t.users(tenant);
    await makeLine(t, u.admin, ['dev', 'production']);
    await t.call('POST', '/api/v1/environments/dev/configs', { token: u.deployer, body: { key: 'feature.y', value: 1 } });
    const path = `acme/pipelines-${++repos}`;
    g.repo(path, { 'README.md': '# pipelines\n' });
    gl.allow(GITLAB_TOKEN, path);
    gl.pipelinesEndAs(path, 'success');
    // Set with the CLI, as an admin would.
    const cli = cliOf(t);
    const set = await cli(
      u.admin,
      'ci-gate',
      'set',
      'production',
      '--host',
      'gitlab',
      '--repository',
      path,
      '--input',
      'STAGELINE_RELEASE={{release}} into {{environment}}',
      '--api-url',
      gl.url,
      '--token-secret',
      'GITLAB_CI',
      '--poll',
      '15',
    );
    expect(set.stdout).toBe(
      `production: a promotion executes only after a GitLab pipeline of ${path} succeeds on main (looked at every 15 s, failed after 60 min)\n` +
        '  variables: STAGELINE_RELEASE={{release}} into {{environment}}\n' +
        `  GitLab ${gl.url}; token in secret GITLAB_CI\n`,
    );
    expect((await cli(u.viewer, 'ci-gate', 'get', 'production')).stdout).toBe(set.stdout);
    const deployer = await outcome(cli(u.deployer, 'ci-gate', 'remove', 'production'));
    expect(deployer.code).not.toBe(0);
    const first = await promote(u);
    expect((await waitFor(t, u.viewer, first, ['COMPLETED', 'FAILED', 'REJECTED'])).status).toBe('COMPLETED');
    const [pipeline] = gl.pipelinesOf(path);
    expect(pipeline).toMatchObject({ ref: 'main', variables: { STAGELINE_RELEASE: expect.stringMatching(/ into production$/) }, status: 'success' });

    gl.pipelinesEndAs(path, 'failed');
    await t.call('POST', '/api/v1/environments/dev/configs', { token: u.deployer, body: { key: 'feature.z', value: 2 } });
    const second = await promote(u);
    const ended = await waitFor(t, u.viewer, second, ['COMPLETED', 'FAILED', 'REJECTED']);
    expect(ended.status).toBe('REJECTED');
    expect(ended.rejection.reason).toMatch(/GitLab pipeline \d+ ended failed/);
    expect(gl.violations).toEqual([]);
    expect((await cli(u.admin, 'ci-gate', 'remove', 'production')).stdout).toBe('production: no CI gate\n');
  });
});
