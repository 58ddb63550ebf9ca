import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CronExpressionParser } from 'cron-parser';
import { createFreezeWindow, freezeEdgeEventId, freezeEdgeName, nextEdge as nextEdgeWith } from '../../domain/freeze/windows.ts';
import type { FreezeWindow } from '../../domain/freeze/model.ts';
import { activeWith, nextAllowedWith, openAtWith, upcomingWith } from '../../domain/freeze/occurrences.ts';

// The calendar with the cron parser the product loads on first use (domain/freeze/windows.ts cronFor).
const openAt = (w: FreezeWindow, t: Date) => openAtWith(CronExpressionParser, w, t);
const activeWindow = (ws: FreezeWindow[], env: string, t: Date) => activeWith(CronExpressionParser, ws, env, t);
const upcomingWindow = (ws: FreezeWindow[], env: string, t: Date) => upcomingWith(CronExpressionParser, ws, env, t);
const nextAllowed = (ws: FreezeWindow[], env: string, t: Date) => nextAllowedWith(CronExpressionParser, ws, env, t);
const nextEdge = (w: FreezeWindow, after: Date, now?: Date) => nextEdgeWith(CronExpressionParser, w, after, now);

const weekend: FreezeWindow = {
  id: 'frz_weekend',
  tenant: 'acme',
  scope: 'production',
  reason: 'weekend freeze',
  kind: 'recurring',
  cron: '0 16 * * 5',
  endCron: '0 8 * * 1',
  timezone: 'Europe/Berlin',
  createdBy: 'alice',
  createdAt: '2026-01-01T00:00:00Z',
};
const at = (iso: string) => new Date(iso);

describe('freeze windows (cron in a time zone, DST-correct)', () => {
  it('Friday 16:00 – Monday 08:00 Europe/Berlin keeps its wall-clock times across both 2026 DST changes', () => {
    // Winter: CET (UTC+1) → 15:00Z to 07:00Z.
    expect(openAt(weekend, at('2026-03-20T15:00:00Z'))).toMatchObject({ start: at('2026-03-20T15:00:00Z'), end: at('2026-03-23T07:00:00Z') });
    // The weekend of 28/29 March: opens in CET (15:00Z), closes in CEST (UTC+2) at 06:00Z — 63 hours, not 64.
    const spring = openAt(weekend, at('2026-03-28T12:00:00Z'))!;
    expect(spring.start.toISOString()).toBe('2026-03-27T15:00:00.000Z');
    expect(spring.end.toISOString()).toBe('2026-03-30T06:00:00.000Z');
    expect((spring.end.getTime() - spring.start.getTime()) / 3_600_000).toBe(63);
    expect(openAt(weekend, at('2026-03-30T06:30:00Z'))).toBeNull(); // 08:30 CEST on Monday: open again
    // The weekend of 24/25 October: opens in CEST (14:00Z), closes in CET (07:00Z) — 65 hours.
    const autumn = openAt(weekend, at('2026-10-24T12:00:00Z'))!;
    expect(autumn.start.toISOString()).toBe('2026-10-23T14:00:00.000Z');
    expect(autumn.end.toISOString()).toBe('2026-10-26T07:00:00.000Z');
    expect(openAt(weekend, at('2026-10-23T13:59:00Z'))).toBeNull(); // 15:59 CEST on Friday
    expect(nextAllowed([weekend], 'production', at('2026-10-25T00:00:00Z')).toISOString()).toBe('2026-10-26T07:00:00.000Z');
  });

  it('applies to its environment (or all, tenant-wide); the next window; overlapping windows are crossed together', () => {
    const all: FreezeWindow = {
      ...weekend,
      id: 'frz_all',
      scope: '*',
      kind: 'once',
      cron: undefined,
      endCron: undefined,
      timezone: undefined,
      start: '2026-03-30T05:00:00Z',
      end: '2026-03-30T10:00:00Z',
      reason: 'release day',
    };
    expect(activeWindow([weekend], 'staging', at('2026-03-28T12:00:00Z'))).toBeNull();
    expect(activeWindow([weekend, all], 'staging', at('2026-03-30T06:00:00Z'))!.window.id).toBe('frz_all');
    // Saturday: the weekend runs to 06:00Z Monday, the tenant-wide window to 10:00Z: free at 10:00Z.
    expect(nextAllowed([weekend, all], 'production', at('2026-03-28T12:00:00Z')).toISOString()).toBe('2026-03-30T10:00:00.000Z');
    expect(upcomingWindow([weekend], 'production', at('2026-03-31T00:00:00Z'))!.start.toISOString()).toBe('2026-04-03T14:00:00.000Z');
  });

  it('property: nextAllowed is never inside a window, never earlier than asked, and nothing holds between asking and it except windows', () => {
    fc.assert(
      fc.property(fc.integer({ min: Date.parse('2026-01-01T00:00:00Z'), max: Date.parse('2027-01-01T00:00:00Z') }), (ms) => {
        const t = new Date(ms);
        const free = nextAllowed([weekend], 'production', t);
        expect(free.getTime()).toBeGreaterThanOrEqual(t.getTime());
        expect(activeWindow([weekend], 'production', free)).toBeNull();
        if (free.getTime() > t.getTime()) expect(activeWindow([weekend], 'production', t)).not.toBeNull();
      }),
      { numRuns: 300 },
    );
  });

  it('validates the request: either start/end or cron/endCron/timezone; a real zone; a real cron; end after start', async () => {
    const issues = async (body: unknown) => {
      const r = await createFreezeWindow.safeParseAsync(body);
      return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    };
    expect(await issues({ reason: 'x', cron: '0 16 * * 5', endCron: '0 8 * * 1', timezone: 'Europe/Berlin' })).toEqual([]);
    expect(await issues({ reason: 'x', start: '2026-12-24T00:00:00Z', end: '2026-12-27T00:00:00Z' })).toEqual([]);
    expect((await issues({ reason: 'x', cron: '0 16 * * 5', endCron: '0 8 * * 1', timezone: 'Mars/Olympus' }))[0]).toMatch(
      /^timezone: must be an IANA time zone/,
    );
    expect((await issues({ reason: 'x', cron: 'every friday', endCron: '0 8 * * 1', timezone: 'UTC' }))[0]).toMatch(
      /^cron: is not a cron expression: it has 2 fields; expected a cron expression of 5 fields/,
    );
    expect(await issues({ reason: 'x', start: '2026-12-27T00:00:00Z', end: '2026-12-24T00:00:00Z' })).toEqual(['end: must be after start']);
    expect((await issues({ reason: 'x' }))[0]).toMatch(/^start: give either start and end/);
    expect((await issues({ reason: 'x', start: '2026-12-24T00:00:00Z', cron: '0 16 * * 5' }))[0]).toMatch(/either start and end/);
  });

  it('walks a window edge by edge (freeze.started / freeze.ended): a recurring one across DST, a once one to its end; an opening already over is not announced', () => {
    const walk = (w: FreezeWindow, from: string, n: number) => {
      const out: string[] = [];
      let t = at(from);
      for (let i = 0; i < n; i++) {
        const e = nextEdge(w, t);
        if (!e) break;
        out.push(`${e.edge.edge} ${e.edge.at}`);
        t = new Date(e.edge.at);
      }
      return out;
    };
    expect(walk(weekend, '2026-03-25T00:00:00Z', 4)).toEqual([
      'started 2026-03-27T15:00:00.000Z',
      'ended 2026-03-30T06:00:00.000Z',
      'started 2026-04-03T14:00:00.000Z',
      'ended 2026-04-06T06:00:00.000Z',
    ]);
    const once: FreezeWindow = {
      ...weekend,
      id: 'frz_once',
      kind: 'once',
      cron: undefined,
      endCron: undefined,
      timezone: undefined,
      start: '2026-12-24T00:00:00.000Z',
      end: '2027-01-02T00:00:00.000Z',
    };
    expect(walk(once, '2026-12-01T00:00:00Z', 5)).toEqual(['started 2026-12-24T00:00:00.000Z', 'ended 2027-01-02T00:00:00.000Z']);
    // Opened while the scheduler was away and already closed again: the next edge is the following opening.
    expect(nextEdge(weekend, at('2026-03-25T00:00:00Z'), at('2026-03-31T00:00:00Z'))!.edge).toMatchObject({ edge: 'started', at: '2026-04-03T14:00:00.000Z' });
    // One schedule name and one event id per edge, whoever computes them.
    const e = { window: weekend.id, edge: 'started' as const, at: '2026-03-27T15:00:00.000Z' };
    expect(freezeEdgeEventId('acme', e)).toBe(freezeEdgeEventId('acme', { ...e, at: '2026-03-27T16:00:00+01:00' }));
    expect(freezeEdgeEventId('acme', e)).not.toBe(freezeEdgeEventId('acme', { ...e, edge: 'ended' }));
    expect(freezeEdgeName('acme', e)).not.toBe(freezeEdgeName('acme', { ...e, edge: 'ended' }));
    expect(freezeEdgeName('acme', e)).toMatch(/^[0-9a-zA-Z-_.]{1,64}$/);
  });
});
