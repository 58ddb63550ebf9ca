import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { calendar, calendarRange, MAX_INTERVALS, mergeSpans } from '../../domain/freeze/calendar.ts';
import type { Environment } from '../../domain/kernel/model.ts';
import type { Promotion } from '../../domain/kernel/promotion-model.ts';
import type { FreezeWindow } from '../../domain/freeze/model.ts';
import { ValidationFailed } from '../../domain/kernel/errors.ts';

const env = (name: string, allowedHours?: Environment['allowedHours']) => ({ name, ...(allowedHours ? { allowedHours } : {}) }) as Environment;
const win = (w: Partial<FreezeWindow>): FreezeWindow => ({
  id: 'frz_1',
  tenant: 't',
  scope: '*',
  reason: 'r',
  kind: 'once',
  createdBy: 'u',
  createdAt: '',
  ...w,
});
const from = new Date('2026-03-27T00:00:00Z');

describe('calendar', () => {
  it('reads allowed hours across the Europe/Berlin spring-forward change', async () => {
    const daily = env('prod', { timeZone: 'Europe/Berlin', windows: [{ cron: '0 9 * * *', durationMinutes: 60 }] });
    const [row] = (await calendar([daily], [], [], from, 4)).environments;
    expect(row!.open).toEqual([
      { start: '2026-03-27T08:00:00.000Z', end: '2026-03-27T09:00:00.000Z' },
      { start: '2026-03-28T08:00:00.000Z', end: '2026-03-28T09:00:00.000Z' },
      // Sunday 29 March: 09:00 CEST is 07:00Z.
      { start: '2026-03-29T07:00:00.000Z', end: '2026-03-29T08:00:00.000Z' },
      { start: '2026-03-30T07:00:00.000Z', end: '2026-03-30T08:00:00.000Z' },
    ]);
  });

  it('keeps a recurring freeze on its wall-clock times across the change, clipped to the range', async () => {
    // Every night 22:00–06:00 Berlin; the first occurrence opened before the range.
    const nightly = win({ id: 'frz_n', kind: 'recurring', cron: '0 22 * * *', endCron: '0 6 * * *', timezone: 'Europe/Berlin', scope: 'prod' });
    const [prod, dev] = (await calendar([env('prod'), env('dev')], [nightly], [], from, 3)).environments;
    expect(prod!.open).toEqual([{ start: from.toISOString(), end: '2026-03-30T00:00:00.000Z' }]);
    expect(prod!.frozen.map((f) => [f.start, f.end])).toEqual([
      ['2026-03-27T00:00:00.000Z', '2026-03-27T05:00:00.000Z'],
      ['2026-03-27T21:00:00.000Z', '2026-03-28T05:00:00.000Z'],
      // 06:00 CEST on the 29th is 04:00Z.
      ['2026-03-28T21:00:00.000Z', '2026-03-29T04:00:00.000Z'],
      ['2026-03-29T20:00:00.000Z', '2026-03-30T00:00:00.000Z'],
    ]);
    expect(prod!.frozen[0]).toMatchObject({ windowId: 'frz_n', reason: 'r' });
    expect(dev!.frozen).toEqual([]);
  });

  it('lists the promotions scheduled into each environment, when they go and why they wait', async () => {
    const p = (id: string, target: string, status: string, extra: Partial<Promotion> = {}) =>
      ({ id, targetEnvironment: target, status, scheduledAt: null, ...extra }) as Promotion;
    const promotions = [
      p('p1', 'prod', 'SCHEDULED', { scheduledAt: '2026-03-28T10:00:00Z' }),
      p('p2', 'prod', 'SCHEDULED', { heldBy: { hours: { environment: 'prod', summary: 'x' }, reason: 'outside hours', until: '2026-03-27T08:00:00Z' } }),
      p('p3', 'prod', 'EXECUTING'),
      p('p4', 'dev', 'SCHEDULED', { scheduledAt: '2026-03-29T00:00:00Z' }),
    ];
    const [prod] = (await calendar([env('prod')], [], promotions, from, 3)).environments;
    expect(prod!.scheduled).toEqual([
      { promotionId: 'p2', at: '2026-03-27T08:00:00Z', heldBy: { kind: 'hours', reason: 'outside hours' } },
      { promotionId: 'p1', at: '2026-03-28T10:00:00Z' },
    ]);
  });

  it('caps the intervals of an environment and says how many were left off', async () => {
    const often = env('prod', { timeZone: 'UTC', windows: [{ cron: '*/10 * * * *', durationMinutes: 5 }] });
    const [row] = (await calendar([often], [], [], from, 2)).environments;
    expect(row!.open).toHaveLength(MAX_INTERVALS);
    expect(row!.leftOff.open).toBe(2 * 24 * 6 - MAX_INTERVALS);
    expect(row!.complete).toBe(true);
  });

  it('refuses a bad from or days naming the field', () => {
    const now = new Date('2026-01-01T00:00:00Z');
    expect(calendarRange(now).days).toBe(14);
    expect(calendarRange(now, '2026-02-01', '31').to.toISOString()).toBe('2026-03-04T00:00:00.000Z');
    for (const [f, d, field] of [
      ['tomorrow', undefined, 'query.from'],
      [undefined, '0', 'query.days'],
      [undefined, '32', 'query.days'],
      [undefined, '1.5', 'query.days'],
    ] as const) {
      const err = (() => {
        try {
          calendarRange(now, f, d);
        } catch (e) {
          return e;
        }
      })();
      expect(err).toBeInstanceOf(ValidationFailed);
      expect((err as ValidationFailed).issues.map((i) => i.path)).toEqual([field]);
    }
  });

  it('gives intervals sorted, disjoint and inside the range, whatever the hours', async () => {
    const window = fc.record({
      cron: fc
        .tuple(fc.integer({ min: 0, max: 59 }), fc.integer({ min: 0, max: 23 }), fc.constantFrom('*', '1-5', '0,6', '3'))
        .map(([m, h, d]) => `${m} ${h} * * ${d}`),
      durationMinutes: fc.integer({ min: 1, max: 3 * 24 * 60 }),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.array(window, { minLength: 1, maxLength: 4 }),
        fc.constantFrom('UTC', 'Europe/Berlin', 'America/New_York'),
        fc.integer({ min: 0, max: 400 * 86_400_000 }),
        fc.integer({ min: 1, max: 31 }),
        async (windows, timeZone, offset, days) => {
          const start = new Date(Date.UTC(2026, 0, 1) + offset);
          const [row] = (await calendar([env('e', { timeZone, windows })], [], [], start, days)).environments;
          const end = start.getTime() + days * 86_400_000;
          let last = start.getTime();
          for (const i of row!.open) {
            const [s, e] = [Date.parse(i.start), Date.parse(i.end)];
            expect(s).toBeGreaterThanOrEqual(last);
            expect(e).toBeGreaterThan(s);
            expect(e).toBeLessThanOrEqual(end);
            // Disjoint and merged: the next starts strictly after this one ends.
            last = e + 1;
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  it('merges spans that overlap or touch', () => {
    const d = (h: number) => new Date(Date.UTC(2026, 0, 1, h));
    expect(
      mergeSpans(
        [
          { start: d(5), end: d(7) },
          { start: d(1), end: d(3) },
          { start: d(3), end: d(4) },
          { start: d(6), end: d(30) },
        ],
        d(0),
        d(24),
      ),
    ).toEqual([
      { start: d(1), end: d(4) },
      { start: d(5), end: d(24) },
    ]);
  });
});
