import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliOf } from '../support/cli.ts';
import type { GitServer } from '../support/git-server.ts';
import { startGitHosts, type GitHosts } from '../support/git-hosts.ts';
import type { GitHubStandin } from '../support/github-standin.ts';
import { approveIfAsked, digest, waitFor } from '../support/promotions.ts';
import { alarmArn, alarmEvent } from '../support/alarms.ts';
import { productionLine } from '../support/line.ts';
import { makeLine, type TestStack } from '../support/stack.ts';

/**
 * A bundle delivered through git: the environment's git target maps each member's artifact to its own file (or path),
 * and the bundle reaches the branch in ONE commit (or ONE pull request) editing every member's file — checked by
 * reading the repository back with the git command — or not at all.
 */
const GIT_TOKEN = 'bundle-git-push-token-0123456789';
const GH_TOKEN = 'ghp_bundlestandintoken0123456789';
const HOOK_SECRET = 'bundle-hook-secret-0123456789';
const API = '# the API (Argo CD watches this file)\nimage:\n  repository: registry.example.com/api\n  tag: v0.1.0\nreplicas: 2\n';
const WORKER = '{\n  "image": { "tag": "v0.1.0" },\n  "queue": "orders"\n}\n';

let t: TestStack;
let g: GitServer;
let gh: GitHubStandin;

let hosts: GitHosts;
beforeAll(async () => {
  hosts = await startGitHosts(GIT_TOKEN, [
    ['git-token', 'GITOPS_TOKEN', GIT_TOKEN],
    ['github-token', 'GITHUB_TOKEN', GH_TOKEN],
    ['git-webhook', 'GITHUB_HOOK', HOOK_SECRET],
  ]);
  ({ t, g, gh } = hosts);
});
afterAll(async () => {
  for (const dir of clones) rmSync(dir, { recursive: true, force: true });
  await hosts?.stop();
});

/** The branch as git itself reads it: each commit (newest first) with its parents and the files it changed, and a file's text. */
const clones: string[] = [];
function readRepo(name: string, branch = 'main') {
  const dir = mkdtempSync(join(tmpdir(), 'stageline-bundle-git-'));
  clones.push(dir);
  {
    g.git(dir, 'clone', '-q', '-b', branch, join(g.root, `${name}.git`), 'repo');
    const repo = join(dir, 'repo');
    const commits = g
      .git(repo, 'log', '--format=%H %P')
      .trim()
      .split('\n')
      .map((l) => {
        const [hash, ...parents] = l.split(' ');
        const files = g.git(repo, 'show', '--name-only', '--format=', hash!).trim().split('\n').filter(Boolean).sort();
        const message = g.git(repo, 'show', '-s', '--format=%B', hash!);
        return { hash: hash!, parents, files, message };
      });
    return { commits, file: (p: string) => readFileSync(join(repo, p), 'utf8') };
  }
}

const paths = {
  api: { file: 'envs/staging/api.yaml', path: 'image.tag' },
  worker: { file: 'envs/staging/worker.json', edit: 'json-path', path: 'image.tag' },
};

/** A tenant with a line, dev running api and worker at `version`, and staging's git target on a fresh repository. */
async function setup(name: string, target: Record<string, unknown>) {
  const tenant = t.tenant();
  const u = await t.users(tenant);
  await makeLine(t, u.admin);
  const repo = `${name}-${tenant}`;
  const repository = g.repo(repo, { 'envs/staging/api.yaml': API, 'envs/staging/worker.json': WORKER });
  const put = await t.call('PUT', '/api/v1/environments/staging/git-target', {
    token: u.admin,
    body: { repository, branch: 'main', file: 'envs/staging/api.yaml', path: 'image.tag', tokenSecret: 'GITOPS_TOKEN', ...target },
  });
  expect(put.status, JSON.stringify(put.body)).toBe(200);
  return { tenant, u, repo, repository };
}

async function publishBoth(u: Record<string, string>, version: string, a: string, w: string) {
  for (const [artifact, c] of [
    ['api', a],
    ['worker', w],
  ] as const) {
    const r = await t.call('POST', `/api/v1/artifacts/${artifact}/versions`, { token: u.deployer!, body: { version, digest: digest(c) } });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
  }
  const b = await t.call('POST', '/api/v1/bundles', { token: u.deployer!, body: { name: 'checkout', from: 'dev' } });
  expect(b.status, JSON.stringify(b.body)).toBeLessThan(300);
  return b.body.digest as string;
}

const promote = (u: Record<string, string>, bundleDigest: string) =>
  t.call('POST', '/api/v1/promotions', {
    token: u.deployer!,
    body: { sourceEnvironment: 'dev', targetEnvironment: 'staging', bundle: 'checkout', bundleDigest },
  });

describe('a bundle through a git target that maps each member to its file', () => {
  it('writes both members in ONE commit on top of the previous head, and a rollback puts both back in one commit', async () => {
    const { u, repo, repository } = await setup('one-commit', { paths });
    // The map reads back as it was given (what an entry leaves out is the target's own).
    const read = await t.call('GET', '/api/v1/environments/staging/git-target', { token: u.viewer });
    expect(read.body.paths).toEqual(paths);
    const seed = readRepo(repo).commits[0]!.hash;

    const d1 = await publishBoth(u, 'v1.0.0', 'a', 'b');
    const p1 = await promote(u, d1);
    expect(p1.status, JSON.stringify(p1.body)).toBe(201);
    const done = await waitFor(t, u.viewer, p1.body.id, ['COMPLETED', 'FAILED', 'ROLLED_BACK'], 30_000);
    expect(done.status, JSON.stringify(done.error)).toBe('COMPLETED');

    let r = readRepo(repo);
    expect(r.commits).toHaveLength(2);
    const [c1] = r.commits;
    expect(c1!.parents).toEqual([seed]);
    expect(c1!.files).toEqual(['envs/staging/api.yaml', 'envs/staging/worker.json']);
    expect(r.file('envs/staging/api.yaml')).toBe(API.replace('tag: v0.1.0', 'tag: v1.0.0'));
    expect(JSON.parse(r.file('envs/staging/worker.json'))).toEqual({ image: { tag: 'v1.0.0' }, queue: 'orders' });
    expect(c1!.message).toContain('Promote bundle checkout to staging: api v1.0.0, worker v1.0.0');
    expect(c1!.message).toContain(`Stageline-Bundle: checkout@${d1}`);
    expect(done.result.git).toMatchObject({
      repository,
      commit: c1!.hash,
      changed: true,
      members: [
        { artifact: 'api', file: 'envs/staging/api.yaml', path: 'image.tag', value: 'v1.0.0' },
        { artifact: 'worker', file: 'envs/staging/worker.json', path: 'image.tag', value: 'v1.0.0' },
      ],
    });

    // v2 of both, then a rollback of that promotion: one commit puts both files back to v1.0.0.
    const d2 = await publishBoth(u, 'v2.0.0', 'c', 'd');
    const p2 = await promote(u, d2);
    const done2 = await waitFor(t, u.viewer, p2.body.id, ['COMPLETED', 'FAILED', 'ROLLED_BACK'], 30_000);
    expect(done2.status, JSON.stringify(done2.error)).toBe('COMPLETED');
    const c2 = readRepo(repo).commits[0]!;
    expect(c2.parents).toEqual([c1!.hash]);
    expect(c2.files).toEqual(['envs/staging/api.yaml', 'envs/staging/worker.json']);

    const rb = await t.call('POST', `/api/v1/promotions/${p2.body.id}/rollback`, { token: u.deployer, body: { reason: 'orders stuck' } });
    expect(rb.status, JSON.stringify(rb.body)).toBe(200);
    await approveIfAsked(t, u, rb.body.promotion.id, ['COMPLETED', 'FAILED']);
    const back = await waitFor(t, u.viewer, rb.body.promotion.id, ['COMPLETED', 'FAILED', 'ROLLED_BACK'], 30_000);
    expect(back.status, JSON.stringify(back.error)).toBe('COMPLETED');
    r = readRepo(repo);
    expect(r.commits).toHaveLength(4);
    const c3 = r.commits[0]!;
    expect(c3.parents).toEqual([c2.hash]);
    expect(c3.files).toEqual(['envs/staging/api.yaml', 'envs/staging/worker.json']);
    expect(c3.message).toContain('Roll back bundle checkout to staging: api v1.0.0, worker v1.0.0');
    expect(r.file('envs/staging/api.yaml')).toBe(API.replace('tag: v0.1.0', 'tag: v1.0.0'));
    expect(JSON.parse(r.file('envs/staging/worker.json')).image.tag).toBe('v1.0.0');
    expect(back.result.git.commit).toBe(c3.hash);
  });

  it('an alarm while it bakes puts both members back in one commit', async () => {
    const { u, repo } = await setup('alarm', { paths });
    const d1 = await publishBoth(u, 'v1.0.0', 'a', 'b');
    expect((await waitFor(t, u.viewer, (await promote(u, d1)).body.id, ['COMPLETED', 'FAILED'], 30_000)).status).toBe('COMPLETED');
    const env = await t.call('GET', '/api/v1/environments/staging', { token: u.viewer });
    await t.call('PATCH', '/api/v1/environments/staging', { token: u.admin, body: { version: env.body.version, bakeSeconds: 3 } });
    const d2 = await publishBoth(u, 'v2.0.0', 'c', 'd');
    const p2 = await promote(u, d2);
    await waitFor(t, u.viewer, p2.body.id, ['EXECUTING']);
    const a = await t.call('POST', `/api/v1/promotions/${p2.body.id}/evidence`, {
      token: u.deployer,
      body: { type: 'alarm', payload: { name: 'error-rate', state: 'ALARM', reason: '5xx > 2 %' } },
    });
    expect(a.status).toBe(201);
    const failed = await waitFor(t, u.viewer, p2.body.id, ['COMPLETED', 'FAILED', 'ROLLED_BACK'], 30_000);
    expect(failed.status).toBe('ROLLED_BACK');
    const r = readRepo(repo);
    // seed, v1 (one commit), v2 (one commit), the revert (one commit): both files back to v1.0.0.
    expect(r.commits).toHaveLength(4);
    expect(r.commits[0]!.parents).toEqual([r.commits[1]!.hash]);
    expect(r.commits[0]!.files).toEqual(['envs/staging/api.yaml', 'envs/staging/worker.json']);
    expect(r.commits[0]!.message).toContain('Roll back bundle checkout in staging: api v1.0.0, worker v1.0.0');
    expect(r.file('envs/staging/api.yaml')).toContain('tag: v1.0.0');
    expect(JSON.parse(r.file('envs/staging/worker.json')).image.tag).toBe('v1.0.0');
    expect(failed.result.gitRevert).toMatchObject({ commit: r.commits[0]!.hash, changed: true });
    expect(failed.result.gitRevert.error).toBeUndefined();
  });

  it('an alarm of the environment’s monitor (the alarm event) while it bakes puts both members back in one commit, shown as result.gitRevert', async () => {
    const { tenant, u, repo } = await setup('monitor', { paths });
    const d1 = await publishBoth(u, 'v1.0.0', 'a', 'b');
    expect((await waitFor(t, u.viewer, (await promote(u, d1)).body.id, ['COMPLETED', 'FAILED'], 30_000)).status).toBe('COMPLETED');
    const alarm = alarmArn(`${tenant}/checkout-5xx`);
    const env = await t.call('GET', '/api/v1/environments/staging', { token: u.viewer });
    const patched = await t.call('PATCH', '/api/v1/environments/staging', {
      token: u.admin,
      body: { version: env.body.version, bakeSeconds: 60, monitors: [alarm] },
    });
    expect(patched.status, JSON.stringify(patched.body)).toBe(200);
    const d2 = await publishBoth(u, 'v2.0.0', 'c', 'd');
    const p2 = await promote(u, d2);
    await waitFor(t, u.viewer, p2.body.id, ['EXECUTING']);
    let baking = (await t.call('GET', `/api/v1/promotions/${p2.body.id}`, { token: u.viewer })).body;
    for (let i = 0; i < 200 && !baking.result; i++) {
      await new Promise((r) => setTimeout(r, 100));
      baking = (await t.call('GET', `/api/v1/promotions/${p2.body.id}`, { token: u.viewer })).body;
    }
    expect(baking.result.git).toMatchObject({ changed: true });
    expect((await t.call('POST', '/dev/events', { body: alarmEvent(alarm, '5xx > 2 %') })).status).toBe(202);
    const failed = await waitFor(t, u.viewer, p2.body.id, ['COMPLETED', 'FAILED', 'ROLLED_BACK'], 30_000);
    expect(failed.status, JSON.stringify(failed.error)).toBe('ROLLED_BACK');
    const r = readRepo(repo);
    expect(r.commits[0]!.message).toContain('Roll back bundle checkout in staging: api v1.0.0, worker v1.0.0');
    expect(failed.result.gitRevert).toMatchObject({
      commit: r.commits[0]!.hash,
      changed: true,
      members: [expect.objectContaining({ artifact: 'api', value: 'v1.0.0' }), expect.objectContaining({ artifact: 'worker', value: 'v1.0.0' })],
    });
    expect(failed.result.gitRevert.error).toBeUndefined();
  });

  it('refuses (422) a bundle with a member the map leaves out, naming it and its path, and writes nothing', async () => {
    const { u, repo } = await setup('unmapped', { paths: { api: paths.api } });
    const before = readRepo(repo).commits;
    const d1 = await publishBoth(u, 'v1.0.0', 'a', 'b');
    const p = await promote(u, d1);
    expect(p.status, JSON.stringify(p.body)).toBe(422);
    expect(p.body.error.message).toContain('worker (paths.worker)');
    expect(p.body.error.message).not.toContain('api (paths.api)');
    expect(readRepo(repo).commits).toEqual(before);
    // With no map at all, every member is named.
    const none = await t.call('GET', '/api/v1/environments/staging/git-target', { token: u.viewer });
    const put = await t.call('PUT', '/api/v1/environments/staging/git-target', {
      token: u.admin,
      body: { ...pick(none.body), paths: null, version: none.body.version },
    });
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    const again = await promote(u, d1);
    expect(again.status).toBe(422);
    expect(again.body.error.message).toContain('api (paths.api), worker (paths.worker)');
    expect(readRepo(repo).commits).toEqual(before);
  });

  it('refuses a bad map with a 400 naming the field', async () => {
    const { u } = await setup('bad', {});
    const cur = (await t.call('GET', '/api/v1/environments/staging/git-target', { token: u.viewer })).body;
    const bad = async (p: unknown) => {
      const r = await t.call('PUT', '/api/v1/environments/staging/git-target', { token: u.admin, body: { ...pick(cur), version: cur.version, paths: p } });
      expect(r.status, JSON.stringify(r.body)).toBe(400);
      return JSON.stringify(r.body.error);
    };
    expect(await bad({ 'Not An Artifact': { path: 'image.tag' } })).toContain('paths');
    expect(await bad({ api: { path: 'image..tag' } })).toContain('paths.api.path');
    expect(await bad({ api: { file: '../outside.yaml', path: 'image.tag' } })).toContain('paths.api.file');
    expect(await bad({ api: { file: 'envs/a.yaml', edit: 'json-path', path: 'image.tag' } })).toContain('paths.api.file');
    expect(await bad({ api: { path: 'image.tag', extra: 1 } })).toContain('paths');
    expect(await bad(JSON.parse('{"__proto__": {"path": "image.tag"}}'))).toContain('__proto__');
    expect(await bad({ api: { file: 'envs/{target}/api.yaml', path: 'image.tag' } })).toContain('paths.api.file');
    // Nothing was stored: the target is as it was.
    expect((await t.call('GET', '/api/v1/environments/staging/git-target', { token: u.viewer })).body.version).toBe(cur.version);
  });
});

describe('a bundle through a git target in pull-request mode', () => {
  it('opens ONE pull request whose one commit edits both files; merging it completes the promotion', async () => {
    const tenant = t.tenant();
    const u = await t.users(tenant);
    await makeLine(t, u.admin);
    const fullName = `acme-${tenant}/bundle-pr`;
    const repository = g.repo(fullName, { 'envs/staging/api.yaml': API, 'envs/staging/worker.json': WORKER });
    gh.allow(GH_TOKEN, fullName);
    gh.hook(fullName, `${t.url}/api/v1/gitops/hooks/${tenant}/staging`, HOOK_SECRET);
    const put = await t.call('PUT', '/api/v1/environments/staging/git-target', {
      token: u.admin,
      body: {
        repository,
        branch: 'main',
        file: 'envs/staging/api.yaml',
        path: 'image.tag',
        tokenSecret: 'GITOPS_TOKEN',
        paths,
        pullRequest: { host: 'github', apiUrl: gh.url, tokenSecret: 'GITHUB_TOKEN', webhookSecret: 'GITHUB_HOOK' },
      },
    });
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    const seed = readRepo(fullName).commits[0]!.hash;
    const d1 = await publishBoth(u, 'v1.0.0', 'a', 'b');
    const p = await promote(u, d1);
    expect(p.status, JSON.stringify(p.body)).toBe(201);
    const until = Date.now() + 30_000;
    let waiting;
    for (;;) {
      waiting = (await t.call('GET', `/api/v1/promotions/${p.body.id}`, { token: u.viewer })).body;
      if (waiting.waitingFor === 'merge') break;
      if (Date.now() > until || ['FAILED', 'COMPLETED'].includes(waiting.status)) throw new Error(`never waited for a merge: ${JSON.stringify(waiting)}`);
      await new Promise((res) => setTimeout(res, 100));
    }
    const pulls = gh.pulls(fullName);
    expect(pulls).toHaveLength(1);
    expect(pulls[0]!.title).toBe('Promote bundle checkout to staging');
    expect(pulls[0]!.body).toContain('| api | envs/staging/api.yaml image.tag | v0.1.0 | v1.0.0 |');
    expect(pulls[0]!.body).toContain('| worker | envs/staging/worker.json image.tag | v0.1.0 | v1.0.0 |');
    // The head branch: one commit on the base, editing both files.
    const head = readRepo(fullName, pulls[0]!.head).commits;
    expect(head).toHaveLength(2);
    expect(head[0]!.parents).toEqual([seed]);
    expect(head[0]!.files).toEqual(['envs/staging/api.yaml', 'envs/staging/worker.json']);
    expect(readRepo(fullName).commits).toHaveLength(1);

    expect(await gh.merge(fullName, 1)).toBe(200);
    const done = await waitFor(t, u.viewer, p.body.id, ['COMPLETED', 'FAILED'], 30_000);
    expect(done.status, JSON.stringify(done.error)).toBe('COMPLETED');
    expect(done.result.git).toMatchObject({ commit: gh.pulls(fullName)[0]!.mergeCommit, pullRequest: { number: 1 } });
    const main = readRepo(fullName);
    expect(main.file('envs/staging/api.yaml')).toContain('tag: v1.0.0');
    expect(JSON.parse(main.file('envs/staging/worker.json')).image.tag).toBe('v1.0.0');
    expect(gh.pulls(fullName)).toHaveLength(1);
  });
});

describe('a bundle through a git target in pull-request mode, rolled back by an alarm', () => {
  it('proposes the revert of both members as ONE pull request of its own, shown as result.gitRevert with each member, as a single release shows it', async () => {
    const tenant = t.tenant();
    const u = await t.users(tenant);
    await makeLine(t, u.admin);
    const fullName = `acme-${tenant}/bundle-pr-alarm`;
    const repository = g.repo(fullName, { 'envs/staging/api.yaml': API, 'envs/staging/worker.json': WORKER });
    gh.allow(GH_TOKEN, fullName);
    gh.hook(fullName, `${t.url}/api/v1/gitops/hooks/${tenant}/staging`, HOOK_SECRET);
    const put = await t.call('PUT', '/api/v1/environments/staging/git-target', {
      token: u.admin,
      body: {
        repository,
        branch: 'main',
        file: 'envs/staging/api.yaml',
        path: 'image.tag',
        tokenSecret: 'GITOPS_TOKEN',
        paths,
        pullRequest: { host: 'github', apiUrl: gh.url, tokenSecret: 'GITHUB_TOKEN', webhookSecret: 'GITHUB_HOOK' },
      },
    });
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    /** promotes the bundle and merges its pull request as a person would */
    const promoteAndMerge = async (d: string) => {
      const p = await promote(u, d);
      expect(p.status, JSON.stringify(p.body)).toBe(201);
      const until = Date.now() + 30_000;
      for (;;) {
        const cur = (await t.call('GET', `/api/v1/promotions/${p.body.id}`, { token: u.viewer })).body;
        if (cur.waitingFor === 'merge') {
          expect(await gh.merge(fullName, cur.pullRequest.number)).toBe(200);
          return p.body.id as string;
        }
        if (Date.now() > until || ['FAILED', 'COMPLETED'].includes(cur.status)) throw new Error(`never waited for a merge: ${JSON.stringify(cur)}`);
        await new Promise((res) => setTimeout(res, 100));
      }
    };
    const p1 = await promoteAndMerge(await publishBoth(u, 'v1.0.0', 'a', 'b'));
    expect((await waitFor(t, u.viewer, p1, ['COMPLETED', 'FAILED'], 30_000)).status).toBe('COMPLETED');
    // The environment's monitor: its alarm (the CloudWatch event) ends the bake at once.
    const alarm = alarmArn(`${tenant}/checkout-pr-5xx`);
    const env = await t.call('GET', '/api/v1/environments/staging', { token: u.viewer });
    const patched = await t.call('PATCH', '/api/v1/environments/staging', {
      token: u.admin,
      body: { version: env.body.version, bakeSeconds: 60, monitors: [alarm] },
    });
    expect(patched.status, JSON.stringify(patched.body)).toBe(200);
    const p2 = await promoteAndMerge(await publishBoth(u, 'v2.0.0', 'c', 'd'));
    let baking = (await t.call('GET', `/api/v1/promotions/${p2}`, { token: u.viewer })).body;
    for (let i = 0; i < 300 && !baking.result; i++) {
      await new Promise((r) => setTimeout(r, 100));
      baking = (await t.call('GET', `/api/v1/promotions/${p2}`, { token: u.viewer })).body;
    }
    expect(baking.result?.git, JSON.stringify(baking)).toMatchObject({ changed: true, pullRequest: { number: 2 } });
    expect((await t.call('POST', '/dev/events', { body: alarmEvent(alarm, '5xx > 2 %') })).status).toBe(202);
    const failed = await waitFor(t, u.viewer, p2, ['COMPLETED', 'FAILED', 'ROLLED_BACK'], 30_000);
    expect(failed.status, JSON.stringify(failed.error)).toBe('ROLLED_BACK');
    // The base branch is protected: the revert is proposed, one pull request whose one commit puts both files back.
    const revert = gh.pulls(fullName).find((x) => x.head === `stageline/${p2}-revert`)!;
    expect(revert, JSON.stringify(gh.pulls(fullName))).toBeDefined();
    expect(revert.state).toBe('open');
    const head = readRepo(fullName, revert.head);
    expect(head.commits[0]!.files).toEqual(['envs/staging/api.yaml', 'envs/staging/worker.json']);
    expect(head.file('envs/staging/api.yaml')).toContain('tag: v1.0.0');
    expect(JSON.parse(head.file('envs/staging/worker.json')).image.tag).toBe('v1.0.0');
    expect(failed.result.gitRevert).toMatchObject({
      commit: head.commits[0]!.hash,
      changed: true,
      pullRequest: { number: revert.number },
      members: [expect.objectContaining({ artifact: 'api', value: 'v1.0.0' }), expect.objectContaining({ artifact: 'worker', value: 'v1.0.0' })],
    });
    expect(failed.result.gitRevert.error).toBeUndefined();
    expect(gh.violations).toEqual([]);
  });
});

describe('a bundle rolled out through targets, each with its own files ({target})', () => {
  it('commits every member of a target in one commit as its wave changes it, and an alarm in wave 2 puts each target back in one commit', async () => {
    const tenant = t.tenant();
    const us = alarmArn(`${tenant}/us-east-1-5xx`);
    const TARGETS = ['canary', 'us-east-1'];
    const { u } = await productionLine(
      t,
      {
        bakeSeconds: 1,
        targets: [
          { name: 'canary', wave: 1 },
          { name: 'us-east-1', wave: 2, monitors: [us] },
        ],
        rollout: { waves: [{ wave: 2, bakeSeconds: 1 }] },
      },
      tenant,
    );
    const repo = `waves-${tenant}`;
    const filesOf = (n: string) => [`envs/production/${n}/api.yaml`, `envs/production/${n}/worker.json`];
    const repository = g.repo(repo, Object.fromEntries(TARGETS.flatMap((n) => filesOf(n).map((f, i) => [f, i ? WORKER : API]))));
    const put = await t.call('PUT', '/api/v1/environments/production/git-target', {
      token: u.admin,
      body: {
        repository,
        branch: 'main',
        file: 'envs/production/{target}/api.yaml',
        path: 'image.tag',
        tokenSecret: 'GITOPS_TOKEN',
        paths: {
          api: { path: 'image.tag' },
          worker: { file: 'envs/production/{target}/worker.json', edit: 'json-path', path: 'image.tag' },
        },
      },
    });
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    const tags = (r: ReturnType<typeof readRepo>) =>
      Object.fromEntries(TARGETS.map((n) => [n, `${/tag: (\S+)/.exec(r.file(filesOf(n)[0]!))![1]} ${JSON.parse(r.file(filesOf(n)[1]!)).image.tag}`]));
    const promote = async (bundleDigest: string, alarmInWave2: boolean) => {
      const p = await t.call('POST', '/api/v1/promotions', {
        token: u.deployer,
        body: { sourceEnvironment: 'dev', targetEnvironment: 'production', bundle: 'checkout', bundleDigest },
      });
      expect(p.status, JSON.stringify(p.body)).toBe(201);
      await approveIfAsked(t, u, p.body.id, ['EXECUTING', 'COMPLETED', 'FAILED']);
      if (alarmInWave2) {
        for (let i = 0; ; i++) {
          const d = (await t.call('GET', `/api/v1/promotions/${p.body.id}`, { token: u.viewer })).body;
          if (d.rollout?.waves?.[1]?.targets?.[0]?.state === 'BAKING') break;
          if (i > 300) throw new Error(`wave 2 never baked: ${JSON.stringify(d.rollout)}`);
          await new Promise((r) => setTimeout(r, 100));
        }
        // Both targets run v2 of both members, each target's two files in one commit.
        expect(tags(readRepo(repo))).toEqual({ canary: 'v2.0.0 v2.0.0', 'us-east-1': 'v2.0.0 v2.0.0' });
        expect((await t.call('POST', '/dev/events', { body: alarmEvent(us, '5xx in us-east-1') })).status).toBe(202);
      }
      return waitFor(t, u.viewer, p.body.id, ['COMPLETED', 'FAILED', 'ROLLED_BACK'], 60_000);
    };

    const first = await promote(await publishBoth(u, 'v1.0.0', 'a', 'b'), false);
    expect(first.status, JSON.stringify(first.error)).toBe('COMPLETED');
    expect(first.result.git).toMatchObject({ perTarget: true, changed: false });
    let r = readRepo(repo);
    // The seed and one commit per target, each touching that target's two files and nothing else.
    expect(r.commits).toHaveLength(1 + TARGETS.length);
    expect(r.commits.slice(0, -1).map((c) => c.files)).toEqual(['us-east-1', 'canary'].map(filesOf));
    expect(r.commits[0]!.parents).toEqual([r.commits[1]!.hash]);
    expect(tags(r)).toEqual({ canary: 'v1.0.0 v1.0.0', 'us-east-1': 'v1.0.0 v1.0.0' });

    // Wave 2 bakes long enough for its alarm: both targets go back, each in one commit writing both its files.
    const env = await t.call('GET', '/api/v1/environments/production', { token: u.viewer });
    const patched = await t.call('PATCH', '/api/v1/environments/production', {
      token: u.admin,
      body: { version: env.body.version, rollout: { waves: [{ wave: 2, bakeSeconds: 30 }] } },
    });
    expect(patched.status, JSON.stringify(patched.body)).toBe(200);
    const second = await promote(await publishBoth(u, 'v2.0.0', 'c', 'd'), true);
    expect(second.status, JSON.stringify(second.error)).toBe('ROLLED_BACK');
    r = readRepo(repo);
    expect(tags(r)).toEqual({ canary: 'v1.0.0 v1.0.0', 'us-east-1': 'v1.0.0 v1.0.0' });
    // seed, 2 (v1), 2 (v2), 2 reverts, newest wave first: us-east-1 then canary.
    expect(r.commits).toHaveLength(7);
    expect(r.commits.slice(0, 2).map((c) => c.files)).toEqual(['canary', 'us-east-1'].map(filesOf));
    expect(r.commits[1]!.message).toContain('Roll back bundle checkout in production/us-east-1 (wave 2): api v1.0.0, worker v1.0.0');
    expect(r.commits.some((c) => c.files.some((f) => f.includes('{target}')))).toBe(false);
  });
});

describe('the path map through the CLI and the manifest', () => {
  it('sets it with the CLI, and carries it through export, plan and apply (a round trip changes nothing; a document changes it)', async () => {
    const { u } = await setup('cli', {});
    const cli = cliOf(t);
    const set = await cli(
      u.admin,
      'git-target',
      'set',
      'staging',
      '--map',
      'api=envs/staging/api.yaml:image.tag',
      '--map',
      'worker=envs/staging/worker.json:image.tag@json-path',
    );
    expect(set.stdout).toContain('by artifact: api → envs/staging/api.yaml image.tag, worker → envs/staging/worker.json json-path image.tag');
    expect((await t.call('GET', '/api/v1/environments/staging/git-target', { token: u.viewer })).body.paths).toEqual(paths);
    await expect(cli(u.admin, 'git-target', 'set', 'staging', '--map', 'api-no-path')).rejects.toThrow(/artifact=file:path/);

    // Exported as stored; the export planned again changes nothing.
    const exported = (await t.call('GET', '/api/v1/manifest?format=json', { token: u.viewer })).body;
    expect(exported.artifacts.promotion.git_targets.staging.paths).toEqual(paths);
    const same = await t.call('POST', '/api/v1/manifest/plan', { token: u.admin, body: { document: JSON.stringify(exported) } });
    expect(same.status, JSON.stringify(same.body)).toBe(200);
    expect(same.body.changes.filter((c: { path: string }) => c.path.startsWith('git_targets'))).toEqual([]);

    // A document that moves worker into the API's file: planned as a change of the git target, applied, read back.
    const doc = structuredClone(exported);
    doc.artifacts.promotion.git_targets.staging.paths.worker = { path: 'worker.image.tag' };
    const plan = await t.call('POST', '/api/v1/manifest/plan', { token: u.admin, body: { document: JSON.stringify(doc) } });
    expect(plan.status, JSON.stringify(plan.body)).toBe(200);
    expect(plan.body.changes.map((c: { op: string; path: string }) => `${c.op} ${c.path}`)).toEqual([
      'remove git_targets.staging.paths.worker.edit',
      'remove git_targets.staging.paths.worker.file',
      'change git_targets.staging.paths.worker.path',
    ]);
    const applied = await t.call('POST', '/api/v1/manifest/apply', {
      token: u.admin,
      body: { document: JSON.stringify(doc), expectedDigest: plan.body.digest },
    });
    expect(applied.status, JSON.stringify(applied.body)).toBe(200);
    expect((await t.call('GET', '/api/v1/environments/staging/git-target', { token: u.viewer })).body.paths).toEqual({
      api: paths.api,
      worker: { path: 'worker.image.tag' },
    });
    // A bad entry in a document: 400 naming its place.
    doc.artifacts.promotion.git_targets.staging.paths.worker = { file: 'worker.yaml', edit: 'json-path', path: 'image.tag' };
    const bad = await t.call('POST', '/api/v1/manifest/plan', { token: u.admin, body: { document: JSON.stringify(doc) } });
    expect(bad.status, JSON.stringify(bad.body)).toBe(400);
    expect(bad.body.error.issues).toEqual(
      expect.arrayContaining([expect.objectContaining({ path: 'document.artifacts.promotion.git_targets.staging.paths.worker.file' })]),
    );
  });
});

/** The fields of a git target a PUT takes back. */
const pick = (b: Record<string, unknown>) =>
  Object.fromEntries(
    ['repository', 'branch', 'file', 'edit', 'path', 'value', 'tokenSecret', 'paths', 'pullRequest'].filter((k) => b[k] !== undefined).map((k) => [k, b[k]]),
  );
