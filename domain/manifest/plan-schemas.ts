import * as z from '../kernel/zod.ts';
import { ValidationFailed } from '../kernel/errors.ts';
import { lookBackSeconds, SIMULATE_MAX_PROMOTIONS, SIMULATE_MAX_SECONDS, type SimulateOptions } from './simulate.ts';

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
