import * as z from './zod.ts';
import { knownTimeZone, timeZone } from './time-zone.ts';
import { cronExpression, cronProblem } from './cron-schema.ts';

/**
 * An environment's allowed hours: the times a promotion into it may start executing (domain/freeze/hours.ts).
 * Each window opens when its cron fires, read in the time zone (DST as the zone has it), and stays open for
 * its duration. Outside them a promotion waits SCHEDULED until the next opening (run/hours-hold.ts); one
 * already executing is never stopped by a window closing.
 */
export interface AllowedHours {
  timeZone: string;
  windows: { cron: string; durationMinutes: number }[];
}

/** At most this many windows: each is parsed whenever a promotion into the environment is about to execute. */
export const MAX_HOURS_WINDOWS = 10;
/** The longest a window stays open: a week. */
export const MAX_WINDOW_MINUTES = 7 * 24 * 60;

/** Why a cron never opens in the zone (a day no month has), or null: the parser is loaded only when hours are sent. */
async function neverOpens(cron: string, tz: string): Promise<string | null> {
  // A cron or a zone refused on its own is not looked at again here (one issue each).
  if (!knownTimeZone(tz) || (await cronProblem(cron))) return null;
  const { CronExpressionParser } = await import('cron-parser');
  try {
    CronExpressionParser.parse(cron, { tz }).next();
    return null;
  } catch (err) {
    return `never opens: it names no time that ever comes (${(err as Error).message}); check its day, month and day-of-week fields`;
  }
}

export const allowedHours = /* @__PURE__ */ z.schema(() =>
  z
    .strictObject({
      timeZone: timeZone.check(z.describe('the IANA time zone the windows are read in (DST as the zone has it), e.g. Europe/Berlin')),
      windows: z
        .array(
          z.strictObject({
            cron: cronExpression.check(z.describe("when the window opens: a 5-field cron expression read in timeZone, e.g. '0 9 * * 1-5' (weekdays at 09:00)")),
            durationMinutes: z
              .number()
              .check(
                z.int('must be a whole number of minutes'),
                z.minimum(1, 'must be at least 1 minute'),
                z.maximum(MAX_WINDOW_MINUTES, `must be at most a week (${MAX_WINDOW_MINUTES} minutes)`),
                z.describe('how long the window stays open after each opening, in minutes (480: eight hours)'),
              ),
          }),
        )
        .check(
          z.minLength(1, 'must hold at least one window (to remove the allowed hours, send null)'),
          z.maxLength(MAX_HOURS_WINDOWS, `must hold at most ${MAX_HOURS_WINDOWS} windows`),
        ),
    })
    .check(
      z.superRefine(async (h, ctx) => {
        for (const [i, w] of h.windows.entries()) {
          const problem = await neverOpens(w.cron, h.timeZone);
          if (problem) ctx.addIssue({ code: 'custom', path: ['windows', i, 'cron'], message: problem });
        }
      }),
      z.describe(
        'when a promotion into this environment may start executing: outside every window it waits SCHEDULED until the next opening (an admin break-glass lets it past); one already executing is never stopped',
      ),
    ),
);
