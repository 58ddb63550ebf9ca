import { OpenFeature } from '@openfeature/server-sdk';
import { OFREPProvider } from '@openfeature/ofrep-provider';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoStore, documentClient } from '../../functions/adapters/dynamo-store.ts';
import type { Head, TargetHead } from '../../domain/kernel/model.ts';
import { LOCAL_REGION, localCredentials } from '../../local/dynamodb.ts';
import { cliOf } from '../support/cli.ts';
import { makeLine, startTestStack, type TestStack } from '../support/stack.ts';
import { signedFetch } from '../support/sigv4.ts';

/**
 * Reads per target: while a rollout is between waves, an application in a changed
 * target reads that target's version (its own head, with its parameters), the others the
 * environment's. The target heads are written through the store port's `targetHead` op, as the flow
 * writes them.
 */
let t: TestStack;
let tenant: string;
let u: Awaited<ReturnType<TestStack['users']>>;
/** production's head before the release, and the release (dev's snapshot: production's items with the new banner) */
let before: Head;
let release: Head;
const keys: Record<string, string> = {};

const breakGlass = { 'x-break-glass-reason': 'set up the release under test' };
const store = () =>
  new DynamoStore(documentClient({ endpoint: t.stack.dynamo.endpoint, region: LOCAL_REGION, credentials: localCredentials }), t.stack.tableName);

const items = (banner: string) => ({
  set: [
    { kind: 'flag', key: 'checkout.banner', value: banner },
    { kind: 'flag', key: 'checkout.retries', value: 3 },
    { kind: 'config', key: 'db.endpoint', value: 'db.internal' },
  ],
});

/** Wave 1 changed: the flow wrote canary's head over production's current one. */
async function rolloutReachesCanary() {
  const head: TargetHead = {
    environment: 'production',
    target: 'canary',
    subject: 'config',
    snapshot: release,
    base: before.seq,
    promotionId: 'p-wave-test',
    wave: 1,
    updatedAt: new Date().toISOString(),
    version: 1,
  };
  await store().commit(tenant, [{ kind: 'targetHead', head, expectedVersion: null }]);
}

const ofrep = (key: string, flag: string | null, context: Record<string, unknown> = {}, headers: Record<string, string> = {}) =>
  t.call('POST', flag ? `/ofrep/v1/evaluate/flags/${flag}` : '/ofrep/v1/evaluate/flags', { headers: { 'x-api-key': key, ...headers }, body: { context } });
const effective = (key: string, query = '', headers: Record<string, string> = {}) =>
  t.call('GET', `/api/v1/environments/production/effective${query}`, { headers: { 'x-api-key': key, ...headers } });

beforeAll(async () => {
  t = await startTestStack();
  tenant = t.tenant();
  u = await t.users(tenant);
  await makeLine(t, u.admin, ['dev', 'staging']);
  const env = await t.call('POST', '/api/v1/environments', {
    token: u.admin,
    body: {
      name: 'production',
      position: 5,
      targets: [
        { name: 'canary', wave: 1 },
        {
          name: 'us-east-1',
          wave: 2,
          parameters: [
            { key: 'db.endpoint', value: 'db.us-east-1.internal' },
            { kind: 'flag', key: 'checkout.region-banner', value: 'Hello from us-east-1' },
          ],
        },
        { name: 'cell-1', wave: 3 },
      ],
    },
  });
  expect(env.status, JSON.stringify(env.body)).toBe(201);
  for (const [name, banner] of [
    ['production', 'old'],
    ['dev', 'new'],
  ] as const) {
    // production is the line's last environment, so protected: an admin's audited break-glass writes it directly.
    const r = await t.call('POST', `/api/v1/environments/${name}/items/batch`, { token: u.admin, body: items(banner), headers: breakGlass });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
  }
  before = (await store().getEnvironment(tenant, 'production'))!.head;
  release = (await store().getEnvironment(tenant, 'dev'))!.head;
  for (const target of [undefined, 'canary', 'cell-1']) {
    const k = await t.call('POST', '/api/v1/app-keys', {
      token: u.admin,
      body: { name: `svc-${target ?? 'any'}`, environment: 'production', ...(target ? { target } : {}) },
    });
    expect(k.status, JSON.stringify(k.body)).toBe(201);
    keys[target ?? 'any'] = k.body.key;
  }
  await rolloutReachesCanary();
}, 60_000);
afterAll(async () => {
  await OpenFeature.close();
  await t.stop();
});

describe('app keys scoped to a target', () => {
  it('creates a key for a declared target (shown in the key), and refuses an unknown one (404) or a bad name (400)', async () => {
    const list = await t.call('GET', '/api/v1/app-keys?environment=production', { token: u.viewer });
    expect(list.body.items.map((k: { target?: string }) => k.target ?? null).sort()).toEqual(['canary', 'cell-1', null]);
    const unknown = await t.call('POST', '/api/v1/app-keys', { token: u.admin, body: { name: 'x', environment: 'production', target: 'eu-west-9' } });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error).toMatchObject({ code: 'TARGET_NOT_FOUND', message: expect.stringContaining('canary, us-east-1, cell-1') });
    const none = await t.call('POST', '/api/v1/app-keys', { token: u.admin, body: { name: 'x', environment: 'dev', target: 'canary' } });
    expect(none.status).toBe(404);
    expect(none.body.error.code).toBe('TARGET_NOT_FOUND');
    const bad = await t.call('POST', '/api/v1/app-keys', { token: u.admin, body: { name: 'x', environment: 'production', target: 'US East' } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.issues[0].path).toBe('target');
  });
});

describe('OFREP per target, through the OpenFeature SDK', () => {
  it('an app in the wave-1 target sees the new value while wave-3 targets (and the environment) see the old one', async () => {
    const provider = (key: string) => new OFREPProvider({ baseUrl: t.url, headers: { authorization: `Bearer ${key}` } });
    await OpenFeature.setProviderAndWait('canary', provider(keys.canary!));
    await OpenFeature.setProviderAndWait('cell-1', provider(keys['cell-1']!));
    await OpenFeature.setProviderAndWait('any', provider(keys.any!));
    expect(await OpenFeature.getClient('canary').getStringValue('checkout.banner', 'x')).toBe('new');
    expect(await OpenFeature.getClient('cell-1').getStringValue('checkout.banner', 'x')).toBe('old');
    // A key of the whole environment: the evaluation context's target chooses; without one, the environment's head.
    const any = OpenFeature.getClient('any');
    expect(await any.getStringValue('checkout.banner', 'x', { target: 'canary' })).toBe('new');
    expect(await any.getStringValue('checkout.banner', 'x', { target: 'cell-1' })).toBe('old');
    expect(await any.getStringValue('checkout.banner', 'x')).toBe('old');
    // The target's parameters apply on top: a flag only us-east-1 has.
    expect(await any.getStringValue('checkout.region-banner', 'none', { target: 'us-east-1' })).toBe('Hello from us-east-1');
    expect(await any.getStringValue('checkout.region-banner', 'none', { target: 'canary' })).toBe('none');
    const details = await OpenFeature.getClient('canary').getStringDetails('checkout.banner', 'x');
    expect(details.flagMetadata).toMatchObject({ environment: 'production', target: 'canary', snapshot: release.seq });
  });

  it('bulk evaluation: ETags differ per target, and a 304 only for the same target', async () => {
    const canary = await ofrep(keys.any!, null, { target: 'canary' });
    const cell = await ofrep(keys.any!, null, { target: 'cell-1' });
    expect(canary.status).toBe(200);
    expect(canary.body.flags.find((f: { key: string }) => f.key === 'checkout.banner').value).toBe('new');
    expect(cell.body.flags.find((f: { key: string }) => f.key === 'checkout.banner').value).toBe('old');
    expect(canary.headers.get('etag')!).not.toBe(cell.headers.get('etag')!);
    expect((await ofrep(keys.any!, null, { target: 'canary' }, { 'if-none-match': canary.headers.get('etag')! })).status).toBe(304);
    expect((await ofrep(keys.any!, null, { target: 'cell-1' }, { 'if-none-match': canary.headers.get('etag')! })).status).toBe(200);
  });

  it("refuses an unknown target (404 TARGET_NOT_FOUND), another target than the key's (403) and a malformed one (OFREP INVALID_CONTEXT)", async () => {
    const unknown = await ofrep(keys.any!, 'checkout.banner', { target: 'eu-west-9' });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error).toMatchObject({ code: 'TARGET_NOT_FOUND', message: expect.stringContaining("no target 'eu-west-9'") });
    const other = await ofrep(keys.canary!, 'checkout.banner', { target: 'cell-1' });
    expect(other.status).toBe(403);
    expect(other.body.error.message).toMatch(/reads target 'canary'/);
    // Naming its own target is fine.
    expect((await ofrep(keys.canary!, 'checkout.banner', { target: 'canary' })).body.value).toBe('new');
    const bad = await ofrep(keys.any!, 'checkout.banner', { target: 42 });
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ key: 'checkout.banner', errorCode: 'INVALID_CONTEXT', errorDetails: expect.stringContaining('context.target') });
  });
});

describe('effective config per target', () => {
  it("reads a target's head with its parameters; without a target, the environment's head, answered as before", async () => {
    const canary = await effective(keys.canary!);
    expect(canary.status).toBe(200);
    expect(canary.body).toMatchObject({ environment: 'production', target: 'canary', snapshot: { seq: release.seq, digest: release.digest } });
    expect(canary.body.flags['checkout.banner']).toBe('new');
    const us = await effective(keys.any!, '?target=us-east-1');
    expect(us.body.target).toBe('us-east-1');
    expect(us.body.configs['db.endpoint']).toBe('db.us-east-1.internal');
    expect(us.body.flags).toMatchObject({ 'checkout.banner': 'old', 'checkout.region-banner': 'Hello from us-east-1' });
    const env = await effective(keys.any!);
    expect(Object.keys(env.body)).toEqual(['environment', 'snapshot', 'prefix', 'configs', 'flags']);
    expect(env.body.snapshot).toEqual({ seq: before.seq, digest: before.digest });
    expect(env.headers.get('etag')!).toBe(`"${before.digest}"`);
    // A person reads any target too (the dashboard).
    const person = await t.call('GET', '/api/v1/environments/production/effective?target=canary', { token: u.viewer });
    expect(person.body.flags['checkout.banner']).toBe('new');
  });

  it("ETag covers the target's head and parameters: 304 only for the same target, a new ETag when its parameters change", async () => {
    const us = await effective(keys.any!, '?target=us-east-1');
    const cell = await effective(keys.any!, '?target=cell-1');
    // Same snapshot (both run the environment's head), different targets: different validators.
    expect(us.body.snapshot).toEqual(cell.body.snapshot);
    expect(us.headers.get('etag')!).not.toBe(cell.headers.get('etag')!);
    expect((await effective(keys.any!, '?target=us-east-1', { 'if-none-match': us.headers.get('etag')! })).status).toBe(304);
    expect((await effective(keys.any!, '?target=cell-1', { 'if-none-match': us.headers.get('etag')! })).status).toBe(200);
    expect((await effective(keys.any!, '', { 'if-none-match': us.headers.get('etag')! })).status).toBe(200);
    const env = (await t.call('GET', '/api/v1/environments/production', { token: u.viewer })).body;
    const targets = env.targets.map((x: { name: string; parameters: unknown[] }) =>
      x.name === 'us-east-1' ? { ...x, parameters: [{ kind: 'config', key: 'db.endpoint', value: 'db2.us-east-1.internal' }] } : x,
    );
    const patched = await t.call('PATCH', '/api/v1/environments/production', { token: u.admin, body: { version: env.version, targets } });
    expect(patched.status, JSON.stringify(patched.body)).toBe(200);
    const after = await effective(keys.any!, '?target=us-east-1', { 'if-none-match': us.headers.get('etag')! });
    expect(after.status).toBe(200);
    expect(after.body.configs['db.endpoint']).toBe('db2.us-east-1.internal');
  });

  it('refuses an unknown target (404), another than the key names (403), a malformed name (400); default on an environment without targets is its head', async () => {
    const unknown = await effective(keys.any!, '?target=eu-west-9');
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('TARGET_NOT_FOUND');
    expect((await effective(keys['cell-1']!, '?target=canary')).status).toBe(403);
    const bad = await effective(keys.any!, '?target=EU_WEST');
    expect(bad.status).toBe(400);
    expect(bad.body.error.issues[0].path).toBe('query.target');
    const dev = await t.call('POST', '/api/v1/app-keys', { token: u.admin, body: { name: 'dev', environment: 'dev' } });
    const plain = await t.call('GET', '/api/v1/environments/dev/effective', { headers: { 'x-api-key': dev.body.key } });
    const implicit = await t.call('GET', '/api/v1/environments/dev/effective?target=default', { headers: { 'x-api-key': dev.body.key } });
    expect(implicit.status).toBe(200);
    expect(implicit.body).toEqual(plain.body);
    expect(implicit.headers.get('etag')!).toBe(plain.headers.get('etag')!);
    expect((await t.call('GET', '/api/v1/environments/dev/effective?target=canary', { headers: { 'x-api-key': dev.body.key } })).status).toBe(404);
  });

  it("once the environment's head moves on (the rollout completed), every target reads it: the target head no longer holds", async () => {
    const r = await t.call('POST', '/api/v1/environments/production/items/batch', {
      token: u.admin,
      headers: { 'x-break-glass-reason': 'move the environment on' },
      body: { set: [{ kind: 'flag', key: 'checkout.banner', value: 'newest' }] },
    });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    for (const key of [keys.canary!, keys['cell-1']!, keys.any!]) {
      const read = await effective(key);
      expect(read.body.flags['checkout.banner']).toBe('newest');
    }
  });
});

describe('deployment history and metrics per target', () => {
  // The local pipeline's IAM credential is bound to tenant 'acme' (MACHINE_PRINCIPALS).
  const record = (body: Record<string, unknown>) => signedFetch(t.url, 'POST', '/api/v1/platform/deployments', body, t.stack.iam[0]!);
  let viewer: string;
  const deployed = (imageTag: string, day: string, extra: Record<string, unknown> = {}) =>
    record({ imageTag, environment: 'production', status: 'DEPLOYED', deployedAt: `${day}T10:00:00Z`, completedAt: `${day}T10:04:00Z`, ...extra });

  beforeAll(async () => {
    const admin = await t.token({ tenant: 'acme', groups: ['admin'] });
    viewer = await t.token({ tenant: 'acme', groups: ['viewer'] });
    await makeLine(t, admin, ['dev']);
    const env = await t.call('POST', '/api/v1/environments', {
      token: admin,
      body: {
        name: 'production',
        position: 5,
        targets: [
          { name: 'canary', wave: 1 },
          { name: 'cell-1', wave: 2 },
        ],
      },
    });
    expect(env.status, JSON.stringify(env.body)).toBe(201);
    // The release into the environment, then its rollout through each target: canary twice (one failed), cell-1 once, rolled back.
    for (const r of [
      await deployed('v2.0.0', '2026-11-20'),
      await deployed('v2.0.0', '2026-11-20', { target: 'canary' }),
      await deployed('v2.0.1', '2026-11-21', { target: 'canary', status: 'FAILED' }),
      await deployed('v2.0.0', '2026-11-21', { target: 'cell-1', status: 'ROLLED_BACK' }),
    ])
      expect(r.status, JSON.stringify(r.body)).toBe(201);
  });

  it('records carry their target; history filters by target (404 for an unknown one, 400 for a malformed one)', async () => {
    const all = await t.call('GET', '/api/v1/platform/deployments/history?environment=production', { token: viewer });
    expect(all.body.map((d: { imageTag: string; target?: string }) => `${d.imageTag}@${d.target ?? '-'}`)).toEqual([
      'v2.0.1@canary',
      'v2.0.0@cell-1',
      'v2.0.0@canary',
      'v2.0.0@-',
    ]);
    const canary = await t.call('GET', '/api/v1/platform/deployments/history?environment=production&target=canary&limit=1', { token: viewer });
    expect(canary.body.map((d: { status: string }) => d.status)).toEqual(['FAILED']);
    const next = canary.headers.get('x-next-cursor')!;
    const rest = await t.call('GET', `/api/v1/platform/deployments/history?environment=production&target=canary&cursor=${next}`, { token: viewer });
    expect(rest.body.map((d: { status: string; target: string }) => `${d.status}@${d.target}`)).toEqual(['DEPLOYED@canary']);
    // A target's cursor is no cursor of the environment's history.
    expect((await t.call('GET', `/api/v1/platform/deployments/history?environment=production&cursor=${next}`, { token: viewer })).status).toBe(400);
    const unknown = await t.call('GET', '/api/v1/platform/deployments/history?environment=production&target=eu-west-9', { token: viewer });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('TARGET_NOT_FOUND');
    expect((await t.call('GET', '/api/v1/platform/deployments/history?environment=production&target=Bad_Name', { token: viewer })).status).toBe(400);
  });

  it('a record for an unknown target is refused (404); `default` of an environment without targets is the environment', async () => {
    const unknown = await deployed('v3.0.0', '2026-11-22', { target: 'eu-west-9' });
    expect(unknown.status).toBe(404);
    const dev = await record({ imageTag: 'v3.0.0', environment: 'dev', target: 'default', status: 'DEPLOYED', deployedAt: '2026-11-22T10:00:00Z' });
    expect(dev.status, JSON.stringify(dev.body)).toBe(201);
    expect(Object.keys(dev.body)).not.toContain('target');
  });

  it('metrics break down per target when the environment has targets, and answer for one target with ?target=', async () => {
    const q = 'from=2026-11-16T00:00:00Z&to=2026-11-22T23:00:00Z&period=day';
    const m = await t.call('GET', `/api/v1/platform/metrics?environment=production&${q}`, { token: viewer });
    expect(m.status, JSON.stringify(m.body)).toBe(200);
    const [prod] = m.body.environments;
    // The environment's own figures are its release (the record without a target); each target's are its rollouts.
    expect(prod.total).toMatchObject({ deployments: 1, failed: 0, rolledBack: 0 });
    expect(prod.targets.map((x: { target: string; wave: number; total: { deployments: number; failed: number; rolledBack: number } }) => x)).toEqual([
      expect.objectContaining({ target: 'canary', wave: 1, total: expect.objectContaining({ deployments: 2, failed: 1, rolledBack: 0 }) }),
      expect.objectContaining({ target: 'cell-1', wave: 2, total: expect.objectContaining({ deployments: 1, rolledBack: 1, rollbackRate: 1 }) }),
    ]);
    expect(prod.targets[0].total.durationSeconds.mean).toBe(240);
    expect(prod.targets[0].periods.map((p: { period: string }) => p.period)).toEqual(['2026-11-20', '2026-11-21']);
    const one = await t.call('GET', `/api/v1/platform/metrics?environment=production&target=canary&${q}`, { token: viewer });
    expect(one.body.environments).toEqual([expect.objectContaining({ environment: 'production', target: 'canary', total: prod.targets[0].total })]);
    expect(Object.keys(one.body.environments[0])).not.toContain('targets');
    // An environment without targets answers as before: no breakdown.
    const dev = await t.call('GET', `/api/v1/platform/metrics?environment=dev&${q}`, { token: viewer });
    expect(Object.keys(dev.body.environments[0])).toEqual(['environment', 'from', 'to', 'period', 'total', 'periods']);
    const noEnv = await t.call('GET', `/api/v1/platform/metrics?target=canary`, { token: viewer });
    expect(noEnv.status).toBe(400);
    expect(noEnv.body.error.issues[0]).toMatchObject({ path: 'query.target', message: expect.stringContaining('give environment too') });
    expect((await t.call('GET', `/api/v1/platform/metrics?environment=production&target=nope`, { token: viewer })).status).toBe(404);
  });
});

describe('a git target with a file per target', () => {
  it('takes envs/production/{target}/values.yaml where the environment has targets, and refuses it (400, file) where it has none', async () => {
    const body = { repository: 'https://git.example.com/deploy.git', branch: 'main', file: 'envs/{target}/values.yaml', path: 'image.tag' };
    const ok = await t.call('PUT', '/api/v1/environments/production/git-target', { token: u.admin, body });
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    expect(ok.body.file).toBe('envs/{target}/values.yaml');
    const refused = await t.call('PUT', '/api/v1/environments/dev/git-target', { token: u.admin, body });
    expect(refused.status).toBe(400);
    expect(refused.body.error.issues).toEqual([{ path: 'file', message: expect.stringContaining('declares no targets') }]);
    const bad = await t.call('PUT', '/api/v1/environments/production/git-target', { token: u.admin, body: { ...body, file: 'envs/{region}/values.yaml' } });
    expect(bad.status).toBe(400);
  });
});

describe('where each target is (GET …/environments/{env}/targets) and the CLI', () => {
  it('answers the waves in order, each target with the snapshot it runs (its own while ahead of the environment); an environment without targets answers its implicit one', async () => {
    const tenant2 = t.tenant();
    const v = await t.users(tenant2);
    await makeLine(t, v.admin, ['dev']);
    const created = await t.call('POST', '/api/v1/environments', {
      token: v.admin,
      body: {
        name: 'production',
        position: 5,
        bakeSeconds: 60,
        targets: [
          { name: 'canary', wave: 1 },
          { name: 'cell-1', wave: 2 },
          { name: 'cell-2', wave: 2 },
        ],
      },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const env = (await store().getEnvironment(tenant2, 'production'))!;
    const dev = (await store().getEnvironment(tenant2, 'dev'))!;
    const ahead: TargetHead = {
      environment: 'production',
      target: 'canary',
      subject: 'config',
      snapshot: { ...dev.head, seq: env.head.seq + 1 },
      base: env.head.seq,
      promotionId: 'p-1',
      wave: 1,
      updatedAt: new Date().toISOString(),
      version: 1,
    };
    await store().commit(tenant2, [{ kind: 'targetHead', head: ahead, expectedVersion: null }]);
    const r = await t.call('GET', '/api/v1/environments/production/targets', { token: v.viewer });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.waves.map((w: { wave: number; targets: { name: string }[] }) => `${w.wave}:${w.targets.map((x) => x.name).join(',')}`)).toEqual([
      '1:canary',
      '2:cell-1,cell-2',
    ]);
    expect(r.body.waves[0].bakeSeconds).toBe(60);
    expect(r.body.waves[0].targets[0].config).toEqual({ seq: env.head.seq + 1, digest: dev.head.digest, own: true, promotionId: 'p-1' });
    expect(r.body.waves[1].targets[0].config).toEqual({ seq: env.head.seq, digest: env.head.digest, own: false });
    const plain = await t.call('GET', '/api/v1/environments/dev/targets', { token: v.viewer });
    expect(plain.body.waves).toEqual([
      {
        wave: 1,
        bakeSeconds: 0,
        targets: [{ name: 'default', wave: 1, implicit: true, config: { seq: dev.head.seq, digest: dev.head.digest, own: false }, artifacts: [] }],
      },
    ]);
    expect((await t.call('GET', '/api/v1/environments/nowhere/targets', { token: v.viewer })).status).toBe(404);

    // The CLI: keys scoped to a target, what a target reads, where each target is.
    const cli = (...args: string[]) => cliOf(t)(v.admin, ...args);
    const key = (await cli('keys', 'create', '--env', 'production', '--name', 'canary-svc', '--target', 'canary')).stdout.trim();
    expect((await t.call('GET', '/api/v1/environments/production/effective', { headers: { 'x-api-key': key } })).body.target).toBe('canary');
    expect((await cli('keys', 'list', '--env', 'production')).stdout).toMatch(/canary-svc\s+production\s+canary/);
    const targets = (await cli('targets', '--env', 'production')).stdout;
    expect(targets).toMatch(new RegExp(`1\\s+canary\\s+#${env.head.seq + 1}\\*`));
    expect(targets).toMatch(new RegExp(`2\\s+cell-2\\s+#${env.head.seq}\\s`));
    const read = await cli('effective', '--env', 'production', '--target', 'canary', '--json');
    expect(JSON.parse(read.stdout)).toMatchObject({ target: 'canary', snapshot: { seq: env.head.seq + 1 } });
    await expect(cli('effective', '--env', 'production', '--target', 'nope')).rejects.toThrow(/no target 'nope'/);
    const history = await cli('history', '--env', 'production', '--target', 'canary', '--json');
    expect(JSON.parse(history.stdout)).toEqual([]);
  }, 60_000);
});
