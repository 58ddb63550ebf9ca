import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../support/promotions.ts';
import { makeLine, startTestStack, type TestStack } from '../support/stack.ts';

let t: TestStack;
beforeAll(async () => {
  t = await startTestStack();
});
afterAll(() => t.stop());

const digest = (c: string) => `sha256:${c.repeat(64).slice(0, 64)}`;

/** platform v1.2.2 then v1.2.3 promoted dev → staging. */
async function twoVersionsInStaging(meta: Record<string, unknown> = {}) {
  const tenant = t.tenant();
  const u = await t.users(tenant);
  await makeLine(t, u.admin);
  for (const [v, c, m] of [
    ['v1.2.2', '2', { policies: { quality_gate_threshold: 0.9 } }],
    ['v1.2.3', '3', { policies: { quality_gate_threshold: 0.8 }, ...meta }],
  ] as const) {
    await t.call('POST', '/api/v1/artifacts/platform/versions', { token: u.deployer, body: { version: v, digest: digest(c), metadata: m } });
    const p = await t.call('POST', '/api/v1/promotions', {
      token: u.deployer,
      body: { sourceEnvironment: 'dev', targetEnvironment: 'staging', artifact: 'platform', version: v },
    });
    expect((await waitFor(t, u.viewer, p.body.id, ['COMPLETED', 'FAILED'])).status).toBe('COMPLETED');
  }
  return { tenant, u };
}

describe('environment rollback with impact analysis', () => {
  it('dry-run reports what reverts, breaking changes, affected consumers, time and a recommendation; writes nothing', async () => {
    const { u } = await twoVersionsInStaging();
    await t.call('PUT', '/api/v1/artifacts/platform/consumers/orders', { token: u.deployer, body: { constraint: '^1.2.0' } });
    await t.stack.stream.idle();
    const before = await t.call('GET', '/api/v1/audit/verify', { token: u.viewer });
    const dry = await t.call('POST', '/api/v1/environments/staging/rollback', {
      token: u.deployer,
      body: { artifact: 'platform', version: 'v1.2.2', dryRun: true },
    });
    expect(dry.status, JSON.stringify(dry.body)).toBe(200);
    expect(dry.body.impact).toMatchObject({
      environment: 'staging',
      reverts: [{ artifact: 'platform', from: 'v1.2.3', to: 'v1.2.2' }],
      breakingChanges: ["policy 'quality_gate_threshold' gets tighter (0.8 → 0.9)"],
      affectedConsumers: [],
      recommendation: 'RISKY',
    });
    expect(dry.body.impact.estimatedSeconds).toBeGreaterThanOrEqual(1);
    await t.stack.stream.idle();
    expect((await t.call('GET', '/api/v1/audit/verify', { token: u.viewer })).body).toEqual(before.body);
  });

  it('rolls back through the same flow: rollback tag, latest moved, replaced deployment and promotion ROLLED_BACK', async () => {
    const { tenant, u } = await twoVersionsInStaging();
    expect(
      (await t.call('POST', '/api/v1/environments/staging/rollback', { token: u.deployer, body: { artifact: 'platform', version: 'v1.2.2' } })).status,
    ).toBe(400);
    const r = await t.call('POST', '/api/v1/environments/staging/rollback', {
      token: u.deployer,
      body: { artifact: 'platform', version: 'v1.2.2', reason: 'v1.2.3 breaks reports' },
    });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    const done = await waitFor(t, u.viewer, r.body.promotion.id, ['COMPLETED', 'FAILED', 'VALIDATION_FAILED']);
    expect(done.status, JSON.stringify(done)).toBe('COMPLETED');
    // An execution of the promotion machine (the record says it is a rollback), straight to execute: no go to wait for.
    const execution = `promotion:${tenant}:${r.body.promotion.id}`;
    expect(await t.stack.workflow.done(execution)).toBe('SUCCEEDED');
    expect(t.stack.workflow.transitions(execution)).toBe(3);
    expect(done.gates.map((g: any) => [g.gate, g.verdict])).toEqual([
      ['policy_compliance', 'PASS'],
      ['rollback_impact', 'WARN'],
    ]);
    expect((await t.call('GET', '/api/v1/artifacts/platform/tags/v1.2.2-staging-rollback', { token: u.viewer })).body.digest).toBe(digest('2'));
    expect((await t.call('GET', '/api/v1/artifacts/platform/tags/latest-staging', { token: u.viewer })).body.version).toBe('v1.2.2');
    const history = await t.call('GET', '/api/v1/platform/deployments/history?environment=staging&limit=5', { token: u.viewer });
    expect(history.body.map((d: any) => [d.imageTag, d.status])).toEqual([
      ['v1.2.2', 'DEPLOYED'],
      ['v1.2.3', 'ROLLED_BACK'],
      ['v1.2.2', 'DEPLOYED'],
    ]);
    const promos = await t.call('GET', '/api/v1/promotions?target=staging', { token: u.viewer });
    expect(promos.body.items.map((p: any) => p.status)).toEqual(['COMPLETED', 'ROLLED_BACK', 'COMPLETED']);
    const status = await t.call('GET', '/api/v1/status?env=staging', { token: u.viewer });
    // Restored, not deployed: the environment names the rollback that put v1.2.2 back, and why.
    expect(status.body.environments[0].artifacts[0]).toMatchObject({
      artifact: 'platform',
      version: 'v1.2.2',
      restored: { promotionId: r.body.promotion.id, reason: 'v1.2.3 breaks reports' },
    });
  });

  it('BLOCKED when a pinned consumer would break: refused unless an admin overrides with a reason (audited)', async () => {
    const { u } = await twoVersionsInStaging();
    await t.call('PUT', '/api/v1/artifacts/platform/consumers/billing', { token: u.deployer, body: { constraint: '>=1.2.3, <2.0.0', environment: 'staging' } });
    const dry = await t.call('POST', '/api/v1/environments/staging/rollback', {
      token: u.deployer,
      body: { artifact: 'platform', version: 'v1.2.2', dryRun: true },
    });
    expect(dry.body.impact).toMatchObject({ recommendation: 'BLOCKED', affectedConsumers: [{ name: 'billing', constraint: '>=1.2.3, <2.0.0' }] });
    const refused = await t.call('POST', '/api/v1/environments/staging/rollback', {
      token: u.deployer,
      body: { artifact: 'platform', version: 'v1.2.2', reason: 'x' },
    });
    expect(refused.status).toBe(422);
    expect(refused.body.error.message).toContain('BLOCKED');
    const notAdmin = await t.call('POST', '/api/v1/environments/staging/rollback', {
      token: u.deployer,
      body: { artifact: 'platform', version: 'v1.2.2', reason: 'x', override: true },
    });
    expect(notAdmin.status).toBe(403);
    const forced = await t.call('POST', '/api/v1/environments/staging/rollback', {
      token: u.admin,
      body: { artifact: 'platform', version: 'v1.2.2', reason: 'incident 42: billing accepts the risk', override: true },
    });
    expect(forced.status).toBe(200);
    expect((await waitFor(t, u.viewer, forced.body.promotion.id, ['COMPLETED', 'FAILED', 'VALIDATION_FAILED'])).status).toBe('COMPLETED');
    const audit = await t.call('GET', '/api/v1/audit?entityType=promotion&limit=50', { token: u.viewer });
    expect(audit.body.items.find((e: any) => e.action === 'rollback.override')).toMatchObject({ reason: 'override: incident 42: billing accepts the risk' });
  });

  it('rolls configs back to a snapshot; removed keys make it RISKY', async () => {
    const tenant = t.tenant();
    const u = await t.users(tenant);
    await makeLine(t, u.admin);
    await t.call('POST', '/api/v1/environments/dev/configs', { token: u.deployer, body: { key: 'a', value: 1 } });
    await t.call('POST', '/api/v1/environments/dev/configs', { token: u.deployer, body: { key: 'b', value: 'x' } });
    const dry = await t.call('POST', '/api/v1/environments/dev/rollback', { token: u.deployer, body: { snapshot: 1, dryRun: true } });
    expect(dry.body.impact).toMatchObject({ recommendation: 'RISKY', breakingChanges: ["removes config 'b'"], reverts: [{ key: 'b', action: 'remove' }] });
    const r = await t.call('POST', '/api/v1/environments/dev/rollback', { token: u.deployer, body: { snapshot: 1, reason: 'b was a mistake' } });
    expect((await waitFor(t, u.viewer, r.body.promotion.id, ['COMPLETED', 'FAILED', 'VALIDATION_FAILED'])).status).toBe('COMPLETED');
    const configs = await t.call('GET', '/api/v1/environments/dev/configs', { token: u.viewer });
    expect(configs.body.items.map((i: any) => i.key)).toEqual(['a']);
    expect(
      (await t.call('POST', '/api/v1/environments/dev/rollback', { token: u.deployer, body: { snapshot: 1, artifact: 'x', version: 'v1.0.0' } })).status,
    ).toBe(400);
  });
});

describe('rollback of an artifact promotion', () => {
  it('goes through the environment rollback: impact analysis, then the rollback flow; the promotion ends ROLLED_BACK', async () => {
    const { u } = await twoVersionsInStaging();
    const promos = await t.call('GET', '/api/v1/promotions?target=staging', { token: u.viewer });
    const latest = promos.body.items[0];
    expect(latest.subject.version).toBe('v1.2.3');
    const dry = await t.call('POST', `/api/v1/promotions/${latest.id}/rollback`, { token: u.deployer, body: { reason: 'x', dryRun: true } });
    expect(dry.body).toMatchObject({ dryRun: true, impact: { recommendation: 'RISKY' }, reverts: [{ artifact: 'platform', from: 'v1.2.3', to: 'v1.2.2' }] });
    const first = promos.body.items[1];
    const nothing = await t.call('POST', `/api/v1/promotions/${first.id}/rollback`, { token: u.deployer, body: { reason: 'x' } });
    expect(nothing.status).toBe(422);
    expect(nothing.body.error.message).toContain('nothing to roll back to');
    const run = await t.call('POST', `/api/v1/promotions/${latest.id}/rollback`, { token: u.deployer, body: { reason: 'reports broken' } });
    expect(run.status, JSON.stringify(run.body)).toBe(200);
    expect((await waitFor(t, u.viewer, run.body.promotion.id, ['COMPLETED', 'FAILED', 'VALIDATION_FAILED'])).status).toBe('COMPLETED');
    expect((await waitFor(t, u.viewer, latest.id, ['ROLLED_BACK'])).status).toBe('ROLLED_BACK');
    expect((await t.call('GET', '/api/v1/artifacts/platform/tags/latest-staging', { token: u.viewer })).body.version).toBe('v1.2.2');
  });
});

describe('rollback of a config promotion', () => {
  it('a freeze window holds it like any promotion into the environment; an admin breaking glass takes it through', async () => {
    const tenant = t.tenant();
    const u = await t.users(tenant);
    await makeLine(t, u.admin);
    await t.call('POST', '/api/v1/environments/dev/configs', { token: u.deployer, body: { key: 'feature.x', value: true } });
    const p = await t.call('POST', '/api/v1/promotions', { token: u.deployer, body: { sourceEnvironment: 'dev', targetEnvironment: 'staging' } });
    expect((await waitFor(t, u.viewer, p.body.id, ['COMPLETED', 'FAILED'])).status).toBe('COMPLETED');
    const soon = (s: number) => new Date(Date.now() + s * 1000).toISOString();
    await t.call('POST', '/api/v1/environments/staging/freeze-windows', {
      token: u.admin,
      body: { reason: 'release freeze', start: soon(-1), end: soon(3600) },
    });
    const staged = async () => (await t.call('GET', '/api/v1/environments/staging/configs', { token: u.viewer })).body.items.map((i: any) => i.key);

    // A deployer's rollback is a promotion into a frozen environment: it does not change staging.
    const held = await t.call('POST', `/api/v1/promotions/${p.body.id}/rollback`, { token: u.deployer, body: { reason: 'feature.x misbehaves' } });
    expect(held.status, JSON.stringify(held.body)).toBe(200);
    const heldEnd = await waitFor(t, u.viewer, held.body.promotion.id, ['COMPLETED', 'FAILED', 'CANCELLED', 'VALIDATION_FAILED']);
    expect(heldEnd.status).not.toBe('COMPLETED');
    expect(heldEnd.gates.map((g: any) => g.gate)).toContain('freeze_window');
    expect(await staged()).toEqual(['feature.x']);

    // An admin breaking glass (with a reason) takes the rollback through the freeze.
    const glass = await t.call('POST', `/api/v1/promotions/${p.body.id}/rollback`, {
      token: u.admin,
      headers: { 'x-break-glass-reason': 'INC-12 feature.x pages on-call' },
      body: { reason: 'feature.x misbehaves' },
    });
    expect(glass.status, JSON.stringify(glass.body)).toBe(200);
    const done = await waitFor(t, u.viewer, glass.body.promotion.id, ['COMPLETED', 'FAILED', 'CANCELLED', 'VALIDATION_FAILED']);
    expect(done.status, JSON.stringify(done.error)).toBe('COMPLETED');
    expect(done.freezeOverride).toMatchObject({ guard: 'freeze-window', reason: 'INC-12 feature.x pages on-call' });
    expect(await staged()).toEqual([]);
    expect((await waitFor(t, u.viewer, p.body.id, ['ROLLED_BACK'])).status).toBe('ROLLED_BACK');
  });
});

describe('a rollback held by a freeze', () => {
  it('whenFrozen "wait" holds a promotion rollback (and an environment rollback) SCHEDULED until the window ends, then it completes', async () => {
    const tenant = t.tenant();
    const u = await t.users(tenant);
    await makeLine(t, u.admin);
    await t.call('POST', '/api/v1/environments/dev/configs', { token: u.deployer, body: { key: 'feature.x', value: true } });
    const p = await t.call('POST', '/api/v1/promotions', { token: u.deployer, body: { sourceEnvironment: 'dev', targetEnvironment: 'staging' } });
    expect((await waitFor(t, u.viewer, p.body.id, ['COMPLETED', 'FAILED'])).status).toBe('COMPLETED');
    const inSeconds = (s: number) => new Date(Date.now() + s * 1000).toISOString();
    const w = await t.call('POST', '/api/v1/environments/staging/freeze-windows', {
      token: u.admin,
      body: { reason: 'release freeze', start: inSeconds(-1), end: inSeconds(4) },
    });
    expect(w.status).toBe(201);
    const staged = async () => (await t.call('GET', '/api/v1/environments/staging/configs', { token: u.viewer })).body.items.map((i: any) => i.key);

    const held = await t.call('POST', `/api/v1/promotions/${p.body.id}/rollback`, {
      token: u.deployer,
      body: { reason: 'feature.x misbehaves', whenFrozen: 'wait' },
    });
    expect(held.status, JSON.stringify(held.body)).toBe(200);
    const waiting = await waitFor(t, u.viewer, held.body.promotion.id, ['SCHEDULED', 'COMPLETED', 'FAILED', 'CANCELLED']);
    expect(waiting.status).toBe('SCHEDULED');
    expect(waiting.heldBy).toMatchObject({ window: w.body.id, reason: 'release freeze' });
    expect(await staged()).toEqual(['feature.x']);
    const done = await waitFor(t, u.viewer, held.body.promotion.id, ['COMPLETED', 'FAILED', 'CANCELLED'], 30_000);
    expect(done.status, JSON.stringify(done.error)).toBe('COMPLETED');
    expect(new Date(done.completedAt).getTime()).toBeGreaterThanOrEqual(new Date(w.body.end).getTime());
    expect(await staged()).toEqual([]);
    expect((await waitFor(t, u.viewer, p.body.id, ['ROLLED_BACK'])).status).toBe('ROLLED_BACK');

    // The environment rollback takes the same option; a bad value is a 400 naming the field.
    const bad = await t.call('POST', '/api/v1/environments/staging/rollback', { token: u.deployer, body: { snapshot: 1, reason: 'x', whenFrozen: 'later' } });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toContain('whenFrozen');
  });
});

describe('automatic rollback', () => {
  it('an alarm during the bake time fails verification, restores the target and pauses auto-promotion into it', async () => {
    const tenant = t.tenant();
    const u = await t.users(tenant);
    await makeLine(t, u.admin);
    await t.call('PATCH', '/api/v1/environments/staging', { token: u.admin, body: { version: 1, bakeSeconds: 2 } });
    await t.call('POST', '/api/v1/environments/dev/configs', { token: u.deployer, body: { key: 'feature.x', value: true } });
    const before = await t.call('GET', '/api/v1/environments/staging', { token: u.viewer });
    const p = await t.call('POST', '/api/v1/promotions', { token: u.deployer, body: { sourceEnvironment: 'dev', targetEnvironment: 'staging' } });
    await waitFor(t, u.viewer, p.body.id, ['EXECUTING']);
    const alarm = await t.call('POST', `/api/v1/promotions/${p.body.id}/evidence`, {
      token: u.deployer,
      body: { type: 'alarm', payload: { name: 'p99-latency', state: 'ALARM', reason: 'p99 > 800 ms' } },
    });
    expect(alarm.status).toBe(201);
    const done = await waitFor(t, u.viewer, p.body.id, ['FAILED', 'COMPLETED', 'ROLLED_BACK'], 20_000);
    expect(done.status).toBe('ROLLED_BACK');
    expect(done.error.message).toContain("alarm 'p99-latency'");
    const after = await t.call('GET', '/api/v1/environments/staging', { token: u.viewer });
    expect(after.body.snapshot.digest).toBe(before.body.snapshot.digest);
    expect(after.body.autoPromotionPaused).toBe(true);
    const history = await t.call('GET', '/api/v1/platform/deployments/history?environment=staging&limit=1', { token: u.viewer });
    expect(history.body[0].status).toBe('ROLLED_BACK');
    const status = await t.call('GET', '/api/v1/status?env=staging', { token: u.viewer });
    expect(status.body.environments[0].config.restored).toEqual({ promotionId: p.body.id, reason: expect.stringContaining("alarm 'p99-latency'") });
  });

  it("an artifact put back by an alarm says it was restored, by which rollback and why (not 'by stageline' as if deployed)", async () => {
    const tenant = t.tenant();
    const u = await t.users(tenant);
    await makeLine(t, u.admin);
    const promote = async (v: string, c: string) => {
      await t.call('POST', '/api/v1/artifacts/platform/versions', { token: u.deployer, body: { version: v, digest: digest(c) } });
      const p = await t.call('POST', '/api/v1/promotions', {
        token: u.deployer,
        body: { sourceEnvironment: 'dev', targetEnvironment: 'staging', artifact: 'platform', version: v },
      });
      expect(p.status, JSON.stringify(p.body)).toBe(201);
      return p.body.id as string;
    };
    expect((await waitFor(t, u.viewer, await promote('v1.0.0', '1'), ['COMPLETED', 'FAILED'])).status).toBe('COMPLETED');
    await t.call('PATCH', '/api/v1/environments/staging', { token: u.admin, body: { version: 1, bakeSeconds: 2 } });
    const id = await promote('v1.1.0', '2');
    await waitFor(t, u.viewer, id, ['EXECUTING']);
    await t.call('POST', `/api/v1/promotions/${id}/evidence`, {
      token: u.deployer,
      body: { type: 'alarm', payload: { name: 'p99-latency', state: 'ALARM', reason: 'p99 > 800 ms' } },
    });
    expect((await waitFor(t, u.viewer, id, ['FAILED', 'COMPLETED', 'ROLLED_BACK'], 20_000)).status).toBe('ROLLED_BACK');
    const status = await t.call('GET', '/api/v1/status?env=staging', { token: u.viewer });
    expect(status.body.environments[0].artifacts[0]).toMatchObject({
      artifact: 'platform',
      version: 'v1.0.0',
      restored: { promotionId: id, reason: expect.stringContaining("alarm 'p99-latency' (p99 > 800 ms)") },
    });
  });
});

describe('a completed rollback marks only what it undid', () => {
  it('rolling back promotion A (r.a) after promotion D (r.d) leaves D COMPLETED, its deployment live, and D can still be rolled back', async () => {
    const tenant = t.tenant();
    const u = await t.users(tenant);
    await makeLine(t, u.admin);
    await t.call('POST', '/api/v1/environments/dev/configs', { token: u.deployer, body: { key: 'r.a', value: 'a1' } });
    await t.call('POST', '/api/v1/environments/dev/configs', { token: u.deployer, body: { key: 'r.d', value: 'd1' } });
    const promote = async (key: string) => {
      const p = await t.call('POST', '/api/v1/promotions', {
        token: u.deployer,
        body: { sourceEnvironment: 'dev', targetEnvironment: 'staging', promotionType: 'PATTERN', keyPatterns: [key] },
      });
      expect(p.status, JSON.stringify(p.body)).toBe(201);
      expect((await waitFor(t, u.viewer, p.body.id, ['COMPLETED', 'FAILED'])).status).toBe('COMPLETED');
      return p.body.id as string;
    };
    const a = await promote('r.a');
    const d = await promote('r.d');

    const run = await t.call('POST', `/api/v1/promotions/${a}/rollback`, { token: u.deployer, body: { reason: 'r.a misbehaves' } });
    expect(run.status, JSON.stringify(run.body)).toBe(200);
    expect((await waitFor(t, u.viewer, run.body.promotion.id, ['COMPLETED', 'FAILED', 'VALIDATION_FAILED', 'CANCELLED'])).status).toBe('COMPLETED');
    expect((await waitFor(t, u.viewer, a, ['ROLLED_BACK'])).status).toBe('ROLLED_BACK');
    await t.stack.stream.idle();

    // D's value is still live: D is not rolled back, and it can be rolled back itself.
    const keys = (await t.call('GET', '/api/v1/environments/staging/configs', { token: u.viewer })).body.items.map((i: any) => i.key);
    expect(keys).toEqual(['r.d']);
    expect((await t.call('GET', `/api/v1/promotions/${d}`, { token: u.viewer })).body.status).toBe('COMPLETED');
    const dry = await t.call('POST', `/api/v1/promotions/${d}/rollback`, { token: u.deployer, body: { reason: 'x', dryRun: true } });
    expect(dry.status, JSON.stringify(dry.body)).toBe(200);
    expect(dry.body.reverts).toEqual([expect.objectContaining({ kind: 'config', key: 'r.d' })]);

    // History: A's deployment rolled back, D's superseded by the rollback (not rolled back); metrics count one rollback.
    const history = await t.call('GET', '/api/v1/platform/deployments/history?environment=staging&limit=5', { token: u.viewer });
    const byPromotion = new Map(history.body.map((h: any) => [h.promotionId, h.status]));
    expect(byPromotion.get(a)).toBe('ROLLED_BACK');
    expect(byPromotion.get(d)).toBe('DEPLOYED');
    const metrics = await t.call('GET', '/api/v1/platform/metrics?environment=staging', { token: u.viewer });
    expect(JSON.stringify(metrics.body)).toMatch(/"rolledBack":1\b/);

    // The audit trail says A was marked rolled back, and nothing says D was.
    const audit = await t.call('GET', `/api/v1/audit?entityType=promotion&entityId=${a}&limit=50`, { token: u.admin });
    expect(JSON.stringify(audit.body)).toContain('promotion.rolled_back');
    const auditD = await t.call('GET', `/api/v1/audit?entityType=promotion&entityId=${d}&limit=50`, { token: u.admin });
    expect(JSON.stringify(auditD.body)).not.toContain('promotion.rolled_back');
  });
});

describe('pinned consumers gate promotion forward, as they gate a rollback', () => {
  it('refuses a version a consumer of the target pins out (422 naming it), passes once it is re-pinned, and holds the gate at validation', async () => {
    const { u } = await twoVersionsInStaging();
    await t.call('POST', '/api/v1/artifacts/platform/versions', { token: u.deployer, body: { version: 'v2.0.0', digest: digest('4') } });
    expect(
      (await t.call('PUT', '/api/v1/artifacts/platform/consumers/billing', { token: u.deployer, body: { constraint: '^1.2.0', environment: 'staging' } }))
        .status,
    ).toBe(200);
    // A consumer of another environment does not hold staging back; a tag constraint never does.
    await t.call('PUT', '/api/v1/artifacts/platform/consumers/reports', { token: u.deployer, body: { constraint: '~1.2.0', environment: 'production' } });
    await t.call('PUT', '/api/v1/artifacts/platform/consumers/edge', { token: u.deployer, body: { constraint: 'latest-staging' } });
    const body = { sourceEnvironment: 'dev', targetEnvironment: 'staging', artifact: 'platform', version: 'v2.0.0' };
    for (const dryRun of [true, false]) {
      const refused = await t.call('POST', '/api/v1/promotions', { token: u.deployer, body: { ...body, dryRun } });
      expect(refused.status, JSON.stringify(refused.body)).toBe(422);
      expect(refused.body.error.message).toContain("consumer 'billing' pins platform ^1.2.0");
      expect(refused.body.error.message).not.toContain('reports');
      expect(refused.body.error.consumers).toEqual([{ name: 'billing', constraint: '^1.2.0', reason: 'v2.0.0 does not satisfy it' }]);
    }
    // Nothing was written: the refused release is not on its way (the validated one below is the first).

    // The consumer's own new version pins ^2: the promotion is requested, then a consumer pins ^1 again before it is validated.
    await t.call('PUT', '/api/v1/artifacts/platform/consumers/billing', { token: u.deployer, body: { constraint: '^2.0.0', environment: 'staging' } });
    const held = await t.call('POST', '/api/v1/promotions', { token: u.deployer, body: { ...body, autoStart: false } });
    expect(held.status, JSON.stringify(held.body)).toBe(201);
    await t.call('PUT', '/api/v1/artifacts/platform/consumers/ledger', { token: u.deployer, body: { constraint: '>=1.2.0, <2.0.0' } });
    expect((await t.call('POST', `/api/v1/promotions/${held.body.id}/validate`, { token: u.deployer })).status).toBe(202);
    const failed = await waitFor(t, u.viewer, held.body.id, ['VALIDATION_FAILED', 'COMPLETED', 'FAILED']);
    expect(failed.status).toBe('VALIDATION_FAILED');
    expect(failed.gates.find((g: any) => g.gate === 'policy_compliance')).toMatchObject({
      verdict: 'FAIL',
      reason: expect.stringContaining("consumer 'ledger' pins platform >=1.2.0, <2.0.0"),
    });
    expect((await t.call('GET', '/api/v1/artifacts/platform/tags/latest-staging', { token: u.viewer })).body.version).toBe('v1.2.3');

    // Re-pinned: the same promotion, validated again, goes through.
    await t.call('PUT', '/api/v1/artifacts/platform/consumers/ledger', { token: u.deployer, body: { constraint: '^2.0.0' } });
    expect((await t.call('POST', `/api/v1/promotions/${held.body.id}/validate`, { token: u.deployer })).status).toBe(202);
    expect((await waitFor(t, u.viewer, held.body.id, ['COMPLETED', 'FAILED'])).status).toBe('COMPLETED');
    expect((await t.call('GET', '/api/v1/artifacts/platform/tags/latest-staging', { token: u.viewer })).body.version).toBe('v2.0.0');
  });
});
