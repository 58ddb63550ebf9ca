import { CronExpressionParser } from 'cron-parser';
import type { FreezeWindow, Occurrence } from './freeze.ts';
import { activeWith, nextAllowedWith, nextOpeningWith, openAtWith, upcomingWith } from './freeze-occurrences.ts';

/** Freeze windows evaluated synchronously, with cron-parser imported (re-exported by freeze.ts). */

/** Whether a cron expression is one cron-parser takes, with five fields. */
export const validCron = (expr: string) => {
  try {
    CronExpressionParser.parse(expr, { tz: 'UTC' });
    return expr.trim().split(/\s+/).length === 5;
  } catch {
    return false;
  }
};

/** The occurrence of `w` open at `at`, if any. */
export const openAt = (w: FreezeWindow, at: Date): Occurrence | null => openAtWith(CronExpressionParser, w, at);

/** The next occurrence of `w` that opens after `at`. */
export const nextOpening = (w: FreezeWindow, at: Date): Occurrence | null => nextOpeningWith(CronExpressionParser, w, at);

/** The window holding `env` at `at` (the one that closes last, when several overlap). */
export const activeWindow = (windows: FreezeWindow[], env: string, at: Date): Occurrence | null => activeWith(CronExpressionParser, windows, env, at);

/** The next window to open over `env` after `at`. */
export const upcomingWindow = (windows: FreezeWindow[], env: string, at: Date): Occurrence | null => upcomingWith(CronExpressionParser, windows, env, at);

/** The first time at or after `at` that no window holds `env` (windows that touch or overlap are crossed). */
export const nextAllowed = (windows: FreezeWindow[], env: string, at: Date): Date => nextAllowedWith(CronExpressionParser, windows, env, at);

