import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IsomorphicGitWriter } from '../../functions/adapters/git-writer.ts';
import type { GitTarget } from '../../domain/gitops/ports.ts';
import { startGitServer, type GitServer } from '../support/git-server.ts';
import { waitFor } from '../support/promotions.ts';
import { makeLine, startTestStack, type TestStack } from '../support/stack.ts';
import { localSecretVariable } from '../../functions/adapters/secrets.ts';

/** GitOps delivery against a real git HTTP server (git http-backend), checked afterwards with the git command. */
const TOKEN = 'gitops-test-token-0123456789';
const VALUES =
  '# production values (Argo CD watches this file)\nimage:\n  repository: registry.example.com/platform\n  tag: v0.9.0 # set by Stageline\nreplicas: 3\n';
const digest = (c: string) => `sha256:${c.repeat(64)}`;

let t: TestStack;
let g: GitServer;

beforeAll(async () => {
  t = await startTestStack();
  g = await startGitServer(TOKEN);
  // Each tenant this file makes holds the push token as its own secret (STAGELINE_SECRET_<TENANT>__GITOPS_TOKEN locally).
  const mint = t.tenant.bind(t);
  t.tenant = () => {
    const id = mint();
    process.env[localSecretVariable(id, 'git-token', 'GITOPS_TOKEN')!] = TOKEN;
    return id;
  };
});
afterAll(async () => {
  await t.stop();
  await g.close();
});

function cloneWithGit(url: string): { dir: string; file: (p: string) => string; log: (fmt: string) => string; done: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'stageline-check-'));
  // From the served bare repository itself (a synchronous clone over HTTP would wait on this very process's server).
  g.git(dir, 'clone', '-q', join(g.root, url.split('/').pop()!), 'repo');
  const repo = join(dir, 'repo');
  return {
    dir,
    file: (p) => readFileSync(join(repo, p), 'utf8'),
    log: (fmt) => g.git(repo, 'log', `--format=${fmt}`),
    done: () => rmSync(dir, { recursive: true, force: true }),
  };
}

describe('GitOps delivery (isomorphic-git, git http-backend)', () => {
  it('commits the promoted version into the YAML path and pushes (message names the promotion, approvers and decision digest); a second run commits nothing', async () => {
    const tenant = t.tenant();
    const u = await t.users(tenant);
    await makeLine(t, u.admin);
    const url = g.repo(`deploy-${tenant}`, { 'envs/staging/values.yaml': VALUES });
    const put = await t.call('PUT', '/api/v1/environments/staging/git-target', {
      token: u.admin,
      body: { repository: url, branch: 'main', file: 'envs/staging/values.yaml', path: 'image.tag', tokenSecret: 'GITOPS_TOKEN' },
    });
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    expect((await t.call('GET', '/api/v1/environments/staging/git-target', { token: u.viewer })).body).toMatchObject({
      repository: url,
      path: 'image.tag',
      value: 'version',
      tokenSecret: 'GITOPS_TOKEN',
      version: 1,
    });

    expect((await t.call('POST', '/api/v1/artifacts/platform/versions', { token: u.deployer, body: { version: 'v1.2.3', digest: digest('a') } })).status).toBe(
      201,
    );
    const p = await t.call('POST', '/api/v1/promotions', {
      token: u.deployer,
      body: { sourceEnvironment: 'dev', targetEnvironment: 'staging', artifact: 'platform', version: 'v1.2.3' },
    });
    expect(p.status, JSON.stringify(p.body)).toBe(201);
    const done = await waitFor(t, u.viewer, p.body.id, ['COMPLETED', 'FAILED'], 30_000);
    expect(done.status, JSON.stringify(done.error)).toBe('COMPLETED');
    expect(done.result.git).toMatchObject({ repository: url, branch: 'main', value: 'v1.2.3', changed: true, attempts: 1 });

    const c = cloneWithGit(url);
    try {
      // The value is in place; the comments and the rest of the file are as they were.
      expect(c.file('envs/staging/values.yaml')).toBe(VALUES.replace('tag: v0.9.0', 'tag: v1.2.3'));
      expect(c.log('%H').trim().split('\n')).toHaveLength(2);
      expect(c.log('%H').split('\n')[0]).toBe(done.result.git.commit);
      const message = c.log('%B').split('\nseed')[0]!;
      const decision = await t.call('GET', `/api/v1/promotions/${p.body.id}/decision`, { token: u.viewer });
      expect(message).toContain('Promote platform v1.2.3 to staging');
      expect(message).toContain(`Stageline-Promotion: ${p.body.id}`);
      expect(message).toContain(`Stageline-Decision-Digest: ${decision.body.decisionDigest}`);
      expect(message).toContain('Stageline-Approved-By: none (no approval required)');
    } finally {
      c.done();
    }

    // Running the step again (a crash after the push): the file holds the value, no second commit.
    const target = { ...(put.body as Omit<GitTarget, 'tenant'>), tenant };
    const again = await new IsomorphicGitWriter().commit({ tenant, target, value: 'v1.2.3', message: 'again', author: { name: 'x', email: 'x@example.test' } });
    expect(again).toEqual({ commit: done.result.git.commit, changed: false, attempts: 0 });
  });

  it('retries on the new head when the branch moved during the push, keeping the other commit', async () => {
    const tenant = t.tenant();
    const url = g.repo(`moved-${tenant}`, { 'deploy/app.json': '{\n  "image": { "tag": "v1" },\n  "replicas": 2\n}\n' });
    const bare = join(g.root, `moved-${tenant}.git`);
    // The first push finds main moved by someone else (a commit pushed straight into the bare repository).
    g.beforePush = () => {
      g.beforePush = undefined;
      const work = mkdtempSync(join(tmpdir(), 'stageline-other-'));
      g.git(work, 'clone', '-q', bare, 'w');
      g.git(join(work, 'w'), 'commit', '-q', '--allow-empty', '-m', 'someone else');
      g.git(join(work, 'w'), 'push', '-q', 'origin', 'main');
      rmSync(work, { recursive: true, force: true });
    };
    const target: GitTarget = {
      tenant,
      environment: 'production',
      repository: url,
      branch: 'main',
      file: 'deploy/app.json',
      path: 'image.tag',
      value: 'version',
      tokenSecret: 'GITOPS_TOKEN',
      version: 1,
      createdAt: '',
      createdBy: '',
      updatedAt: '',
      updatedBy: '',
    };
    const r = await new IsomorphicGitWriter().commit({
      tenant,
      target,
      value: 'v2',
      message: 'Promote app v2',
      author: { name: 'ci', email: 'ci@example.test' },
    });
    expect(r.changed).toBe(true);
    expect(r.attempts).toBe(2);
    const c = cloneWithGit(url);
    try {
      expect(JSON.parse(c.file('deploy/app.json'))).toEqual({ image: { tag: 'v2' }, replicas: 2 });
      expect(c.log('%s').trim().split('\n')).toEqual(['Promote app v2', 'someone else', 'seed']);
    } finally {
      c.done();
    }
  });

  it('fails the promotion with a clear message when the file cannot take the value, writing nothing; refuses private repository URLs and a wrong token', async () => {
    const tenant = t.tenant();
    const u = await t.users(tenant);
    await makeLine(t, u.admin);
    const url = g.repo(`conflict-${tenant}`, { 'values.yaml': 'image: registry.example.com/platform:v0.9.0\n' });
    expect(
      (
        await t.call('PUT', '/api/v1/environments/staging/git-target', {
          token: u.admin,
          body: { repository: 'https://10.1.2.3/repo.git', branch: 'main', file: 'values.yaml', path: 'image.tag' },
        })
      ).status,
    ).toBe(400);
    // Outside the work tree, into the repository's own files (.git, any case), or an empty segment: 400 naming the field.
    for (const file of ['../etc/passwd.yaml', '.git/config.yaml', 'envs/.GIT/hooks.yaml', 'envs//values.yaml']) {
      const refused = await t.call('PUT', '/api/v1/environments/staging/git-target', {
        token: u.admin,
        body: { repository: url, branch: 'main', file, path: 'image.tag' },
      });
      expect(refused.status, file).toBe(400);
      expect(refused.body.error.issues, file).toEqual([{ path: 'file', message: expect.stringMatching(/no \., \.\. or \.git segments, no \/\//) }]);
    }
    expect(
      (
        await t.call('PUT', '/api/v1/environments/staging/git-target', {
          token: u.deployer,
          body: { repository: url, branch: 'main', file: 'values.yaml', path: 'image.tag' },
        })
      ).status,
    ).toBe(403);
    const put = await t.call('PUT', '/api/v1/environments/staging/git-target', {
      token: u.admin,
      body: { repository: url, branch: 'main', file: 'values.yaml', path: 'image.tag', tokenSecret: 'GITOPS_TOKEN' },
    });
    expect(put.status).toBe(200);
    const other = await t.users(t.tenant());
    expect((await t.call('GET', '/api/v1/environments/staging/git-target', { token: other.admin })).status).toBe(404);

    await t.call('POST', '/api/v1/artifacts/platform/versions', { token: u.deployer, body: { version: 'v1.2.3', digest: digest('b') } });
    const p = await t.call('POST', '/api/v1/promotions', {
      token: u.deployer,
      body: { sourceEnvironment: 'dev', targetEnvironment: 'staging', artifact: 'platform', version: 'v1.2.3' },
    });
    const failed = await waitFor(t, u.viewer, p.body.id, ['COMPLETED', 'FAILED'], 30_000);
    expect(failed.status).toBe('FAILED');
    expect(failed.error.message).toContain("git delivery failed: values.yaml: 'image' is not a mapping, so 'image.tag' cannot be set");
    const c = cloneWithGit(url);
    try {
      expect(c.log('%s').trim()).toBe('seed');
    } finally {
      c.done();
    }
    const status = await t.call('GET', '/api/v1/artifacts/platform/versions?environment=staging', { token: u.viewer });
    expect(JSON.stringify(status.body)).not.toContain('v1.2.3');
    // It counts: a failed change into staging (the change failure rate), and the line's status says how it ended.
    const day = new Date().toISOString().slice(0, 10);
    const m = await t.call('GET', `/api/v1/platform/metrics?environment=staging&from=${day}T00:00:00Z&period=day`, { token: u.viewer });
    expect(m.body.environments[0].total).toMatchObject({ deployments: 1, failed: 1 });
    const line = await t.call('GET', '/api/v1/status?env=staging', { token: u.viewer });
    expect(line.body.environments[0].lastOutcome).toMatchObject({ id: p.body.id, status: 'FAILED', reason: expect.stringContaining('git delivery failed') });

    // A wrong token: the promotion fails naming the credentials, nothing pushed.
    process.env[localSecretVariable(tenant, 'git-token', 'WRONG_TOKEN')!] = 'nope';
    try {
      const target: GitTarget = {
        tenant,
        environment: 'staging',
        repository: url,
        branch: 'main',
        file: 'values.yaml',
        path: 'tag',
        value: 'version',
        tokenSecret: 'WRONG_TOKEN',
        version: 1,
        createdAt: '',
        createdBy: '',
        updatedAt: '',
        updatedBy: '',
      };
      await expect(
        new IsomorphicGitWriter().commit({ tenant, target, value: 'v1', message: 'x', author: { name: 'x', email: 'x@example.test' } }),
      ).rejects.toThrow(/refused the credentials in 'WRONG_TOKEN'/);
    } finally {
      delete process.env[localSecretVariable(tenant, 'git-token', 'WRONG_TOKEN')!];
    }
  });

  it("a tenant's secrets are its own and have one purpose: another tenant, or a reference of another kind, naming the same secret gets none", async () => {
    const acme = t.tenant();
    const globex = `globex-${acme.slice(4)}`;
    const { secretsFromEnv } = await import('../../functions/adapters/secrets.ts');
    const secrets = secretsFromEnv({ [localSecretVariable(acme, 'git-token', 'GITOPS_TOKEN')!]: TOKEN });
    expect(await secrets.resolve(acme, 'GITOPS_TOKEN', 'git-token')).toBe(TOKEN);
    expect(await secrets.resolve(globex, 'GITOPS_TOKEN', 'git-token')).toBeNull();
    // A reference of another kind never reads it (a Slack webhook or gate key of that name is another secret).
    expect(await secrets.resolve(acme, 'GITOPS_TOKEN', 'slack-webhook')).toBeNull();
    expect(await secrets.resolve(acme, 'GITOPS_TOKEN', 'gate-key')).toBeNull();
    // The old shared name is no secret of any tenant.
    expect(await secretsFromEnv({ STAGELINE_SECRET_GITOPS_TOKEN: TOKEN }).resolve(acme, 'GITOPS_TOKEN', 'git-token')).toBeNull();
    const url = g.repo(`iso-${acme}`, { 'values.yaml': 'tag: v1\n' });
    const target: GitTarget = {
      tenant: globex,
      environment: 'staging',
      repository: url,
      branch: 'main',
      file: 'values.yaml',
      path: 'tag',
      value: 'version',
      tokenSecret: 'GITOPS_TOKEN',
      version: 1,
      createdAt: '',
      createdBy: '',
      updatedAt: '',
      updatedBy: '',
    };
    await expect(
      new IsomorphicGitWriter().commit({ tenant: globex, target, value: 'v2', message: 'x', author: { name: 'x', email: 'x@example.test' } }),
    ).rejects.toThrow(/does not exist for this tenant/);
  });

  it('an alarm while a promotion bakes puts the git target back too: a revert commit restores the previous version (Argo CD or Flux stop deploying it)', async () => {
    const tenant = t.tenant();
    const u = await t.users(tenant);
    await makeLine(t, u.admin);
    const url = g.repo(`alarm-${tenant}`, { 'envs/staging/values.yaml': VALUES });
    expect(
      (
        await t.call('PUT', '/api/v1/environments/staging/git-target', {
          token: u.admin,
          body: { repository: url, branch: 'main', file: 'envs/staging/values.yaml', path: 'image.tag', tokenSecret: 'GITOPS_TOKEN' },
        })
      ).status,
    ).toBe(200);
    expect((await t.call('POST', '/api/v1/artifacts/platform/versions', { token: u.deployer, body: { version: 'v1.0.0', digest: digest('c') } })).status).toBe(
      201,
    );
    const first = await t.call('POST', '/api/v1/promotions', {
      token: u.deployer,
      body: { sourceEnvironment: 'dev', targetEnvironment: 'staging', artifact: 'platform', version: 'v1.0.0' },
    });
    expect(first.status, JSON.stringify(first.body)).toBe(201);
    expect((await waitFor(t, u.viewer, first.body.id, ['COMPLETED', 'FAILED'], 30_000)).status).toBe('COMPLETED');

    // Staging now bakes and watches an alarm; v1.1.0 is committed and baking when the alarm fires.
    expect((await t.call('POST', '/api/v1/artifacts/platform/versions', { token: u.deployer, body: { version: 'v1.1.0', digest: digest('d') } })).status).toBe(
      201,
    );
    const alarm = `arn:aws:cloudwatch:us-east-1:000000000000:alarm:${tenant}/p99`;
    const env = await t.call('GET', '/api/v1/environments/staging', { token: u.viewer });
    expect(
      (await t.call('PATCH', '/api/v1/environments/staging', { token: u.admin, body: { version: env.body.version, bakeSeconds: 60, monitors: [alarm] } }))
        .status,
    ).toBe(200);
    const p = await t.call('POST', '/api/v1/promotions', {
      token: u.deployer,
      body: { sourceEnvironment: 'dev', targetEnvironment: 'staging', artifact: 'platform', version: 'v1.1.0' },
    });
    await waitFor(t, u.viewer, p.body.id, ['EXECUTING'], 30_000);
    let baking = (await t.call('GET', `/api/v1/promotions/${p.body.id}`, { token: u.viewer })).body;
    for (let i = 0; i < 200 && !baking.result; i++) {
      await new Promise((r) => setTimeout(r, 100));
      baking = (await t.call('GET', `/api/v1/promotions/${p.body.id}`, { token: u.viewer })).body;
    }
    expect(baking.result.git).toMatchObject({ value: 'v1.1.0', changed: true });
    const event = {
      source: 'aws.cloudwatch',
      'detail-type': 'CloudWatch Alarm State Change',
      resources: [alarm],
      detail: { alarmName: `${tenant}/p99`, state: { value: 'ALARM', reason: 'p99 > 800 ms', timestamp: '2026-11-23T10:00:00.000+0000' } },
    };
    expect((await t.call('POST', '/dev/events', { body: event })).status).toBe(202);
    const done = await waitFor(t, u.viewer, p.body.id, ['COMPLETED', 'FAILED', 'ROLLED_BACK'], 30_000);
    expect(done.status, JSON.stringify(done.error)).toBe('ROLLED_BACK');
    expect(done.result.gitRevert).toMatchObject({ repository: url, branch: 'main', file: 'envs/staging/values.yaml', value: 'v1.0.0', changed: true });
    expect(done.result.gitRevert.error).toBeUndefined();
    const status = await t.call('GET', '/api/v1/status?env=staging', { token: u.viewer });
    expect(status.body.environments[0].artifacts).toEqual([expect.objectContaining({ artifact: 'platform', version: 'v1.0.0' })]);

    const c = cloneWithGit(url);
    try {
      // The file holds the restored version again; the revert is a commit of its own on top of the promotion's.
      expect(c.file('envs/staging/values.yaml')).toBe(VALUES.replace('tag: v0.9.0', 'tag: v1.0.0'));
      expect(c.log('%H').split('\n')[0]).toBe(done.result.gitRevert.commit);
      expect(c.log('%s').trim().split('\n')).toEqual([
        'Roll back platform v1.1.0 in staging to v1.0.0',
        'Promote platform v1.1.0 to staging',
        'Promote platform v1.0.0 to staging',
        'seed',
      ]);
      const message = c.log('%B').split('\nPromote platform v1.1.0')[0]!;
      expect(message).toContain(`Stageline-Promotion: ${p.body.id}`);
      expect(message).toContain("monitor '" + `${tenant}/p99` + "' went to ALARM");
    } finally {
      c.done();
    }
  }, 60_000);
});
