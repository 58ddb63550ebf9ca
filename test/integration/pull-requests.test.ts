import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliOf } from '../support/cli.ts';
import type { GitServer } from '../support/git-server.ts';
import { startGitHosts, type GitHosts } from '../support/git-hosts.ts';
import type { GitHubStandin } from '../support/github-standin.ts';
import type { GitLabStandin } from '../support/gitlab-standin.ts';
import { waitFor, waitForToken } from '../support/promotions.ts';
import { makeLine, type TestStack } from '../support/stack.ts';
import { deps, type AllDeps } from '../../functions/http/deps.ts';
import { pollPullRequest, pullRequestGate } from '../../domain/promotion/deliver/pull-request.ts';
import { overrideConfig } from '../../functions/configuration-overrides.ts';

/**
 * Pull-request delivery through the API: a production promotion whose git target is in pull-request mode
 * pushes a branch to a real git server (git http-backend), opens a pull request on a stand-in of the host's
 * REST API held to its published contract, waits, and completes or fails with what the host says.
 */
const GIT_TOKEN = 'pr-test-push-token-0123456789';
const GH_TOKEN = 'ghp_standintoken0123456789';
const HOOK_SECRET = 'hook-secret-0123456789';
const VALUES = '# production values\nimage:\n  repository: registry.example.com/platform\n  tag: v0.9.0 # set by Stageline\nreplicas: 3\n';
const digest = (c: string) => `sha256:${c.repeat(64)}`;

let t: TestStack;
let g: GitServer;
let gh: GitHubStandin;
let gl: GitLabStandin;
const GL_TOKEN = 'glpat-standintoken0123456789';
const APP_INSTALLATION_TOKEN = 'ghs_installationtoken0123456789';

let hosts: GitHosts;
beforeAll(async () => {
  hosts = await startGitHosts(GIT_TOKEN, [
    ['git-token', 'GITOPS_TOKEN', GIT_TOKEN],
    ['github-token', 'GITHUB_TOKEN', GH_TOKEN],
    ['git-webhook', 'GITHUB_HOOK', HOOK_SECRET],
    ['gitlab-token', 'GITLAB_TOKEN', GL_TOKEN],
    // A GitHub App's installation token (the app's tests): PUT …/git-target refuses a secret that does not exist.
    ['github-token', 'APP_TOKEN', APP_INSTALLATION_TOKEN],
  ]);
  ({ t, g, gh, gl } = hosts);
});
afterAll(async () => {
  await hosts?.stop();
});

function fileOnMain(fullName: string, path: string): { text: string; log: string[] } {
  const dir = mkdtempSync(join(tmpdir(), 'stageline-check-'));
  try {
    g.git(dir, 'clone', '-q', join(g.root, `${fullName}.git`), 'repo');
    return { text: readFileSync(join(dir, 'repo', path), 'utf8'), log: g.git(join(dir, 'repo'), 'log', '--format=%s').trim().split('\n') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A tenant with a line, platform v1.2.3 in staging, and production's git target in pull-request mode on the GitHub stand-in. */
async function setup(name: string, pullRequest: Record<string, unknown> = {}, opts: { allow?: boolean; branch?: string } = {}) {
  const tenant = t.tenant();
  const u = await t.users(tenant);
  await makeLine(t, u.admin);
  const fullName = `acme-${tenant}/${name}`;
  const repository = g.repo(fullName, { 'envs/production/values.yaml': VALUES });
  if (opts.allow !== false) gh.allow(GH_TOKEN, fullName);
  gh.hook(fullName, `${t.url}/api/v1/gitops/hooks/${tenant}/production`, HOOK_SECRET);
  const put = await t.call('PUT', '/api/v1/environments/production/git-target', {
    token: u.admin,
    body: {
      repository,
      branch: opts.branch ?? 'main',
      file: 'envs/production/values.yaml',
      path: 'image.tag',
      tokenSecret: 'GITOPS_TOKEN',
      pullRequest: { host: 'github', apiUrl: gh.url, tokenSecret: 'GITHUB_TOKEN', webhookSecret: 'GITHUB_HOOK', ...pullRequest },
    },
  });
  expect(put.status, JSON.stringify(put.body)).toBe(200);
  expect((await t.call('POST', '/api/v1/artifacts/platform/versions', { token: u.deployer, body: { version: 'v1.2.3', digest: digest('a') } })).status).toBe(
    201,
  );
  const staging = await t.call('POST', '/api/v1/promotions', {
    token: u.deployer,
    body: { sourceEnvironment: 'dev', targetEnvironment: 'staging', artifact: 'platform', version: 'v1.2.3' },
  });
  expect((await waitFor(t, u.viewer, staging.body.id, ['COMPLETED', 'FAILED'], 30_000)).status).toBe('COMPLETED');
  return { tenant, u, fullName, repository };
}

async function promote(u: Record<string, string>) {
  const p = await t.call('POST', '/api/v1/promotions', {
    token: u.deployer!,
    body: { sourceEnvironment: 'staging', targetEnvironment: 'production', artifact: 'platform', version: 'v1.2.3' },
  });
  expect(p.status, JSON.stringify(p.body)).toBe(201);
  const id = p.body.id as string;
  // Production asks for an approval: given, the flow executes and opens the pull request.
  expect((await waitForToken(t, u.viewer!, id, 30_000)).waitingFor).toBe('approval');
  expect((await t.call('POST', `/api/v1/promotions/${id}/approve`, { token: u.approver!, body: { comment: 'ship it' } })).status).toBe(200);
  return id;
}

/** Waits until the flow waits for the pull request's merge. */
async function waitForMerge(token: string, id: string) {
  const until = Date.now() + 30_000;
  for (;;) {
    const r = await t.call('GET', `/api/v1/promotions/${id}`, { token });
    if (r.body?.waitingFor === 'merge') return r.body;
    if (Date.now() > until || ['FAILED', 'COMPLETED', 'CANCELLED'].includes(r.body?.status))
      throw new Error(`never waited for a merge: ${JSON.stringify(r.body)}`);
    await new Promise((res) => setTimeout(res, 50));
  }
}

describe("a host's hiccup costs nothing", () => {
  it('a 502 to opening the pull request, a 503 on reading it right after, and a 429 with Retry-After, are retried: the promotion waits for the merge, the branch and one pull request stay, and merging completes it', async () => {
    const undo = overrideConfig({ STAGELINE_OUTBOUND_RETRY_BASE_MS: '20' });
    try {
      const { u, fullName } = await setup('hiccup');
      // The repro: GET /pulls/N fails once right after the pull request is opened; then a rate limit on the list.
      // The open itself answered 502 (the host did not say whether it opened it): the step's next try finds or opens it.
      gh.failNext('POST', /^\/repos\/[^/]+\/[^/]+\/pulls$/, 502);
      gh.failNext('GET', /^\/repos\/[^/]+\/[^/]+\/pulls\/\d+$/, 503);
      gh.failNext('GET', /^\/repos\/[^/]+\/[^/]+\/pulls$/, 429, 1, { 'retry-after': '0' });
      const failedBefore = gh.failed();
      const id = await promote(u);
      const waiting = await waitForMerge(u.viewer, id);
      expect(gh.failed() - failedBefore).toBe(3);
      expect(waiting.pullRequest).toMatchObject({ state: 'open', number: 1 });
      expect(gh.pulls(fullName)).toHaveLength(1);
      expect(gh.pulls(fullName)[0]!.state).toBe('open');
      expect(await gh.merge(fullName, 1)).toBe(200);
      expect((await waitFor(t, u.viewer, id, ['COMPLETED', 'FAILED'], 30_000)).status).toBe('COMPLETED');
      expect(gh.violations).toEqual([]);
    } finally {
      undo();
    }
  });
});

describe('only the pull requests Stageline opened are its delivery', () => {
  it('a pull request from a branch named stageline/<id> into another base, opened by someone else, is not adopted: Stageline opens its own, and closing the other changes nothing', async () => {
    const { u, fullName } = await setup('foreign-base');
    const p = await t.call('POST', '/api/v1/promotions', {
      token: u.deployer,
      body: { sourceEnvironment: 'staging', targetEnvironment: 'production', artifact: 'platform', version: 'v1.2.3' },
    });
    const id = p.body.id as string;
    // The id is public (CI logs print it): someone opens a pull request from a branch of that name into another base first.
    const foreign = gh.openAs(fullName, { head: `stageline/${id}`, base: 'release', author: 'mallory' });
    expect((await waitForToken(t, u.viewer, id, 30_000)).waitingFor).toBe('approval');
    expect((await t.call('POST', `/api/v1/promotions/${id}/approve`, { token: u.approver, body: {} })).status).toBe(200);
    const waiting = await waitForMerge(u.viewer, id);
    expect(waiting.pullRequest.number).not.toBe(foreign.number);
    expect(waiting.pullRequest).toMatchObject({ baseBranch: 'main', author: 'stageline-bot', fromFork: false });
    expect(gh.pulls(fullName).map((x) => [x.number, x.base, x.author ?? 'stageline-bot'])).toEqual([
      [foreign.number, 'release', 'mallory'],
      [waiting.pullRequest.number, 'main', 'stageline-bot'],
    ]);
    // Closing the foreign one fails nothing; merging Stageline's completes it.
    expect(await gh.close(fullName, foreign.number)).toBe(200);
    expect((await t.call('GET', `/api/v1/promotions/${id}`, { token: u.viewer })).body.status).toBe('APPROVED');
    expect(await gh.merge(fullName, waiting.pullRequest.number)).toBe(200);
    const done = await waitFor(t, u.viewer, id, ['COMPLETED', 'FAILED'], 30_000);
    expect(done.status, JSON.stringify(done.error)).toBe('COMPLETED');
    expect(done.result.git).toMatchObject({ branch: 'main', pullRequest: { number: waiting.pullRequest.number } });
  });

  it('its own pull request retargeted to another base is no longer trusted: the next read closes it and the promotion fails saying why; main is unchanged', async () => {
    const { u, fullName } = await setup('retargeted');
    const id = await promote(u);
    const waiting = await waitForMerge(u.viewer, id);
    gh.retarget(fullName, waiting.pullRequest.number, 'release');
    // The host's webhook (a check reported) makes Stageline read it again.
    expect(await gh.check(fullName, waiting.pullRequest.headSha, 'ci/test', 'success')).toBe(200);
    const done = await waitFor(t, u.viewer, id, ['COMPLETED', 'FAILED'], 30_000);
    expect(done.status).toBe('FAILED');
    expect(done.error.message).toMatch(/merges into 'release', not into the configured base 'main'/);
    expect(fileOnMain(fullName, 'envs/production/values.yaml').text).toBe(VALUES);
  });
});

describe("with a GitHub App's installation token (which cannot read /user), the author is still checked", () => {
  const APP_TOKEN = APP_INSTALLATION_TOKEN;
  /** production's git target in pull-request mode with an installation token of the app `stageline-app` (stored as APP_TOKEN) */
  async function appSetup(name: string, pullRequest: Record<string, unknown> = {}) {
    const s = await setup(name, { tokenSecret: 'APP_TOKEN', ...pullRequest }, { allow: false });
    gh.allow(APP_TOKEN, s.fullName);
    gh.installation(APP_TOKEN, 'stageline-app');
    return s;
  }
  /** someone with write access opens a pull request from a branch of the promotion's name into main, before Stageline does */
  async function foreignFirst(u: Record<string, string>, fullName: string) {
    const p = await t.call('POST', '/api/v1/promotions', {
      token: u.deployer!,
      body: { sourceEnvironment: 'staging', targetEnvironment: 'production', artifact: 'platform', version: 'v1.2.3' },
    });
    expect(p.status, JSON.stringify(p.body)).toBe(201);
    const id = p.body.id as string;
    g.git(join(g.root, `${fullName}.git`), 'branch', `stageline/${id}`, 'main');
    const foreign = gh.openAs(fullName, { head: `stageline/${id}`, base: 'main', author: 'mallory' });
    expect((await waitForToken(t, u.viewer!, id, 30_000)).waitingFor).toBe('approval');
    expect((await t.call('POST', `/api/v1/promotions/${id}/approve`, { token: u.approver!, body: {} })).status).toBe(200);
    return { id, foreign };
  }

  it('without the app named on the git target, a same-repository pull request opened by anyone is not adopted: the promotion fails saying to set pullRequest.appSlug', async () => {
    const { u, fullName } = await appSetup('app-unnamed');
    const { id, foreign } = await foreignFirst(u, fullName);
    const done = await waitFor(t, u.viewer, id, ['COMPLETED', 'FAILED'], 30_000);
    expect(done.pullRequest?.number, JSON.stringify(done.pullRequest)).not.toBe(foreign.number);
    expect(done.status).toBe('FAILED');
    expect(done.error.message).toMatch(/cannot say who it is.*pullRequest\.appSlug/);
    expect(fileOnMain(fullName, 'envs/production/values.yaml').text).toBe(VALUES);
    expect(gh.violations).toEqual([]);
  });

  it('with pullRequest.appSlug, a same-repository pull request opened by someone else is not adopted', async () => {
    const { u, fullName } = await appSetup('app-foreign', { appSlug: 'stageline-app' });
    const { id, foreign } = await foreignFirst(u, fullName);
    const done = await waitFor(t, u.viewer, id, ['COMPLETED', 'FAILED'], 30_000);
    expect(done.pullRequest?.number, JSON.stringify(done.pullRequest)).not.toBe(foreign.number);
    // GitHub allows one open pull request per head and base: Stageline's own cannot be opened beside it, and says so.
    expect(done.status).toBe('FAILED');
    expect(done.error.message).toMatch(/A pull request already exists/);
    expect(fileOnMain(fullName, 'envs/production/values.yaml').text).toBe(VALUES);
  });

  it("with pullRequest.appSlug, the pull request the app's bot (stageline-app[bot]) opened is the delivery, read after read, and merging it completes the promotion", async () => {
    const { u, fullName } = await appSetup('app-own', { appSlug: 'stageline-app' });
    const got = await t.call('GET', '/api/v1/environments/production/git-target', { token: u.viewer });
    expect(got.body.pullRequest.appSlug).toBe('stageline-app');
    const id = await promote(u);
    const waiting = await waitForMerge(u.viewer, id);
    expect(waiting.pullRequest).toMatchObject({ author: 'stageline-app[bot]', baseBranch: 'main', fromFork: false });
    // A check reported by the host's webhook makes Stageline read it again: still its own.
    expect(await gh.check(fullName, waiting.pullRequest.headSha, 'ci/test', 'success')).toBe(200);
    expect((await t.call('GET', `/api/v1/promotions/${id}`, { token: u.viewer })).body).toMatchObject({ status: 'APPROVED', pullRequest: { state: 'open' } });
    expect(await gh.merge(fullName, waiting.pullRequest.number)).toBe(200);
    const done = await waitFor(t, u.viewer, id, ['COMPLETED', 'FAILED'], 30_000);
    expect(done.status, JSON.stringify(done.error)).toBe('COMPLETED');
    expect(fileOnMain(fullName, 'envs/production/values.yaml').text).toBe(VALUES.replace('tag: v0.9.0', 'tag: v1.2.3'));
    expect(gh.violations).toEqual([]);
  });

  it('refuses (400) an appSlug on a GitLab target and one that is not an app slug', async () => {
    const tenant = t.tenant();
    const u = await t.users(tenant);
    await makeLine(t, u.admin);
    const put = (pullRequest: Record<string, unknown>) =>
      t.call('PUT', '/api/v1/environments/production/git-target', {
        token: u.admin,
        body: { repository: 'https://git.example.com/org/deploy.git', branch: 'main', file: 'values.yaml', path: 'image.tag', pullRequest },
      });
    const gl = await put({ host: 'gitlab', tokenSecret: 'GITLAB_TOKEN', appSlug: 'stageline-app' });
    expect(gl.status, JSON.stringify(gl.body)).toBe(400);
    expect(gl.body.error.issues).toEqual([expect.objectContaining({ path: 'pullRequest.appSlug' })]);
    const bad = await put({ host: 'github', tokenSecret: 'GITHUB_TOKEN', appSlug: 'stageline-app[bot]' });
    expect(bad.status, JSON.stringify(bad.body)).toBe(400);
    expect(bad.body.error.issues).toEqual([expect.objectContaining({ path: 'pullRequest.appSlug' })]);
  });
});

describe('pull-request delivery on GitHub (stand-in held to the OpenAPI description)', () => {
  it('opens a pull request that says what moves, the gates, the approvals and the decision record; shows its checks; completes when it is merged', async () => {
    const { u, fullName } = await setup('deploy', { labels: ['release'], reviewers: ['octo-reviewer'] });
    const id = await promote(u);
    const waiting = await waitForMerge(u.viewer, id);
    expect(waiting.waitingFor).toBe('merge');
    expect(waiting.status).toBe('APPROVED');
    expect(waiting.pullRequest).toMatchObject({ host: 'github', number: 1, state: 'open', headBranch: `stageline/${id}`, baseBranch: 'main' });

    const [pr] = gh.pulls(fullName);
    expect(pr!.title).toBe('Promote platform v1.2.3 to production');
    // What production runs now is read off the file (Stageline delivered nothing there yet); the diff is the file's own.
    expect(pr!.body).toContain('| platform | v0.9.0 | v1.2.3 |');
    expect(pr!.body).toContain(
      [
        '```diff',
        '--- a/envs/production/values.yaml',
        '+++ b/envs/production/values.yaml',
        '@@ -1,5 +1,5 @@',
        ' # production values',
        ' image:',
        '   repository: registry.example.com/platform',
        '-  tag: v0.9.0 # set by Stageline',
        '+  tag: v1.2.3 # set by Stageline',
        ' replicas: 3',
        '```',
      ].join('\n'),
    );
    expect(pr!.body).not.toContain('<current>');
    expect(pr!.body).toContain('### Gates');
    expect(pr!.body).toMatch(/1 of 1 required: \S+/);
    expect(pr!.body).toContain(`/api/v1/promotions/${id}/decision`);
    expect(pr!.labels).toEqual(['release']);
    expect(pr!.reviewers).toEqual(['octo-reviewer']);
    // Nothing reached main yet.
    expect(fileOnMain(fullName, 'envs/production/values.yaml').text).toBe(VALUES);

    // A failing check, reported by the host's webhook, is on the promotion.
    const sha = waiting.pullRequest.headSha as string;
    expect(await gh.check(fullName, sha, 'ci/test', 'failure')).toBe(200);
    const failing = (await t.call('GET', `/api/v1/promotions/${id}`, { token: u.viewer })).body;
    expect(failing.pullRequest.checks).toEqual([{ name: 'ci/test', state: 'failure', url: expect.any(String) }]);
    expect(failing.pullRequest.mergeState).toBe('blocked');
    expect(failing.status).toBe('APPROVED');
    // The CLI shows the link and the checks.
    const shown = (await cliOf(t)(u.viewer, 'promotions', 'show', id)).stdout;
    expect(shown).toContain(`(waiting for merge)`);
    expect(shown).toContain(`pull request #1: open, blocked  ${failing.pullRequest.url}`);
    expect(shown).toMatch(/✗ ci\/test failure {2}http/);
    expect(await gh.check(fullName, sha, 'ci/test', 'success')).toBe(200);
    expect((await t.call('GET', `/api/v1/promotions/${id}`, { token: u.viewer })).body.pullRequest).toMatchObject({
      mergeState: 'clean',
      checks: [{ name: 'ci/test', state: 'success' }],
    });

    // Merged by a person on the host: the webhook wakes the flow; the merge commit is the delivery.
    expect(await gh.merge(fullName, 1)).toBe(200);
    const done = await waitFor(t, u.viewer, id, ['COMPLETED', 'FAILED'], 30_000);
    expect(done.status, JSON.stringify(done.error)).toBe('COMPLETED');
    expect(done.pullRequest).toMatchObject({ state: 'merged', mergeCommit: gh.pulls(fullName)[0]!.mergeCommit });
    expect(done.result.git).toMatchObject({ commit: gh.pulls(fullName)[0]!.mergeCommit, changed: true, pullRequest: { number: 1 } });
    const main = fileOnMain(fullName, 'envs/production/values.yaml');
    expect(main.text).toBe(VALUES.replace('tag: v0.9.0', 'tag: v1.2.3'));
    expect(main.log[0]).toBe(`Merge pull request #1 from ${fullName.split('/')[0]}/stageline/${id}`);
    const audit = await t.call('GET', `/api/v1/audit?entityType=promotion&entityId=${id}`, { token: u.admin });
    const actions = (audit.body.items ?? audit.body.entries ?? []).map((e: { action: string }) => e.action);
    expect(actions).toEqual(expect.arrayContaining(['promotion.pull-request.open', 'promotion.pull-request.merged']));
    expect(gh.violations).toEqual([]);
  });

  it('fails the promotion with the reason and the link when the pull request is closed by hand', async () => {
    const { tenant, u, fullName } = await setup('closed');
    const id = await promote(u);
    await waitForMerge(u.viewer, id);
    // A retried execute step (a crash after the pull request was opened, before it was recorded) finds it by its branch: no second one, no push.
    const pushes = g.pushes;
    const stored = (await deps().store.getPromotion(tenant, id))!;
    await expect(pullRequestGate(deps() as AllDeps, { ...stored, pullRequest: null })).rejects.toThrow(/^waiting for .*\/pull\/1 to be merged$/);
    expect(gh.pulls(fullName)).toHaveLength(1);
    expect(g.pushes).toBe(pushes);
    expect(await gh.close(fullName, 1)).toBe(200);
    const failed = await waitFor(t, u.viewer, id, ['COMPLETED', 'FAILED'], 30_000);
    expect(failed.status).toBe('FAILED');
    expect(failed.error.message).toContain(`pull request #1 was closed without merge: `);
    expect(failed.error.message).toContain(`/${fullName}/pull/1`);
    expect(failed.pullRequest.state).toBe('closed');
    expect(fileOnMain(fullName, 'envs/production/values.yaml').text).toBe(VALUES);
    const env = await t.call('GET', '/api/v1/artifacts/platform/versions?environment=production', { token: u.viewer });
    // Production was never changed: nothing runs there.
    expect(env.body).toMatchObject({ environment: 'production', latest: null, versions: [] });
    expect(gh.violations).toEqual([]);
  });

  it('finds the merge by the bounded poll when no webhook comes', async () => {
    const { tenant, u, fullName } = await setup('polled');
    const id = await promote(u);
    await waitForMerge(u.viewer, id);
    gh.unhook(fullName);
    expect(await gh.merge(fullName, 1)).toBeNull();
    // Nothing told Stageline: still waiting, until the poll (the schedule the wait armed) reads the pull request.
    expect((await t.call('GET', `/api/v1/promotions/${id}`, { token: u.viewer })).body.waitingFor).toBe('merge');
    expect(await pollPullRequest(deps() as AllDeps, tenant, id)).toMatchObject({ state: 'merged' });
    expect((await waitFor(t, u.viewer, id, ['COMPLETED', 'FAILED'], 30_000)).status).toBe('COMPLETED');
    expect(gh.violations).toEqual([]);
  });

  it('refuses a webhook with a wrong signature (401) and one about another tenant’s repository (404)', async () => {
    const a = await setup('hooks-a');
    const b = await setup('hooks-b');
    const id = await promote(a.u);
    await waitForMerge(a.u.viewer, id);
    const payload = gh.closedPayload(a.fullName, 1);
    expect(await gh.deliver(a.fullName, 'pull_request', payload, 'not-the-secret')).toBe(401);
    // Tenant b's hook URL, b's secret, a payload about tenant a's repository: refused.
    gh.hook(a.fullName, `${t.url}/api/v1/gitops/hooks/${b.tenant}/production`, HOOK_SECRET);
    expect(await gh.deliver(a.fullName, 'pull_request', payload)).toBe(404);
    // No oracle: an unknown tenant, an unknown environment and a known one with a wrong signature get the same answer.
    const answer = async (path: string, sig: string) => {
      const r = await fetch(`${t.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-github-event': 'pull_request', 'x-hub-signature-256': sig },
        body: JSON.stringify(payload),
      });
      return `${r.status} ${await r.text()}`;
    };
    const wrong = await answer(`/api/v1/gitops/hooks/${a.tenant}/production`, 'sha256=00');
    expect(wrong).toMatch(/^401 /);
    expect(await answer(`/api/v1/gitops/hooks/${a.tenant}/staging`, 'sha256=00')).toBe(wrong);
    expect(await answer('/api/v1/gitops/hooks/ten-nobody0000/production', 'sha256=00')).toBe(wrong);
    gh.hook(a.fullName, `${t.url}/api/v1/gitops/hooks/${a.tenant}/production`, HOOK_SECRET);
    expect((await t.call('GET', `/api/v1/promotions/${id}`, { token: a.u.viewer })).body.status).toBe('APPROVED');
    // Policy as code: the manifest carries the pull-request mode; export | plan changes nothing.
    const exported = await t.call('GET', '/api/v1/manifest?format=json', { token: b.u.viewer });
    expect(JSON.stringify(exported.body)).toContain(
      `"pullRequest":{"host":"github","apiUrl":"${gh.url}","tokenSecret":"GITHUB_TOKEN","webhookSecret":"GITHUB_HOOK"`,
    );
    const plan = await t.call('POST', '/api/v1/manifest/plan', { token: b.u.viewer, body: { document: JSON.stringify(exported.body) } });
    expect(plan.body.changes).toEqual([]);
    expect(gh.violations).toEqual([]);
  });

  it('fails clearly, pushing nothing, when the token cannot reach the repository or the base branch does not exist', async () => {
    const unreachable = await setup('unreachable', {}, { allow: false });
    const a = await promote(unreachable.u);
    const failedA = await waitFor(t, unreachable.u.viewer, a, ['COMPLETED', 'FAILED'], 30_000);
    expect(failedA.status).toBe('FAILED');
    expect(failedA.error.message).toContain(`pull-request delivery failed: the GitHub token cannot reach ${unreachable.fullName} (HTTP 404`);
    const noBase = await setup('nobase', {}, { branch: 'release' });
    const b = await promote(noBase.u);
    const failedB = await waitFor(t, noBase.u.viewer, b, ['COMPLETED', 'FAILED'], 30_000);
    expect(failedB.error.message).toContain(`pull-request delivery failed: the base branch 'release' does not exist in ${noBase.fullName}`);
    for (const f of [unreachable.fullName, noBase.fullName]) {
      expect(g.git(join(g.root, `${f}.git`), 'branch', '--list').trim()).toBe('* main');
      expect(gh.pulls(f)).toEqual([]);
    }
    expect(gh.violations).toEqual([]);
  });

  it('rebases onto a base branch that moved (push again onto the new head), then merges; a change that no longer applies closes it and fails the promotion', async () => {
    const { u, fullName } = await setup('raced');
    const id = await promote(u);
    const first = await waitForMerge(u.viewer, id);
    const bare = join(g.root, `${fullName}.git`);
    const commitOnMain = (path: string, text: string, message: string) => {
      const work = mkdtempSync(join(tmpdir(), 'stageline-other-'));
      try {
        g.git(work, 'clone', '-q', bare, 'w');
        writeFileSync(join(work, 'w', path), text);
        g.git(join(work, 'w'), 'add', '-A');
        g.git(join(work, 'w'), 'commit', '-q', '-m', message);
        g.git(join(work, 'w'), 'push', '-q', 'origin', 'main');
        return g.git(join(work, 'w'), 'rev-parse', 'HEAD').trim();
      } finally {
        rmSync(work, { recursive: true, force: true });
      }
    };
    const moved = commitOnMain('README.md', 'hello\n', 'someone else');
    // The next word from the host (a check run) finds the pull request behind its base: Stageline pushes it again on top.
    expect(await gh.check(fullName, first.pullRequest.headSha, 'ci/test', 'success')).toBe(200);
    const rebased = (await t.call('GET', `/api/v1/promotions/${id}`, { token: u.viewer })).body;
    expect(rebased.pullRequest.headSha).not.toBe(first.pullRequest.headSha);
    expect(g.git(bare, 'rev-parse', `${rebased.pullRequest.headSha}^`).trim()).toBe(moved);
    expect(gh.pulls(fullName)).toHaveLength(1);
    expect(await gh.check(fullName, rebased.pullRequest.headSha, 'ci/test', 'success')).toBe(200);
    expect(await gh.merge(fullName, 1)).toBe(200);
    expect((await waitFor(t, u.viewer, id, ['COMPLETED', 'FAILED'], 30_000)).status).toBe('COMPLETED');
    expect(fileOnMain(fullName, 'envs/production/values.yaml').text).toContain('tag: v1.2.3');

    // A conflict: main now holds an image that is no mapping, so the change cannot be made on it.
    const second = await setup('conflict');
    const id2 = await promote(second.u);
    const open = await waitForMerge(second.u.viewer, id2);
    const bare2 = join(g.root, `${second.fullName}.git`);
    const work = mkdtempSync(join(tmpdir(), 'stageline-other-'));
    try {
      g.git(work, 'clone', '-q', bare2, 'w');
      writeFileSync(join(work, 'w', 'envs/production/values.yaml'), 'image: registry.example.com/platform:v0.9.1\nreplicas: 3\n');
      g.git(join(work, 'w'), 'commit', '-qam', 'flatten image');
      g.git(join(work, 'w'), 'push', '-q', 'origin', 'main');
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
    expect(await gh.check(second.fullName, open.pullRequest.headSha, 'ci/test', 'success')).toBe(200);
    const failed = await waitFor(t, second.u.viewer, id2, ['COMPLETED', 'FAILED'], 30_000);
    expect(failed.status).toBe('FAILED');
    expect(failed.error.message).toContain("merge conflict: envs/production/values.yaml: 'image' is not a mapping, so 'image.tag' cannot be set");
    expect(failed.error.message).toContain(`/${second.fullName}/pull/1`);
    const [closed] = gh.pulls(second.fullName);
    expect(closed).toMatchObject({ state: 'closed', merged: false });
    expect(closed!.comments[0]).toContain('Stageline closed this');
    expect(gh.violations).toEqual([]);
  });
});

describe('merge-request delivery on GitLab (stand-in held to the documented shapes, driven by @gitbeaker/rest)', () => {
  async function setupLab(name: string, pullRequest: Record<string, unknown> = {}) {
    const tenant = t.tenant();
    const u = await t.users(tenant);
    await makeLine(t, u.admin);
    const path = `group-${tenant}/${name}`;
    const repository = g.repo(path, { 'envs/production/values.yaml': VALUES });
    gl.allow(GL_TOKEN, path);
    gl.hook(path, `${t.url}/api/v1/gitops/hooks/${tenant}/production`, HOOK_SECRET);
    const put = await t.call('PUT', '/api/v1/environments/production/git-target', {
      token: u.admin,
      body: {
        repository,
        branch: 'main',
        file: 'envs/production/values.yaml',
        path: 'image.tag',
        tokenSecret: 'GITOPS_TOKEN',
        pullRequest: { host: 'gitlab', apiUrl: gl.url, tokenSecret: 'GITLAB_TOKEN', webhookSecret: 'GITHUB_HOOK', ...pullRequest },
      },
    });
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    await t.call('POST', '/api/v1/artifacts/platform/versions', { token: u.deployer, body: { version: 'v1.2.3', digest: digest('c') } });
    const staging = await t.call('POST', '/api/v1/promotions', {
      token: u.deployer,
      body: { sourceEnvironment: 'dev', targetEnvironment: 'staging', artifact: 'platform', version: 'v1.2.3' },
    });
    expect((await waitFor(t, u.viewer, staging.body.id, ['COMPLETED', 'FAILED'], 30_000)).status).toBe('COMPLETED');
    return { tenant, u, path };
  }

  it('a merge request from a fork whose branch is named stageline/<id> is not adopted: Stageline opens its own, and the fork one merged completes nothing', async () => {
    const { u, path } = await setupLab('forked');
    const p = await t.call('POST', '/api/v1/promotions', {
      token: u.deployer,
      body: { sourceEnvironment: 'staging', targetEnvironment: 'production', artifact: 'platform', version: 'v1.2.3' },
    });
    const id = p.body.id as string;
    const fork = gl.openAs(path, { source: `stageline/${id}`, target: 'main', author: 'mallory', sourceProjectId: 4242 });
    expect((await waitForToken(t, u.viewer, id, 30_000)).waitingFor).toBe('approval');
    expect((await t.call('POST', `/api/v1/promotions/${id}/approve`, { token: u.approver, body: {} })).status).toBe(200);
    const waiting = await waitForMerge(u.viewer, id);
    expect(waiting.pullRequest.number).not.toBe(fork.iid);
    expect(waiting.pullRequest).toMatchObject({ fromFork: false, author: 'stageline-bot', baseBranch: 'main' });
    expect(gl.mergeRequests(path)).toHaveLength(2);
    expect((await t.call('GET', `/api/v1/promotions/${id}`, { token: u.viewer })).body.status).toBe('APPROVED');
    expect(gl.violations).toEqual([]);
  });

  it('opens a merge request set to merge when the pipeline succeeds; a failing pipeline shows on the promotion; GitLab merges it → COMPLETED', async () => {
    const { u, path } = await setupLab('deploy', { autoMerge: true, labels: ['release', 'production'] });
    const id = await promote(u);
    const waiting = await waitForMerge(u.viewer, id);
    expect(waiting.pullRequest).toMatchObject({ host: 'gitlab', number: 1, state: 'open', headBranch: `stageline/${id}`, baseBranch: 'main' });
    const [mr] = gl.mergeRequests(path);
    expect(mr).toMatchObject({ title: 'Promote platform v1.2.3 to production', labels: ['release', 'production'], autoMerge: true });
    expect(mr!.description).toContain('-  tag: v0.9.0 # set by Stageline\n+  tag: v1.2.3 # set by Stageline');
    expect(mr!.description).toContain(`/api/v1/promotions/${id}/decision`);

    expect(await gl.pipeline(path, waiting.pullRequest.headSha, 'failed')).toBe(200);
    const failing = (await t.call('GET', `/api/v1/promotions/${id}`, { token: u.viewer })).body;
    expect(failing.pullRequest.checks).toEqual([{ name: expect.stringMatching(/^pipeline #\d+$/), state: 'failure', url: expect.any(String) }]);
    expect(failing.pullRequest.mergeState).toBe('blocked');

    // The pipeline passes: GitLab merges it itself (auto-merge) and says so.
    expect(await gl.pipeline(path, waiting.pullRequest.headSha, 'success')).toBe(200);
    const done = await waitFor(t, u.viewer, id, ['COMPLETED', 'FAILED'], 30_000);
    expect(done.status, JSON.stringify(done.error)).toBe('COMPLETED');
    expect(done.result.git).toMatchObject({ commit: gl.mergeRequests(path)[0]!.mergeCommit, pullRequest: { number: 1 } });
    expect(fileOnMain(path, 'envs/production/values.yaml').text).toBe(VALUES.replace('tag: v0.9.0', 'tag: v1.2.3'));
    expect(gl.violations).toEqual([]);
  });

  it('fails the promotion when the merge request is closed by hand; refuses a hook with a wrong token (401)', async () => {
    const { u, path } = await setupLab('closed');
    const id = await promote(u);
    await waitForMerge(u.viewer, id);
    expect(await gl.deliver(path, 1, 'wrong-token')).toBe(401);
    expect(await gl.close(path, 1)).toBe(200);
    const failed = await waitFor(t, u.viewer, id, ['COMPLETED', 'FAILED'], 30_000);
    expect(failed.status).toBe('FAILED');
    expect(failed.error.message).toContain(`merge request !1 was closed without merge: ${gl.url}/${path}/-/merge_requests/1`);
    expect(fileOnMain(path, 'envs/production/values.yaml').text).toBe(VALUES);
    expect(gl.violations).toEqual([]);
  });
});
