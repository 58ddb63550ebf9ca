import type { Issue } from '../../kernel/errors.ts';
import { notACron } from '../../kernel/cron-shape.ts';

/**
 * The calendar of a recurring promotion (recurring.ts): a 5-field cron expression (minute hour
 * day-of-month month day-of-week) read in an IANA time zone, as people write it, and the same calendar
 * as EventBridge Scheduler reads it (`cron(…)`, six fields, with ScheduleExpressionTimezone). cron-parser
 * (and luxon with it) is loaded on use, as for freeze windows (domain/freeze/windows.ts), so no function
 * reads it at module init.
 */

/** The shortest time between two runs of one recurring promotion: each run may request a promotion with its gates. */
export const MIN_INTERVAL_SECONDS = 5 * 60;

/** How many of the next occurrences are looked at to find the shortest interval (a day of a per-minute list is within them). */
const LOOKAHEAD = 300;
/** …or as many as fall within about a year (at least two). */
const HORIZON_MS = 366 * 24 * 3600 * 1000;

export interface CronCheck {
  issues: Issue[];
  /** the next occurrences (ISO, UTC) when the calendar is good */
  next: string[];
}

/**
 * Checks a calendar: five fields of cron's characters, one cron-parser takes, that fires at all, no more
 * often than every MIN_INTERVAL_SECONDS, and that EventBridge Scheduler can express (it cannot restrict
 * both the day of the month and the day of the week, which cron ORs). Each issue names `body.cron`
 * (or `body.timeZone`) and what to change.
 */
export async function checkCalendar(cron: string, timeZone: string, now: Date): Promise<CronCheck> {
  const issue = (message: string, path = 'body.cron'): CronCheck => ({ issues: [{ path, message }], next: [] });
  const notCron = notACron(cron);
  if (notCron) return issue(notCron);
  const fields = cron.trim().split(/\s+/);
  const [, , dom, , dow] = fields as [string, string, string, string, string];
  if (dom !== '*' && dow !== '*') {
    return issue(
      `restricts both the day of the month ('${dom}') and the day of the week ('${dow}'); EventBridge Scheduler takes one of them: set the other to *`,
    );
  }
  const { CronExpressionParser } = await import('cron-parser');
  let it: ReturnType<typeof CronExpressionParser.parse>;
  try {
    it = CronExpressionParser.parse(cron, { tz: timeZone, currentDate: now });
  } catch (err) {
    const why = (err as Error).message;
    if (/day of month/i.test(why)) return issue(`never fires: no month has that day (${why}); pick a day every month it names has`);
    return issue(`is not a cron expression cron-parser takes: ${why}`);
  }
  const next: Date[] = [];
  try {
    const horizon = now.getTime() + HORIZON_MS;
    while (next.length < LOOKAHEAD && it.hasNext()) {
      next.push(it.next().toDate());
      // A rare calendar (a leap day) is not walked for centuries: two times and a year ahead say enough.
      if (next.length >= 2 && next.at(-1)!.getTime() > horizon) break;
    }
  } catch {
    /* no further occurrence within the parser's range */
  }
  if (next.length === 0) return issue('never fires: it names no time that ever comes; check its day, month and day-of-week fields');
  let shortest = Infinity;
  for (let i = 1; i < next.length; i++) shortest = Math.min(shortest, next[i]!.getTime() - next[i - 1]!.getTime());
  if (shortest < MIN_INTERVAL_SECONDS * 1000) {
    const at = next.findIndex((d, i) => i > 0 && d.getTime() - next[i - 1]!.getTime() === shortest);
    return issue(
      `fires more often than every ${MIN_INTERVAL_SECONDS / 60} minutes (${Math.round(shortest / 1000)} s between ${next[at - 1]!.toISOString()} and ${next[at]!.toISOString()}); a recurring promotion runs at most every ${MIN_INTERVAL_SECONDS / 60} minutes, e.g. "*/5 * * * *"`,
    );
  }
  return { issues: [], next: next.slice(0, 5).map((d) => d.toISOString()) };
}

/** The next time the calendar fires after `after`, in its zone (null: never again). */
export async function nextOccurrence(cron: string, timeZone: string, after: Date): Promise<Date | null> {
  const { CronExpressionParser } = await import('cron-parser');
  try {
    const it = CronExpressionParser.parse(cron, { tz: timeZone, currentDate: after });
    return it.hasNext() ? it.next().toDate() : null;
  } catch {
    return null;
  }
}

/** Names cron-parser and EventBridge both take, and what a `*` step starts from in each field. */
const STEP_START = ['0', '0', '1', '1', '1'];

/** Day-of-week numbers: cron counts Sunday 0 (and 7), EventBridge Sunday 1 to Saturday 7. */
function awsDay(day: string): string {
  if (!/^\d+$/.test(day)) return day.toUpperCase();
  const n = Number(day) % 7;
  return String(n + 1);
}

function awsDow(field: string): string {
  return field
    .split(',')
    .map((part) => {
      const [range, step] = part.split('/') as [string, string | undefined];
      const withStep = (s: string) => (step !== undefined ? `${s}/${step}` : s);
      if (range === '*') return withStep(step !== undefined ? '1' : '*');
      const nth = /^(\w+)#(\d)$/.exec(range);
      if (nth) return `${awsDay(nth[1]!)}#${nth[2]}`;
      const last = /^(\w+)L$/i.exec(range);
      if (last) return `${awsDay(last[1]!)}L`;
      const [from, to] = range.split('-') as [string, string | undefined];
      const start = awsDay(from);
      if (to === undefined) return withStep(start);
      // A range ending on Sunday as 7 (Friday to Sunday: 5-7) is Friday to Saturday and Sunday in EventBridge's numbering.
      if (to === '7' && step === undefined) return start === '1' ? '1-7' : `${start}-7,1`;
      return withStep(`${start}-${awsDay(to)}`);
    })
    .join(',');
}

/**
 * The calendar as EventBridge Scheduler's `cron(minutes hours day-of-month month day-of-week year)`: one
 * of the two day fields is `?`, days of the week are counted from Sunday = 1, and a `*` with a step starts
 * from the field's first value. checkCalendar has refused what it cannot express.
 */
export function awsCronExpression(cron: string): string {
  const f = cron.trim().split(/\s+/) as [string, string, string, string, string];
  const stepped = f.map((field, i) => field.replace(/^\*\//, `${STEP_START[i]}/`));
  const [min, hour, dom, month] = stepped as [string, string, string, string];
  const dow = f[4];
  const days = dow === '*' ? [dom, '?'] : [dom === '*' ? '?' : dom, awsDow(dow)];
  return `cron(${min} ${hour} ${days[0]} ${month.toUpperCase()} ${days[1]} *)`;
}
