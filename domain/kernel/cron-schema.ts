import * as z from './zod.ts';
import { CRON_SHAPE, notACron } from './cron-shape.ts';

/**
 * A 5-field cron expression in a request body (freeze windows, an environment's allowed hours): text that is
 * not cron at all is told what to write (cron-shape.ts), then cron-parser decides. The parser is loaded only
 * when a request carries a cron (schemas here are parsed with safeParseAsync), so no function reads it at init.
 */
const CRON_FIELDS = /^[0-9A-Za-z*?,/#-]+(?: +[0-9A-Za-z*?,/#-]+){4}$/;

/** Why a cron expression is not one cron-parser takes with five fields, or null. */
export async function cronProblem(expr: string): Promise<string | null> {
  const shape = notACron(expr);
  if (shape) return shape;
  const { CronExpressionParser } = await import('cron-parser');
  try {
    CronExpressionParser.parse(expr, { tz: 'UTC' });
    return null;
  } catch (err) {
    return `is not a cron expression cron-parser takes (${(err as Error).message}); ${CRON_SHAPE}`;
  }
}
/** The regex's message: what notACron says of the text (the schema's pattern refuses it first). */
const notACronMessage = (i: { input?: unknown }) => notACron(String(i.input ?? '')) ?? `is not a cron expression: ${CRON_SHAPE}`;

export const cronExpression = /* @__PURE__ */ z.schema(() =>
  z.string().check(
    z.maxLength(100),
    // Five fields separated by spaces, each of the characters cron takes (the document's pattern); the parser then decides.
    z.regex(CRON_FIELDS, { error: notACronMessage, abort: true }),
    z.superRefine(async (expr, ctx) => {
      const problem = await cronProblem(expr);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    }),
    z.describe('A 5-field cron expression, e.g. "0 16 * * 5"'),
  ),
);
