import * as oauth from 'oauth4webapi';

/**
 * Signing in: OAuth 2.0 authorization code + PKCE against the endpoints GET /api/v1/auth/config
 * names (the user pool's managed login on AWS, the local stack's stand-in locally, where one picks a
 * demo user): the same code path in both. The ID token is kept in this tab's sessionStorage only.
 */
const TOKEN = 'stageline.console.token';
const PENDING = 'stageline.console.pending';

export interface Session {
  token: string;
  email: string;
  tenant: string;
  groups: string[];
  expiresAt: number;
}

type Listener = (why: 'expired' | 'signed-out' | 'signed-in') => void;
const listeners = new Set<Listener>();
export const onSession = (l: Listener) => {
  listeners.add(l);
  return () => listeners.delete(l);
};

function claims(jwt: string): Record<string, unknown> {
  try {
    return JSON.parse(atob((jwt.split('.')[1] ?? '').replace(/-/g, '+').replace(/_/g, '/')));
  } catch {
    return {};
  }
}

export function sessionOf(token: string): Session | null {
  const c = claims(token);
  if (typeof c.exp !== 'number') return null;
  const groups = Array.isArray(c['cognito:groups']) ? (c['cognito:groups'] as string[]) : [];
  return {
    token,
    email: String(c.email ?? c['cognito:username'] ?? c.sub ?? ''),
    tenant: String(c['custom:tenant_id'] ?? ''),
    groups,
    expiresAt: c.exp * 1000,
  };
}

export function session(): Session | null {
  const token = sessionStorage.getItem(TOKEN);
  if (!token) return null;
  const s = sessionOf(token);
  if (!s || s.expiresAt <= Date.now()) return null;
  return s;
}

export function signedOut(why: 'expired' | 'signed-out'): void {
  sessionStorage.removeItem(TOKEN);
  for (const l of listeners) l(why);
}

/** Whether this session may take an action needing `role` (admins may do everything, as the API decides). */
export const may = (s: Session | null, role: 'viewer' | 'deployer' | 'approver' | 'admin') => !!s && (s.groups.includes('admin') || s.groups.includes(role));

interface LoginConfig {
  issuer: string;
  clientId: string;
  authorizationEndpoint: string;
  tokenEndpoint: string;
  logoutEndpoint: string;
  scopes: string[];
  idTokenSigningAlg: string;
  /** true on the local stack alone: see takeFragmentToken */
  fragmentSignIn?: boolean;
  /** with ?email= only: the idp_identifier that routes the sign-in to the company's identity provider (its domain), or null */
  idpIdentifier?: string | null;
}

let config: Promise<LoginConfig> | null = null;
/** Where people sign in (GET /api/v1/auth/config): also what Settings → Identity provider shows the IdP's admin. */
export const loginConfig = () => (config ??= fetch('api/v1/auth/config', { credentials: 'omit' }).then((r) => r.json() as Promise<LoginConfig>));
/** The console's own address without query or fragment: the redirect URI the app client registers. */
const home = () => `${location.origin}${location.pathname}`;
const insecureLocal = (url: string) => ({
  [oauth.allowInsecureRequests]: new URL(url).protocol === 'http:' && /^(127\.0\.0\.1|localhost|\[::1\])$/.test(new URL(url).hostname),
});

/**
 * Signs in: with `email`, through the identity provider connected for its domain (GET /api/v1/auth/config?email=).
 * Answers why not (a malformed address, no connection for the domain) instead of leaving the page; else it leaves.
 */
export async function signIn(email?: string): Promise<string | void> {
  const cfg = await loginConfig();
  let provider: string | null = null;
  if (email !== undefined) {
    const r = await fetch(`api/v1/auth/config?${new URLSearchParams({ email })}`, { credentials: 'omit' }).catch(() => null);
    if (!r) return 'The network failed: try again.';
    const body = await r.json().catch(() => null);
    if (r.status === 400) return `That email ${body?.error?.issues?.[0]?.message ?? 'is not an email address'}.`;
    if (!r.ok) return `Sign-in is not available (${r.status}): try again.`;
    provider = typeof body?.idpIdentifier === 'string' ? body.idpIdentifier : null;
    if (!provider) return `No company sign-in is set up for ${email.trim().toLowerCase().split('@').pop()}: use Sign in, or ask your admin.`;
  }
  const verifier = oauth.generateRandomCodeVerifier();
  const state = oauth.generateRandomState();
  sessionStorage.setItem(PENDING, JSON.stringify({ verifier, state, back: location.hash }));
  const url = new URL(cfg.authorizationEndpoint);
  for (const [k, v] of Object.entries({
    response_type: 'code',
    client_id: cfg.clientId,
    redirect_uri: home(),
    scope: cfg.scopes.join(' '),
    code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    ...(provider ? { idp_identifier: provider } : {}),
  }))
    url.searchParams.set(k, v);
  location.assign(url.toString());
}

/** Back from the sign-in page (?code=…&state=…): the code for an ID token; the address is cleaned. */
export async function completeSignIn(): Promise<string | null> {
  const here = new URL(location.href);
  if (!here.searchParams.has('code') && !here.searchParams.has('error')) return null;
  const pending = JSON.parse(sessionStorage.getItem(PENDING) ?? 'null') as { verifier: string; state: string; back: string } | null;
  sessionStorage.removeItem(PENDING);
  history.replaceState(null, '', `${home()}${pending?.back ?? ''}`);
  if (!pending) return 'The sign-in came back without being started here: sign in again.';
  const cfg = await loginConfig();
  const as: oauth.AuthorizationServer = { issuer: cfg.issuer, authorization_endpoint: cfg.authorizationEndpoint, token_endpoint: cfg.tokenEndpoint };
  const client: oauth.Client = { client_id: cfg.clientId, id_token_signed_response_alg: cfg.idTokenSigningAlg };
  try {
    const params = oauth.validateAuthResponse(as, client, here, pending.state);
    const response = await oauth.authorizationCodeGrantRequest(as, client, oauth.None(), params, home(), pending.verifier, insecureLocal(cfg.tokenEndpoint));
    const result = await oauth.processAuthorizationCodeResponse(as, client, response, { requireIdToken: true });
    if (!result.id_token) return 'The sign-in gave no ID token.';
    sessionStorage.setItem(TOKEN, result.id_token);
    for (const l of listeners) l('signed-in');
    return null;
  } catch (e) {
    return `The sign-in failed: ${(e as Error).message}`;
  }
}

/**
 * A token handed over in the fragment (#token=…, automation and the local tokens file): kept like a
 * signed-in one on the local stack only (its sign-in configuration says so: fragmentSignIn). Anywhere
 * else it is dropped, unread: a link carrying someone's token would sign whoever opens it in as them
 * (login CSRF), so only the authorization code flow, started from this tab, signs in. Either way the
 * token leaves the address (and the history) at once.
 */
export async function takeFragmentToken(): Promise<void> {
  const m = /(?:^#|&)token=([^&]+)/.exec(location.hash);
  if (!m) return;
  history.replaceState(null, '', `${home()}#/`);
  const cfg = await loginConfig().catch(() => null);
  if (cfg?.fragmentSignIn === true) sessionStorage.setItem(TOKEN, decodeURIComponent(m[1]!));
}

export async function signOut(): Promise<void> {
  const cfg = await loginConfig();
  signedOut('signed-out');
  const url = new URL(cfg.logoutEndpoint);
  url.searchParams.set('client_id', cfg.clientId);
  url.searchParams.set('logout_uri', home());
  location.assign(url.toString());
}
