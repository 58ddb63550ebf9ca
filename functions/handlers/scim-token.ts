import { getScimTokenInfo, issueScimToken, revokeScimToken } from '#domain/access/scim';
import { httpHandler, WithHeaders } from '../http/handler.ts';

/** The tenant's SCIM token (admin): POST creates or replaces it (shown once), GET says when it was made, DELETE revokes it. */
export const handler = httpHandler({ showsSecret: true }, async ({ deps, ctx, route }) => {
  if (route.method === 'POST') return new WithHeaders(await issueScimToken(deps, ctx), { 'cache-control': 'no-store' }, 201);
  if (route.method === 'DELETE') {
    await revokeScimToken(deps, ctx);
    return new WithHeaders(null, {}, 204);
  }
  return getScimTokenInfo(deps, ctx);
});
