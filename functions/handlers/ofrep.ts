import * as z from '#domain/kernel/zod';
import {
  bulkEtag,
  contentsOf,
  evaluateFlag,
  OFREP_CONFIGURATION,
  ofrepBulk,
  ofrepMeta,
  ofrepRequest,
  parseOfrepRequest,
  readView,
  withParameters,
} from '#domain/config/effective';
import { matchesEtag } from '../http/etag.ts';
import { noteRead } from '../http/instances.ts';
import { appRead } from '../http/app-read.ts';
import { httpHandler, WithHeaders } from '../http/handler.ts';

const params = z.object({ key: z.optional(z.string().check(z.minLength(1), z.maxLength(256))) });

/**
 * OFREP (OpenFeature Remote Evaluation Protocol): one flag, every flag (with ETag), and the provider
 * configuration, in the app key's environment as it is now — as the key's target, or the one the
 * evaluation context names (`context.target`), sees it. Errors of the evaluation itself are OFREP's
 * own bodies ({key, errorCode, errorDetails}); 401/403 come from the key check, 404 TARGET_NOT_FOUND
 * from the target's. The body ({"context": {...}}) is parsed here, not by httpHandler; docBody puts it
 * in the OpenAPI document, optional (no body evaluates with an empty context). `context.instanceId` names the
 * application instance: an answer with a body records it when what it read changed and the key is bound to the
 * target read (`Stageline-Instance-Counted` says whether it counted); a 304 records nothing.
 */
export const handler = httpHandler({ params, docBody: ofrepRequest, bodyOptional: true }, async ({ deps, ctx, params, route, headers, rawBody }) => {
  // The body is parsed before the key is checked only to learn the target it names; its errors are answered after.
  const request = parseOfrepRequest(rawBody);
  const named = 'error' in request ? undefined : request.context.target;
  const { scope, env, deps: d } = await appRead({ route, headers, ctx, deps, target: typeof named === 'string' ? named : undefined });
  if (route.method === 'GET') return OFREP_CONFIGURATION;
  if ('error' in request) return new WithHeaders(params.key ? { key: params.key, ...request.error } : request.error, {}, 400);
  const view = await readView(d.store, env, scope, request.context.target);
  if (params.key === undefined) {
    const etag = bulkEtag(view.digest, request.context, scope);
    if (matchesEtag(headers['if-none-match'], etag)) return new WithHeaders(undefined, { etag }, 304);
    const contents = withParameters(await contentsOf(d.store.nodes(scope.tenant), scope.tenant, view), view.parameters);
    const counted = await noteRead(d, scope, view, request.context);
    return new WithHeaders(ofrepBulk(env, contents, scope, request.context, view), { etag, 'cache-control': 'private, no-cache', ...counted });
  }
  const contents = withParameters(await contentsOf(d.store.nodes(scope.tenant), scope.tenant, view), view.parameters);
  const key = params.key;
  if (!contents.flags.has(key) || (scope.prefix && !key.startsWith(scope.prefix))) {
    return new WithHeaders(
      { key, errorCode: 'FLAG_NOT_FOUND', errorDetails: `No flag '${key}' in environment '${env.name}'${scope.prefix ? ` under '${scope.prefix}'` : ''}` },
      {},
      404,
    );
  }
  const result = evaluateFlag(key, contents.flags.get(key), request.context, ofrepMeta(env, view));
  const counted = await noteRead(d, scope, view, request.context);
  return new WithHeaders(result, counted, 'errorCode' in result ? 400 : 200);
});
