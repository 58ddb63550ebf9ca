import middy from '@middy/core';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import type * as z from '#domain/kernel/zod';
import type { Principal } from '#domain/access/auth';
import { BREAK_GLASS_HEADER } from '#domain/freeze/break-glass';
import { canonicalJson } from '#domain/kernel/canonical';
import { RouteNotFound, Unauthenticated, ValidationFailed, type Issue } from '#domain/kernel/errors';
import type { Ctx, Ports, With } from '#domain/ports';
import { storeOnly, type Wiring } from './deps.ts';
import { tenantDeps } from './tenant-deps.ts';
import { json, type HttpResult } from './errors.ts';
import { conditionalGet } from './etag.ts';
import { principalOf } from './principal.ts';
import { authorize, commandOf, needsBody } from './authorize.ts';
import type { Route } from './routes.ts';
import { appRouteOfUrl, routeByKey, type ServedRoute } from './served-routes.ts';
import { bodyText, checkJsonMediaType, checkParameterText, dotSegmentOf, dotSegmentRefused, parse, readBody } from './request.ts';
import { idempotent, SECRET_NOT_KEPT, showsSecret } from './idempotency.ts';
import { accessLog, cors, httpErrors, lambdaContext } from './middleware.ts';

export interface Input<B, Q, P, K extends keyof Ports = never> {
  body: B;
  query: Q;
  params: P;
  ctx: Ctx;
  route: ServedRoute;
  /** the store, the clock and the adapters the function composed (its wiring) */
  deps: With<K>;
  /** request headers (lower-case names): what routes that authenticate in the handler (auth 'app') and conditional reads use */
  headers: Record<string, string | undefined>;
  /** the body as sent, for handlers that parse it themselves (OFREP answers its own error format) */
  rawBody?: string;
}

export interface Spec<B extends z.ZodMiniType, Q extends z.ZodMiniType, P extends z.ZodMiniType, K extends keyof Ports = never> {
  body?: B;
  query?: Q;
  /**
   * The routes `query` belongs to, where a handler serves several and only some take one (a list's
   * page beside a one-item read). Elsewhere the query string is not read (as on a route with no
   * query) and the handler gets the schema's defaults; the document lists the query on these routes only.
   */
  queryOn?: (route: { method: string; path: string }) => boolean;
  params?: P;
  /** status on success (200 unless given) */
  status?: number;
  /** what the OpenAPI document shows for the body, when `body` dispatches at run time (a preprocess or transform); per route where routes differ */
  docBody?: z.ZodMiniType | ((route: Route) => z.ZodMiniType);
  /** another success status the handler answers with the same body schema (a dry-run's 200 beside a create's 201): status → when */
  otherSuccess?: Record<number, string>;
  /** a missing body is read as `{}` (an action whose fields are all optional); otherwise it is refused (400), as is `null` */
  bodyOptional?: true;
  /** Errors beyond those every handler may answer, for the document: 423 (a freeze window holds the environment it changes), 503 (the write ran out of time before it was saved) */
  errors?: readonly (423 | 503)[];
  /**
   * Top-level fields the GET beside this write answers and the write does not take (ids, who changed it when,
   * what is derived): sent back, they are ignored, so what a GET answers can be written back unchanged.
   */
  readOnly?: readonly string[];
  /** the adapters this function composes (functions/http/deps.ts compose); the store alone unless given */
  wiring?: Wiring<K>;
  /**
   * How this handler's errors are answered when not as the API's ({"error": …}: functions/http/errors.ts): a protocol
   * with its own error format (SCIM). Every error of the request goes through it, also those raised before the handler runs.
   */
  errorAnswer?: (err: unknown, requestId?: string) => HttpResult;
  /**
   * The success answer shows a secret once (a key, a signing secret, a token, a code), or does when this says so. Such an
   * answer is not kept for Idempotency-Key replays (the table would hold the secret in clear for a day): a replay answers 409.
   */
  showsSecret?: true | ((answer: unknown) => boolean);
}

/** The body without the read-only fields a GET answered (Spec.readOnly); anything else is left to the schema. */
function withoutReadOnly(raw: unknown, readOnly: readonly string[] | undefined): unknown {
  if (!readOnly?.length || raw === null || typeof raw !== 'object' || Array.isArray(raw)) return raw;
  return Object.fromEntries(Object.entries(raw).filter(([k]) => !readOnly.includes(k)));
}

type Out<T extends z.ZodMiniType | undefined> = T extends z.ZodMiniType ? z.output<T> : undefined;

/** A handler result that also sets response headers (e.g. a cursor beside a plain-array body). */
export class WithHeaders {
  constructor(
    readonly body: unknown,
    readonly headers: Record<string, string>,
    /** overrides the route's success status (e.g. a dry-run answers 200 where a create answers 201) */
    readonly status?: number,
  ) {}
}

/** A handler result that is not JSON (e.g. JSON Lines): the body as text, with its content type. */
export class TextBody {
  constructor(
    readonly text: string,
    readonly contentType: string,
    readonly headers: Record<string, string> = {},
  ) {}
}

/** API Gateway's integration time-out: the caller is answered 503 after it, whatever the function does next. */
export const API_BUDGET_MS = 29_000;

/** Time left to answer: the lesser of API Gateway's budget (from when it received the request) and the function's. */
function timeLeft(event: APIGatewayProxyEventV2, context: Context | undefined): () => number {
  const received = event.requestContext?.timeEpoch;
  return () =>
    Math.min(
      typeof received === 'number' ? received + API_BUDGET_MS - Date.now() : API_BUDGET_MS,
      context?.getRemainingTimeInMillis ? context.getRemainingTimeInMillis() : API_BUDGET_MS,
    );
}

/**
 * Wraps a thin handler: resolves the route, authenticates and authorises the
 * caller, validates path/query/body with zod (every issue listed), and maps
 * results and domain errors to HTTP.
 */
export function httpHandler<B extends z.ZodMiniType, Q extends z.ZodMiniType, P extends z.ZodMiniType, K extends keyof Ports = never>(
  spec: Spec<B, Q, P, K>,
  fn: (input: Input<Out<B>, Out<Q>, Out<P>, K>) => Promise<unknown>,
) {
  const h = middy<APIGatewayProxyEventV2, HttpResult, Error, Context>()
    .use(lambdaContext())
    .use(cors())
    .use(accessLog())
    .use(httpErrors(spec.errorAnswer))
    // Used last, so its `after` runs first (middy runs them in reverse): it sees the handler's answer, the access log its 304.
    .use(conditionalGet())
    .handler(async (event, context) => {
      const dots = dotSegmentOf(event.rawPath, event.pathParameters);
      if (dots !== undefined) throw dotSegmentRefused(dots);
      checkParameterText({ path: event.pathParameters, query: event.queryStringParameters });
      let route = routeByKey(event.routeKey);
      if (!route && event.routeKey === '$default' && event.requestContext?.http) {
        // A function URL (app reads, without API Gateway's per-request fee): the route from the path, app-key routes only.
        const hit = appRouteOfUrl(event.requestContext.http.method, event.rawPath);
        if (hit) {
          route = hit.route;
          event.pathParameters = hit.params;
        }
      }
      if (!route)
        throw new RouteNotFound(`No route ${event.routeKey === '$default' ? `${event.requestContext?.http?.method} ${event.rawPath}` : event.routeKey}`);
      let principal: Principal | null = principalOf(event, route);
      // Tenant routes work through the tenant-scoped store (see tenantDeps); public routes (health) never touch data.
      const wiring: Wiring<K> = spec.wiring ?? (storeOnly as Wiring<never> as Wiring<K>);
      const d = principal ? tenantDeps(wiring, principal.tenant) : wiring.deps();
      const breakGlassAsked = !!event.headers?.[BREAK_GLASS_HEADER]?.trim();
      // Authorization (functions/http/authorize.ts) is decided on the command the handler runs: the parsed path and body
      // below. Before anything is parsed, a caller with neither the role nor any binding is refused (nothing more is read).
      if (route.role && principal) principal = await authorize(d, principal, route.role, route.env, { params: {} }, breakGlassAsked, true);
      const issues: Issue[] = [];
      const params = await parse(spec.params, 'path', event.pathParameters ?? {}, issues);
      // A scope that the path decides (an environment or a promotion it names) is decided before the body is read: a
      // caller without the role there is refused before anything about the body is answered.
      let decided = !route.role || !principal;
      if (route.role && principal && !issues.length && !needsBody(route.env)) {
        principal = await authorize(d, principal, route.role, route.env, commandOf(spec.params ? params : {}, undefined), breakGlassAsked);
        decided = true;
      }
      const query = await parse(spec.query, 'query', !spec.queryOn || spec.queryOn(route) ? (event.queryStringParameters ?? {}) : {}, issues);
      // A GET carries no body; elsewhere a missing body is refused unless every field is optional (bodyOptional), and `null` is never an object.
      if ((spec.body ?? spec.docBody) && route.method !== 'GET' && event.body) checkJsonMediaType(event.headers);
      const raw = spec.body && route.method !== 'GET' ? withoutReadOnly(readBody(event), spec.readOnly) : undefined;
      if (spec.body && route.method !== 'GET' && raw === undefined && !spec.bodyOptional)
        issues.push({ path: 'body', message: 'is required: send a JSON object' });
      const body =
        spec.body && route.method !== 'GET' && !(raw === undefined && !spec.bodyOptional)
          ? await parse(spec.body, 'body', raw === undefined ? {} : raw, issues)
          : undefined;
      const breakGlassReason = event.headers?.[BREAK_GLASS_HEADER];
      // Sent but empty is a mistake, never "no break-glass": the document says at least one character.
      if (breakGlassReason !== undefined && !breakGlassReason.trim())
        issues.push({
          path: `header.${BREAK_GLASS_HEADER}`,
          message: 'must say why (at least one character that is not white space), or leave the header out',
        });
      if (issues.length) throw new ValidationFailed(issues);
      // One door: the scope (the environments the command acts in) comes from the parsed command, the same values the use
      // case receives, never from the raw body, query or path a second time.
      if (route.role && principal && needsBody(route.env)) {
        principal = await authorize(d, principal, route.role, route.env, commandOf(spec.params ? params : {}, body), breakGlassAsked);
        decided = true;
      }
      // Every guard on every path: no handler runs for a caller whose rights were not decided on its command.
      if (!decided) throw new Error(`${route.method} ${route.path}: the caller's rights were not decided on the parsed command`);
      const ctx: Ctx = { principal: principal as Principal, requestId: context?.awsRequestId, ...(breakGlassReason ? { breakGlassReason } : {}) };
      ctx.timeLeft = timeLeft(event, context);
      // A person's token from before they were removed or lost a role changes nothing (domain/access/users.ts sets the
      // second): one consistent read of one item per change a person sends; reads, app keys and pipelines never pay it.
      if (principal?.kind === 'user' && route.method !== 'GET') {
        const notBefore = await d.store.notBefore(principal.tenant, principal.id);
        if (notBefore !== null && (principal.issuedAt ?? 0) < notBefore)
          throw new Unauthenticated('Your session ended: you were removed or a role of yours was taken away after this token was issued; sign in again');
      }
      const run = async () => {
        const rawBody = event.body === undefined || event.body === null ? undefined : bodyText(event as APIGatewayProxyEventV2 & { body: string });
        const result = await fn({ body, query, params, ctx, route, deps: d, headers: event.headers ?? {}, rawBody } as Input<Out<B>, Out<Q>, Out<P>, K>);
        if (result instanceof TextBody)
          return { statusCode: spec.status ?? 200, headers: { 'content-type': result.contentType, ...result.headers }, body: result.text };
        return result instanceof WithHeaders ? json(result.status ?? spec.status ?? 200, result.body, result.headers) : json(spec.status ?? 200, result);
      };
      const key = event.headers?.['idempotency-key'];
      if (route.method !== 'POST' || key === undefined || !principal) return run();
      // The claim holds while this invocation can still run (Lambda's timeout), then a crashed request's key is free.
      const leaseSeconds = Math.max(1, Math.ceil((context?.getRemainingTimeInMillis?.() ?? 30_000) / 1000));
      return idempotent(d, principal, key, `${route.method} ${event.rawPath} ${canonicalJson(body ?? null)}`, leaseSeconds, run, (r) =>
        r.statusCode < 300 && showsSecret(spec, r) ? SECRET_NOT_KEPT() : r,
      );
    });
  // The schemas travel with the handler: the OpenAPI document is generated from them (scripts/openapi.ts).
  return Object.assign(h, { spec: spec as Spec<z.ZodMiniType, z.ZodMiniType, z.ZodMiniType> });
}
