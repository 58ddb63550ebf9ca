import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alarmArn as arn, alarmEvent } from '../support/alarms.ts';
import { cliOf } from '../support/cli.ts';
import { approveIfAsked, waitFor } from '../support/promotions.ts';
import { makeLine, startTestStack, type TestStack } from '../support/stack.ts';

let t: TestStack;
beforeAll(async () => {
  t = await startTestStack();
});
afterAll(() => t.stop());

type Users = Awaited<ReturnType<TestStack['users']>>;

/** Polls until `ok` (what the stack does after a request, or after the test moves its clock, runs on its own). */
async function until(ok: () => Promise<boolean>, what: string, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > end) throw new Error(`${what}: never, within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

// The local stack's deployment: account 000000000000, region us-east-1 (local/stack.ts).

async function patchEnv(u: Users, env: string, body: Record<string, unknown>) {
  const cur = await t.call('GET', `/api/v1/environments/${env}`, { token: u.viewer });
  return t.call('PATCH', `/api/v1/environments/${env}`, { token: u.admin, body: { version: cur.body.version, ...body } });
}

/** A line whose staging runs a release (dev → staging completed); staging watches one alarm of the tenant's. */
async function releasedToStaging() {
  const tenant = t.tenant();
  const u = await t.users(tenant);
  await makeLine(t, u.admin);
  const alarm = arn(`${tenant}/p99`);
  expect((await patchEnv(u, 'staging', { monitors: [alarm] })).status).toBe(200);
  await t.call('POST', '/api/v1/environments/dev/configs', { token: u.deployer, body: { key: 'feature.x', value: true } });
  const p = await t.call('POST', '/api/v1/promotions', { token: u.deployer, body: { sourceEnvironment: 'dev', targetEnvironment: 'staging' } });
  const landed = await waitFor(t, u.viewer, p.body.id, ['COMPLETED', 'FAILED', 'CANCELLED']);
  expect(landed.status).toBe('COMPLETED');
  return { u, alarm, landed };
}

const toProduction = (u: Users) =>
  t.call('POST', '/api/v1/promotions', { token: u.deployer, body: { sourceEnvironment: 'staging', targetEnvironment: 'production' } });

describe('soak: a release runs long enough in the source environment before it moves on', () => {
  it("waits SCHEDULED (reason and until, from when the release landed) for the target's soak; shown by the API, decision record, status, CLI and audit", async () => {
    const { u, landed } = await releasedToStaging();
    const set = await patchEnv(u, 'production', { soakSeconds: 3600 });
    expect(set.status, JSON.stringify(set.body)).toBe(200);
    expect(set.body.soakSeconds).toBe(3600);
    // A partial body never wipes a stored soak.
    expect((await patchEnv(u, 'production', { description: 'live' })).body.soakSeconds).toBe(3600);

    const p = await toProduction(u);
    expect(p.status, JSON.stringify(p.body)).toBe(201);
    await approveIfAsked(t, u, p.body.id, ['SCHEDULED', 'COMPLETED', 'FAILED']);
    const held = await waitFor(t, u.viewer, p.body.id, ['SCHEDULED', 'COMPLETED', 'FAILED', 'CANCELLED']);
    expect(held.status).toBe('SCHEDULED');
    expect(held.heldBy).toMatchObject({
      soak: { environment: 'staging', seconds: 3600, from: 'environment', since: expect.any(String) },
      reason: expect.stringMatching(/^soaking in staging until \d\d:\d\d(?::\d\d)? UTC: \d+ s of 60 min done$/),
    });
    const since = Date.parse(held.heldBy.soak.since);
    // The clock started when the release went live in staging (its promotion there executed).
    expect(since).toBeGreaterThanOrEqual(Date.parse(landed.requestedAt));
    expect(since).toBeLessThanOrEqual(Date.parse(landed.completedAt));
    expect(Date.parse(held.heldBy.until) - since).toBe(3600_000);
    expect(held.scheduledAt).toBe(held.heldBy.until);

    const decision = await t.call('GET', `/api/v1/promotions/${p.body.id}/decision`, { token: u.viewer });
    expect(decision.body.soak).toMatchObject({ soak: { environment: 'staging', seconds: 3600 }, until: held.heldBy.until });
    expect(decision.body.freeze.heldBy).toBeNull();
    const status = await t.call('GET', '/api/v1/status', { token: u.viewer });
    expect(JSON.stringify(status.body)).toContain('soaking in staging until');
    const audit = await t.call('GET', `/api/v1/audit?entityType=promotion&entityId=${p.body.id}`, { token: u.viewer });
    expect(audit.body.items.filter((e: any) => e.action === 'promotion.soaking')).toHaveLength(1);

    const shown = await cliOf(t)(u.viewer, 'status', p.body.id);
    expect(shown.stdout).toMatch(/soaking in staging until \d\d:\d\d(?::\d\d)? UTC: .*; it goes on by itself at/);
    expect(shown.stdout).toContain('Next: nothing: it goes on by itself once it has soaked in staging');
  });

  it("an alarm in staging after the release landed restarts the clock; a rule's soak overrides the environment's; when the soak is done it executes", async () => {
    const { u, alarm, landed } = await releasedToStaging();
    await patchEnv(u, 'production', { soakSeconds: 3600 });
    const rule = await t.call('POST', '/api/v1/promotions/rules', {
      token: u.admin,
      body: { name: 'soak', sourceEnvironment: 'staging', targetEnvironment: 'production', requiresApproval: false, soakSeconds: 1800 },
    });
    expect(rule.status, JSON.stringify(rule.body)).toBe(201);
    expect(rule.body.soakSeconds).toBe(1800);

    const p = await toProduction(u);
    const held = await waitFor(t, u.viewer, p.body.id, ['SCHEDULED', 'COMPLETED', 'FAILED', 'CANCELLED']);
    expect(held.status).toBe('SCHEDULED');
    expect(held.heldBy.soak).toMatchObject({ environment: 'staging', seconds: 1800, from: 'rule' });
    const firstUntil = Date.parse(held.heldBy.until);
    expect(firstUntil - Date.parse(held.heldBy.soak.since)).toBe(1800_000);

    // An alarm of staging's monitors while it waits (at the stack's clock: local/clock.ts, which this test moves).
    const alarmAt = t.stack.clock.date().toISOString();
    expect((await t.call('POST', '/dev/events', { body: alarmEvent(alarm, 'p99 above 800 ms', alarmAt) })).status).toBe(202);
    expect(Date.parse(alarmAt)).toBeGreaterThan(Date.parse(landed.completedAt));
    const staging = async () => (await t.call('GET', '/api/v1/environments/staging', { token: u.viewer })).body;
    await until(async () => (await staging()).lastAlarm?.at === alarmAt, 'the alarm is on staging');
    // Nothing goes on before the soak is done, however long this machine takes.
    expect((await t.call('GET', `/api/v1/promotions/${p.body.id}`, { token: u.viewer })).body.status).toBe('SCHEDULED');
    // The first hold's time comes: the soak starts again from the alarm (a second hold, later than the first).
    t.stack.clock.advanceTo(firstUntil);
    const soakingNow = async () =>
      (await t.call('GET', `/api/v1/audit?entityType=promotion&entityId=${p.body.id}`, { token: u.viewer })).body.items.filter(
        (e: any) => e.action === 'promotion.soaking',
      ).length;
    await until(async () => (await soakingNow()) === 2, 'the soak restarted from the alarm');
    const again = (await t.call('GET', `/api/v1/promotions/${p.body.id}`, { token: u.viewer })).body;
    expect(again.status).toBe('SCHEDULED');
    expect(Date.parse(again.heldBy.until)).toBe(Date.parse(alarmAt) + 1800_000);
    // Its time comes: it executes.
    t.stack.clock.advanceTo(Date.parse(again.heldBy.until));
    const done = await waitFor(t, u.viewer, p.body.id, ['COMPLETED', 'FAILED', 'CANCELLED'], 30_000);
    expect(done.status).toBe('COMPLETED');
    // The last hold counted from the alarm: later than the first one.
    expect(done.heldBy.soak.since).toBe(alarmAt);
    expect(Date.parse(done.heldBy.until)).toBeGreaterThan(firstUntil);
    const audit = await t.call('GET', `/api/v1/audit?entityType=promotion&entityId=${p.body.id}`, { token: u.viewer });
    const soaking = audit.body.items.filter((e: any) => e.action === 'promotion.soaking');
    expect(soaking).toHaveLength(2);
    expect(soaking.some((e: any) => /restarted by alarm .*p99/.test(e.reason))).toBe(true);
    expect(done.transitions.map((x: any) => x.status)).toEqual(['PENDING', 'VALIDATING', 'APPROVED', 'SCHEDULED', 'EXECUTING', 'COMPLETED']);
    const envAudit = await t.call('GET', '/api/v1/audit?entityType=environment&entityId=staging', { token: u.viewer });
    expect(envAudit.body.items.some((e: any) => e.action === 'environment.alarm')).toBe(true);
    // Guide 07: the alarm is on the environment, where a reader of the API finds it.
    expect((await staging()).lastAlarm).toEqual({ arn: alarm, name: expect.any(String), reason: 'p99 above 800 ms', at: alarmAt });
  });

  it('round-trips through the manifest (soak_seconds per environment, soakSeconds on rules)', async () => {
    const tenant = t.tenant();
    const u = await t.users(tenant);
    await makeLine(t, u.admin);
    const document = JSON.stringify({
      artifacts: {
        promotion: {
          environment_settings: { production: { soak_seconds: 7200 } },
          approval_rules: [{ name: 'soaked', sourceEnvironment: 'staging', targetEnvironment: 'production', soakSeconds: 1800 }],
        },
      },
    });
    const applied = await t.call('POST', '/api/v1/manifest/apply', { token: u.admin, body: { document } });
    expect(applied.status, JSON.stringify(applied.body)).toBe(200);
    expect((await t.call('GET', '/api/v1/environments/production', { token: u.viewer })).body.soakSeconds).toBe(7200);
    expect((await t.call('GET', '/api/v1/environments/staging', { token: u.viewer })).body.soakSeconds).toBe(0);
    const rules = await t.call('GET', '/api/v1/promotions/rules', { token: u.viewer });
    expect(rules.body.items[0].soakSeconds).toBe(1800);

    const exported = await t.call('GET', '/api/v1/manifest', { token: u.viewer });
    expect(exported.body).toContain('soak_seconds: 7200');
    expect(exported.body).toContain('soakSeconds: 1800');
    expect((await t.call('POST', '/api/v1/manifest/plan', { token: u.viewer, body: { document: exported.body } })).body.changes).toEqual([]);
    const json = await t.call('GET', '/api/v1/manifest?format=json', { token: u.viewer });
    expect(json.body.artifacts.promotion.environment_settings.production.soak_seconds).toBe(7200);
    expect(json.body.artifacts.promotion.environment_settings.staging.soak_seconds).toBeUndefined();

    // A rule's document is the whole rule: without its soak, the rule has none (the environment's applies).
    const without = exported.body.replace(/\n\s+soakSeconds: 1800/, '');
    expect(without).not.toContain('soakSeconds');
    const plan = await t.call('POST', '/api/v1/manifest/plan', { token: u.viewer, body: { document: without } });
    expect(plan.body.changes).toHaveLength(1);
    await t.call('POST', '/api/v1/manifest/apply', { token: u.admin, body: { document: without } });
    expect((await t.call('GET', '/api/v1/promotions/rules', { token: u.viewer })).body.items[0].soakSeconds).toBeUndefined();
    expect((await t.call('GET', '/api/v1/environments/production', { token: u.viewer })).body.soakSeconds).toBe(7200);
  });

  it('refuses a negative soak or one over 30 days with 400 naming the field (environment, rule, manifest)', async () => {
    const tenant = t.tenant();
    const u = await t.users(tenant);
    await makeLine(t, u.admin);
    for (const soakSeconds of [-1, 30 * 86_400 + 1, 1.5]) {
      const patched = await patchEnv(u, 'production', { soakSeconds });
      expect(patched.status, JSON.stringify(patched.body)).toBe(400);
      expect(patched.body.error.issues[0].path).toBe('soakSeconds');
    }
    expect((await patchEnv(u, 'production', { soakSeconds: 30 * 86_400 })).status).toBe(200);
    const created = await t.call('POST', '/api/v1/environments', { token: u.admin, body: { name: 'qa', position: 7, soakSeconds: -5 } });
    expect(created.status).toBe(400);
    expect(created.body.error.issues[0].path).toBe('soakSeconds');
    const rule = await t.call('POST', '/api/v1/promotions/rules', {
      token: u.admin,
      body: { name: 'x', sourceEnvironment: 'staging', targetEnvironment: 'production', soakSeconds: 99_999_999 },
    });
    expect(rule.status).toBe(400);
    expect(rule.body.error.issues[0]).toMatchObject({ path: 'soakSeconds', message: expect.stringContaining('30 days') });
    const document = JSON.stringify({ artifacts: { promotion: { environment_settings: { production: { soak_seconds: -60 } } } } });
    const applied = await t.call('POST', '/api/v1/manifest/apply', { token: u.admin, body: { document } });
    expect(applied.status).toBe(400);
    expect(applied.body.error.issues.map((i: { path: string }) => i.path)).toContain(
      'document.artifacts.promotion.environment_settings.production.soak_seconds',
    );
  });
});
