import { cacheControlOf, contentsOf, effectiveDocument, effectiveQuery as query, etagOf } from '#domain/config/effective';
import { matchesEtag } from '../http/etag.ts';
import { appRead } from '../http/app-read.ts';
import { httpHandler, WithHeaders } from '../http/handler.ts';
import { envParams as params } from '../http/params.ts';

/** GET …/environments/{env}/effective: the environment's configs and flags as one document; 304 while the caller's ETag is current (one read: the head). */
export const handler = httpHandler({ params, query }, async ({ deps, ctx, params, query, route, headers }) => {
  const { scope, env, deps: d } = await appRead({ route, headers, ctx, deps, environment: params.env });
  const etag = etagOf(env.head.digest);
  const common = { etag, 'cache-control': cacheControlOf(env), vary: 'authorization, x-api-key' };
  if (matchesEtag(headers['if-none-match'], etag)) return new WithHeaders(undefined, common, 304);
  const contents = await contentsOf(d.store.nodes(scope.tenant), scope.tenant, env);
  return new WithHeaders(effectiveDocument(env, contents, scope, query.prefix), common);
});
