import * as z from '#domain/kernel/zod';
import { ValidationFailed } from '#domain/kernel/errors';
import { exportManifest, planManifest } from '#domain/manifest/service';
import { lookBackSeconds, SIMULATE_MAX_PROMOTIONS, SIMULATE_MAX_SECONDS } from '#domain/manifest/simulate';
import { httpHandler, TextBody } from '../http/handler.ts';

/** GET /api/v1/manifest (the tenant's setup as a document) and POST /api/v1/manifest/plan (what applying one would change). */
const query = z.strictObject({
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
      z.describe(`with simulate: replay at most this many promotions in this request (default and most ${SIMULATE_MAX_PROMOTIONS}); simulation.next continues`),
    ),
});
export const planBody = z.strictObject({
  document: z
    .string()
    .check(
      z.minLength(1),
      z.maxLength(256 * 1024, 'a manifest of at most 256 KiB'),
      z.describe(
        'The manifest as YAML or JSON: a mapping with artifacts.promotion (GET /api/v1/manifest/schema.json); anything else is refused with 400 naming the line and field',
      ),
    ),
});
// GET has no body: the document is checked for POST below.
const body = z.partial(planBody);

export const handler = httpHandler({ query, body, docBody: planBody }, async ({ deps, ctx, query, body, route }) => {
  if (route.method === 'POST') {
    if (!body?.document) throw new ValidationFailed([{ path: 'body.document', message: 'is required: the manifest (YAML or JSON) as a string' }]);
    if (!query.simulate && (query.cursor !== undefined || query.limit !== undefined))
      throw new ValidationFailed([{ path: query.cursor !== undefined ? 'query.cursor' : 'query.limit', message: 'pages a simulation: give simulate too' }]);
    return planManifest(
      deps,
      ctx,
      body.document,
      query.simulate ? { simulateSeconds: lookBackSeconds(query.simulate)!, cursor: query.cursor, limit: query.limit } : {},
    );
  }
  if (query.simulate || query.cursor !== undefined || query.limit !== undefined)
    throw new ValidationFailed([{ path: 'query.simulate', message: 'simulates a plan: POST /api/v1/manifest/plan?simulate=…' }]);
  const { text, digest } = await exportManifest(deps, ctx, query.format);
  return new TextBody(text, query.format === 'json' ? 'application/json' : 'application/yaml; charset=utf-8', { 'x-manifest-digest': digest });
});
