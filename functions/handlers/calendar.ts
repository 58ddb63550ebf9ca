import * as z from '#domain/kernel/zod';
import { httpHandler } from '../http/handler.ts';

/**
 * The calendar (viewer): per environment, when it is open, the freezes over it and what is scheduled into it.
 * The calendar's module reads crons (cron-parser and luxon): it is loaded on the first request, never at init.
 * from and days are checked by the domain (calendarRange), which names the field it refuses.
 */
const query = z.strictObject({
  from: z.optional(z.string().check(z.describe('start of the range, ISO 8601 (default: now)'))),
  days: z.optional(z.string().check(z.describe('how many days, 1 to 31 (default 14)'))),
});

export const handler = httpHandler({ query }, async ({ deps, ctx, query }) => (await import('#domain/freeze/calendar')).calendarOf(deps, ctx, query));
