import * as z from 'zod';
import { createLink, createRepoLink, deleteRepoLink, listRepoLinks } from '#domain/discovery';
import { httpHandler, WithHeaders } from '../http/handler.ts';
import { artifactParams } from '../http/params.ts';

/**
 * Registry links of an artifact (domain/discovery.ts): list (viewer), link (admin; the answer shows
 * the notification token once), unlink (admin). Each route's role is checked by the middleware.
 */
const params = artifactParams.extend({ id: z.string().regex(/^lnk_[0-9a-f]{12}$/, 'must be a link id (lnk_…)').optional() });
const body = createLink.optional();

export const handler = httpHandler({ params, body }, async ({ deps, ctx, params, body, route }) => {
  if (route.method === 'DELETE') {
    await deleteRepoLink(deps, ctx, params.name, params.id!);
    return new WithHeaders(null, {}, 204);
  }
  if (route.method === 'POST') return new WithHeaders(await createRepoLink(deps, ctx, params.name, createLink.parse(body ?? {})), {}, 201);
  return { items: await listRepoLinks(deps, ctx, params.name) };
});
