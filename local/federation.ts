import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose';
import {
  federatedIdentity,
  FederationRefused,
  IDP_SECRET_PURPOSE,
  signInEntry,
  type FederatedIdentity,
  type IdentityProviderConnection,
  type IdentityProviderRepo,
} from '../domain/access/federation.ts';
import type { SecretResolver } from '../domain/kernel/ports.ts';
import type { CommitPort } from '../domain/kernel/deps.ts';
import { discoverOidc, headersOf } from '../functions/adapters/federation.ts';
import { guardedFetch, readLimited } from '../functions/adapters/outbound.ts';

/**
 * The local issuer as a relying party of a tenant's identity provider, as Cognito's user pool is on AWS:
 * the authorize page sends a person of a federated tenant to the tenant's IdP (OIDC: authorization code +
 * PKCE + nonce through oauth4webapi, every request through the outbound rules), takes the answer at
 * /dev/oauth2/idpresponse (Cognito's is /oauth2/idpresponse), checks the ID token (oauth4webapi's claims
 * checks, and its signature against the IdP's keys), and gives the person the identity federatedIdentity
 * says: the tenant is the connection's, whatever the IdP asserts. Every sign-in is audited with the IdP's subject.
 */
export interface AuthorizeRequest {
  clientId: string;
  redirectUri: string;
  state: string;
  challenge: string;
}

interface Started {
  tenant: string;
  version: number;
  verifier: string;
  nonce: string;
  request: AuthorizeRequest;
  expires: number;
}

export interface FederationDeps {
  store: Pick<IdentityProviderRepo, 'getIdentityProvider' | 'domainHolder'> & CommitPort;
  secrets: SecretResolver;
  clock: () => Date;
}

export type Federated = { identity: FederatedIdentity; request: AuthorizeRequest };

/** How long a person has at their IdP before the sign-in must start again. */
const STARTED_TTL_MS = 10 * 60_000;

/** The connection an `identity_provider` names (t-<tenant>-<kind>): the tenant is read from the name, the name checked against the tenant's connection. */
export async function connectionNamed(store: FederationDeps['store'], name: string): Promise<IdentityProviderConnection | null> {
  const m = /^t-([a-z][a-z0-9-]{1,39})-(oidc|saml)$/.exec(name);
  if (!m) return null;
  const conn = await store.getIdentityProvider(m[1]!);
  return conn?.providerName === name ? conn : null;
}

export function localFederation(deps: FederationDeps) {
  const started = new Map<string, Started>();
  const oauthLib = () => import('oauth4webapi');
  const fetchOptions = async (url: string) => {
    const oauth = await oauthLib();
    return {
      [oauth.customFetch]: (input: string, init: RequestInit) =>
        guardedFetch(input, {
          method: init.method,
          headers: headersOf(init.headers),
          body: init.body instanceof URLSearchParams ? init.body.toString() : (init.body as string | undefined),
        }),
      [oauth.allowInsecureRequests]: url.startsWith('http:'),
    };
  };
  const callbackUrl = (host: string | undefined) => `http://${host ?? '127.0.0.1'}/dev/oauth2/idpresponse`;

  /** Sends the person to the connection's IdP: the URL to redirect to. */
  async function start(conn: IdentityProviderConnection, request: AuthorizeRequest, host: string | undefined): Promise<string> {
    if (conn.kind !== 'oidc' || !conn.oidc) throw new FederationRefused(`the ${conn.kind} connection ${conn.providerName} does not sign in locally yet`);
    const oauth = await oauthLib();
    const as = await discoverOidc(conn.oidc.issuer);
    const verifier = oauth.generateRandomCodeVerifier();
    const state = oauth.generateRandomState();
    const nonce = oauth.generateRandomNonce();
    const now = deps.clock().getTime();
    for (const [k, v] of started) if (v.expires < now) started.delete(k);
    started.set(state, { tenant: conn.tenant, version: conn.version, verifier, nonce, request, expires: now + STARTED_TTL_MS });
    const to = new URL(as.authorization_endpoint!);
    to.searchParams.set('client_id', conn.oidc.clientId);
    to.searchParams.set('redirect_uri', callbackUrl(host));
    to.searchParams.set('response_type', 'code');
    to.searchParams.set('scope', 'openid email profile');
    to.searchParams.set('state', state);
    to.searchParams.set('nonce', nonce);
    to.searchParams.set('code_challenge', await oauth.calculatePKCECodeChallenge(verifier));
    to.searchParams.set('code_challenge_method', 'S256');
    return to.toString();
  }

  /** The IdP's answer: the identity it gives, with the authorize request it continues. FederationRefused when anything does not hold. */
  async function callback(url: URL, host: string | undefined): Promise<Federated> {
    const state = url.searchParams.get('state') ?? '';
    const pending = started.get(state);
    started.delete(state); // single use, whatever happens next
    if (!pending || pending.expires < deps.clock().getTime()) throw new FederationRefused('this sign-in is unknown, used or expired: start again');
    const conn = await deps.store.getIdentityProvider(pending.tenant);
    if (!conn?.oidc || conn.version !== pending.version)
      throw new FederationRefused('the identity provider connection changed during the sign-in: start again');
    const oauth = await oauthLib();
    const as = await discoverOidc(conn.oidc.issuer);
    const client = { client_id: conn.oidc.clientId };
    let params: URLSearchParams;
    try {
      params = oauth.validateAuthResponse(as, client, url.searchParams, state);
    } catch (err) {
      throw new FederationRefused(`the identity provider refused the sign-in: ${err instanceof Error ? err.message : String(err)}`);
    }
    const secret = await deps.secrets.resolve(conn.tenant, conn.oidc.clientSecret, IDP_SECRET_PURPOSE);
    if (!secret) throw new FederationRefused(`the tenant secret ${conn.oidc.clientSecret} is gone`);
    const opts = await fetchOptions(conn.oidc.issuer);
    let claims: Record<string, unknown>;
    try {
      const res = await oauth.authorizationCodeGrantRequest(as, client, oauth.ClientSecretBasic(secret), params, callbackUrl(host), pending.verifier, opts);
      const tokens = await oauth.processAuthorizationCodeResponse(as, client, res, { expectedNonce: pending.nonce, requireIdToken: true });
      claims = { ...oauth.getValidatedIdTokenClaims(tokens)! };
      // The signature too, against the IdP's own keys (read through the outbound rules): the claims above are the token's.
      const jwks = JSON.parse(await readLimited(await guardedFetch(as.jwks_uri!), 256 * 1024)) as JSONWebKeySet;
      await jwtVerify(tokens.id_token!, createLocalJWKSet(jwks), { issuer: as.issuer, audience: conn.oidc.clientId });
    } catch (err) {
      throw new FederationRefused(`the identity provider's answer does not hold: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (claims.email_verified === false) throw new FederationRefused('the identity provider says the email address is not verified');
    const identity = federatedIdentity(conn, {
      subject: String(claims.sub ?? ''),
      email: claims.email as string | undefined,
      groups: claims[conn.groupsClaim],
    });
    await deps.store.commit(identity.tenant, [{ kind: 'audit', entry: signInEntry(identity, deps.clock()) }]);
    return { identity, request: pending.request };
  }

  return { start, callback };
}
