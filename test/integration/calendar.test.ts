import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliOf } from '../support/cli.ts';
import { waitFor } from '../support/promotions.ts';
import { makeLine, startTestStack, type TestStack } from '../support/stack.ts';

let t: TestStack;
beforeAll(async () => {
  t = await startTestStack();
});
afterAll(() => t.stop());

const minute = (ms: number) => new Date(Math.ceil(ms / 60_000) * 60_000);

describe('the calendar', () => {
  it('shows allowed hours, a freeze and a held promotion at the right instants, through the API and the CLI', async () => {
    const u = await t.users(t.tenant());
    const now = t.stack.clock.date();
    // staging opens daily two hours from now for an hour (UTC); a freeze over it from three to four hours from now.
    const open = minute(now.getTime() + 2 * 3600_000);
    const hours = { timeZone: 'UTC', windows: [{ cron: `${open.getUTCMinutes()} ${open.getUTCHours()} * * *`, durationMinutes: 60 }] };
    await makeLine(t, u.admin, ['dev', { name: 'staging', allowedHours: hours }, 'production']);
    const frozenFrom = new Date(open.getTime() + 3600_000);
    const frozenTo = new Date(open.getTime() + 2 * 3600_000);
    const freeze = await t.call('POST', '/api/v1/environments/staging/freeze-windows', {
      token: u.admin,
      body: { reason: 'release party', start: frozenFrom.toISOString(), end: frozenTo.toISOString() },
    });
    expect(freeze.status, JSON.stringify(freeze.body)).toBe(201);
    await t.call('POST', '/api/v1/environments/dev/configs', { token: u.deployer, body: { key: 'feature.x', value: true } });
    const p = await t.call('POST', '/api/v1/promotions', { token: u.deployer, body: { sourceEnvironment: 'dev', targetEnvironment: 'staging' } });
    expect(p.status, JSON.stringify(p.body)).toBe(201);
    expect((await waitFor(t, u.viewer, p.body.id, ['SCHEDULED', 'COMPLETED', 'FAILED', 'CANCELLED'])).status).toBe('SCHEDULED');

    const r = await t.call('GET', '/api/v1/calendar?days=2', { token: u.viewer });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.days).toBe(2);
    const row = (name: string) => r.body.environments.find((e: any) => e.environment === name);
    expect(r.body.environments.map((e: any) => e.environment)).toEqual(['dev', 'staging', 'production']);
    // Without allowed hours: open the whole range.
    expect(row('dev').open).toEqual([{ start: r.body.from, end: r.body.to }]);
    const day = 86_400_000;
    const iso = (ms: number) => new Date(ms).toISOString();
    expect(row('staging').open).toEqual([
      { start: iso(open.getTime()), end: iso(open.getTime() + 3600_000) },
      { start: iso(open.getTime() + day), end: iso(open.getTime() + day + 3600_000) },
    ]);
    expect(row('staging').frozen).toEqual([
      { start: frozenFrom.toISOString(), end: frozenTo.toISOString(), windowId: freeze.body.id, reason: 'release party' },
    ]);
    expect(row('staging').scheduled).toEqual([
      { promotionId: p.body.id, at: open.toISOString(), heldBy: { kind: 'hours', reason: expect.stringContaining("outside staging's allowed hours") } },
    ]);
    expect(row('production')).toMatchObject({ frozen: [], scheduled: [], leftOff: { open: 0, frozen: 0 }, complete: true });

    // A range that starts later: clipped to it.
    const later = await t.call('GET', `/api/v1/calendar?from=${encodeURIComponent(frozenFrom.toISOString())}&days=1`, { token: u.viewer });
    expect(later.body.environments[1].open[0]).toEqual({ start: iso(open.getTime() + day), end: iso(open.getTime() + day + 3600_000) });

    const cli = cliOf(t);
    const text = (await cli(u.viewer, 'calendar', '--days', '2')).stdout;
    expect(text).toContain('staging');
    expect(text).toContain('release party');
    expect(text).toContain(`${p.body.id}: held by hours`);
    expect(text).toContain(open.toISOString().slice(0, 16).replace('T', ' '));
    const json = JSON.parse((await cli(u.viewer, '--json', 'calendar', '--days', '2')).stdout);
    expect(json.environments[1].scheduled[0].promotionId).toBe(p.body.id);
  });

  it('refuses a bad from or days with 400 naming the field', async () => {
    const u = await t.users(t.tenant());
    for (const [query, path] of [
      ['days=0', 'query.days'],
      ['days=32', 'query.days'],
      ['days=two', 'query.days'],
      ['from=yesterday', 'query.from'],
    ]) {
      const r = await t.call('GET', `/api/v1/calendar?${query}`, { token: u.viewer });
      expect(r.status, query).toBe(400);
      expect(r.body.error.issues.map((i: any) => i.path)).toEqual([path]);
    }
  });
});
