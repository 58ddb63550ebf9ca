import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { CONSOLE_BODIES, CONSOLE_STYLE } from '../dashboard/assets.generated.ts';
import { consoleCsp, PAGE } from '../dashboard/page.ts';
import { loginOrigin } from '../adapters/login.ts';
import { refusingDotSegments } from '../http/request.ts';

/**
 * GET /dashboard (no auth): the console's page; GET /dashboard/assets/{file}: its hashed scripts (the entry and
 * the chunks of views loaded when opened) and stylesheet (cached for a year: a new build has new names; gzipped for a browser that takes it). The console signs people in itself
 * (authorization code + PKCE) and calls the API with their token.
 */
const COMMON = { 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer' };
const typeOf = (name: string) => (name === CONSOLE_STYLE.name ? CONSOLE_STYLE.type : 'text/javascript; charset=utf-8');

/** An asset gzipped once per instance (its name is its content's hash: it never changes under the name), base64 for API Gateway. */
const gzipped = new Map<string, string>();
const gzipOf = async (name: string): Promise<string> => {
  let out = gzipped.get(name);
  if (out === undefined) {
    // zlib is loaded on the first asset asked for, not at init (the page itself never needs it).
    const { gzipSync } = await import('node:zlib');
    gzipped.set(name, (out = gzipSync(CONSOLE_BODIES[name]!, { level: 9 }).toString('base64')));
  }
  return out;
};

/** Whether the browser takes gzip (`Accept-Encoding`, its q-value not 0): the HTTP API compresses nothing itself. */
export function acceptsGzip(header: string | undefined): boolean {
  return (header ?? '').split(',').some((part) => {
    const [coding, ...params] = part.trim().toLowerCase().split(';');
    const q = params.map((x) => x.trim()).find((x) => x.startsWith('q='));
    return (coding === 'gzip' || coding === '*') && (q === undefined || Number(q.slice(2)) > 0);
  });
}

export const handler = refusingDotSegments(
  async (event?: Pick<APIGatewayProxyEventV2, 'routeKey' | 'pathParameters' | 'rawPath'> & { headers?: APIGatewayProxyEventV2['headers'] }) => {
    if (event?.routeKey === 'GET /dashboard/assets/{file}') {
      const name = event.pathParameters?.file ?? '';
      if (!Object.hasOwn(CONSOLE_BODIES, name)) {
        // A comment is harmless as either a script or a stylesheet (a page of an older build asking for its old names).
        return {
          statusCode: 404,
          headers: { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'no-store', ...COMMON },
          body: '/* no console asset of that name: reload /dashboard */',
        };
      }
      const headers = {
        'content-type': typeOf(name),
        'cache-control': 'public, max-age=31536000, immutable',
        'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
        vary: 'accept-encoding',
        ...COMMON,
      };
      // The script is about a third of its size gzipped: a first load is a third of the bytes.
      if (acceptsGzip(event.headers?.['accept-encoding']))
        return { statusCode: 200, headers: { ...headers, 'content-encoding': 'gzip' }, body: await gzipOf(name), isBase64Encoded: true };
      return { statusCode: 200, headers, body: CONSOLE_BODIES[name]! };
    }
    return {
      statusCode: 200,
      headers: {
        'content-type': 'text/html; charset=utf-8',
        'content-security-policy': consoleCsp(loginOrigin()),
        'cache-control': 'no-cache',
        'x-frame-options': 'DENY',
        ...COMMON,
      },
      body: PAGE,
    };
  },
);
