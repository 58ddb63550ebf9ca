import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliOf } from '../support/cli.ts';
import { waitFor } from '../support/promotions.ts';
import { makeLine, startTestStack, type TestStack } from '../support/stack.ts';

let t: TestStack;
beforeAll(async () => {
  t = await startTestStack();
});
afterAll(() => t.stop());

const pad = (n: number) => String(n).padStart(2, '0');

/** Daily allowed hours in UTC that open two hours after the stack's clock (at a whole minute) and stay open an hour. */
function hoursOpeningLater() {
  const open = new Date(Math.ceil((t.stack.clock.date().getTime() + 2 * 3600_000) / 60_000) * 60_000);
  const close = new Date(open.getTime() + 3600_000);
  const hours = { timeZone: 'UTC', windows: [{ cron: `${open.getUTCMinutes()} ${open.getUTCHours()} * * *`, durationMinutes: 60 }] };
  const summary = `daily ${pad(open.getUTCHours())}:${pad(open.getUTCMinutes())}–${pad(close.getUTCHours())}:${pad(close.getUTCMinutes())} UTC`;
  return { hours, open, summary };
}

/** dev → staging, staging created with allowed hours that open later; one config in dev to promote. */
async function lineWithHours() {
  const u = await t.users(t.tenant());
  const h = hoursOpeningLater();
  await makeLine(t, u.admin, ['dev', { name: 'staging', allowedHours: h.hours }, 'production']);
  await t.call('POST', '/api/v1/environments/dev/configs', { token: u.deployer, body: { key: 'feature.x', value: true } });
  return { u, ...h };
}

const toStaging = (token: string, headers?: Record<string, string>) =>
  t.call('POST', '/api/v1/promotions', { token, body: { sourceEnvironment: 'dev', targetEnvironment: 'staging' }, ...(headers ? { headers } : {}) });

describe("an environment's allowed hours", () => {
  it('hold a promotion requested outside them SCHEDULED with the reason; at the opening it executes and completes', async () => {
    const { u, hours, open, summary } = await lineWithHours();
    const staging = async () => (await t.call('GET', '/api/v1/environments/staging', { token: u.viewer })).body;
    expect((await staging()).allowedHours).toEqual(hours);
    // A partial update never wipes them.
    const patched = await t.call('PATCH', '/api/v1/environments/staging', { token: u.admin, body: { version: (await staging()).version, description: 'qa' } });
    expect(patched.status, JSON.stringify(patched.body)).toBe(200);
    expect(patched.body.allowedHours).toEqual(hours);

    const p = await toStaging(u.deployer);
    expect(p.status, JSON.stringify(p.body)).toBe(201);
    const held = await waitFor(t, u.viewer, p.body.id, ['SCHEDULED', 'COMPLETED', 'FAILED', 'CANCELLED']);
    expect(held.status).toBe('SCHEDULED');
    const until = open.toISOString();
    expect(held.heldBy).toEqual({
      hours: { environment: 'staging', summary },
      reason: `outside staging's allowed hours (${summary}): goes at ${until}`,
      until,
    });
    expect(held.scheduledAt).toBe(until);
    const audit = await t.call('GET', `/api/v1/audit?entityType=promotion&entityId=${p.body.id}`, { token: u.viewer });
    expect(audit.body.items.filter((e: any) => e.action === 'promotion.outside-hours')).toHaveLength(1);

    t.stack.clock.advanceTo(open);
    const done = await waitFor(t, u.viewer, p.body.id, ['COMPLETED', 'FAILED', 'CANCELLED'], 30_000);
    expect(done.status).toBe('COMPLETED');
    expect(done.transitions.map((x: any) => x.status)).toEqual(['PENDING', 'VALIDATING', 'APPROVED', 'SCHEDULED', 'EXECUTING', 'COMPLETED']);
  });

  it("let an admin's break-glass past them, audited", async () => {
    const { u } = await lineWithHours();
    const p = await toStaging(u.admin, { 'x-break-glass-reason': 'hotfix outside hours' });
    expect(p.status, JSON.stringify(p.body)).toBe(201);
    const done = await waitFor(t, u.viewer, p.body.id, ['COMPLETED', 'SCHEDULED', 'CANCELLED', 'FAILED']);
    expect(done.status).toBe('COMPLETED');
    expect(done.freezeOverride).toMatchObject({ reason: 'hotfix outside hours', action: 'promotion.create' });
    const audit = await t.call('GET', `/api/v1/audit?entityType=promotion&entityId=${p.body.id}`, { token: u.viewer });
    expect(audit.body.items.some((e: any) => e.action === 'breakglass.promotion.create')).toBe(true);
    expect(audit.body.items.some((e: any) => e.action === 'promotion.outside-hours')).toBe(false);
  });

  it('refuse a bad cron, zone or duration with 400 naming the field; the CLI sets and removes them', async () => {
    const u = await t.users(t.tenant());
    await makeLine(t, u.admin);
    const bad = async (allowedHours: unknown) => {
      const r = await t.call('POST', '/api/v1/environments', { token: u.admin, body: { name: 'qa', position: 9, allowedHours } });
      expect(r.status, JSON.stringify(r.body)).toBe(400);
      return r.body.error.issues[0];
    };
    expect(await bad({ timeZone: 'UTC', windows: [{ cron: 'weekdays at nine', durationMinutes: 60 }] })).toMatchObject({
      path: 'allowedHours.windows.0.cron',
      message: expect.stringMatching(/is not a cron expression/),
    });
    expect(await bad({ timeZone: 'Mars/Olympus', windows: [{ cron: '0 9 * * 1-5', durationMinutes: 60 }] })).toMatchObject({
      path: 'allowedHours.timeZone',
      message: expect.stringMatching(/IANA/),
    });
    expect(await bad({ timeZone: 'UTC', windows: [{ cron: '0 9 * * 1-5', durationMinutes: 0 }] })).toMatchObject({
      path: 'allowedHours.windows.0.durationMinutes',
      message: 'must be at least 1 minute',
    });

    const cli = cliOf(t);
    const set = await cli(u.admin, 'env', 'hours', 'production', '--tz', 'Europe/Berlin', '--window', '0 9 * * 1-5 for 480');
    expect(set.stdout).toContain("production: promotions start only in '0 9 * * 1-5' for 480 min (Europe/Berlin)");
    const prod = await t.call('GET', '/api/v1/environments/production', { token: u.viewer });
    expect(prod.body.allowedHours).toEqual({ timeZone: 'Europe/Berlin', windows: [{ cron: '0 9 * * 1-5', durationMinutes: 480 }] });
    expect((await cli(u.admin, 'env', 'hours', 'production', '--none')).stdout).toContain('production: promotions may start at any time');
    expect((await t.call('GET', '/api/v1/environments/production', { token: u.viewer })).body.allowedHours).toBeNull();
  });

  it('round-trip through the manifest (allowed_hours per environment; null removes them)', async () => {
    const u = await t.users(t.tenant());
    await makeLine(t, u.admin);
    const hours = { timeZone: 'America/New_York', windows: [{ cron: '30 8 * * 1-5', durationMinutes: 510 }] };
    const doc = (allowed_hours: unknown) => JSON.stringify({ artifacts: { promotion: { environment_settings: { production: { allowed_hours } } } } });
    const applied = await t.call('POST', '/api/v1/manifest/apply', { token: u.admin, body: { document: doc(hours) } });
    expect(applied.status, JSON.stringify(applied.body)).toBe(200);
    const prod = async () => (await t.call('GET', '/api/v1/environments/production', { token: u.viewer })).body;
    expect((await prod()).allowedHours).toEqual(hours);
    const json = await t.call('GET', '/api/v1/manifest?format=json', { token: u.viewer });
    expect(json.body.artifacts.promotion.environment_settings.production.allowed_hours).toEqual(hours);
    expect(json.body.artifacts.promotion.environment_settings.staging.allowed_hours).toBeUndefined();
    const exported = await t.call('GET', '/api/v1/manifest', { token: u.viewer });
    expect((await t.call('POST', '/api/v1/manifest/plan', { token: u.viewer, body: { document: exported.body } })).body.changes).toEqual([]);
    const bad = await t.call('POST', '/api/v1/manifest/plan', {
      token: u.viewer,
      body: { document: doc({ timeZone: 'UTC', windows: [{ cron: '0 9 * * 1-5', durationMinutes: 99_999 }] }) },
    });
    expect(bad.status, JSON.stringify(bad.body)).toBe(400);
    expect(JSON.stringify(bad.body)).toContain('durationMinutes');
    expect((await t.call('POST', '/api/v1/manifest/apply', { token: u.admin, body: { document: doc(null) } })).status).toBe(200);
    expect((await prod()).allowedHours).toBeNull();
  });
});
