import { getGroupMap, putGroupMap } from '#domain/access/binding-settings';
import { groupMappingBody } from '#domain/access/group-mapping';
import { httpHandler } from '../http/handler.ts';

/** GET and PUT /access/group-mapping: the tenant's IdP group mapping (domain/access/group-mapping.ts), applied at each person's next token. */
export const handler = httpHandler({ body: groupMappingBody }, async ({ deps, ctx, body, route }) => {
  if (route.method === 'GET') return getGroupMap(deps, ctx);
  return putGroupMap(deps, ctx, body!);
});
