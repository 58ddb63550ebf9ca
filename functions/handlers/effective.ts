import { cacheControlOf, contentsOf, effectiveDocument, effectiveQuery as query, etagOf, readView, withParameters } from '#domain/config/effective';
import { instanceFromHeaders } from '#domain/config/instances';
import { matchesEtag } from '../http/etag.ts';
import { noteRead } from '../http/instances.ts';
import { appRead } from '../http/app-read.ts';
import { httpHandler, WithHeaders } from '../http/handler.ts';
import { envParams as params } from '../http/params.ts';

/**
 * GET …/environments/{env}/effective: the environment's configs and flags as one document, or one
 * target's (the key's, or ?target=) with its parameters; 304 while the caller's ETag is current (one
 * read: the head; a target's adds one read of its head). `Stageline-Instance` names the application instance:
 * a 200 records it when what it read changed (a fleet target counts it) and the key is bound to the target read,
 * and says so in `Stageline-Instance-Counted`; a 304 records nothing.
 */
export const handler = httpHandler({ params, query }, async ({ deps, ctx, params, query, route, headers }) => {
  const claim = instanceFromHeaders(headers);
  const { scope, env, deps: d } = await appRead({ route, headers, ctx, deps, environment: params.env, target: query.target });
  const view = await readView(d.store, env, scope, query.target);
  const etag = etagOf(view.digest);
  const common = { etag, 'cache-control': cacheControlOf(env), vary: 'authorization, x-api-key' };
  if (matchesEtag(headers['if-none-match'], etag)) return new WithHeaders(undefined, common, 304);
  const contents = withParameters(await contentsOf(d.store.nodes(scope.tenant), scope.tenant, view), view.parameters);
  const counted = await noteRead(d, scope, view, claim);
  return new WithHeaders(effectiveDocument(env, contents, scope, query.prefix, view), { ...common, ...counted });
});
