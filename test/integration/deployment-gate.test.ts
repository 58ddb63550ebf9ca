import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliOf, outcome } from '../support/cli.ts';
import type { GitServer } from '../support/git-server.ts';
import { appKeyPair, startGitHosts, type GitHosts } from '../support/git-hosts.ts';
import type { GitHubStandin } from '../support/github-standin.ts';
import type { GitLabStandin } from '../support/gitlab-standin.ts';
import { waitFor } from '../support/promotions.ts';
import { makeLine, type TestStack } from '../support/stack.ts';

/**
 * GitHub Actions deploy jobs gated by Stageline (a GitHub App's custom deployment protection rule): the job waits,
 * GitHub's signed deployment_protection_rule event requests the promotion, and Stageline answers GitHub's review
 * endpoint with an installation token made from the App's key when the promotion ends. The GitHub stand-in holds
 * every request, answer and webhook to GitHub's published REST description.
 */
const HOOK_SECRET = 'app-hook-secret-0123456789';
const APP_ID = '424242';
const INSTALLATION = 7001;
const { privateKey: APP_KEY, publicKey: APP_PUBLIC_KEY } = appKeyPair();

let t: TestStack;
let g: GitServer;
let gh: GitHubStandin;
let gl: GitLabStandin;
const GITLAB_TOKEN = 'glpat-approver-0123456789';
const GITLAB_HOOK = 'gitlab-hook-token-0123456789';
let hosts: GitHosts;
beforeAll(async () => {
  hosts = await startGitHosts('gate-push-token', [
    ['github-app-key', 'GITHUB_APP_KEY', APP_KEY],
    ['git-webhook', 'GITHUB_APP_HOOK', HOOK_SECRET],
    ['gitlab-token', 'GITLAB_APPROVER', GITLAB_TOKEN],
    ['git-webhook', 'GITLAB_HOOK', GITLAB_HOOK],
  ]);
  ({ t, g, gh, gl } = hosts);
});
afterAll(async () => {
  await hosts?.stop();
});

let repos = 0;
/** A tenant with dev → production, a repository on GitHub with the App installed, and production gated by its environment 'production'. */
async function gated() {
  const tenant = t.tenant();
  const u = await t.users(tenant);
  await makeLine(t, u.admin, ['dev', 'production']);
  await t.call('POST', '/api/v1/environments/dev/configs', { token: u.deployer, body: { key: 'feature.x', value: true } });
  const fullName = `acme/shop-${++repos}`;
  g.repo(fullName, { 'README.md': '# shop\n' });
  gh.installApp({
    appId: APP_ID,
    slug: 'stageline-gate',
    publicKey: APP_PUBLIC_KEY,
    installationId: INSTALLATION,
    repos: [fullName],
  });
  const gate = {
    repository: fullName,
    hostEnvironment: 'Production',
    source: 'dev',
    app: { id: APP_ID, apiUrl: gh.url, privateKeySecret: 'GITHUB_APP_KEY', webhookSecret: 'GITHUB_APP_HOOK' },
  };
  const put = await t.call('PUT', '/api/v1/environments/production/deployment-gate', { token: u.admin, body: gate });
  expect(put.status, JSON.stringify(put.body)).toBe(200);
  const hook = { url: `${t.url}${new URL(put.body.webhookUrl).pathname}`, secret: HOOK_SECRET };
  return { tenant, u, fullName, gate, put: put.body, hook };
}

describe('a GitHub deployment protection rule answered by Stageline', () => {
  it('is set per environment through the API: fields checked and named, secrets that must exist, a viewer reads it, a deployer cannot set it', async () => {
    const { u, fullName, gate, put, tenant } = await gated();
    expect(put).toMatchObject({
      environment: 'production',
      host: 'github',
      repository: fullName,
      hostEnvironment: 'Production',
      source: 'dev',
      artifact: null,
      version: 1,
    });
    expect(put.webhookUrl).toMatch(new RegExp(`/api/v1/deployment-gates/github/${tenant}$`));
    expect(JSON.stringify(put)).not.toContain('PRIVATE KEY');
    const read = await t.call('GET', '/api/v1/environments/production/deployment-gate', { token: u.viewer });
    expect(read.status).toBe(200);
    expect(read.body).toEqual(put);
    // What GET answered may be sent back (with its version).
    const again = await t.call('PUT', '/api/v1/environments/production/deployment-gate', { token: u.admin, body: read.body });
    expect(again.status, JSON.stringify(again.body)).toBe(200);
    expect(again.body.version).toBe(2);

    const bad = await t.call('PUT', '/api/v1/environments/dev/deployment-gate', {
      token: u.admin,
      body: { ...gate, source: null, repository: 'no-slash', app: { ...gate.app, id: 'abc' } },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.issues.map((i: { path: string }) => i.path).sort()).toEqual(['app.id', 'repository']);
    const missing = await t.call('PUT', '/api/v1/environments/dev/deployment-gate', {
      token: u.admin,
      body: { ...gate, source: null, hostEnvironment: 'dev', app: { ...gate.app, privateKeySecret: 'NO_SUCH_KEY' } },
    });
    expect(missing.status).toBe(422);
    expect(missing.body.error.message).toContain("The deployment gate names a secret this tenant does not have: 'NO_SUCH_KEY'");
    expect(missing.body.error.issues.map((i: { path: string }) => i.path)).toEqual(['app.privateKeySecret']);
    // One GitHub environment gates one Stageline environment.
    const twice = await t.call('PUT', '/api/v1/environments/dev/deployment-gate', { token: u.admin, body: { ...gate, source: null } });
    expect(twice.status).toBe(409);
    const deployer = await t.call('PUT', '/api/v1/environments/dev/deployment-gate', {
      token: u.deployer,
      body: { ...gate, source: null, hostEnvironment: 'dev' },
    });
    expect(deployer.status).toBe(403);
    expect((await t.call('GET', '/api/v1/environments/dev/deployment-gate', { token: u.viewer })).status).toBe(404);

    const audit = await t.call('GET', '/api/v1/audit?entityType=environment&entityId=production', { token: u.viewer });
    expect(audit.body.items.map((e: { action: string }) => e.action)).toEqual(expect.arrayContaining(['deployment-gate.create', 'deployment-gate.update']));
    expect((await t.call('DELETE', '/api/v1/environments/production/deployment-gate', { token: u.admin })).status).toBe(204);
    expect((await t.call('GET', '/api/v1/environments/production/deployment-gate', { token: u.viewer })).status).toBe(404);
  });

  it('a waiting job requests the promotion; a redelivery changes nothing; once approved and completed GitHub is told approved, once', async () => {
    const { u, fullName, hook } = await gated();
    const before = (await t.call('GET', '/api/v1/promotions', { token: u.viewer })).body.items.length;
    const sha = 'a'.repeat(40);
    const first = await gh.requestDeployment(fullName, { environment: 'production', sha, installationId: INSTALLATION, hook });
    expect(first.status, JSON.stringify(first.body)).toBe(201);
    expect(first.body).toMatchObject({ event: 'deployment_protection_rule', environment: 'production', runId: first.runId, replayed: false, answer: null });
    const id = first.body.promotionId as string;
    const p = await waitFor(t, u.viewer, id, ['AWAITING_APPROVAL', 'COMPLETED', 'FAILED']);
    expect(p.status).toBe('AWAITING_APPROVAL');
    expect(p.requestedBy.name).toBe(`GitHub Actions (${fullName})`);
    expect(p.notes).toContain(`/${fullName}/actions/runs/${first.runId}`);
    expect(gh.reviews(fullName, first.runId, 'production')).toEqual([]);

    // GitHub redelivers the same event: the same answer, no second promotion.
    const again = await gh.requestDeployment(fullName, { environment: 'production', sha, installationId: INSTALLATION, hook, runId: first.runId });
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ promotionId: id, replayed: true });
    expect((await t.call('GET', '/api/v1/promotions', { token: u.viewer })).body.items.length).toBe(before + 1);

    const approved = await t.call('POST', `/api/v1/promotions/${id}/approve`, { token: u.approver, body: {} });
    expect(approved.status, JSON.stringify(approved.body)).toBe(200);
    expect((await waitFor(t, u.viewer, id, ['COMPLETED', 'FAILED'])).status).toBe('COMPLETED');
    await expect.poll(() => gh.reviews(fullName, first.runId, 'production').length, { timeout: 15_000 }).toBe(1);
    const [review] = gh.reviews(fullName, first.runId, 'production');
    expect(review).toMatchObject({ state: 'approved', by: 'stageline-gate[bot]' });
    expect(review!.comment).toContain(`Stageline promotion ${id} completed`);
    // A delivery after the end answers with the review given, once Stageline has recorded it (it posts the review to
    // GitHub first, then records it: a delivery in between answers with none yet, and posts nothing).
    const late = () => gh.requestDeployment(fullName, { environment: 'production', sha, installationId: INSTALLATION, hook, runId: first.runId });
    await expect.poll(async () => (await late()).body.answer?.state, { timeout: 15_000 }).toBe('approved');
    expect(gh.reviews(fullName, first.runId, 'production')).toHaveLength(1);
    expect(gh.violations).toEqual([]);
  });

  it('a rejection, a refusal and an unsigned or unknown event: GitHub is told rejected with why, and nothing else is believed', async () => {
    const { u, fullName, hook, tenant } = await gated();
    const run = await gh.requestDeployment(fullName, { environment: 'production', sha: 'b'.repeat(40), installationId: INSTALLATION, hook });
    expect(run.status).toBe(201);
    const id = run.body.promotionId as string;
    await waitFor(t, u.viewer, id, ['AWAITING_APPROVAL']);
    const rejected = await t.call('POST', `/api/v1/promotions/${id}/reject`, { token: u.approver, body: { reason: 'not this week' } });
    expect(rejected.status, JSON.stringify(rejected.body)).toBe(200);
    await expect.poll(() => gh.reviews(fullName, run.runId, 'production').length, { timeout: 15_000 }).toBe(1);
    expect(gh.reviews(fullName, run.runId, 'production')[0]).toMatchObject({ state: 'rejected', comment: expect.stringContaining('not this week') });

    // A gate on an artifact: a commit nothing was published from is refused at once, and GitHub is told why.
    const read = (await t.call('GET', '/api/v1/environments/production/deployment-gate', { token: u.viewer })).body;
    const put = await t.call('PUT', '/api/v1/environments/production/deployment-gate', { token: u.admin, body: { ...read, artifact: 'shop' } });
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    const refused = await gh.requestDeployment(fullName, { environment: 'production', sha: 'c'.repeat(40), installationId: INSTALLATION, hook });
    expect(refused.status).toBe(201);
    expect(refused.body.promotionId).toBeNull();
    expect(refused.body.answer).toMatchObject({
      state: 'rejected',
      comment: expect.stringContaining(`no version of 'shop' was published from commit ${'c'.repeat(40)}`),
    });
    expect(gh.reviews(fullName, refused.runId, 'production')).toHaveLength(1);

    // Signed with another secret: 401, whatever it claims. An environment no gate names: 404, saying so.
    const forged = await gh.requestDeployment(fullName, {
      environment: 'production',
      sha: 'd'.repeat(40),
      installationId: INSTALLATION,
      hook: { ...hook, secret: 'guess' },
    });
    expect(forged.status).toBe(401);
    const unknown = await gh.requestDeployment(fullName, { environment: 'qa', sha: 'd'.repeat(40), installationId: INSTALLATION, hook });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.message).toContain(`${fullName}'s environment 'qa'`);
    // Another tenant's URL with this tenant's secret: that tenant has no gate, so nothing verifies.
    const other = t.tenant();
    const elsewhere = await gh.requestDeployment(fullName, {
      environment: 'production',
      sha: 'd'.repeat(40),
      installationId: INSTALLATION,
      hook: { ...hook, url: hook.url.replace(tenant, other) },
    });
    expect(elsewhere.status).toBe(401);
    expect(gh.violations).toEqual([]);
  });

  it('is set, read and removed through the CLI, which keeps what a flag leaves out and names what a new gate lacks', async () => {
    const tenant = t.tenant();
    const u = await t.users(tenant);
    await makeLine(t, u.admin, ['dev', 'production']);
    const cli = cliOf(t);
    const lacking = await outcome(cli(u.admin, 'deployment-gate', 'set', 'production', '--repository', 'acme/cli'));
    expect(lacking.code).not.toBe(0);
    expect(lacking.stderr).toContain('a new GitHub gate needs --repository, --host-environment, --app-id, --key-secret and --webhook-secret');
    const set = await cli(
      u.admin,
      'deployment-gate',
      'set',
      'production',
      '--repository',
      'acme/cli',
      '--host-environment',
      'production',
      '--app-id',
      APP_ID,
      '--api-url',
      gh.url,
      '--key-secret',
      'GITHUB_APP_KEY',
      '--webhook-secret',
      'GITHUB_APP_HOOK',
    );
    expect(set.stdout).toContain(
      "production: deploy jobs of acme/cli's environment 'production' (GitHub Actions) wait on a promotion from the environment before it",
    );
    expect(set.stdout).toContain(`the App's webhook URL: `);
    expect(set.stdout).toContain(`/api/v1/deployment-gates/github/${tenant}`);
    // A later set changes what it names and keeps the rest.
    const art = await cli(u.admin, 'deployment-gate', 'set', 'production', '--artifact', 'shop');
    expect(art.stdout).toContain("of shop (the version published from the job's commit)");
    const read = JSON.parse((await cli(u.viewer, 'deployment-gate', 'get', 'production', '--json')).stdout);
    expect(read).toMatchObject({ repository: 'acme/cli', hostEnvironment: 'production', artifact: 'shop', version: 2, app: { id: APP_ID, apiUrl: gh.url } });
    expect((await cli(u.admin, 'deployment-gate', 'remove', 'production')).stdout).toContain('production: no deployment gate');
    expect((await t.call('GET', '/api/v1/environments/production/deployment-gate', { token: u.viewer })).status).toBe(404);
  });

  it('GitLab: a blocked deployment requests the promotion; once it completes Stageline approves the deployment through the API; a rejection rejects it', async () => {
    const tenant = t.tenant();
    const u = await t.users(tenant);
    await makeLine(t, u.admin, ['dev', 'production']);
    await t.call('POST', '/api/v1/environments/dev/configs', { token: u.deployer, body: { key: 'feature.y', value: 1 } });
    const path = `platform/payments/api-${++repos}`;
    g.repo(path, { 'README.md': '# api\n' });
    gl.allow(GITLAB_TOKEN, path);
    const body = {
      host: 'gitlab',
      repository: path,
      hostEnvironment: 'production',
      gitlab: { apiUrl: gl.url, tokenSecret: 'GITLAB_APPROVER', webhookSecret: 'GITLAB_HOOK' },
    };
    // A GitHub App's fields on a GitLab gate are refused, naming them.
    const mixed = await t.call('PUT', '/api/v1/environments/production/deployment-gate', {
      token: u.admin,
      body: { ...body, app: { id: '1', privateKeySecret: 'GITHUB_APP_KEY', webhookSecret: 'GITHUB_APP_HOOK' } },
    });
    expect(mixed.status).toBe(422);
    expect(mixed.body.error.issues.map((i: { path: string }) => i.path)).toEqual(['app']);
    const put = await t.call('PUT', '/api/v1/environments/production/deployment-gate', { token: u.admin, body });
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    expect(put.body).toMatchObject({ host: 'gitlab', app: null, gitlab: { apiUrl: gl.url, tokenSecret: 'GITLAB_APPROVER' } });
    expect(put.body.webhookUrl).toMatch(new RegExp(`/api/v1/deployment-gates/gitlab/${tenant}$`));
    gl.hook(path, `${t.url}${new URL(put.body.webhookUrl).pathname}`, GITLAB_HOOK);

    const sha = 'e'.repeat(40);
    const first = await gl.blockedDeployment(path, { environment: 'production', sha });
    expect(first.status, JSON.stringify(first.body)).toBe(201);
    const id = first.body.promotionId as string;
    const p = await waitFor(t, u.viewer, id, ['AWAITING_APPROVAL', 'COMPLETED', 'FAILED']);
    expect(p.status).toBe('AWAITING_APPROVAL');
    expect(p.requestedBy.name).toBe(`GitLab CI/CD (${path})`);
    expect(p.notes).toContain(`GitLab deployment ${first.deploymentId}`);
    // A redelivery, and a wrong token.
    const again = await gl.blockedDeployment(path, { environment: 'production', sha, deploymentId: first.deploymentId });
    expect(again.body).toMatchObject({ promotionId: id, replayed: true });
    expect((await gl.blockedDeployment(path, { environment: 'production', sha, token: 'guess' })).status).toBe(401);
    expect(gl.approvals(path, first.deploymentId)).toEqual([]);

    expect((await t.call('POST', `/api/v1/promotions/${id}/approve`, { token: u.approver, body: {} })).status).toBe(200);
    expect((await waitFor(t, u.viewer, id, ['COMPLETED', 'FAILED'])).status).toBe('COMPLETED');
    await expect.poll(() => gl.approvals(path, first.deploymentId).length, { timeout: 15_000 }).toBe(1);
    expect(gl.approvals(path, first.deploymentId)[0]).toMatchObject({
      status: 'approved',
      by: 'stageline-bot',
      comment: expect.stringContaining(`Stageline promotion ${id} completed`),
    });

    // The next deployment's promotion is rejected in Stageline: GitLab's deployment is rejected, with the reason.
    await t.call('POST', '/api/v1/environments/dev/configs', { token: u.deployer, body: { key: 'feature.z', value: 2 } });
    const next = await gl.blockedDeployment(path, { environment: 'production', sha: 'f'.repeat(40) });
    expect(next.status).toBe(201);
    await waitFor(t, u.viewer, next.body.promotionId, ['AWAITING_APPROVAL']);
    expect(
      (await t.call('POST', `/api/v1/promotions/${next.body.promotionId}/reject`, { token: u.approver, body: { reason: 'payments freeze' } })).status,
    ).toBe(200);
    await expect.poll(() => gl.approvals(path, next.deploymentId).length, { timeout: 15_000 }).toBe(1);
    expect(gl.approvals(path, next.deploymentId)[0]).toMatchObject({ status: 'rejected', comment: expect.stringContaining('payments freeze') });
    expect(gl.violations).toEqual([]);
  });
});
