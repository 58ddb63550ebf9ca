/**
 * CORS as the deployed functions answer it (the HTTP API has no CORS configuration): the $default
 * fallback answers preflights, the HTTP middleware and the plain open handlers add the headers, for
 * the origins in CORS_ALLOWED_ORIGINS and only on the paths meant to be read cross-origin.
 */
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { handler as fallback } from '../../functions/handlers/fallback.ts';
import { handler as health } from '../../functions/handlers/health.ts';
import { handler as ofrep } from '../../functions/handlers/ofrep.ts';
import { httpHandler } from '../../functions/http/handler.ts';

const LISTED = 'https://app.example';
const OTHER = 'https://evil.example';
const saved = { origins: process.env.CORS_ALLOWED_ORIGINS, table: process.env.TABLE_NAME };

beforeAll(() => {
  process.env.CORS_ALLOWED_ORIGINS = `${LISTED}, https://other-app.example`;
  process.env.TABLE_NAME ??= 'stageline-unit';
});
afterAll(() => {
  for (const [k, v] of [
    ['CORS_ALLOWED_ORIGINS', saved.origins],
    ['TABLE_NAME', saved.table],
  ] as const) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
});

const context = { awsRequestId: 'req-1', getRemainingTimeInMillis: () => 10_000 } as unknown as Context;
const event = (method: string, path: string, routeKey: string, headers: Record<string, string>): APIGatewayProxyEventV2 =>
  ({
    version: '2.0',
    routeKey,
    rawPath: path,
    rawQueryString: '',
    headers,
    requestContext: { http: { method, path }, requestId: 'req-1', timeEpoch: Date.now() },
    isBase64Encoded: false,
  }) as unknown as APIGatewayProxyEventV2;
const preflight = (path: string, origin: string) =>
  event('OPTIONS', path, '$default', { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'x-api-key,if-none-match' });
type Answer = { statusCode: number; headers?: Record<string, string> };
const acao = (r: Answer) => r.headers?.['access-control-allow-origin'];

describe('CORS in the functions', () => {
  it('preflight (the fallback): a /review path is refused even from a listed origin; an OFREP path is answered for a listed origin only', async () => {
    const review = (await fallback(preflight('/review/acme/tok', LISTED), context)) as Answer;
    expect(review.statusCode).toBe(403);
    expect(acao(review)).toBeUndefined();
    const open = (await fallback(preflight('/ofrep/v1/evaluate/flags', LISTED), context)) as Answer;
    expect(open.statusCode).toBe(204);
    expect(acao(open)).toBe(LISTED);
    expect(open.headers!['access-control-allow-headers']).toContain('x-api-key');
    expect(open.headers!['access-control-allow-headers']).toContain('if-none-match');
    expect(open.headers!['access-control-allow-methods']).toContain('POST');
    const stranger = (await fallback(preflight('/ofrep/v1/evaluate/flags', OTHER), context)) as Answer;
    expect(stranger.statusCode).toBe(403);
    expect(acao(stranger)).toBeUndefined();
    // Not a preflight (no Origin / request method): still the route table's 405.
    const plain = (await fallback(event('OPTIONS', '/ofrep/v1/evaluate/flags', '$default', {}), context)) as Answer;
    expect(plain.statusCode).toBe(405);
  });

  it('actual answers: GET on a /review path carries no Access-Control-Allow-Origin even from a listed origin; OFREP and /health do, for a listed origin only', async () => {
    // Even a handler on the review route wrapped in the HTTP middleware never opens it.
    const onReview = httpHandler({}, async () => ({ ok: true }));
    const review = (await onReview(event('GET', '/review/acme/tok', 'GET /review/{tenant}/{token}', { origin: LISTED }), context)) as Answer;
    expect(review.statusCode).toBe(200);
    expect(acao(review)).toBeUndefined();
    // OFREP without a key: the 401 from the error map carries the headers too (the browser can read why).
    const listed = (await ofrep(event('GET', '/ofrep/v1/configuration', 'GET /ofrep/v1/configuration', { origin: LISTED }), context)) as Answer;
    expect(listed.statusCode).toBe(401);
    expect(acao(listed)).toBe(LISTED);
    expect(listed.headers!.vary).toBe('origin');
    expect(listed.headers!['access-control-expose-headers']).toContain('etag');
    const other = (await ofrep(event('GET', '/ofrep/v1/configuration', 'GET /ofrep/v1/configuration', { origin: OTHER }), context)) as Answer;
    expect(other.statusCode).toBe(401);
    expect(acao(other)).toBeUndefined();
    expect(acao((await health(event('GET', '/health', 'GET /health', { origin: LISTED }))) as Answer)).toBe(LISTED);
    expect(acao((await health(event('GET', '/health', 'GET /health', { origin: OTHER }))) as Answer)).toBeUndefined();
    // A typo'd API path (the fallback's 404) still tells a listed origin's page what went wrong.
    const missing = (await fallback(event('GET', '/api/v1/nope', '$default', { origin: LISTED }), context)) as Answer;
    expect(missing.statusCode).toBe(404);
    expect(acao(missing)).toBe(LISTED);
  });
});

describe('server-to-server callbacks', () => {
  it('are not open to browsers: Slack requests and registry notifications get no CORS headers, the Slack link routes of the API do', async () => {
    const { corsHeaders, corsOpen } = await import('../../functions/http/cors.ts');
    for (const path of ['/api/v1/slack/actions', '/api/v1/slack/commands', '/api/v1/registry/notifications/acme/platform/l1']) {
      expect(corsOpen(path), path).toBe(false);
      expect(corsHeaders(path, LISTED, [LISTED])).toEqual({});
    }
    expect(corsOpen('/api/v1/slack/links')).toBe(true);
    expect(corsHeaders('/api/v1/slack/links', LISTED, [LISTED])['access-control-allow-origin']).toBe(LISTED);
  });
});
