import * as z from '#domain/kernel/zod';
import { ValidationFailed } from '#domain/kernel/errors';
import { exportManifest, planManifest } from '#domain/manifest/service';
import { manifestQuery as query, planBody, planOptions } from '#domain/manifest/plan-schemas';
import { httpHandler, TextBody } from '../http/handler.ts';

// GET has no body: the document is checked for POST below.
const body = z.partial(planBody);

/** GET /api/v1/manifest (the tenant's setup as a document) and POST /api/v1/manifest/plan (what applying one would change). */
export { planBody };
export const handler = httpHandler({ query, body, docBody: planBody }, async ({ deps, ctx, query, body, route }) => {
  if (route.method === 'POST') {
    if (!body?.document) throw new ValidationFailed([{ path: 'body.document', message: 'is required: the manifest (YAML or JSON) as a string' }]);
    return planManifest(deps, ctx, body.document, planOptions(query));
  }
  if (query.simulate || query.cursor !== undefined || query.limit !== undefined)
    throw new ValidationFailed([{ path: 'query.simulate', message: 'simulates a plan: POST /api/v1/manifest/plan?simulate=…' }]);
  const { text, digest } = await exportManifest(deps, ctx, query.format);
  return new TextBody(text, query.format === 'json' ? 'application/json' : 'application/yaml; charset=utf-8', { 'x-manifest-digest': digest });
});
