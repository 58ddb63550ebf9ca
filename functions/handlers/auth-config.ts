/**
 * GET /api/v1/auth/config (no token): where and how people sign in — the OAuth 2.0 authorization
 * code + PKCE endpoints of the user pool's domain and the public client id (functions/adapters/login.ts).
 * The console and `stageline login` start here. A plain handler, like /health: no data, no middleware.
 */
import { loginConfig } from '../adapters/login.ts';
import { withCors } from '../http/cors.ts';

type Event = { headers?: Record<string, string | undefined>; requestContext?: { requestId?: string; domainName?: string } };

export const handler = withCors(async (event?: Event) => {
  const host = event?.requestContext?.domainName ?? event?.headers?.host ?? 'localhost';
  const scheme = event?.headers?.['x-forwarded-proto'] ?? (/^(127\.0\.0\.1|localhost|\[::1\])(:\d+)?$/.test(host) ? 'http' : 'https');
  return {
    statusCode: 200,
    headers: {
      'content-type': 'application/json',
      'cache-control': 'max-age=300',
      ...(event?.requestContext?.requestId ? { 'x-request-id': event.requestContext.requestId } : {}),
    },
    body: JSON.stringify(loginConfig(`${scheme}://${host}`)),
  };
});
