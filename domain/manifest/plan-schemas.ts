import * as z from '../kernel/zod.ts';
import { ValidationFailed } from '../kernel/errors.ts';

// What a plan's request may ask of a simulation (domain/manifest/simulate.ts replays it; loaded only for a plan that asks).
/** At most this many promotions are replayed in one request (the newest first); `next` continues with the older ones. */
export const SIMULATE_MAX_PROMOTIONS = 10_000;
/** The longest look-back a simulation takes. */
export const SIMULATE_MAX_SECONDS = 365 * 86_400;
/** A look-back as the API takes it: a whole number of days or hours (`90d`, `24h`); null when it is not one. */
export function lookBackSeconds(text: string): number | null {
  const m = /^([1-9][0-9]{0,4})([dh])$/.exec(text);
  if (!m) return null;
  return Number(m[1]) * (m[2] === 'd' ? 86_400 : 3_600);
}

export interface SimulateOptions {
  /** continues a replay where the previous answer's `next` left it */
  cursor?: string;
  /** promotions replayed in this request at most (SIMULATE_MAX_PROMOTIONS) */
  limit?: number;
  /** this request stops at the next page of promotions once it has run this long (ms; `next` continues) */
  budgetMs?: number;
}

/** GET /api/v1/manifest (the tenant's setup as a document) and POST /api/v1/manifest/plan (what applying one would change). */
export const manifestQuery = /* @__PURE__ */ z.schema(() =>
  z.strictObject({
    format: z._default(z.enum(['yaml', 'json']), 'yaml'),
    simulate: z.optional(
      z.string().check(
        z.regex(/^[1-9][0-9]{0,4}[dh]$/, 'a look-back in whole days or hours: 7d, 90d, 24h'),
        z.refine((v) => (lookBackSeconds(v) ?? 0) <= SIMULATE_MAX_SECONDS, 'a look-back of at most 365d'),
        z.describe(
          'POST /manifest/plan only: replay the promotions requested in this look-back (7d, 90d, 24h; at most 365d) under the document and answer what it would have decided differently (simulation; writes nothing)',
        ),
      ),
    ),
    cursor: z.optional(
      z
        .string()
        .check(
          z.minLength(1),
          z.maxLength(2048),
          z.describe("with simulate: continue the replay where the previous answer's simulation.next left it (the same document and look-back)"),
        ),
    ),
    limit: z
      .queryInt(1, SIMULATE_MAX_PROMOTIONS)
      .check(
        z.describe(
          `with simulate: replay at most this many promotions in this request (default and most ${SIMULATE_MAX_PROMOTIONS}); simulation.next continues`,
        ),
      ),
  }),
);
export const planBody = /* @__PURE__ */ z.schema(() =>
  z.strictObject({
    document: z
      .string()
      .check(
        z.minLength(1),
        z.maxLength(256 * 1024, 'a manifest of at most 256 KiB'),
        z.describe(
          'The manifest as YAML or JSON: a mapping with artifacts.promotion (GET /api/v1/manifest/schema.json); anything else is refused with 400 naming the line and field',
        ),
      ),
  }),
);

/** A plan's options from its query: the look-back and its paging (only with simulate: 400 naming the field otherwise). */
export function planOptions(query: z.infer<typeof manifestQuery>): { simulateSeconds?: number } & SimulateOptions {
  if (!query.simulate) {
    if (query.cursor !== undefined || query.limit !== undefined)
      throw new ValidationFailed([{ path: query.cursor !== undefined ? 'query.cursor' : 'query.limit', message: 'pages a simulation: give simulate too' }]);
    return {};
  }
  return { simulateSeconds: lookBackSeconds(query.simulate)!, cursor: query.cursor, limit: query.limit };
}
