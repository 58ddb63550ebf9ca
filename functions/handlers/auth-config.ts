/**
 * GET /api/v1/auth/config (no token): where and how people sign in — the OAuth 2.0 authorization
 * code + PKCE endpoints of the user pool's domain and the public client id (functions/adapters/login.ts).
 * The console and `stageline login` start here. A plain handler, like /health: no middleware.
 *
 * `?email=` routes a person to their company: `idpIdentifier` is the value to pass as the authorize
 * request's `idp_identifier` (the address's domain, when a tenant's connection holds it:
 * domain/access/federation.ts providerForEmail; Cognito routes it to that connection's provider, whose
 * identifiers are its domains), or null. The answer says nothing else: never the provider's name (it
 * names the tenant), and a domain nobody holds answers exactly as a domain whose tenant has no connection. It reads two items of
 * the store (the domain's claim and the connection); its function is granted those GetItems alone
 * (infra/background-writes.ts NARROW_READS).
 */
import { providerForEmail } from '#domain/access/federation';
import { ValidationFailed } from '#domain/kernel/errors';
import { loginConfig } from '../adapters/login.ts';
import { withCors } from '../http/cors.ts';
import { storeOnly } from '../http/deps.ts';
import { errorResponse } from '../http/errors.ts';
import { authConfigQuery } from '../http/params.ts';
import { issuesOf } from '../http/request.ts';

type Event = {
  headers?: Record<string, string | undefined>;
  queryStringParameters?: Record<string, string | undefined>;
  requestContext?: { requestId?: string; domainName?: string };
};

export const handler = withCors(async (event?: Event) => {
  const requestId = event?.requestContext?.requestId;
  const host = event?.requestContext?.domainName ?? event?.headers?.host ?? 'localhost';
  const scheme = event?.headers?.['x-forwarded-proto'] ?? (/^(127\.0\.0\.1|localhost|\[::1\])(:\d+)?$/.test(host) ? 'http' : 'https');
  const reqHeaders: Record<string, string> = requestId ? { 'x-request-id': requestId } : {};
  try {
    const query = event?.queryStringParameters ?? {};
    const parsed = authConfigQuery.safeParse(query);
    if (!parsed.success) throw new ValidationFailed(issuesOf('query', parsed.error, query));
    const config = loginConfig(`${scheme}://${host}`);
    if (parsed.data.email === undefined)
      return { statusCode: 200, headers: { 'content-type': 'application/json', 'cache-control': 'max-age=300', ...reqHeaders }, body: JSON.stringify(config) };
    const conn = await providerForEmail(storeOnly.deps().store, parsed.data.email);
    return {
      statusCode: 200,
      // The answer is a person's: no shared cache keeps it.
      headers: { 'content-type': 'application/json', 'cache-control': 'no-store', ...reqHeaders },
      body: JSON.stringify({ ...config, idpIdentifier: conn ? parsed.data.email.split('@').pop()! : null }),
    };
  } catch (err) {
    const r = errorResponse(err, requestId);
    return { ...r, headers: { ...r.headers, ...reqHeaders } };
  }
});
