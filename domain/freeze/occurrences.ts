import type { CronExpressionParser } from 'cron-parser';
import { RuleViolation } from '../kernel/errors.ts';
import type { FreezeWindow, Occurrence } from './model.ts';

/**
 * Freeze windows' occurrences, computed with the cron parser they are given: freeze.ts (cronFor)
 * loads it on first use and only when a window is recurring, so cron-parser and luxon (~100 KiB)
 * are never read at module init.
 */
export type CronParser = typeof CronExpressionParser;

/** How far back a recurring window's opening is looked for (a window longer than this is refused at use). */
const LONGEST_RECURRING_MS = 31 * 24 * 3600 * 1000;

function recurringAround(parser: CronParser, w: FreezeWindow, at: Date): Occurrence | null {
  const opts = { tz: w.timezone!, currentDate: new Date(at.getTime() + 1) };
  const start = parser.parse(w.cron!, opts).prev().toDate();
  if (at.getTime() - start.getTime() > LONGEST_RECURRING_MS) return null;
  const end = parser.parse(w.endCron!, { tz: w.timezone!, currentDate: start }).next().toDate();
  return { window: w, start, end };
}

export function openAtWith(parser: CronParser, w: FreezeWindow, at: Date): Occurrence | null {
  if (w.kind === 'once') {
    const start = new Date(w.start!);
    const end = new Date(w.end!);
    return start <= at && at < end ? { window: w, start, end } : null;
  }
  // An opening found looking back from `at` (prev is strictly before at + 1 ms) is never after it.
  const o = recurringAround(parser, w, at);
  return o && at < o.end ? o : null;
}

export function nextOpeningWith(parser: CronParser, w: FreezeWindow, at: Date): Occurrence | null {
  if (w.kind === 'once') {
    const start = new Date(w.start!);
    return start > at ? { window: w, start, end: new Date(w.end!) } : null;
  }
  const start = parser.parse(w.cron!, { tz: w.timezone!, currentDate: at }).next().toDate();
  const end = parser.parse(w.endCron!, { tz: w.timezone!, currentDate: start }).next().toDate();
  return { window: w, start, end };
}

export const applies = (w: FreezeWindow, env: string) => w.scope === '*' || w.scope === env;

export function activeWith(parser: CronParser, windows: FreezeWindow[], env: string, at: Date): Occurrence | null {
  const open = windows
    .filter((w) => applies(w, env))
    .map((w) => openAtWith(parser, w, at))
    .filter((o): o is Occurrence => o !== null);
  return open.sort((a, b) => b.end.getTime() - a.end.getTime())[0] ?? null;
}

export function upcomingWith(parser: CronParser, windows: FreezeWindow[], env: string, at: Date): Occurrence | null {
  const next = windows
    .filter((w) => applies(w, env))
    .map((w) => nextOpeningWith(parser, w, at))
    .filter((o): o is Occurrence => o !== null);
  return next.sort((a, b) => a.start.getTime() - b.start.getTime())[0] ?? null;
}

export function nextAllowedWith(parser: CronParser, windows: FreezeWindow[], env: string, at: Date): Date {
  let t = at;
  // Up to 100 windows crossed: the time after the 100th is still checked (and returned when free).
  for (let crossed = 0; crossed <= 100; crossed++) {
    const open = activeWith(parser, windows, env, t);
    if (!open) return t;
    t = open.end;
  }
  throw new RuleViolation(`'${env}' stays frozen for more than 100 consecutive windows`);
}
