import { createHash, randomBytes } from 'node:crypto';
import type { DemoUser, LocalIssuer } from './issuer.ts';
import type { LocalDirectory } from './directory.ts';
import { FederationRefused, providerForDomain, providerForEmail } from '../domain/access/federation.ts';
import { connectionNamed, type Federated, type FederationDeps, localFederation } from './federation.ts';

/**
 * The local stand-in for Cognito's managed login: OAuth 2.0 authorization code with PKCE (S256),
 * the same endpoints a client uses against the user pool domain on AWS (`/oauth2/authorize`,
 * `/oauth2/token`, `/logout`; here under /dev/, with the other local stand-ins), so the console and
 * the CLI take one code path in both places: only the endpoints' addresses differ.
 * Instead of a password form, the authorize page lists the local directory's users (the demo
 * users and those an admin invited) to sign in as: the local stack trusts whoever reaches it on
 * loopback. Codes are single use, bound to the client, redirect URI and PKCE challenge, and expire
 * after a minute; the token answer carries an ID token from the local issuer (iss, aud as Cognito's).
 */
export interface OAuthReply {
  status: number;
  type: string;
  body: string;
  headers?: Record<string, string>;
}

interface Pending {
  user: DemoUser;
  /** signed in through a tenant's IdP: the token is for who the IdP said, with the groups decideSignIn gave */
  federated?: boolean;
  clientId: string;
  redirectUri: string;
  challenge: string;
  expires: number;
}

const CODE_TTL_MS = 60_000;
const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const json = (status: number, value: unknown, headers: Record<string, string> = {}): OAuthReply => ({
  status,
  type: 'application/json',
  body: JSON.stringify(value),
  headers: { 'cache-control': 'no-store', ...headers },
});
const oauthError = (status: number, error: string, description: string) => json(status, { error, error_description: description });

/** A redirect URI the local login sends codes to: the gateway's own pages, or a loopback listener (a CLI's). */
function redirectAllowed(uri: string, gatewayHost: string | undefined): boolean {
  try {
    const u = new URL(uri);
    if (u.protocol !== 'http:' || u.hash) return false;
    return u.host === gatewayHost || u.hostname === '127.0.0.1' || u.hostname === 'localhost' || u.hostname === '[::1]';
  } catch {
    return false;
  }
}

export function localOAuth(issuer: LocalIssuer, directory: LocalDirectory, federationDeps?: FederationDeps) {
  const codes = new Map<string, Pending>();
  const federation = federationDeps ? localFederation(federationDeps) : null;
  const redirect = (location: string): OAuthReply => ({ status: 302, type: 'text/plain', body: '', headers: { location, 'cache-control': 'no-store' } });
  /** A code for the client's redirect URI, as the page gives one. */
  function issueCode(user: DemoUser, p: { clientId: string; redirectUri: string; challenge: string; state: string }, federated?: boolean): OAuthReply {
    const code = randomBytes(24).toString('base64url');
    codes.set(code, { user, federated, clientId: p.clientId, redirectUri: p.redirectUri, challenge: p.challenge, expires: Date.now() + CODE_TTL_MS });
    for (const [k, v] of codes) if (v.expires < Date.now()) codes.delete(k);
    const to = new URL(p.redirectUri);
    to.searchParams.set('code', code);
    if (p.state) to.searchParams.set('state', p.state);
    return redirect(to.toString());
  }

  /** Back from a tenant's IdP (OIDC or SAML): a code for the person the IdP vouched for, or the refusal said plainly. */
  async function signedIn(back: () => Promise<Federated>): Promise<OAuthReply> {
    try {
      const { identity, request } = await back();
      // The token's groups are those decideSignIn gave (as the pre-token trigger sets cognito:groups); like the user pool's, it carries no raw IdP groups.
      const user: DemoUser = { sub: identity.sub, email: identity.email, tenant: identity.tenant, groups: identity.groups };
      return issueCode(user, request, true);
    } catch (err) {
      if (err instanceof FederationRefused) return oauthError(400, 'access_denied', `Sign-in refused: ${err.message}`);
      throw err;
    }
  }

  function params(url: URL, form?: URLSearchParams) {
    const get = (k: string) => form?.get(k) ?? url.searchParams.get(k) ?? '';
    return {
      responseType: get('response_type'),
      clientId: get('client_id'),
      redirectUri: get('redirect_uri'),
      state: get('state'),
      challenge: get('code_challenge'),
      method: get('code_challenge_method'),
      scope: get('scope'),
      /** Cognito's identity_provider parameter: sign in through this tenant IdP (t-<tenant>-<kind>) */
      identityProvider: get('identity_provider'),
      /** Cognito's idp_identifier parameter: sign in through the tenant IdP whose identifiers (its email domains) hold this one */
      idpIdentifier: get('idp_identifier'),
    };
  }

  /** What makes an authorize request one the page may answer: anything else is an error shown on the page, never a redirect. */
  function check(p: ReturnType<typeof params>, host: string | undefined): string | null {
    if (p.responseType !== 'code') return 'response_type must be code';
    if (p.clientId !== issuer.audience) return `unknown client_id (the local app client is ${issuer.audience})`;
    if (!redirectAllowed(p.redirectUri, host)) return 'redirect_uri must be this stack’s own address or a loopback address';
    if (p.method !== 'S256' || !/^[A-Za-z0-9_-]{43}$/.test(p.challenge))
      return 'PKCE is required: code_challenge (S256, base64url of 32 bytes) and code_challenge_method=S256';
    return null;
  }

  function page(p: ReturnType<typeof params>): OAuthReply {
    const users = directory.signInUsers();
    const hidden = Object.entries({
      response_type: p.responseType,
      client_id: p.clientId,
      redirect_uri: p.redirectUri,
      state: p.state,
      code_challenge: p.challenge,
      code_challenge_method: p.method,
      scope: p.scope,
    })
      .map(([k, v]) => `<input type="hidden" name="${k}" value="${esc(v)}">`)
      .join('');
    const rows = users
      .map(
        (u) =>
          `<li><button type="submit" name="email" value="${esc(u.email)}"><span class="who">${esc(u.email)}</span><span class="what">${esc(u.tenant)} · ${esc(u.idpGroups ? `IdP groups: ${u.idpGroups.join(', ') || 'none'}` : u.groups.join(', ') || 'no role')}</span></button></li>`,
      )
      .join('');
    const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Sign in · Stageline (local)</title><style>${STYLE}</style></head>
<body><main><h1>Sign in to Stageline</h1><p>Local stack: choose who you are. On AWS this page is Cognito's managed login (email and password).</p>
<form method="post" action="/dev/oauth2/authorize">${hidden}<ul>${rows}</ul></form></main></body></html>`;
    return {
      status: 200,
      type: 'text/html; charset=utf-8',
      body: html,
      headers: {
        'cache-control': 'no-store',
        'content-security-policy': `default-src 'none'; style-src 'sha256-${createHash('sha256').update(STYLE).digest('base64')}'; form-action 'self' http://127.0.0.1:* http://localhost:*; frame-ancestors 'none'`,
        'x-frame-options': 'DENY',
      },
    };
  }

  async function token(form: URLSearchParams): Promise<OAuthReply> {
    if (form.get('grant_type') !== 'authorization_code') return oauthError(400, 'unsupported_grant_type', 'grant_type must be authorization_code');
    const code = form.get('code') ?? '';
    const pending = codes.get(code);
    codes.delete(code); // single use, whatever happens next
    if (!pending || pending.expires < Date.now()) return oauthError(400, 'invalid_grant', 'the code is unknown, used or expired');
    if (form.get('client_id') !== pending.clientId || form.get('redirect_uri') !== pending.redirectUri)
      return oauthError(400, 'invalid_grant', 'client_id and redirect_uri must be those of the authorize request');
    const verifier = form.get('code_verifier') ?? '';
    if (createHash('sha256').update(verifier).digest('base64url') !== pending.challenge)
      return oauthError(400, 'invalid_grant', 'code_verifier does not match the code_challenge');
    // Removed or signed out (demoted) since the code was issued: the code is void, as Cognito's session is; otherwise the token says who they are now.
    const out = directory.signedOutAt(pending.user.tenant, pending.user.sub);
    // A federated person is who their IdP said a moment ago (not looked up by email: the local directory is not their IdP).
    const user = pending.federated ? pending.user : directory.signInAs(pending.user.email);
    if (!user || (out && Date.parse(out) >= pending.expires - CODE_TTL_MS))
      return oauthError(400, 'invalid_grant', 'the user was removed or signed out after this code was issued');
    const idToken = await issuer.sign(user, { expiresIn: '1h' });
    return json(200, { id_token: idToken, access_token: idToken, token_type: 'Bearer', expires_in: 3600 });
  }

  return async (method: string, url: URL, body: Buffer, host: string | undefined): Promise<OAuthReply | null> => {
    if (url.pathname === '/dev/oauth2/authorize') {
      const form = method === 'POST' ? new URLSearchParams(body.toString('utf8')) : undefined;
      const p = params(url, form);
      const problem = check(p, host);
      if (problem) return oauthError(400, 'invalid_request', `Sign-in request refused: ${problem}`);
      if (method !== 'GET' && method !== 'POST') return oauthError(405, 'invalid_request', 'GET the page or POST the form');
      // Federation: the tenant's IdP named (Cognito's identity_provider), the IdP an identifier routes to (idp_identifier:
      // an email domain a connection holds), or the IdP an email's domain routes to.
      const email = form?.get('email') ?? '';
      if (federation && (p.identityProvider || p.idpIdentifier || email)) {
        const conn = p.identityProvider
          ? await connectionNamed(federationDeps!.store, p.identityProvider)
          : p.idpIdentifier
            ? await providerForDomain(federationDeps!.store, p.idpIdentifier)
            : directory.signInAs(email)
              ? null
              : await providerForEmail(federationDeps!.store, email);
        if (p.identityProvider && !conn) return oauthError(400, 'invalid_request', `Sign-in request refused: no identity provider ${p.identityProvider}`);
        // As Cognito: an identifier no provider holds is an error, and says nothing of who holds what.
        if (p.idpIdentifier && !conn) return oauthError(400, 'invalid_request', 'Sign-in request refused: no identity provider for that identifier');
        if (conn) {
          try {
            const onward = await federation.start(conn, p, host);
            if ('redirect' in onward) return redirect(onward.redirect);
            // SAML's HTTP-POST binding: a page that posts the AuthnRequest to the IdP.
            return {
              status: 200,
              type: 'text/html; charset=utf-8',
              body: onward.html,
              headers: { 'cache-control': 'no-store', 'x-frame-options': 'DENY', 'content-security-policy': "frame-ancestors 'none'" },
            };
          } catch (err) {
            return oauthError(400, 'invalid_request', `Sign-in through ${conn.providerName} refused: ${err instanceof Error ? err.message : String(err)}`);
          }
        }
      }
      if (method === 'GET') return page(p);
      const user = directory.signInAs(email);
      if (!user) return page(p);
      return issueCode(user, p);
    }
    if (url.pathname === '/dev/oauth2/idpresponse' && federation) {
      if (method !== 'GET') return oauthError(405, 'invalid_request', 'the identity provider answers with GET');
      return signedIn(() => federation.callback(url, host));
    }
    if (url.pathname === '/dev/saml2/idpresponse' && federation) {
      // The SAML assertion consumer service (Cognito's /saml2/idpresponse): the IdP's HTTP-POST binding.
      if (method !== 'POST') return oauthError(405, 'invalid_request', 'the identity provider posts its SAML Response (HTTP-POST binding)');
      return signedIn(() => federation.samlCallback(new URLSearchParams(body.toString('utf8')), host));
    }
    if (url.pathname === '/dev/oauth2/token') {
      if (method !== 'POST') return oauthError(405, 'invalid_request', 'POST the form');
      return token(new URLSearchParams(body.toString('utf8')));
    }
    if (url.pathname === '/dev/logout') {
      // Cognito's /logout?client_id=…&logout_uri=…: there is no session to end locally; back to the app.
      const back = url.searchParams.get('logout_uri') ?? '/';
      return { status: 302, type: 'text/plain', body: '', headers: { location: redirectAllowed(back, host) ? back : '/' } };
    }
    return null;
  };
}

const STYLE = `body{font:16px/1.5 system-ui,sans-serif;margin:0;background:#f6f7f9;color:#1b1f24}main{max-width:28rem;margin:3rem auto;padding:0 1rem}h1{font-size:1.4rem}ul{list-style:none;padding:0}li{margin:.4rem 0}button{width:100%;text-align:left;padding:.7rem .9rem;border:1px solid #c9ced6;border-radius:6px;background:#fff;font:inherit;cursor:pointer;display:flex;flex-direction:column}button:hover,button:focus-visible{border-color:#1f6feb;outline:2px solid #1f6feb}.what{color:#57606a;font-size:.875rem}@media (prefers-color-scheme:dark){body{background:#0d1117;color:#e6edf3}button{background:#161b22;color:#e6edf3;border-color:#30363d}.what{color:#9da7b3}}`;
