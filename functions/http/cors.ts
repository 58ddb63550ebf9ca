import type { Method } from './routes/row.ts';
import * as env from '../configuration.ts';

/**
 * Browser access (CORS): one helper for the deployed functions and the local gateway, so both
 * open the same paths to the same origins with the same headers. On AWS the HTTP API has no CORS
 * configuration (it would open every route); the functions answer instead: the $default fallback
 * answers preflights (an OPTIONS matches no route), and the HTTP middleware (plus the plain
 * handlers of open paths: health, the OpenAPI document) adds the headers to actual answers.
 */
export const CORS = {
  allowMethods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as Method[],
  allowHeaders: ['authorization', 'content-type', 'x-tenant-id', 'idempotency-key', 'x-break-glass-reason', 'x-api-key', 'if-none-match'],
  exposeHeaders: ['allow', 'x-next-cursor', 'x-request-id', 'retry-after', 'etag'],
  maxAgeSeconds: 3600,
} as const;

/**
 * Where CORS may answer other origins: the API, OFREP (the web provider polls it from the app's
 * page) and /health, but not the server-to-server callbacks below. Never the review pages (a signed link acts as its approver), the dashboard,
 * or the local stack's /dev pages (the outbox holds every approve link) — whatever the allowed
 * origins say, on AWS and locally.
 */
export const corsOpen = (path: string): boolean =>
  (path.startsWith('/api/') && !SERVER_CALLBACKS.some((p) => path.startsWith(p))) || path.startsWith('/ofrep/') || path === '/health';

/** Server-to-server callbacks under /api (Slack's requests, a registry's push notifications): no browser reads them, on AWS or locally. */
const SERVER_CALLBACKS = ['/api/v1/slack/actions', '/api/v1/slack/commands', '/api/v1/registry/notifications/'];

/**
 * The origins the deployed functions answer: CORS_ALLOWED_ORIGINS (a comma list, `*`: any), set by the
 * stack from the `allowedOrigins` context. Unset (tests, the local stack, whose gateway answers CORS itself): none.
 */
export const deployedOrigins = (): string[] => env.CORS_ALLOWED_ORIGINS();

/** The headers an answer to `origin` on `path` carries: none unless the path is open and the origin allowed. */
export function corsHeaders(path: string, origin: string | undefined, origins: readonly string[]): Record<string, string> {
  if (!corsOpen(path)) return {};
  const allowed = origins.includes('*') ? '*' : origin && origins.includes(origin) ? origin : null;
  if (!allowed) return {};
  return {
    'access-control-allow-origin': allowed,
    'access-control-expose-headers': CORS.exposeHeaders.join(','),
    ...(allowed === '*' ? {} : { vary: 'origin' }),
  };
}

export interface CorsAnswer {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

/**
 * A browser's preflight (OPTIONS with Origin and Access-Control-Request-Method): 204 with what may
 * be sent, or 403 where the path is not open or the origin not allowed. Null for any other request.
 */
export function preflight(method: string, path: string, headers: Record<string, string | undefined>, origins: readonly string[]): CorsAnswer | null {
  if (method.toUpperCase() !== 'OPTIONS' || !headers.origin || !headers['access-control-request-method']) return null;
  const cors = corsHeaders(path, headers.origin, origins);
  if (!cors['access-control-allow-origin']) {
    return {
      statusCode: 403,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ message: `Forbidden: ${path} is not open to ${headers.origin} (CORS)` }),
    };
  }
  return {
    statusCode: 204,
    headers: {
      ...cors,
      'access-control-allow-methods': CORS.allowMethods.join(','),
      'access-control-allow-headers': CORS.allowHeaders.join(','),
      'access-control-max-age': String(CORS.maxAgeSeconds),
    },
    body: '',
  };
}

interface CorsEvent {
  rawPath?: string;
  headers?: Record<string, string | undefined>;
}

/** A Vary value naming what `vary` names and `names` too (each once, case-insensitively): answers varying by origin and by caller keep both. */
export function varyWith(vary: string | undefined, ...names: (string | undefined)[]): string {
  const out: string[] = [];
  for (const name of [vary, ...names].flatMap((v) => (v ?? '').split(',')).map((n) => n.trim())) {
    if (name && !out.some((o) => o.toLowerCase() === name.toLowerCase())) out.push(name);
  }
  return out.includes('*') ? '*' : out.join(', ');
}

/** Adds the CORS headers (deployedOrigins) to a Lambda answer of an API Gateway (payload 2.0) request. */
export function withCorsHeaders<R extends { headers?: Record<string, string> }>(event: CorsEvent | undefined, response: R): R {
  const cors = corsHeaders(event?.rawPath ?? '', event?.headers?.origin, deployedOrigins());
  if (!Object.keys(cors).length) return response;
  const vary = cors.vary === undefined ? {} : { vary: varyWith(response.headers?.vary, cors.vary) };
  return { ...response, headers: { ...response.headers, ...cors, ...vary } };
}

/** A plain handler (no middleware) whose answers carry the CORS headers. */
export const withCors =
  <E extends CorsEvent | undefined, R extends { headers?: Record<string, string> }>(handler: (event: E) => Promise<R>) =>
  async (event: E): Promise<R> =>
    withCorsHeaders(event, await handler(event));
