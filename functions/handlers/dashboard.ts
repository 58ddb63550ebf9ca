import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { CONSOLE_BODIES, CONSOLE_SCRIPT, CONSOLE_STYLE } from '../dashboard/assets.generated.ts';
import { consoleCsp, PAGE } from '../dashboard/page.ts';
import { loginOrigin } from '../adapters/login.ts';
import { refusingDotSegments } from '../http/request.ts';

/**
 * GET /dashboard (no auth): the console's page; GET /dashboard/assets/{file}: its hashed script and
 * stylesheet (cached for a year: a new build has new names). The console signs people in itself
 * (authorization code + PKCE) and calls the API with their token.
 */
const COMMON = { 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer' };
const TYPES: Record<string, string> = { [CONSOLE_SCRIPT.name]: CONSOLE_SCRIPT.type, [CONSOLE_STYLE.name]: CONSOLE_STYLE.type };

export const handler = refusingDotSegments(async (event?: Pick<APIGatewayProxyEventV2, 'routeKey' | 'pathParameters' | 'rawPath'>) => {
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
    return {
      statusCode: 200,
      headers: {
        'content-type': TYPES[name]!,
        'cache-control': 'public, max-age=31536000, immutable',
        'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
        ...COMMON,
      },
      body: CONSOLE_BODIES[name]!,
    };
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
});
