import middy from '@middy/core';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import type * as z from '#domain/kernel/zod';
import { hasRole, type Principal } from '#domain/access/auth';
import { BREAK_GLASS_HEADER } from '#domain/freeze/break-glass';
import { canonicalJson, sha256Hex } from '#domain/kernel/canonical';
import {
  AlreadyExists,
  ConcurrentModification,
  Forbidden,
  IdempotencyKeyReused,
  MalformedJson,
  PayloadTooLarge,
  RouteNotFound,
  ValidationFailed,
  type Issue,
} from '#domain/kernel/errors';
import type { Ctx, Deps, Ports, With } from '#domain/ports';
import { storeOnly, tenantDeps, type Wiring } from './deps.ts';
import { logger } from '../adapters/observability.ts';
import { writeStats } from '#domain/kernel/retry';
import { shapeProblem } from '#domain/kernel/json-shape';
import { withCorsHeaders } from './cors.ts';
import { errorResponse, json, type HttpResult } from './errors.ts';
import { conditionalGet } from './etag.ts';
import { principalOf } from './principal.ts';
import type { Route } from './routes.ts';
import { appRouteOfUrl, routeByKey, type ServedRoute } from './served-routes.ts';

/** Larger bodies answer 413 (the batch route needs room for 10k small items). */
export const MAX_BODY_BYTES = 2 * 1024 * 1024;

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
  /** the adapters this function composes (functions/http/deps.ts compose); the store alone unless given */
  wiring?: Wiring<K>;
  /**
   * The success answer shows a secret once (a key, a signing secret, a token, a code), or does when this says so. Such an
   * answer is not kept for Idempotency-Key replays (the table would hold the secret in clear for a day): a replay answers 409.
   */
  showsSecret?: true | ((answer: unknown) => boolean);
}

type Out<T extends z.ZodMiniType | undefined> = T extends z.ZodMiniType ? z.output<T> : undefined;

/** The value at an issue's path in what was parsed (undefined when a field is missing). */
function valueAt(value: unknown, path: readonly PropertyKey[]): unknown {
  return path.reduce<unknown>(
    (v, k) => (v !== null && typeof v === 'object' && Object.hasOwn(v, k) ? (v as Record<PropertyKey, unknown>)[k] : undefined),
    value,
  );
}

function issuesOf(where: string, error: z.core.$ZodError, value: unknown): Issue[] {
  return error.issues.map((i) => ({
    path: [where, ...i.path.map(String)].join('.'),
    // A missing field whose schema is a union (a config's value: any JSON) would read only "Invalid input".
    message: i.code === 'invalid_union' && valueAt(value, i.path) === undefined ? 'is required' : i.message,
  }));
}

/** Async: a schema may refine with a check that loads what it needs on first use (a freeze window's cron). */
async function parse<T extends z.ZodMiniType>(schema: T | undefined, where: string, value: unknown, issues: Issue[]) {
  if (!schema) return undefined;
  const r = await schema.safeParseAsync(value);
  if (r.success) return r.data;
  issues.push(...issuesOf(where, r.error, value));
  return undefined;
}

/**
 * The body as text. API Gateway hands a body that is not valid UTF-8 to the function base64-encoded;
 * JSON is UTF-8 (RFC 8259), so such a body is refused, not decoded with replacement characters (a
 * Latin-1 "café" would be stored as "caf\uFFFD").
 */
function bodyText(event: APIGatewayProxyEventV2 & { body: string }): string {
  if (!event.isBase64Encoded) return event.body;
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(Buffer.from(event.body, 'base64'));
  } catch {
    throw new MalformedJson('Body is not valid UTF-8: send JSON encoded as UTF-8');
  }
}

function readBody(event: APIGatewayProxyEventV2): unknown {
  if (event.body === undefined || event.body === null || event.body === '') return undefined;
  const text = bodyText(event as APIGatewayProxyEventV2 & { body: string });
  if (Buffer.byteLength(text) > MAX_BODY_BYTES) throw new PayloadTooLarge(`Body is larger than ${MAX_BODY_BYTES} bytes`);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    // A RangeError here is a body nested deep enough to exhaust the parser's stack.
    throw new MalformedJson('Body is not valid JSON (or nested too deeply)');
  }
  checkShape(value);
  return value;
}

/** The shape every body must have before any schema runs (domain/kernel/json-shape.ts): a 400 naming where it is not. */
function checkShape(root: unknown): void {
  const problem = shapeProblem(root, 'body');
  if (problem) throw new ValidationFailed([problem]);
}

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

export const IDEMPOTENCY_TTL_SECONDS = 24 * 3600;
/** What an Idempotency-Key may be (the OpenAPI document publishes the same pattern). */
export const IDEMPOTENCY_KEY = /^[A-Za-z0-9_.:-]{1,128}$/;

/**
 * Idempotency-Key on POST: the same key and body replays the first response
 * (one side effect); the same key with another body answers 422; a request
 * still running under the key answers 409. Records expire by TTL after a day.
 */
async function idempotent(
  d: Deps,
  principal: Principal,
  rawKey: string,
  request: string,
  leaseSeconds: number,
  run: () => Promise<HttpResult>,
  kept: (result: HttpResult) => HttpResult = (r) => r,
): Promise<HttpResult> {
  if (!IDEMPOTENCY_KEY.test(rawKey)) {
    throw new ValidationFailed([{ path: 'header.idempotency-key', message: 'must be 1-128 characters: letters, digits, _ . : -' }]);
  }
  // Keys belong to one caller: two approvers sending the same key are two requests.
  const tenant = principal.tenant;
  const key = `${sha256Hex(principal.id.toLowerCase()).slice(0, 24)}:${rawKey}`;
  const hash = sha256Hex(request);
  const claim = await d.store.claimIdempotency(tenant, key, hash, d.clock(), IDEMPOTENCY_TTL_SECONDS, leaseSeconds);
  if (claim.state === 'mismatch') throw new IdempotencyKeyReused('This Idempotency-Key was used with a different request; use a new key');
  if (claim.state === 'in-progress') throw new ConcurrentModification('A request with this Idempotency-Key is still running; retry shortly');
  if (claim.state === 'replay')
    return { statusCode: claim.statusCode, headers: { 'content-type': 'application/json', 'idempotent-replayed': 'true' }, body: claim.body };
  let result: HttpResult;
  try {
    result = await run();
  } catch (err) {
    const r = errorResponse(err);
    // A 4xx is the request's answer and is replayed; a 5xx, or a conflict the client is told to retry
    // (Retry-After: concurrent writers), may succeed on retry, so the key is freed for that retry.
    if (r.statusCode >= 500 || r.headers['retry-after'] !== undefined) await d.store.releaseIdempotency(tenant, key);
    else await d.store.completeIdempotency(tenant, key, hash, r);
    throw err;
  }
  try {
    await d.store.completeIdempotency(tenant, key, hash, kept(result));
  } catch (err) {
    // The write is committed: failing to remember its answer must not turn it into a 500. The lease frees the key.
    logger.error('idempotency record not completed', { tenant, error: String(err) });
  }
  return result;
}

/** Whether a success answer shows a secret once (Spec.showsSecret). */
function showsSecret(spec: { showsSecret?: true | ((answer: unknown) => boolean) }, r: HttpResult): boolean {
  if (!spec.showsSecret) return false;
  if (spec.showsSecret === true) return true;
  try {
    return spec.showsSecret(JSON.parse(r.body ?? 'null'));
  } catch {
    return true;
  }
}

/** What a replay of an answer that showed a secret gets instead (the secret is shown once and never kept). */
const SECRET_NOT_KEPT = () =>
  errorResponse(
    new AlreadyExists(
      'A request with this Idempotency-Key succeeded already; its answer showed a secret once, and secrets are not kept for replays. Read the resource for what it made (rotate for a new secret), or send a new key to make another',
    ),
  );

/** Every response carries the request id; errors are mapped by the one error table. */
const httpErrors = (): middy.MiddlewareObj<APIGatewayProxyEventV2, HttpResult> => ({
  onError: (request) => {
    request.response = errorResponse(request.error, request.context.awsRequestId);
  },
});

/** Answers (errors included) on paths open to browsers carry the CORS headers for allowed origins (functions/http/cors.ts); used first, so it runs after the error map. */
const cors = (): middy.MiddlewareObj<APIGatewayProxyEventV2, HttpResult> => {
  const add = (request: middy.Request<APIGatewayProxyEventV2, HttpResult>) => {
    if (request.response) request.response = withCorsHeaders(request.event, request.response);
  };
  return { after: add, onError: add };
};

/** One structured access-log line per request (Powertools Logger, JSON; CloudWatch Logs Insights friendly); quiet under tests. */
const accessLog = (): middy.MiddlewareObj<APIGatewayProxyEventV2, HttpResult> => {
  const line = async (request: middy.Request<APIGatewayProxyEventV2, HttpResult>) => {
    const internal = request.internal as { started?: number; retries?: number; givenUp?: number };
    const started = internal.started ?? Date.now();
    // Write conflicts of this request (the process serves one request at a time on Lambda).
    const retries = writeStats.retries - (internal.retries ?? writeStats.retries);
    const givenUp = writeStats.givenUp - (internal.givenUp ?? writeStats.givenUp);
    // Rare (a lost race): the metrics module is loaded then, not at every function's init.
    if (retries || givenUp) (await import('../adapters/metrics.ts')).writeConflicts(retries, givenUp);
    logger.info('request', {
      requestId: request.context?.awsRequestId,
      route: request.event.routeKey,
      status: request.response?.statusCode,
      ms: Date.now() - started,
      ...(retries ? { writeRetries: retries } : {}),
      tenant: (request.event.requestContext as { authorizer?: { jwt?: { claims?: Record<string, unknown> } } }).authorizer?.jwt?.claims?.['custom:tenant_id'],
    });
  };
  return {
    before: (request) => {
      Object.assign(request.internal, { started: Date.now(), retries: writeStats.retries, givenUp: writeStats.givenUp });
    },
    after: line,
    onError: line,
  };
};

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
    .use(cors())
    .use(accessLog())
    .use(httpErrors())
    // Used last, so its `after` runs first (middy runs them in reverse): it sees the handler's answer, the access log its 304.
    .use(conditionalGet())
    .handler(async (event, context) => {
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
      const principal: Principal | null = principalOf(event, route);
      if (route.role && principal && !hasRole(principal, route.role)) {
        throw new Forbidden(`This route needs the '${route.role}' role; you have: ${principal.roles.join(', ') || 'none'}`);
      }
      const issues: Issue[] = [];
      const params = await parse(spec.params, 'path', event.pathParameters ?? {}, issues);
      const query = await parse(spec.query, 'query', !spec.queryOn || spec.queryOn(route) ? (event.queryStringParameters ?? {}) : {}, issues);
      // A GET carries no body; elsewhere a missing body is refused unless every field is optional (bodyOptional), and `null` is never an object.
      const raw = spec.body && route.method !== 'GET' ? readBody(event) : undefined;
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
      const ctx: Ctx = { principal: principal as Principal, requestId: context?.awsRequestId, ...(breakGlassReason ? { breakGlassReason } : {}) };
      ctx.timeLeft = timeLeft(event, context);
      // Tenant routes work through the tenant-scoped store (see tenantDeps); public routes (health) never touch data.
      const wiring: Wiring<K> = spec.wiring ?? (storeOnly as Wiring<never> as Wiring<K>);
      const d = principal ? tenantDeps(wiring, principal.tenant) : wiring.deps();
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
