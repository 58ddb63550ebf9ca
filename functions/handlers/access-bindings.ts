import { effectiveRights, listBindings, putBindings } from '#domain/access/binding-settings';
import { bindingsBody } from '#domain/access/bindings';
import * as z from '#domain/kernel/zod';
import { bindingsChanged } from '../http/authorize.ts';
import { httpHandler } from '../http/handler.ts';

const RIGHTS = '/api/v1/access/rights';
const rightsQuery = /* @__PURE__ */ z.schema(() =>
  z.strictObject({
    user: z.optional(
      z.string().check(z.trim(), z.minLength(1), z.maxLength(256), z.describe("another person's subject id or email (admins); left out: your own rights")),
    ),
  }),
);

/**
 * GET and PUT /access/bindings: the tenant's role bindings (domain/access/bindings.ts); a change is seen here at once, elsewhere within BINDINGS_CACHE_MS.
 * GET /access/rights: a person's effective rights per environment, each with what grants it (domain/access/rights.ts).
 */
export const handler = httpHandler({ body: bindingsBody, query: rightsQuery, queryOn: (r) => r.path === RIGHTS }, async ({ deps, ctx, body, query, route }) => {
  if (route.path === RIGHTS) return effectiveRights(deps, ctx, query.user);
  if (route.method === 'GET') return listBindings(deps, ctx);
  return bindingsChanged(ctx.principal.tenant, putBindings(deps, ctx, body!));
});
