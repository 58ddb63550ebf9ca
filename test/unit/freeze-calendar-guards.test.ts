import { CronExpressionParser } from 'cron-parser';
import { describe, expect, it } from 'vitest';
import type { FreezeWindow } from '../../domain/freeze/model.ts';
import { activeWith, nextAllowedWith, upcomingWith } from '../../domain/freeze/occurrences.ts';
import { activeWindowOf, upcomingWindowOf } from '../../domain/freeze/windows.ts';
import { RuleViolation } from '../../domain/kernel/errors.ts';

/**
 * Freeze windows' occurrences at their edges: how far back a recurring window's opening is looked
 * for, which window holds when several overlap, which opens next, and an environment that never thaws.
 */

const at = (iso: string) => new Date(iso);
const once = (id: string, start: string, end: string, scope = 'prod'): FreezeWindow => ({
  id,
  tenant: 'acme',
  scope,
  reason: `reason of ${id}`,
  kind: 'once',
  start,
  end,
  createdBy: 'alice',
  createdAt: '2029-12-01T00:00:00.000Z',
});
const recurring = (id: string, cron: string, endCron: string, scope = 'prod'): FreezeWindow => ({
  id,
  tenant: 'acme',
  scope,
  reason: `reason of ${id}`,
  kind: 'recurring',
  cron,
  endCron,
  timezone: 'UTC',
  createdBy: 'alice',
  createdAt: '2029-12-01T00:00:00.000Z',
});
const active = (ws: FreezeWindow[], t: Date) => activeWith(CronExpressionParser, ws, 'prod', t);
const upcoming = (ws: FreezeWindow[], t: Date) => upcomingWith(CronExpressionParser, ws, 'prod', t);

describe('a recurring window', () => {
  // Opens on 1 January, closes on 1 March: 59 days, longer than the 31 days an opening is looked back for.
  const winter = recurring('frz_winter', '0 0 1 1 *', '0 0 1 3 *');

  it('holds up to 31 days after its opening and not a millisecond longer', () => {
    expect(active([winter], at('2030-01-15T00:00:00.000Z'))).toMatchObject({ start: at('2030-01-01T00:00:00.000Z'), end: at('2030-03-01T00:00:00.000Z') });
    expect(active([winter], at('2030-02-01T00:00:00.000Z'))).toMatchObject({ start: at('2030-01-01T00:00:00.000Z'), end: at('2030-03-01T00:00:00.000Z') });
    expect(active([winter], at('2030-02-01T00:00:00.001Z'))).toBeNull();
  });

  it('does not hold before it opens or once it has closed', () => {
    expect(active([winter], at('2029-12-31T23:59:59.999Z'))).toBeNull();
    expect(active([recurring('frz_night', '0 22 * * *', '0 6 * * *')], at('2030-01-02T06:00:00.000Z'))).toBeNull();
  });

  it('holds among windows that are only once (the cron parser is loaded for the one that recurs)', async () => {
    const nightly = recurring('frz_night', '0 22 * * *', '0 6 * * *');
    const later = once('frz_later', '2030-02-01T00:00:00.000Z', '2030-02-02T00:00:00.000Z');
    expect((await activeWindowOf([later, nightly], 'prod', at('2030-01-01T23:00:00.000Z')))?.window.id).toBe('frz_night');
    expect((await upcomingWindowOf([later, nightly], 'prod', at('2030-01-01T12:00:00.000Z')))?.start).toEqual(at('2030-01-01T22:00:00.000Z'));
  });
});

describe('several windows over an environment', () => {
  it('the one holding it is the one that closes last, in whatever order they are listed', () => {
    const short = once('frz_short', '2030-01-01T08:00:00.000Z', '2030-01-01T10:00:00.000Z');
    const long = once('frz_long', '2030-01-01T07:00:00.000Z', '2030-01-01T18:00:00.000Z');
    const mid = once('frz_mid', '2030-01-01T08:30:00.000Z', '2030-01-01T12:00:00.000Z');
    expect(active([short, mid, long], at('2030-01-01T09:00:00.000Z'))?.window.id).toBe('frz_long');
    expect(active([long, short, mid], at('2030-01-01T09:00:00.000Z'))?.window.id).toBe('frz_long');
  });

  it('the next to open is the earliest opening after the time asked, of windows over that environment (or all)', () => {
    const windows = [
      once('frz_past', '2030-01-01T00:00:00.000Z', '2030-01-01T06:00:00.000Z'),
      once('frz_friday', '2030-01-04T16:00:00.000Z', '2030-01-07T08:00:00.000Z'),
      once('frz_dev', '2030-01-02T00:00:00.000Z', '2030-01-02T06:00:00.000Z', 'dev'),
      once('frz_tenant', '2030-01-03T00:00:00.000Z', '2030-01-03T06:00:00.000Z', '*'),
      once('frz_saturday', '2030-01-05T00:00:00.000Z', '2030-01-05T06:00:00.000Z'),
    ];
    expect(upcoming(windows, at('2030-01-01T12:00:00.000Z'))?.window.id).toBe('frz_tenant');
    expect(upcoming(windows, at('2030-01-03T12:00:00.000Z'))?.window.id).toBe('frz_friday');
    expect(upcoming(windows.slice(0, 3), at('2030-01-04T16:00:00.000Z'))).toBeNull();
  });

  it('a window that opens at the time asked, or has opened before it, is not the next to open', () => {
    const w = once('frz_w', '2030-01-01T08:00:00.000Z', '2030-01-01T12:00:00.000Z');
    expect(upcoming([w], at('2030-01-01T07:59:59.999Z'))).toMatchObject({ start: at('2030-01-01T08:00:00.000Z'), end: at('2030-01-01T12:00:00.000Z') });
    expect(upcoming([w], at('2030-01-01T08:00:00.000Z'))).toBeNull();
    expect(upcoming([w], at('2030-01-01T09:00:00.000Z'))).toBeNull();
  });
});

describe('the first free time', () => {
  it('is refused for an environment that stays frozen window after window', () => {
    // Opens every hour on the hour and closes at the next: never free.
    const always = recurring('frz_always', '0 * * * *', '0 * * * *');
    expect(() => nextAllowedWith(CronExpressionParser, [always], 'prod', at('2030-01-01T09:30:00.000Z'))).toThrow(
      new RuleViolation("'prod' stays frozen for more than 100 consecutive windows"),
    );
    expect(nextAllowedWith(CronExpressionParser, [always], 'dev', at('2030-01-01T09:30:00.000Z'))).toEqual(at('2030-01-01T09:30:00.000Z'));
  });

  it('crosses up to 100 back-to-back windows, and refuses the 101st', () => {
    const hour = (i: number) => new Date(Date.parse('2030-01-01T00:00:00.000Z') + i * 3_600_000).toISOString();
    const chain = (n: number) => Array.from({ length: n }, (_, i) => once(`frz_${i}`, hour(i), hour(i + 1)));
    expect(nextAllowedWith(CronExpressionParser, chain(100), 'prod', at(hour(0)))).toEqual(at(hour(100)));
    expect(() => nextAllowedWith(CronExpressionParser, chain(101), 'prod', at(hour(0)))).toThrow(RuleViolation);
  });
});
