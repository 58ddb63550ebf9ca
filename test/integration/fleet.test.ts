import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoStore, documentClient } from '../../functions/adapters/dynamo-store.ts';
import { instanceStats } from '../../functions/http/instances.ts';
import { overrideConfig } from '../../functions/configuration-overrides.ts';
import { LOCAL_REGION, localCredentials } from '../../local/dynamodb.ts';
import { approveIfAsked, waitFor } from '../support/promotions.ts';
import { productionLine } from '../support/line.ts';
import { startTestStack, type TestStack } from '../support/stack.ts';

/**
 * Confirmation mode `fleet`: application instances identify themselves where they read (effective config
 * with `Stageline-Instance`, OFREP with `context.instanceId`); a fleet target is confirmed once enough of
 * them read the release. The poll is observed through the rollout view (each poll that counts differently
 * writes its counts), never by time.
 */
let t: TestStack;
beforeAll(async () => {
  t = await startTestStack();
});
afterAll(() => t.stop());
const store = () =>
  new DynamoStore(documentClient({ endpoint: t.stack.dynamo.endpoint, region: LOCAL_REGION, credentials: localCredentials }), t.stack.tableName);

type Fleet = { minShare?: number; minInstances?: number; timeoutSeconds?: number };

/** dev → production, production with one fleet target `edge`; an app key scoped to it. */
async function fleetLine(fleet: Fleet) {
  const { tenant, u, created } = await productionLine(t, {
    targets: [{ name: 'edge', wave: 1, confirm: { mode: 'fleet', intervalSeconds: 1, timeoutSeconds: 120, ...fleet } }],
  });
  expect(created.body.targets[0].confirm).toEqual({
    mode: 'fleet',
    minShare: 0.9,
    windowSeconds: 300,
    minInstances: 1,
    intervalSeconds: 1,
    timeoutSeconds: 120,
    ...fleet,
  });
  const k = await t.call('POST', '/api/v1/app-keys', { token: u.admin, body: { name: 'edge-app', environment: 'production', target: 'edge' } });
  expect(k.status, JSON.stringify(k.body)).toBe(201);
  for (const [kind, key] of [
    ['configs', 'feature.x'],
    ['flags', 'checkout.new'],
  ])
    expect((await t.call('POST', `/api/v1/environments/dev/${kind}`, { token: u.deployer, body: { key, value: true } })).status).toBe(201);
  return { tenant, u, key: k.body.key as string };
}

const effective = (key: string, instance: string, etag?: string) =>
  t.call('GET', '/api/v1/environments/production/effective', {
    headers: { 'x-api-key': key, 'stageline-instance': instance, ...(etag ? { 'if-none-match': etag } : {}) },
  });
const ofrepBulk = (key: string, instanceId: string, etag?: string) =>
  t.call('POST', '/ofrep/v1/evaluate/flags', { headers: { 'x-api-key': key, ...(etag ? { 'if-none-match': etag } : {}) }, body: { context: { instanceId } } });

async function promote(u: Awaited<ReturnType<TestStack['users']>>) {
  const p = await t.call('POST', '/api/v1/promotions', { token: u.deployer, body: { sourceEnvironment: 'dev', targetEnvironment: 'production' } });
  expect(p.status, JSON.stringify(p.body)).toBe(201);
  await approveIfAsked(t, u, p.body.id, ['EXECUTING', 'COMPLETED']);
  return p.body.id as string;
}

/** The rollout's `edge` row, once `until` holds of it (the flow runs asynchronously). */
async function edgeWhen(token: string, id: string, until: (edge: any, status: string) => boolean, timeoutMs = 60_000) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const p = await t.call('GET', `/api/v1/promotions/${id}`, { token });
    const edge = p.body?.rollout?.waves?.[0]?.targets?.[0];
    if (edge && until(edge, p.body.status)) return { edge, promotion: p.body };
    if (Date.now() > end) throw new Error(`edge never got there: ${JSON.stringify(edge)} (${p.body.status})`);
    await new Promise((res) => setTimeout(res, 100));
  }
}

describe('confirmation mode fleet', () => {
  it('stays CONFIRMING while 8 of 10 instances read the release and is confirmed at the 9th (minShare 0.9); a 304 writes nothing; OFREP instanceId counts the same', async () => {
    const { tenant, u, key } = await fleetLine({ minInstances: 10 });
    // Ten instances read production's edge: nine through effective config, one through OFREP bulk evaluation.
    const etags = new Map<string, string>();
    for (let i = 0; i < 9; i++) {
      const r = await effective(key, `pod-${i}`);
      expect(r.status).toBe(200);
      etags.set(`pod-${i}`, r.headers.get('etag')!);
    }
    const o = await ofrepBulk(key, 'pod-9');
    expect(o.status, JSON.stringify(o.body)).toBe(200);
    etags.set('pod-9', o.headers.get('etag')!);
    const seen = await store().listInstances(tenant, 'production', 'edge', 1000);
    expect(seen.map((s) => s.instance).sort()).toEqual([...Array(10).keys()].map((i) => `pod-${i}`).sort());
    expect(new Set(seen.map((s) => s.version)).size).toBe(1);

    // Unchanged polls: a 304 each, and no write (the items are as they were, the read path sent no put).
    const puts = instanceStats.puts;
    for (const id of ['pod-0', 'pod-1']) expect((await effective(key, id, etags.get(id))).status).toBe(304);
    expect((await ofrepBulk(key, 'pod-9', etags.get('pod-9'))).status).toBe(304);
    expect(instanceStats.puts).toBe(puts);
    expect(await store().listInstances(tenant, 'production', 'edge', 1000)).toEqual(seen);
    // A 200 of the same version (no validator) writes nothing either.
    expect((await effective(key, 'pod-0')).status).toBe(200);
    expect(await store().listInstances(tenant, 'production', 'edge', 1000)).toEqual(seen);

    const id = await promote(u);
    // The target is changed and polled: its first count is 0 of 10.
    await edgeWhen(u.viewer, id, (e) => e.state === 'CONFIRMING' && e.confirmation?.fleet?.seen === 10);
    for (let i = 0; i < 8; i++) expect((await effective(key, `pod-${i}`, etags.get(`pod-${i}`))).status).toBe(200);
    // A poll counted 8 of 10 (80 %): not enough, the target still waits.
    const eight = await edgeWhen(u.viewer, id, (e) => e.confirmation?.fleet?.took === 8);
    expect(eight.edge.state).toBe('CONFIRMING');
    expect(eight.promotion.status).toBe('EXECUTING');
    expect(eight.edge.confirmation.fleet).toEqual({ seen: 10, took: 8, share: 0.8, minShare: 0.9 });
    expect(eight.edge.confirmation.detail).toMatch(/^8\/10 instances \(80 %\) run production@\d+$/);

    // The 9th reads it through OFREP: confirmed, it bakes, the promotion completes.
    expect((await ofrepBulk(key, 'pod-9', etags.get('pod-9'))).status).toBe(200);
    const done = await waitFor(t, u.viewer, id, ['COMPLETED', 'ROLLED_BACK', 'FAILED'], 60_000);
    expect(done.status, JSON.stringify(done.error)).toBe('COMPLETED');
    const edge = done.rollout.waves[0].targets[0];
    expect(edge.confirmation).toMatchObject({
      mode: 'fleet',
      by: 'stageline',
      at: expect.any(String),
      fleet: { seen: 10, took: 9, share: 0.9, minShare: 0.9 },
    });
    expect(edge.confirmation.detail).toMatch(/^9\/10 instances \(90 %\) run production@\d+$/);
  }, 120_000);

  it('a fleet that never converges by its deadline rolls back, with the count as the reason', async () => {
    const { u, key } = await fleetLine({ minInstances: 2, timeoutSeconds: 10 });
    for (const id of ['a', 'b']) expect((await effective(key, id)).status).toBe(200);
    const id = await promote(u);
    const done = await waitFor(t, u.viewer, id, ['COMPLETED', 'ROLLED_BACK', 'FAILED'], 60_000);
    expect(done.status).toBe('ROLLED_BACK');
    expect(done.error.message).toMatch(/0\/2 instances took production@\d+ by \d{4}-/);
    const edge = done.rollout.waves[0].targets[0];
    expect(edge).toMatchObject({ state: 'ROLLED_BACK', error: expect.stringContaining('0/2 instances (0 %) run production@') });
  }, 90_000);

  it('refuses a malformed instance id (400 naming the header or the context field); `__proto__` is an instance like any other', async () => {
    const { tenant, key } = await fleetLine({});
    const bad = await effective(key, 'pod 1');
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toContain('Stageline-Instance');
    const badOfrep = await ofrepBulk(key, 'x'.repeat(129));
    expect(badOfrep.status).toBe(400);
    expect(badOfrep.body.errorDetails).toContain('context.instanceId');
    expect((await effective(key, '__proto__')).status).toBe(200);
    expect((await ofrepBulk(key, 'constructor')).status).toBe(200);
    const seen = await store().listInstances(tenant, 'production', 'edge', 1000);
    expect(seen.map((s) => s.instance).sort()).toEqual(['__proto__', 'constructor']);
  }, 60_000);
});

/**
 * A claim speaks only for what its credential is bound to (DESIGN.md section 9): an instance report counts for a
 * target only when the read's credential is bound to that target (an app key scoped to it). Every other read is
 * served as before and says, in `Stageline-Instance-Counted`, that it was not counted and why.
 */
describe('fleet: only a credential bound to the target reports its instances', () => {
  /** The reads that are not bound to `edge`: a viewer's token with ?target=, an unscoped app key with ?target= and OFREP context.target. */
  async function unboundReads(u: Awaited<ReturnType<TestStack['users']>>, unscoped: string, prefix: string, n: number) {
    for (let i = 0; i < n; i++) {
      const viewer = await t.call('GET', '/api/v1/environments/production/effective?target=edge', {
        token: u.viewer,
        headers: { 'stageline-instance': `${prefix}-viewer-${i}` },
      });
      expect(viewer.status, JSON.stringify(viewer.body)).toBe(200);
      expect(viewer.headers.get('stageline-instance-counted')).toMatch(/^no; .*not bound to target 'edge'/);
      const key = await t.call('GET', '/api/v1/environments/production/effective?target=edge', {
        headers: { 'x-api-key': unscoped, 'stageline-instance': `${prefix}-key-${i}` },
      });
      expect(key.status, JSON.stringify(key.body)).toBe(200);
      expect(key.headers.get('stageline-instance-counted')).toMatch(/^no; .*not bound to target 'edge'/);
      const ofrep = await t.call('POST', '/ofrep/v1/evaluate/flags', {
        headers: { 'x-api-key': unscoped },
        body: { context: { target: 'edge', instanceId: `${prefix}-ofrep-${i}` } },
      });
      expect(ofrep.status, JSON.stringify(ofrep.body)).toBe(200);
      expect(ofrep.headers.get('stageline-instance-counted')).toMatch(/^no; .*not bound to target 'edge'/);
    }
  }
  const unscopedKey = async (u: Awaited<ReturnType<TestStack['users']>>) => {
    const k = await t.call('POST', '/api/v1/app-keys', { token: u.admin, body: { name: 'any-app', environment: 'production' } });
    expect(k.status, JSON.stringify(k.body)).toBe(201);
    return k.body.key as string;
  };

  it("a viewer's reads and an unscoped key's (?target=, OFREP context.target) are served and never counted: they confirm nothing", async () => {
    const { tenant, u, key } = await fleetLine({ minInstances: 2, timeoutSeconds: 10 });
    const unscoped = await unscopedKey(u);
    const id = await promote(u);
    await edgeWhen(u.viewer, id, (e) => e.state === 'CONFIRMING' && e.confirmation?.fleet?.seen === 0);
    // Five reads of each kind name instances of `edge` after the change: all served, none recorded.
    await unboundReads(u, unscoped, 'after', 5);
    expect(await store().listInstances(tenant, 'production', 'edge', 1000)).toEqual([]);
    // The target's own key reports one instance: the poll counts it alone.
    const own = await effective(key, 'real-0');
    expect(own.status).toBe(200);
    expect(own.headers.get('stageline-instance-counted')).toBe('yes');
    const one = await edgeWhen(u.viewer, id, (e) => e.confirmation?.fleet?.seen === 1);
    expect(one.edge.confirmation.fleet).toMatchObject({ seen: 1, took: 1 });
    // One is fewer than the two it needs: the promotion is not confirmed, it rolls back at its deadline.
    const done = await waitFor(t, u.viewer, id, ['COMPLETED', 'ROLLED_BACK', 'FAILED'], 60_000);
    expect(done.status).toBe('ROLLED_BACK');
    expect(done.error.message).toMatch(/1\/1 instances took production@\d+/);
  }, 90_000);

  it('ghost instances from credentials not bound to the target cannot force a rollback; the bound key still confirms', async () => {
    const { tenant, u, key } = await fleetLine({ minInstances: 2 });
    const unscoped = await unscopedKey(u);
    const etags = new Map<string, string>();
    for (const i of ['real-0', 'real-1']) {
      const r = await effective(key, i);
      expect(r.status).toBe(200);
      etags.set(i, r.headers.get('etag')!);
    }
    // Twenty-one ghosts read the old version before the change (counted, they would hold the share at 2/23).
    await unboundReads(u, unscoped, 'ghost', 7);
    const seen = await store().listInstances(tenant, 'production', 'edge', 1000);
    expect(seen.map((s) => s.instance).sort()).toEqual(['real-0', 'real-1']);
    const id = await promote(u);
    await edgeWhen(u.viewer, id, (e) => e.state === 'CONFIRMING' && e.confirmation?.fleet?.seen === 2);
    for (const i of ['real-0', 'real-1']) expect((await effective(key, i, etags.get(i))).status).toBe(200);
    const done = await waitFor(t, u.viewer, id, ['COMPLETED', 'ROLLED_BACK', 'FAILED'], 60_000);
    expect(done.status, JSON.stringify(done.error)).toBe('COMPLETED');
    expect(done.rollout.waves[0].targets[0].confirmation.fleet).toEqual({ seen: 2, took: 2, share: 1, minShare: 0.9 });
  }, 90_000);

  it('a key scoped to another target may not read edge (403); its own reads count for its own target only', async () => {
    const { tenant, u } = await productionLine(t, {
      targets: [
        { name: 'edge', wave: 1, confirm: { mode: 'fleet', intervalSeconds: 1, timeoutSeconds: 120 } },
        { name: 'core', wave: 1 },
      ],
    });
    const core = await t.call('POST', '/api/v1/app-keys', { token: u.admin, body: { name: 'core-app', environment: 'production', target: 'core' } });
    expect(core.status, JSON.stringify(core.body)).toBe(201);
    // The core key may not read edge at all (403), and its own reads count for core only.
    const other = await t.call('GET', '/api/v1/environments/production/effective?target=edge', {
      headers: { 'x-api-key': core.body.key, 'stageline-instance': 'pod-x' },
    });
    expect(other.status).toBe(403);
    const own = await t.call('GET', '/api/v1/environments/production/effective', { headers: { 'x-api-key': core.body.key, 'stageline-instance': 'pod-c' } });
    expect(own.status).toBe(200);
    expect(own.headers.get('stageline-instance-counted')).toBe('yes');
    expect(await store().listInstances(tenant, 'production', 'edge', 1000)).toEqual([]);
    expect((await store().listInstances(tenant, 'production', 'core', 1000)).map((s) => s.instance)).toEqual(['pod-c']);
  }, 60_000);
});

describe('fleet: instances per target are capped, and what is over the cap is said', () => {
  it('counts at most STAGELINE_FLEET_MAX_INSTANCES instances of a target; the rest are named as not counted in the rollout', async () => {
    const undo = overrideConfig({ STAGELINE_FLEET_MAX_INSTANCES: '3' });
    try {
      const { u, key } = await fleetLine({ minInstances: 3 });
      const etags = new Map<string, string>();
      for (let i = 0; i < 5; i++) {
        const r = await effective(key, `pod-${i}`);
        expect(r.status).toBe(200);
        etags.set(`pod-${i}`, r.headers.get('etag')!);
      }
      const id = await promote(u);
      const first = await edgeWhen(u.viewer, id, (e) => e.state === 'CONFIRMING' && e.confirmation?.fleet?.seen === 3);
      expect(first.edge.confirmation.fleet).toMatchObject({ seen: 3, took: 0, over: 2, cap: 3 });
      expect(first.edge.confirmation.detail).toMatch(/; 2 instances over the cap \(3\) were not counted$/);
      // The three counted (the first by instance id) take the release: confirmed, and the rollout still says two were not counted.
      for (let i = 0; i < 3; i++) expect((await effective(key, `pod-${i}`, etags.get(`pod-${i}`))).status).toBe(200);
      const done = await waitFor(t, u.viewer, id, ['COMPLETED', 'ROLLED_BACK', 'FAILED'], 60_000);
      expect(done.status, JSON.stringify(done.error)).toBe('COMPLETED');
      const edge = done.rollout.waves[0].targets[0];
      expect(edge.confirmation.fleet).toEqual({ seen: 3, took: 3, share: 1, minShare: 0.9, over: 2, cap: 3 });
      expect(edge.confirmation.detail).toMatch(/^3\/3 instances \(100 %\) run production@\d+; 2 instances over the cap \(3\) were not counted$/);
    } finally {
      undo();
    }
  }, 90_000);
});
