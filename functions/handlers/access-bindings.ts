import { listBindings, putBindings } from '#domain/access/binding-settings';
import { bindingsBody } from '#domain/access/bindings';
import { bindingsChanged } from '../http/authorize.ts';
import { httpHandler } from '../http/handler.ts';

/** GET and PUT /access/bindings: the tenant's role bindings (domain/access/bindings.ts); a change is seen here at once, elsewhere within BINDINGS_CACHE_MS. */
export const handler = httpHandler({ body: bindingsBody }, async ({ deps, ctx, body, route }) => {
  if (route.method === 'GET') return listBindings(deps, ctx);
  return bindingsChanged(ctx.principal.tenant, putBindings(deps, ctx, body!));
});
