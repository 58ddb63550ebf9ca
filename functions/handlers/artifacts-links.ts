import * as z from '#domain/kernel/zod';
import { deleteRepoLink, listRepoLinks } from '#domain/artifacts/discovery';
import { httpHandler, WithHeaders } from '../http/handler.ts';
import { artifactParams } from '../http/params.ts';

/**
 * Registry links of an artifact (domain/artifacts/discovery.ts): list (viewer) and unlink (admin); linking is
 * artifacts-links-create. Each route's role is checked by the middleware.
 */
const params = z.extend(artifactParams, { id: z.optional(z.string().check(z.regex(/^lnk_[0-9a-f]{12}$/, 'must be a link id (lnk_…)'))) });

export const handler = httpHandler({ params }, async ({ deps, ctx, params, route }) => {
  if (route.method === 'DELETE') {
    await deleteRepoLink(deps, ctx, params.name, params.id!);
    return new WithHeaders(null, {}, 204);
  }
  return { items: await listRepoLinks(deps, ctx, params.name) };
});
