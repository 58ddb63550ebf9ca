import { listBindings, putBindings } from '#domain/access/binding-settings';
import { bindingsBody } from '#domain/access/bindings';
import { forgetBindings } from '../http/authorize.ts';
import { httpHandler } from '../http/handler.ts';

/** GET and PUT /access/bindings: the tenant's role bindings (domain/access/bindings.ts); a change is seen here at once, elsewhere within BINDINGS_CACHE_MS. */
export const handler = httpHandler({ body: bindingsBody }, async ({ deps, ctx, body, route }) => {
  if (route.method === 'GET') return listBindings(deps, ctx);
  const saved = await putBindings(deps, ctx, body!);
  forgetBindings(ctx.principal.tenant);
  return saved;
});
