import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { launchChromium } from '../../local/measure/chromium.ts';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IsomorphicGitWriter } from '../../functions/adapters/git-writer.ts';
import { localSecretVariable } from '../../functions/adapters/secrets.ts';
import { DynamoStore, documentClient } from '../../functions/adapters/dynamo-store.ts';
import { LOCAL_REGION, localCredentials } from '../../local/dynamodb.ts';
import { alarmArn as arn, alarmEvent } from '../support/alarms.ts';
import { openConsoleAs } from '../support/console.ts';
import { startGitServer, type GitServer } from '../support/git-server.ts';
import { approveIfAsked, waitFor } from '../support/promotions.ts';
import { LINE_TARGETS, lineTargets } from '../support/line.ts';
import { pushImage, startRegistry, type LocalRegistry } from '../support/registry.ts';
import { makeLine, startTestStack, type TestStack } from '../support/stack.ts';

/**
 * Delivery per target: a rollout through waves commits each target's own git file
 * (`envs/production/{target}/values.yaml`) as it changes the target, tags the artifact per target in the
 * target's registry, and says so to webhooks (`promotion.target_applied`); a rollback puts them back.
 */
const TOKEN = 'waves-delivery-token-0123456789';
const TARGETS = LINE_TARGETS;
const values = (tag: string, target: string) => `# ${target} (Argo CD watches this file)\nimage:\n  repository: registry.example.com/platform\n  tag: ${tag}\n`;

let t: TestStack;
let g: GitServer;
let receiver: Server;
let receiverUrl = '';
const received: { type: string; data: any }[] = [];
let dev: LocalRegistry;
let east: LocalRegistry;
let west: LocalRegistry;

beforeAll(async () => {
  t = await startTestStack({ webhookRetryBaseMs: 50 });
  g = await startGitServer(TOKEN);
  [dev, east, west] = await Promise.all([startRegistry({ name: 'dev-reg' }), startRegistry({ name: 'east' }), startRegistry({ name: 'west' })]);
  const mint = t.tenant.bind(t);
  t.tenant = () => {
    const id = mint();
    process.env[localSecretVariable(id, 'git-token', 'GITOPS_TOKEN')!] = TOKEN;
    return id;
  };
  receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const parsed = JSON.parse(body);
      received.push({ type: parsed.type, data: parsed.data });
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', () => r()));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as { port: number }).port}/hooks`;
});
afterAll(async () => {
  await Promise.all([dev?.stop(), east?.stop(), west?.stop()]);
  await t.stop();
  await g.close();
  await new Promise((r) => receiver.close(r));
});

const store = () =>
  new DynamoStore(documentClient({ endpoint: t.stack.dynamo.endpoint, region: LOCAL_REGION, credentials: localCredentials }), t.stack.tableName);

/** A clone of the served bare repository (read with the git command). */
function clone(url: string) {
  const dir = mkdtempSync(join(tmpdir(), 'stageline-waves-'));
  g.git(dir, 'clone', '-q', join(g.root, url.split('/').pop()!), 'repo');
  const repo = join(dir, 'repo');
  return {
    file: (p: string) => readFileSync(join(repo, p), 'utf8'),
    git: (...args: string[]) => g.git(repo, ...args),
    done: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** dev → production; production in 1 + 2 + 3 targets over three waves (the canary confirms by callback unless told). */
async function line(opts: { canary?: 'callback' | 'immediate'; wave2Bake?: number; registries?: boolean } = {}) {
  const tenant = t.tenant();
  const u = await t.users(tenant);
  await makeLine(t, u.admin, ['dev']);
  const alarm = arn(`${tenant}/us-east-1-5xx`);
  const reg = (r: LocalRegistry) => ({ name: r.name, url: r.url });
  if (opts.registries) {
    const patched = await t.call('PATCH', '/api/v1/environments/dev', { token: u.admin, body: { version: 1, registries: [reg(dev)] } });
    expect(patched.status, JSON.stringify(patched.body)).toBe(200);
  }
  const created = await t.call('POST', '/api/v1/environments', {
    token: u.admin,
    body: {
      name: 'production',
      position: 1,
      bakeSeconds: 1,
      ...(opts.registries ? { registries: [reg(east), reg(west)] } : {}),
      targets: lineTargets((name) => ({
        ...(name === 'us-east-1' ? { monitors: [alarm] } : {}),
        ...(opts.registries && (name === 'eu-west-1' || name === 'cell-3') ? { registry: 'west' } : {}),
        ...(name === 'canary' && opts.canary !== 'immediate' ? { confirm: { mode: 'callback', timeoutSeconds: 600 } } : {}),
      })),
      rollout: { maxParallel: 3, waves: [{ wave: 2, bakeSeconds: opts.wave2Bake ?? 1 }] },
    },
  });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  return { tenant, u, alarm };
}

async function withGit(tenant: string, admin: string) {
  const url = g.repo(`deploy-${tenant}`, Object.fromEntries(TARGETS.map((n) => [`envs/production/${n}/values.yaml`, values('v1.0.0', n)])));
  const put = await t.call('PUT', '/api/v1/environments/production/git-target', {
    token: admin,
    body: { repository: url, branch: 'main', file: 'envs/production/{target}/values.yaml', path: 'image.tag', tokenSecret: 'GITOPS_TOKEN' },
  });
  expect(put.status, JSON.stringify(put.body)).toBe(200);
  return url;
}

async function promote(u: Awaited<ReturnType<TestStack['users']>>, version: string): Promise<string> {
  const p = await t.call('POST', '/api/v1/promotions', {
    token: u.deployer,
    body: { sourceEnvironment: 'dev', targetEnvironment: 'production', artifact: 'platform', version },
  });
  expect(p.status, JSON.stringify(p.body)).toBe(201);
  const id = p.body.id as string;
  await approveIfAsked(t, u, id, ['EXECUTING', 'COMPLETED', 'APPROVED', 'FAILED']);
  return id;
}

const detail = async (token: string, id: string) => (await t.call('GET', `/api/v1/promotions/${id}`, { token })).body;
const rows = (d: any): Record<string, any> => Object.fromEntries(d.rollout.waves.flatMap((w: any) => w.targets.map((x: any) => [x.name, x])));
const states = (d: any) => Object.fromEntries(Object.entries(rows(d)).map(([k, v]) => [k, v.state]));

async function until(token: string, id: string, ok: (d: any) => boolean, what: string, ms = 30_000) {
  const end = Date.now() + ms;
  for (;;) {
    const d = await detail(token, id);
    if (d.rollout && ok(d)) return d;
    if (Date.now() > end) throw new Error(`${what}: never; promotion is ${JSON.stringify(d.status)} ${JSON.stringify(d.rollout)} ${JSON.stringify(d.error)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function tagOf(r: LocalRegistry, tag: string): Promise<string | null> {
  const res = await fetch(`${r.url}/v2/platform/manifests/${tag}`, { method: 'HEAD', headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } });
  return res.status === 200 ? res.headers.get('docker-content-digest') : null;
}

const digest = (c: string) => `sha256:${c.repeat(64)}`;

/** Wave 2 bakes long enough for an alarm to come in (the first rollout of each test baked it 1 s). */
async function slowWave2(admin: string) {
  const env = (await t.call('GET', '/api/v1/environments/production', { token: admin })).body;
  const r = await t.call('PATCH', '/api/v1/environments/production', {
    token: admin,
    body: { version: env.version, rollout: { maxParallel: 3, waves: [{ wave: 2, bakeSeconds: 30 }] } },
  });
  expect(r.status, JSON.stringify(r.body)).toBe(200);
}

describe('delivery per target in a rollout through waves', () => {
  it('commits each target’s own file as its wave changes it (wave 1: the canary’s alone), never a literal {target} path, once per target; webhooks say each target was applied', async () => {
    const { tenant, u } = await line();
    const url = await withGit(tenant, u.admin);
    const hook = await t.call('POST', '/api/v1/webhooks', {
      token: u.admin,
      body: { url: receiverUrl, events: ['promotion.target_applied'], description: 'regional deployer' },
    });
    expect(hook.status, JSON.stringify(hook.body)).toBe(201);
    expect((await t.call('POST', '/api/v1/artifacts/platform/versions', { token: u.deployer, body: { version: 'v2.0.0', digest: digest('b') } })).status).toBe(
      201,
    );
    const id = await promote(u, 'v2.0.0');

    // Wave 1: the canary is changed (its file committed) and waits for its deployer; nobody else's file moved.
    const waiting = await until(u.viewer, id, (d) => states(d).canary === 'CONFIRMING', 'the canary waits for its confirmation');
    const canaryRow = rows(waiting).canary;
    expect(canaryRow.git).toMatchObject({ file: 'envs/production/canary/values.yaml', changed: true, commit: expect.stringMatching(/^[0-9a-f]{40}$/) });
    let c = clone(url);
    try {
      expect(c.file('envs/production/canary/values.yaml')).toBe(values('v2.0.0', 'canary'));
      for (const n of TARGETS.slice(1)) expect(c.file(`envs/production/${n}/values.yaml`), n).toBe(values('v1.0.0', n));
      expect(c.git('log', '-1', '--format=%B')).toMatch(/Promote platform v2\.0\.0 to production\/canary \(wave 1\)/);
      expect(c.git('log', '-1', '--format=%B')).toContain('Stageline-Target: canary');
      expect(c.git('log', '-1', '--format=%H').trim()).toBe(canaryRow.git.commit);
    } finally {
      c.done();
    }
    // The deployment record of the canary carries its commit.
    const history = await t.call('GET', '/api/v1/platform/deployments/history?environment=production&target=canary', { token: u.viewer });
    expect(history.body[0]).toMatchObject({ target: 'canary', gitCommit: canaryRow.git.commit });

    // A retried step finds the file holding the value: the writer commits nothing again.
    const gt = (await store().getGitTarget(tenant, 'production'))!;
    const again = await new IsomorphicGitWriter().commit({
      tenant,
      target: { ...gt, file: 'envs/production/canary/values.yaml' },
      value: 'v2.0.0',
      message: 'again',
      author: { name: 'x', email: 'x@example.test' },
    });
    expect(again).toEqual({ commit: canaryRow.git.commit, changed: false, attempts: 0 });

    expect((await t.call('POST', `/api/v1/promotions/${id}/targets/canary/confirm`, { token: u.deployer, body: {} })).status).toBe(200);
    const done = await waitFor(t, u.viewer, id, ['COMPLETED', 'ROLLED_BACK', 'FAILED'], 60_000);
    expect(done.status, JSON.stringify(done.error)).toBe('COMPLETED');
    // Completion commits nothing more: its result says the targets' own commits were the delivery.
    expect(done.result.git).toMatchObject({ file: 'envs/production/{target}/values.yaml', changed: false, perTarget: true });
    c = clone(url);
    try {
      for (const n of TARGETS) expect(c.file(`envs/production/${n}/values.yaml`), n).toBe(values('v2.0.0', n));
      // One commit per target (and the seed), none of them touching a literal {target} path.
      const log = c.git('log', '--format=%s', '--name-only');
      expect(log).not.toContain('{target}');
      expect(c.git('rev-list', '--count', 'HEAD').trim()).toBe('7');
      expect(c.git('ls-tree', '-r', '--name-only', 'HEAD').trim().split('\n').sort()).toEqual(TARGETS.map((n) => `envs/production/${n}/values.yaml`).sort());
    } finally {
      c.done();
    }

    // The console's promotion page shows each target's commit (short, the file in its title), as a viewer sees it.
    const browser = await launchChromium();
    try {
      const { page } = await openConsoleAs(browser, t.url, u.viewer, `#/promotions/${id}`);
      const table = page.getByRole('table', { name: /6 targets in 3 waves/ });
      await table.waitFor({ timeout: 15_000 });
      const shown = await table.locator('tbody tr').allTextContents();
      expect(shown[0]).toContain(`git ${canaryRow.git.commit.slice(0, 7)}`);
      expect(await table.locator('span[title="envs/production/canary/values.yaml"]').count()).toBe(1);
      for (const row of shown) expect(row).toMatch(/git [0-9a-f]{7}/);
      expect(await page.locator('main').textContent()).toContain(
        "each target's own file, main:envs/production/{target}/values.yaml, committed as its wave changed it",
      );
      mkdirSync(join(process.cwd(), 'test-output'), { recursive: true });
      await page.screenshot({ path: join(process.cwd(), 'test-output', 'console-rollout-git-1280.png'), fullPage: true });
    } finally {
      await browser.close();
    }

    // Webhooks: one promotion.target_applied per target, naming it, its wave, the version, the confirmation and the commit.
    const applied = () => received.filter((r) => r.type === 'promotion.target_applied' && r.data.promotionId === id);
    const end = Date.now() + 15_000;
    while (applied().length < 6 && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
    await new Promise((r) => setTimeout(r, 300));
    expect(
      applied()
        .map((r) => r.data.target)
        .sort(),
    ).toEqual([...TARGETS].sort());
    const canary = applied().find((r) => r.data.target === 'canary')!.data;
    expect(canary).toMatchObject({
      promotionId: id,
      targetEnvironment: 'production',
      target: 'canary',
      wave: 1,
      version: 'v2.0.0',
      digest: digest('b'),
      confirm: { mode: 'callback', deadline: expect.any(String), url: `/api/v1/promotions/${id}/targets/canary/confirm` },
      git: { file: 'envs/production/canary/values.yaml', commit: canaryRow.git.commit, changed: true },
    });
    const cell = applied().find((r) => r.data.target === 'cell-2')!.data;
    expect(cell).toMatchObject({ wave: 3, confirm: { mode: 'immediate' }, git: { file: 'envs/production/cell-2/values.yaml', changed: true } });
    expect(cell.confirm.url).toBeUndefined();
  });

  it('an alarm in wave 2 puts back the files of waves 2 and 1 and never writes wave 3’s', async () => {
    const { tenant, u, alarm } = await line({ canary: 'immediate' });
    const url = await withGit(tenant, u.admin);
    expect((await t.call('POST', '/api/v1/artifacts/platform/versions', { token: u.deployer, body: { version: 'v1.0.0', digest: digest('a') } })).status).toBe(
      201,
    );
    // v1.0.0 everywhere first (the files hold it already: no commit), then v2.0.0 rolls out and wave 2 alarms.
    const first = await promote(u, 'v1.0.0');
    expect((await waitFor(t, u.viewer, first, ['COMPLETED', 'ROLLED_BACK', 'FAILED'], 60_000)).status).toBe('COMPLETED');
    await slowWave2(u.admin);
    expect((await t.call('POST', '/api/v1/artifacts/platform/versions', { token: u.deployer, body: { version: 'v2.0.0', digest: digest('b') } })).status).toBe(
      201,
    );
    const id = await promote(u, 'v2.0.0');
    await until(u.viewer, id, (d) => states(d)['us-east-1'] === 'BAKING' && states(d)['eu-west-1'] === 'BAKING', 'wave 2 bakes');
    let c = clone(url);
    try {
      for (const n of ['canary', 'us-east-1', 'eu-west-1']) expect(c.file(`envs/production/${n}/values.yaml`), n).toBe(values('v2.0.0', n));
    } finally {
      c.done();
    }
    expect((await t.call('POST', '/dev/events', { body: alarmEvent(alarm, 'p99 > 800 ms in us-east-1') })).status).toBe(202);
    const done = await waitFor(t, u.viewer, id, ['COMPLETED', 'ROLLED_BACK', 'FAILED'], 30_000);
    expect(done.status, JSON.stringify(done.error)).toBe('ROLLED_BACK');
    c = clone(url);
    try {
      for (const n of TARGETS) expect(c.file(`envs/production/${n}/values.yaml`), n).toBe(values('v1.0.0', n));
      // Wave 3's files were never written: their only commit is the seed.
      for (const n of ['cell-1', 'cell-2', 'cell-3'])
        expect(c.git('rev-list', '--count', 'HEAD', '--', `envs/production/${n}/values.yaml`).trim(), n).toBe('1');
      // Waves 1 and 2: the promotion's commit and the rollback's.
      for (const n of ['canary', 'us-east-1', 'eu-west-1'])
        expect(c.git('rev-list', '--count', 'HEAD', '--', `envs/production/${n}/values.yaml`).trim(), n).toBe('3');
      expect(c.git('log', '-1', '--format=%B', '--', 'envs/production/canary/values.yaml')).toMatch(
        /Roll back platform v2\.0\.0 in production\/canary \(wave 1\) to v1\.0\.0/,
      );
    } finally {
      c.done();
    }
    const back = rows(done);
    for (const n of ['canary', 'us-east-1', 'eu-west-1']) {
      expect(back[n].git, n).toMatchObject({ file: `envs/production/${n}/values.yaml`, changed: true, revert: { changed: true, commit: expect.any(String) } });
    }
    expect(back['cell-1'].git).toBeUndefined();
    // The rollback's event names the targets and the waves it walked back (last first).
    await t.stack.stream.idle();
    const rolled = t.stack.bus.published.find((e) => e['detail-type'] === 'Promotion Rolled Back' && e.detail.promotionId === id);
    expect(rolled?.detail).toMatchObject({ waves: [2, 1], targets: expect.arrayContaining(['canary', 'us-east-1', 'eu-west-1']) });
    expect((rolled!.detail.targets as string[]).at(-1)).toBe('canary');
  });

  it('pull-request mode refuses a file per target; a target whose file cannot be committed fails: the rollout rolls back what it changed, and what ran nothing before says so', async () => {
    const { tenant, u } = await line({ canary: 'immediate' });
    // eu-west-1 (wave 2) has no file in the repository: its commit fails.
    const url = g.repo(
      `broken-${tenant}`,
      Object.fromEntries(TARGETS.filter((n) => n !== 'eu-west-1').map((n) => [`envs/production/${n}/values.yaml`, values('v1.0.0', n)])),
    );
    const body = { repository: url, branch: 'main', file: 'envs/production/{target}/values.yaml', path: 'image.tag', tokenSecret: 'GITOPS_TOKEN' };
    // Pull-request mode does not take a file per target: 400 naming the field, through the API and the manifest.
    const pr = { host: 'github', tokenSecret: 'GITHUB_TOKEN' };
    const refused = await t.call('PUT', '/api/v1/environments/production/git-target', { token: u.admin, body: { ...body, pullRequest: pr } });
    expect(refused.status, JSON.stringify(refused.body)).toBe(400);
    expect(refused.body.error.issues).toEqual([{ path: 'file', message: expect.stringMatching(/pull-request mode does not take it/) }]);
    const exported = (await t.call('GET', '/api/v1/manifest?format=json', { token: u.viewer })).body;
    const [doc] = Object.keys(exported.artifacts);
    const { tokenSecret: _secret, ...inDocument } = body;
    exported.artifacts[doc!].git_targets = { production: { ...inDocument, token: '${GITOPS_TOKEN}', pullRequest: pr } };
    const plan = await t.call('POST', '/api/v1/manifest/plan', { token: u.admin, body: { document: JSON.stringify(exported) } });
    expect(plan.status, JSON.stringify(plan.body)).toBe(400);
    expect(
      plan.body.error.issues.map((i: { path: string }) => i.path),
      JSON.stringify(plan.body),
    ).toContain(`document.artifacts.${doc}.git_targets.production.file`);

    const put = await t.call('PUT', '/api/v1/environments/production/git-target', { token: u.admin, body });
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    expect((await t.call('POST', '/api/v1/artifacts/platform/versions', { token: u.deployer, body: { version: 'v2.0.0', digest: digest('b') } })).status).toBe(
      201,
    );
    const id = await promote(u, 'v2.0.0');
    const done = await waitFor(t, u.viewer, id, ['COMPLETED', 'ROLLED_BACK', 'FAILED'], 60_000);
    expect(done.status, JSON.stringify(done.error)).toBe('ROLLED_BACK');
    expect(done.error.message).toMatch(/git delivery to eu-west-1 failed: .*envs\/production\/eu-west-1\/values\.yaml does not exist/);
    const back = rows(done);
    expect(back['eu-west-1'].state).toBe('PENDING');
    expect(back['cell-1'].state).toBe('PENDING');
    // The canary ran no version of the artifact before: its file keeps the release, and its row says why.
    expect(back.canary).toMatchObject({
      state: 'ROLLED_BACK',
      git: { changed: true, revert: { commit: null, error: expect.stringMatching(/ran no version/) } },
    });
  });

  it('tags the artifact per target in the target’s registry (latest-production-<target>) as each wave changes it, and moves the tag back on a rollback', async () => {
    const { u, alarm } = await line({ canary: 'callback', registries: true });
    const reg = (r: LocalRegistry) => ({ name: r.name, url: r.url });
    const v1 = await pushImage(reg(dev), 'platform', { configBytes: Buffer.from('{"v":1}'), layers: [randomBytes(1024)] });
    const v2 = await pushImage(reg(dev), 'platform', { configBytes: Buffer.from('{"v":2}'), layers: [randomBytes(1024)] });
    const publish = async (version: string, d: string) =>
      expect((await t.call('POST', '/api/v1/artifacts/platform/versions', { token: u.deployer, body: { version, digest: d } })).status).toBe(201);
    // v1.0.0 first, through every wave.
    await publish('v1.0.0', v1);
    const first = await promote(u, 'v1.0.0');
    await until(u.viewer, first, (d) => states(d).canary === 'CONFIRMING', 'the canary waits');
    expect((await t.call('POST', `/api/v1/promotions/${first}/targets/canary/confirm`, { token: u.deployer, body: {} })).status).toBe(200);
    const firstDone = await waitFor(t, u.viewer, first, ['COMPLETED', 'ROLLED_BACK', 'FAILED'], 60_000);
    expect(firstDone.status, JSON.stringify({ error: firstDone.error, targets: firstDone.rollout && rows(firstDone) })).toBe('COMPLETED');
    expect(await tagOf(east, 'latest-production-canary')).toBe(v1);
    expect(await tagOf(west, 'latest-production-eu-west-1')).toBe(v1);
    expect(await tagOf(east, 'latest-production')).toBe(v1);

    // v2.0.0: after wave 1 only the canary's tag moved.
    await slowWave2(u.admin);
    await publish('v2.0.0', v2);
    const id = await promote(u, 'v2.0.0');
    const w1 = await until(u.viewer, id, (d) => states(d).canary === 'CONFIRMING', 'the canary waits');
    expect(rows(w1).canary.registry).toEqual({ registry: 'east', tag: 'latest-production-canary', digest: v2 });
    expect(await tagOf(east, 'latest-production-canary')).toBe(v2);
    expect(await tagOf(west, 'latest-production-eu-west-1')).toBe(v1);
    expect(await tagOf(east, 'latest-production')).toBe(v1);
    expect((await t.call('POST', `/api/v1/promotions/${id}/targets/canary/confirm`, { token: u.deployer, body: {} })).status).toBe(200);
    await until(u.viewer, id, (d) => states(d)['us-east-1'] === 'BAKING' && states(d)['eu-west-1'] === 'BAKING', 'wave 2 bakes');
    expect(await tagOf(west, 'latest-production-eu-west-1')).toBe(v2);
    expect(await tagOf(east, 'latest-production-us-east-1')).toBe(v2);
    expect((await t.call('POST', '/dev/events', { body: alarmEvent(alarm, 'p99 > 800 ms in us-east-1') })).status).toBe(202);
    const done = await waitFor(t, u.viewer, id, ['COMPLETED', 'ROLLED_BACK', 'FAILED'], 30_000);
    expect(done.status, JSON.stringify(done.error)).toBe('ROLLED_BACK');
    // Every changed target's tag is back on v1.0.0; wave 3's never moved; the environment's tags never moved.
    expect(await tagOf(east, 'latest-production-canary')).toBe(v1);
    expect(await tagOf(east, 'latest-production-us-east-1')).toBe(v1);
    expect(await tagOf(west, 'latest-production-eu-west-1')).toBe(v1);
    expect(await tagOf(west, 'latest-production-cell-3')).toBe(v1);
    expect(await tagOf(east, 'latest-production')).toBe(v1);
    expect(rows(done).canary.registry).toEqual({ registry: 'east', tag: 'latest-production-canary', digest: v2, revert: { digest: v1 } });
  });
});
