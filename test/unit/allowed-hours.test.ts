import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { allowedHours, type AllowedHours } from '../../domain/kernel/allowed-hours.ts';
import { describeHours, nextOpening } from '../../domain/freeze/hours.ts';

const office = (timeZone: string): AllowedHours => ({ timeZone, windows: [{ cron: '0 9 * * 1-5', durationMinutes: 480 }] });
const at = (iso: string) => new Date(iso);

describe('nextOpening', () => {
  it('is open inside a window and closed until the next opening outside it', () => {
    const berlin = office('Europe/Berlin');
    // Monday 2026-11-30: 09:00 CET is 08:00Z, 17:00 CET is 16:00Z.
    expect(nextOpening(berlin, at('2026-11-30T08:00:00Z'))).toEqual({ open: true });
    expect(nextOpening(berlin, at('2026-11-30T15:59:59Z'))).toEqual({ open: true });
    expect(nextOpening(berlin, at('2026-11-30T16:00:00Z'))).toEqual({ open: false, until: at('2026-12-01T08:00:00Z') });
    expect(nextOpening(berlin, at('2026-11-30T07:59:59Z'))).toEqual({ open: false, until: at('2026-11-30T08:00:00Z') });
    // Saturday: the next opening is Monday's.
    expect(nextOpening(berlin, at('2026-11-28T15:06:00Z'))).toEqual({ open: false, until: at('2026-11-30T08:00:00Z') });
  });

  it('follows Europe/Berlin across both DST changes', () => {
    const berlin = office('Europe/Berlin');
    // Friday 2026-03-27 after hours (CET); clocks spring forward on Sunday 29 March: Monday opens at 07:00Z (CEST).
    expect(nextOpening(berlin, at('2026-03-27T17:00:00Z'))).toEqual({ open: false, until: at('2026-03-30T07:00:00Z') });
    expect(nextOpening(berlin, at('2026-03-30T06:59:00Z')).open).toBe(false);
    expect(nextOpening(berlin, at('2026-03-30T14:59:00Z'))).toEqual({ open: true });
    // Friday 2026-10-23 after hours (CEST); clocks fall back on Sunday 25 October: Monday opens at 08:00Z (CET).
    expect(nextOpening(berlin, at('2026-10-23T16:00:00Z'))).toEqual({ open: false, until: at('2026-10-26T08:00:00Z') });
    // A nightly window at 02:00 on the night the clock skips 02:00–03:00 opens at 03:00 CEST (01:00Z).
    const night: AllowedHours = { timeZone: 'Europe/Berlin', windows: [{ cron: '0 2 * * *', durationMinutes: 60 }] };
    expect(nextOpening(night, at('2026-03-28T23:00:00Z'))).toEqual({ open: false, until: at('2026-03-29T01:00:00Z') });
  });

  it('follows America/New_York across both DST changes', () => {
    const ny = office('America/New_York');
    // Friday 2026-03-06 after hours (EST); DST starts Sunday 8 March: Monday opens at 13:00Z (EDT).
    expect(nextOpening(ny, at('2026-03-06T22:00:00Z'))).toEqual({ open: false, until: at('2026-03-09T13:00:00Z') });
    // Friday 2026-10-30 after hours (EDT); DST ends Sunday 1 November: Monday opens at 14:00Z (EST).
    expect(nextOpening(ny, at('2026-10-30T21:00:00Z'))).toEqual({ open: false, until: at('2026-11-02T14:00:00Z') });
    expect(nextOpening(ny, at('2026-11-02T13:59:00Z')).open).toBe(false);
    expect(nextOpening(ny, at('2026-11-02T21:59:00Z'))).toEqual({ open: true });
    // 01:30 comes twice on 1 November: the window opens once, at the first (05:30Z), and the second is inside it.
    const early: AllowedHours = { timeZone: 'America/New_York', windows: [{ cron: '30 1 * * *', durationMinutes: 90 }] };
    expect(nextOpening(early, at('2026-11-01T04:00:00Z'))).toEqual({ open: false, until: at('2026-11-01T05:30:00Z') });
    expect(nextOpening(early, at('2026-11-01T06:45:00Z'))).toEqual({ open: true });
    expect(nextOpening(early, at('2026-11-01T07:00:00Z'))).toEqual({ open: false, until: at('2026-11-02T06:30:00Z') });
  });

  it('takes the soonest of several windows, and a window open past midnight', () => {
    const hours: AllowedHours = {
      timeZone: 'UTC',
      windows: [
        { cron: '0 22 * * 5', durationMinutes: 240 },
        { cron: '0 12 * * 3', durationMinutes: 60 },
      ],
    };
    expect(nextOpening(hours, at('2026-11-28T01:59:00Z'))).toEqual({ open: true });
    expect(nextOpening(hours, at('2026-11-28T02:00:00Z'))).toEqual({ open: false, until: at('2026-12-02T12:00:00Z') });
    expect(nextOpening(hours, at('2026-12-02T13:00:00Z'))).toEqual({ open: false, until: at('2026-12-04T22:00:00Z') });
  });

  it('property: `until` is inside a window, and nothing between now and then is', () => {
    const zones = ['Europe/Berlin', 'America/New_York', 'UTC', 'Australia/Sydney'];
    const window = fc.record({
      cron: fc
        .tuple(fc.integer({ min: 0, max: 59 }), fc.integer({ min: 0, max: 23 }), fc.constantFrom('*', '1-5', '0,6', '3', '1,3,5'))
        .map(([m, h, d]) => `${m} ${h} * * ${d}`),
      durationMinutes: fc.integer({ min: 1, max: 600 }),
    });
    // 2026: both DST changes of each zone fall in it.
    const now = fc.integer({ min: Date.UTC(2026, 0, 1), max: Date.UTC(2026, 11, 31) }).map((t) => new Date(t));
    fc.assert(
      fc.property(
        fc.constantFrom(...zones),
        fc.array(window, { minLength: 1, maxLength: 3 }),
        now,
        fc.array(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), { maxLength: 8 }),
        (timeZone, windows, t, probes) => {
          const hours = { timeZone, windows };
          const o = nextOpening(hours, t);
          if (o.open) return;
          expect(o.until.getTime()).toBeGreaterThan(t.getTime());
          expect(nextOpening(hours, o.until)).toEqual({ open: true });
          // Just before it, and anywhere between now and then, no window is open, so none opened there.
          expect(nextOpening(hours, new Date(o.until.getTime() - 1)).open).toBe(false);
          for (const p of probes) {
            const between = new Date(t.getTime() + Math.floor(p * (o.until.getTime() - t.getTime())));
            const there = nextOpening(hours, between);
            expect(there).toEqual({ open: false, until: o.until });
          }
        },
      ),
      { numRuns: 150 },
    );
  });

  it('reads as people write office hours', () => {
    expect(describeHours(office('Europe/Berlin'))).toBe('Mon–Fri 09:00–17:00 Europe/Berlin');
    expect(
      describeHours({
        timeZone: 'UTC',
        windows: [
          { cron: '30 22 * * SAT,SUN', durationMinutes: 120 },
          { cron: '0 */4 * * *', durationMinutes: 30 },
        ],
      }),
    ).toBe("Sat,Sun 22:30–00:30, '0 */4 * * *' for 30 min UTC");
  });
});

describe('the allowedHours schema', () => {
  const issues = async (v: unknown) => {
    const r = await allowedHours.safeParseAsync(v);
    return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  };

  it('takes office hours and refuses a bad cron, zone or duration naming the field', async () => {
    expect(await issues(office('Europe/Berlin'))).toEqual([]);
    expect((await issues({ timeZone: 'Europe/Berlin', windows: [{ cron: 'every day at nine', durationMinutes: 60 }] }))[0]).toMatch(
      /^windows\.0\.cron: is not a cron expression/,
    );
    expect(await issues({ timeZone: 'Mars/Olympus', windows: [{ cron: '0 9 * * *', durationMinutes: 60 }] })).toEqual([
      'timeZone: must be an IANA time zone the zone database knows, e.g. Europe/Berlin',
    ]);
    expect(await issues({ timeZone: 'UTC', windows: [{ cron: '0 9 * * *', durationMinutes: 0 }] })).toEqual([
      'windows.0.durationMinutes: must be at least 1 minute',
    ]);
    expect(await issues({ timeZone: 'UTC', windows: [{ cron: '0 9 * * *', durationMinutes: 20_000 }] })).toEqual([
      'windows.0.durationMinutes: must be at most a week (10080 minutes)',
    ]);
    expect(await issues({ timeZone: 'UTC', windows: [] })).toEqual(['windows: must hold at least one window (to remove the allowed hours, send null)']);
    expect(await issues({ timeZone: 'UTC', windows: Array.from({ length: 11 }, () => ({ cron: '0 9 * * *', durationMinutes: 60 })) })).toEqual([
      'windows: must hold at most 10 windows',
    ]);
  });

  it('refuses a cron that never opens', async () => {
    const [issue] = await issues({ timeZone: 'UTC', windows: [{ cron: '0 0 30 2 *', durationMinutes: 60 }] });
    expect(issue).toMatch(/^windows\.0\.cron: (never opens|is not a cron expression cron-parser takes)/);
  });
});
