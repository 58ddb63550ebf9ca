import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recurringScheduleName } from '../../domain/promotion/request/recurring.ts';
import { approveIfAsked, waitFor } from '../support/promotions.ts';
import { makeLine, startTestStack, type TestStack } from '../support/stack.ts';

let t: TestStack;
beforeAll(async () => {
  t = await startTestStack();
});
afterAll(() => t.stop());

const WEEKDAYS = { source: 'dev', target: 'staging', cron: '0 9 * * 1-5', timeZone: 'Europe/Berlin' };

async function tenantWithLine() {
  const tenant = t.tenant();
  const u = await t.users(tenant);
  await makeLine(t, u.admin);
  return { tenant, u };
}

/** Something new in dev's configuration (staging does not have it yet). */
async function changeDev(u: Awaited<ReturnType<TestStack['users']>>, value: number) {
  const r = await t.call('POST', '/api/v1/environments/dev/items/batch', { token: u.deployer, body: { set: [{ key: 'rate', value }] } });
  expect(r.status, JSON.stringify(r.body)).toBeLessThan(300);
}

/** Fires a recurring promotion's schedule now, as its time coming would (the local scheduler runs the schedule-fire handler). */
const fire = (tenant: string, name: string) => t.stack.scheduler.fireNow(recurringScheduleName(tenant, name));

describe('recurring promotions', () => {
  it('are put with their schedule (cron in the time zone, enabled), read by viewers, written by admins only', async () => {
    const { tenant, u } = await tenantWithLine();
    const put = await t.call('PUT', '/api/v1/recurring-promotions/weekday-mornings', { token: u.admin, body: { ...WEEKDAYS, notes: 'release train' } });
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    expect(put.body).toMatchObject({ name: 'weekday-mornings', ...WEEKDAYS, paused: false, notes: 'release train', lastRuns: [], version: 1 });
    // The next times are weekdays at 09:00 in Berlin (07:00 or 08:00 UTC).
    expect(put.body.next).toHaveLength(3);
    for (const at of put.body.next as string[]) {
      const d = new Date(at);
      expect([1, 2, 3, 4, 5]).toContain(d.getUTCDay());
      expect(new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/Berlin', hour: '2-digit', minute: '2-digit' }).format(d)).toBe('09:00');
    }
    expect(t.stack.scheduler.describe(recurringScheduleName(tenant, 'weekday-mornings'))).toMatchObject({
      payload: { tenant, recurring: 'weekday-mornings' },
      recurring: { cron: '0 9 * * 1-5', timeZone: 'Europe/Berlin', enabled: true },
    });

    const one = await t.call('GET', '/api/v1/recurring-promotions/weekday-mornings', { token: u.viewer });
    expect(one.status).toBe(200);
    expect(one.body.name).toBe('weekday-mornings');
    const list = await t.call('GET', '/api/v1/recurring-promotions', { token: u.viewer });
    expect(list.body.items.map((r: { name: string }) => r.name)).toEqual(['weekday-mornings']);
    expect((await t.call('PUT', '/api/v1/recurring-promotions/other', { token: u.deployer, body: WEEKDAYS })).status).toBe(403);
    expect((await t.call('DELETE', '/api/v1/recurring-promotions/weekday-mornings', { token: u.viewer })).status).toBe(403);
    expect((await t.call('GET', '/api/v1/recurring-promotions/missing', { token: u.viewer })).status).toBe(404);

    // Optimistic locking: a stale version is refused; the name in the body must be the path's.
    expect((await t.call('PUT', '/api/v1/recurring-promotions/weekday-mornings', { token: u.admin, body: { ...WEEKDAYS, version: 7 } })).status).toBe(409);
    const renamed = await t.call('PUT', '/api/v1/recurring-promotions/weekday-mornings', { token: u.admin, body: { ...WEEKDAYS, name: 'other' } });
    expect(renamed.status).toBe(400);
    expect(renamed.body.error.issues).toEqual([{ path: 'name', message: "must be left out or 'weekday-mornings' (the path's)" }]);
  });

  it('a tenant has at most STAGELINE_MAX_RECURRING_PROMOTIONS (20 by default): one more is refused with 422 saying what to do, through the API and a manifest; replacing one at the limit still works', async () => {
    const { tenant, u } = await tenantWithLine();
    const undo = t.stack.configure({ STAGELINE_MAX_RECURRING_PROMOTIONS: '3' });
    try {
      for (const name of ['r-1', 'r-2', 'r-3'])
        expect((await t.call('PUT', `/api/v1/recurring-promotions/${name}`, { token: u.admin, body: WEEKDAYS })).status, name).toBe(200);
      const fourth = await t.call('PUT', '/api/v1/recurring-promotions/r-4', { token: u.admin, body: WEEKDAYS });
      expect(fourth.status, JSON.stringify(fourth.body)).toBe(422);
      expect(fourth.body.error).toMatchObject({ code: 'RULE_VIOLATION', limit: 3, count: 3 });
      expect(fourth.body.error.message).toMatch(/at most 3 recurring promotions.*delete one.*STAGELINE_MAX_RECURRING_PROMOTIONS/);
      expect(t.stack.scheduler.describe(recurringScheduleName(tenant, 'r-4'))).toBeUndefined();
      // Changing one of the three is no new one.
      expect((await t.call('PUT', '/api/v1/recurring-promotions/r-2', { token: u.admin, body: { ...WEEKDAYS, paused: true } })).status).toBe(200);
      // A manifest naming four: refused the same way, before anything is written.
      const doc = JSON.stringify({
        artifacts: {
          promotion: {
            recurring_promotions: ['r-1', 'r-2', 'r-3', 'r-4'].map((name) => ({
              name,
              source: 'dev',
              target: 'staging',
              cron: '0 9 * * 1-5',
              timezone: 'Europe/Berlin',
            })),
          },
        },
      });
      const plan = await t.call('POST', '/api/v1/manifest/plan', { token: u.viewer, body: { document: doc } });
      expect(plan.status, JSON.stringify(plan.body)).toBe(422);
      expect(plan.body.error.message).toMatch(/at most 3 recurring promotions/);
      expect((await t.call('GET', '/api/v1/recurring-promotions', { token: u.viewer })).body.items).toHaveLength(3);
      // Deleting one makes room.
      expect((await t.call('DELETE', '/api/v1/recurring-promotions/r-1', { token: u.admin })).status).toBe(204);
      expect((await t.call('PUT', '/api/v1/recurring-promotions/r-4', { token: u.admin, body: WEEKDAYS })).status).toBe(200);
    } finally {
      undo();
    }
  });

  it('refuses a calendar or a pair that cannot work, naming what to fix (400 / 422)', async () => {
    const { u } = await tenantWithLine();
    const put = (body: Record<string, unknown>) => t.call('PUT', '/api/v1/recurring-promotions/bad', { token: u.admin, body: { ...WEEKDAYS, ...body } });
    const said = (r: { body: { error: unknown } }) => JSON.stringify(r.body.error);

    const invalid = await put({ cron: '0 9 * * mon-fry' });
    expect(invalid.status).toBe(400);
    expect(said(invalid)).toContain('cron');
    expect(said(invalid)).toMatch(/is not a cron expression/);
    // Text that is not cron at all (five words) is told so, field by field, not that it restricts both day fields.
    for (const cron of ['not a cron at all', 'every day at nine am']) {
      const prose = await put({ cron });
      expect(prose.status).toBe(400);
      expect(prose.body.error.issues[0].path).toBe('cron');
      expect(prose.body.error.issues[0].message).toMatch(/is not a cron expression: its minute field/);
      expect(prose.body.error.issues[0].message).not.toMatch(/day of the month/);
    }

    const fields = await put({ cron: '0 9 * *' });
    expect(fields.status).toBe(400);
    expect(said(fields)).toContain('expected a cron expression of 5 fields');

    const zone = await put({ timeZone: 'Europe/Atlantis' });
    expect(zone.status).toBe(400);
    expect(said(zone)).toContain('timeZone');
    expect(said(zone)).toContain('must be an IANA time zone the zone database knows');

    const never = await put({ cron: '0 9 30 2 *' });
    expect(never.status).toBe(400);
    expect(said(never)).toContain('never fires');

    const often = await put({ cron: '*/2 * * * *' });
    expect(often.status).toBe(400);
    expect(said(often)).toContain('fires more often than every 5 minutes (120 s between');

    const burst = await put({ cron: '0,3 9 * * *' });
    expect(burst.status).toBe(400);
    expect(said(burst)).toContain('fires more often than every 5 minutes (180 s between');

    const bothDays = await put({ cron: '0 9 1 * 1' });
    expect(bothDays.status).toBe(400);
    expect(said(bothDays)).toContain('restricts both the day of the month');

    const unknown = await put({ target: 'prod' });
    expect(unknown.status).toBe(422);
    expect(said(unknown)).toContain("Unknown environment 'prod'; the line is dev → staging → production");

    const skipping = await put({ target: 'production' });
    expect(skipping.status).toBe(422);
    expect(said(skipping)).toContain("'production' is not the next environment after 'dev' (that is 'staging')");

    const backwards = await put({ source: 'staging', target: 'dev' });
    expect(backwards.status).toBe(422);
    expect(said(backwards)).toContain('Promotion goes forward only');

    // Every 5 minutes is fine; nothing was stored by the refusals.
    expect((await put({ cron: '*/5 * * * *' })).status).toBe(200);
    expect((await t.call('GET', '/api/v1/recurring-promotions', { token: u.viewer })).body.items).toHaveLength(1);
  });

  it('a run requests the promotion through the normal path as the calendar; the next run finds nothing new and skips', async () => {
    const { tenant, u } = await tenantWithLine();
    await changeDev(u, 1);
    expect((await t.call('PUT', '/api/v1/recurring-promotions/train', { token: u.admin, body: WEEKDAYS })).status).toBe(200);

    const run = (await fire(tenant, 'train')) as { outcome: string; promotionId: string };
    expect(run).toMatchObject({ outcome: 'promoted', promotionId: expect.any(String) });
    const p = await t.call('GET', `/api/v1/promotions/${run.promotionId}`, { token: u.viewer });
    expect(p.body).toMatchObject({ sourceEnvironment: 'dev', targetEnvironment: 'staging' });
    expect(JSON.stringify(p.body.requestedBy)).toContain("recurring promotion 'train'");
    await approveIfAsked(t, u, run.promotionId, ['COMPLETED', 'FAILED']);
    expect((await waitFor(t, u.viewer, run.promotionId, ['COMPLETED', 'FAILED', 'CANCELLED'])).status).toBe('COMPLETED');

    await fire(tenant, 'train');
    const after = await t.call('GET', '/api/v1/recurring-promotions/train', { token: u.viewer });
    expect(after.body.lastRuns).toHaveLength(2);
    expect(after.body.lastRuns[0]).toMatchObject({
      outcome: 'skipped',
      code: 'nothing-new',
      reason: expect.stringContaining("'staging' already has the configuration 'dev' has"),
    });
    expect(after.body.lastRuns[1]).toMatchObject({ outcome: 'promoted', promotionId: run.promotionId });
    // The runs are audited as the calendar's.
    const audit = await t.call('GET', '/api/v1/audit?entityType=recurring-promotion&entityId=train', { token: u.viewer });
    expect(audit.body.items.map((e: { action: string }) => e.action)).toEqual(expect.arrayContaining(['recurring.create', 'recurring.run']));
  });

  it('a run inside a freeze window over the target is skipped with the window named', async () => {
    const { tenant, u } = await tenantWithLine();
    await changeDev(u, 2);
    const start = new Date(t.stack.clock.now() - 60_000).toISOString();
    const end = new Date(t.stack.clock.now() + 3600_000).toISOString();
    const w = await t.call('POST', '/api/v1/environments/staging/freeze-windows', { token: u.admin, body: { reason: 'quarter close', start, end } });
    expect(w.status, JSON.stringify(w.body)).toBe(201);
    expect((await t.call('PUT', '/api/v1/recurring-promotions/train', { token: u.admin, body: WEEKDAYS })).status).toBe(200);

    const run = await fire(tenant, 'train');
    expect(run).toMatchObject({ outcome: 'skipped', code: 'frozen', reason: expect.stringContaining(`inside freeze window ${w.body.id} (quarter close)`) });
    const read = await t.call('GET', '/api/v1/recurring-promotions/train', { token: u.viewer });
    expect(read.body.lastRuns[0]).toMatchObject({ outcome: 'skipped', code: 'frozen' });
    expect(read.body.lastRuns[0].promotionId).toBeUndefined();
    const promotions = await t.call('GET', '/api/v1/promotions?target=staging', { token: u.viewer });
    expect(promotions.body.items).toHaveLength(0);
  });

  it("a run before the release has soaked in the source is skipped with the soak's reason", async () => {
    const { tenant, u } = await tenantWithLine();
    await changeDev(u, 3);
    const staging = await t.call('GET', '/api/v1/environments/staging', { token: u.viewer });
    const soak = await t.call('PATCH', '/api/v1/environments/staging', { token: u.admin, body: { version: staging.body.version, soakSeconds: 3600 } });
    expect(soak.status, JSON.stringify(soak.body)).toBe(200);
    expect((await t.call('PUT', '/api/v1/recurring-promotions/train', { token: u.admin, body: WEEKDAYS })).status).toBe(200);
    expect(await fire(tenant, 'train')).toMatchObject({ outcome: 'skipped', code: 'soaking', reason: expect.stringContaining('soaking in dev until') });
  });

  it('are part of the manifest: plan names them, apply writes them with their schedules, export round-trips, removal retires the schedule, a bad calendar or pair is refused by path', async () => {
    const { tenant, u } = await tenantWithLine();
    const doc = (promotion: Record<string, unknown>) => JSON.stringify({ artifacts: { promotion } });
    const train = { name: 'train', source: 'staging', target: 'production', cron: '0 9 * * 1-5', timezone: 'Europe/Berlin' };
    const document = doc({ recurring_promotions: [train, { ...train, name: 'month-end', cron: '0 18 28 * *', paused: true }] });
    const plan = await t.call('POST', '/api/v1/manifest/plan', { token: u.viewer, body: { document } });
    expect(plan.status, JSON.stringify(plan.body)).toBe(200);
    expect(plan.body.changes).toContainEqual(expect.objectContaining({ op: 'add', path: 'recurring_promotions.train' }));
    const applied = await t.call('POST', '/api/v1/manifest/apply', { token: u.admin, body: { document, expectedDigest: plan.body.digest } });
    expect(applied.status, JSON.stringify(applied.body)).toBe(200);
    expect((await t.call('GET', '/api/v1/recurring-promotions/train', { token: u.viewer })).body).toMatchObject({
      ...WEEKDAYS,
      source: 'staging',
      target: 'production',
    });
    expect(t.stack.scheduler.describe(recurringScheduleName(tenant, 'train'))?.recurring).toMatchObject({ enabled: true });
    expect(t.stack.scheduler.describe(recurringScheduleName(tenant, 'month-end'))?.recurring).toMatchObject({ enabled: false });
    const audit = await t.call('GET', '/api/v1/audit?entityType=recurring-promotion&entityId=train', { token: u.viewer });
    expect(audit.body.items.map((e: { action: string }) => e.action)).toContain('manifest.recurring.add');

    const exported = await t.call('GET', '/api/v1/manifest', { token: u.viewer });
    expect(exported.body).toContain('recurring_promotions:');
    const again = await t.call('POST', '/api/v1/manifest/apply', { token: u.admin, body: { document: exported.body } });
    expect(again.body).toMatchObject({ applied: false, changes: [] });

    const removed = await t.call('POST', '/api/v1/manifest/apply', { token: u.admin, body: { document: doc({ recurring_promotions: [train] }) } });
    expect(removed.body.changes).toEqual([expect.objectContaining({ op: 'remove', path: 'recurring_promotions.month-end' })]);
    expect((await t.call('GET', '/api/v1/recurring-promotions/month-end', { token: u.viewer })).status).toBe(404);
    expect(t.stack.scheduler.describe(recurringScheduleName(tenant, 'month-end'))?.recurring).toBeUndefined();

    const bad = await t.call('POST', '/api/v1/manifest/plan', {
      token: u.viewer,
      body: {
        document: doc({
          recurring_promotions: [
            { ...train, cron: '* * * * *' },
            { ...train, name: 'skip', source: 'dev' },
          ],
        }),
      },
    });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body.error)).toContain('fires more often than every 5 minutes');
    const pair = await t.call('POST', '/api/v1/manifest/plan', {
      token: u.viewer,
      body: { document: doc({ recurring_promotions: [{ ...train, source: 'dev' }] }) },
    });
    expect(pair.status).toBe(400);
    expect(pair.body.error.issues).toContainEqual({
      path: 'document.artifacts.promotion.recurring_promotions.0.target',
      message: "'production' is not the next environment after 'dev' (the line is dev → staging → production)",
    });
  });

  it('pausing disables the schedule (nothing fires), resuming enables it; delete removes the calendar and its schedule', async () => {
    const { tenant, u } = await tenantWithLine();
    await changeDev(u, 4);
    const name = recurringScheduleName(tenant, 'train');
    expect((await t.call('PUT', '/api/v1/recurring-promotions/train', { token: u.admin, body: WEEKDAYS })).status).toBe(200);

    const paused = await t.call('PUT', '/api/v1/recurring-promotions/train', { token: u.admin, body: { ...WEEKDAYS, paused: true, version: 1 } });
    expect(paused.status).toBe(200);
    expect(paused.body).toMatchObject({ paused: true, version: 2, next: [] });
    expect(t.stack.scheduler.describe(name)?.recurring).toMatchObject({ enabled: false });
    // A disabled schedule fires nothing, and a firing that raced the pause runs nothing.
    expect(await fire(tenant, 'train')).toBeUndefined();
    expect((await t.call('GET', '/api/v1/recurring-promotions/train', { token: u.viewer })).body.lastRuns).toEqual([]);
    expect((await t.call('GET', '/api/v1/promotions?target=staging', { token: u.viewer })).body.items).toHaveLength(0);

    const resumed = await t.call('PUT', '/api/v1/recurring-promotions/train', { token: u.admin, body: { ...WEEKDAYS, paused: false } });
    expect(resumed.body).toMatchObject({ paused: false, version: 3 });
    expect(t.stack.scheduler.describe(name)?.recurring).toMatchObject({ enabled: true });
    const audit = await t.call('GET', '/api/v1/audit?entityType=recurring-promotion&entityId=train', { token: u.viewer });
    expect(audit.body.items.map((e: { action: string }) => e.action)).toEqual(expect.arrayContaining(['recurring.pause', 'recurring.resume']));

    expect((await t.call('DELETE', '/api/v1/recurring-promotions/train', { token: u.admin })).status).toBe(204);
    // The calendar is gone from the scheduler at once: its schedule fires once more, runs nothing, and is deleted.
    expect(t.stack.scheduler.describe(name)).toMatchObject({ payload: { tenant, recurring: 'train' } });
    expect(t.stack.scheduler.describe(name)?.recurring).toBeUndefined();
    expect(await fire(tenant, 'train')).toEqual({ outcome: 'gone' });
    expect(t.stack.scheduler.pending()).not.toContain(name);
    expect((await t.call('GET', '/api/v1/promotions?target=staging', { token: u.viewer })).body.items).toHaveLength(0);
    expect((await t.call('GET', '/api/v1/recurring-promotions/train', { token: u.viewer })).status).toBe(404);
    expect((await t.call('DELETE', '/api/v1/recurring-promotions/train', { token: u.admin })).status).toBe(404);
  });
});
