import { CronExpressionParser } from 'cron-parser';
import type { AllowedHours } from '../kernel/allowed-hours.ts';
import { RuleViolation } from '../kernel/errors.ts';

/**
 * An environment's allowed hours (domain/kernel/allowed-hours.ts), computed: whether one of its windows is
 * open at a time, and when the next opens. cron-parser reads each cron in the hours' zone, so an opening is
 * DST-correct: 09:00 Europe/Berlin is 08:00Z in winter and 07:00Z in summer; a time the clock skips (02:30 on
 * the night it springs forward) fires at the hour after, a time it repeats fires once. A window stays open for
 * its duration in elapsed minutes. This module (and cron-parser with it) is loaded only where an environment
 * has allowed hours (run/hours-hold.ts), never at a function's init.
 */
export type Opening = { open: true } | { open: false; until: Date };

/**
 * Open at `now` when a window opened less than its duration before; otherwise closed until the soonest next
 * opening of any window. Both read the calendar forwards only (cron-parser's backward step sees a repeated
 * local time the forward one skips), so what is open and when it opens always agree. Each window costs two
 * forward steps of the parser, at most MAX_HOURS_WINDOWS windows.
 */
export function nextOpening(hours: AllowedHours, now: Date): Opening {
  const at = now.getTime();
  let soonest: Date | null = null;
  for (const w of hours.windows) {
    // Open when it opened within its duration before `now`: its first opening after (now − duration) is not after now.
    const since = step(() =>
      CronExpressionParser.parse(w.cron, { tz: hours.timeZone, currentDate: new Date(at - w.durationMinutes * 60_000) })
        .next()
        .toDate(),
    );
    if (since && since.getTime() <= at) return { open: true };
    const next = step(() => CronExpressionParser.parse(w.cron, { tz: hours.timeZone, currentDate: now }).next().toDate());
    if (next && (!soonest || next < soonest)) soonest = next;
  }
  if (!soonest) throw new RuleViolation(`the allowed hours (${describeHours(hours)}) never open again: change them so a window opens`);
  return { open: false, until: soonest };
}

/** One step of the parser: null when there is no further (or earlier) occurrence within its range. */
function step(fire: () => Date): Date | null {
  try {
    return fire();
  } catch {
    return null;
  }
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const DAY_NAMES: Record<string, number> = { SUN: 0, MON: 1, TUE: 2, WED: 3, THU: 4, FRI: 5, SAT: 6 };
const pad = (n: number) => String(n).padStart(2, '0');
const dayName = (d: string) => DAYS[(/^\d+$/.test(d) ? Number(d) : (DAY_NAMES[d.toUpperCase()] ?? NaN)) % 7];

/** The day-of-week field as people read it (Mon–Fri, Sat,Sun), or null when it is more than ranges and lists of days. */
function days(field: string): string | null {
  if (field === '*' || field === '?') return 'daily';
  const parts = field.split(',').map((part) => {
    const [from, to] = part.split('-');
    const a = from === undefined ? undefined : dayName(from);
    const b = to === undefined ? null : dayName(to);
    return a && b !== undefined ? (b ? `${a}–${b}` : a) : null;
  });
  return parts.every((p) => p !== null) ? parts.join(',') : null;
}

/** One window as people read it: "Mon–Fri 09:00–17:00" for a daily time on some days, else its cron and duration. */
export function describeWindow(w: AllowedHours['windows'][number]): string {
  const [min, hour, dom, month, dow] = w.cron.trim().split(/\s+/) as [string, string, string, string, string];
  const d = days(dow);
  if (/^\d+$/.test(min) && /^\d+$/.test(hour) && dom === '*' && month === '*' && d && w.durationMinutes < 24 * 60) {
    const start = Number(hour) * 60 + Number(min);
    const end = (start + w.durationMinutes) % (24 * 60);
    return `${d} ${pad(Math.floor(start / 60))}:${pad(start % 60)}–${pad(Math.floor(end / 60))}:${pad(end % 60)}`;
  }
  return `'${w.cron}' for ${w.durationMinutes} min`;
}

/** The hours as people read them: "Mon–Fri 09:00–17:00 Europe/Berlin". */
export const describeHours = (hours: AllowedHours): string => `${hours.windows.map(describeWindow).join(', ')} ${hours.timeZone}`;

/**
 * The intervals the hours are open over [from, to), each window's openings read forwards as nextOpening reads them
 * (an opening before `from` still open at it counts). At most `budget` openings are read per window: `complete` is
 * false when one had more (a cron firing every minute over a month), and what was read is still returned.
 */
export function openIntervals(hours: AllowedHours, from: Date, to: Date, budget: number): { intervals: { start: Date; end: Date }[]; complete: boolean } {
  const intervals: { start: Date; end: Date }[] = [];
  let complete = true;
  for (const w of hours.windows) {
    const ms = w.durationMinutes * 60_000;
    const it = CronExpressionParser.parse(w.cron, { tz: hours.timeZone, currentDate: new Date(from.getTime() - ms) });
    let read = 0;
    for (;;) {
      const start = step(() => it.next().toDate());
      if (!start || start >= to) break;
      if (++read > budget) {
        complete = false;
        break;
      }
      intervals.push({ start, end: new Date(start.getTime() + ms) });
    }
  }
  return { intervals, complete };
}
