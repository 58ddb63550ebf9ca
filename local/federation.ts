import { randomBytes } from 'node:crypto';
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
import { decideSignIn, signInRecordOf, type SignInAttempt } from '../domain/access/sign-in.ts';
import type { TenantRepo } from '../domain/access/ports.ts';
import type { ScimStorePort } from '../domain/access/scim-model.ts';
import type { XmlElement } from '@xmldom/xmldom/lib/index.js';
import type { SecretResolver } from '../domain/kernel/ports.ts';
import type { CommitPort } from '../domain/kernel/deps.ts';
import { discoverOidc, headersOf, parseSamlMetadata } from '../functions/adapters/federation.ts';
import { guardedFetch, readLimited } from '../functions/adapters/outbound.ts';

/**
 * The local issuer as a relying party of a tenant's identity provider, as Cognito's user pool is on AWS:
 * the authorize page sends a person of a federated tenant to the tenant's IdP (OIDC: authorization code +
 * PKCE + nonce through oauth4webapi, every request through the outbound rules), takes the answer at
 * /dev/oauth2/idpresponse (Cognito's is /oauth2/idpresponse), checks the ID token (oauth4webapi's claims
 * checks, and its signature against the IdP's keys), and gives the person the identity decideSignIn
 * (domain/access/sign-in.ts, the decision the user pool's pre-token trigger takes on AWS) says: the tenant is
 * the connection's, whatever the IdP asserts. Every sign-in is audited with the IdP's subject.
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

interface SamlStarted {
  tenant: string;
  version: number;
  /** the AuthnRequest's ID: the Response must say InResponseTo this, once */
  requestId: string;
  request: AuthorizeRequest;
  expires: number;
}

/** What the authorize page answers to send the person to their IdP: a redirect, or (SAML HTTP-POST binding) a page that posts the AuthnRequest. */
export type Onward = { redirect: string } | { html: string };

export interface FederationDeps {
  store: Pick<IdentityProviderRepo, 'getIdentityProvider' | 'domainHolder'> &
    Pick<TenantRepo, 'getGroupMapping'> &
    Pick<ScimStorePort, 'listScimRecords'> &
    CommitPort;
  secrets: SecretResolver;
  clock: () => Date;
}

export type Federated = { identity: FederatedIdentity; request: AuthorizeRequest };

/** How long a person has at their IdP before the sign-in must start again. */
const STARTED_TTL_MS = 10 * 60_000;
/** How far the IdP's clock may be from ours when its assertion's NotBefore / NotOnOrAfter are read. */
export const SAML_CLOCK_SKEW_MS = 60_000;

/**
 * The local service provider's entity id for a tenant's SAML connection: the audience its IdP must
 * address assertions to (on AWS it is the user pool's, urn:amazon:cognito:sp:<user pool id>).
 */
export const localSpEntityId = (tenant: string) => `urn:stageline:local:sp:${tenant}`;
/** The local assertion consumer service (Cognito's is https://<user pool domain>/saml2/idpresponse). */
export const localAcsUrl = (host: string | undefined) => `http://${host ?? '127.0.0.1'}/dev/saml2/idpresponse`;

/** The attributes an IdP sends the email address in, after the connection's own (Entra ID, Okta, Google Workspace, the OID). */
const EMAIL_ATTRIBUTES = ['email', 'mail', 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress', 'urn:oid:0.9.2342.19200300.100.1.3'];
const EMAIL_NAMEID = 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress';

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

  /** Sends the person to the connection's IdP: where to (a redirect, or a page that posts a SAML AuthnRequest). */
  async function start(conn: IdentityProviderConnection, request: AuthorizeRequest, host: string | undefined): Promise<Onward> {
    if (conn.kind === 'saml') return samlStart(conn, request, host);
    return { redirect: await oidcStart(conn, request, host) };
  }

  async function oidcStart(conn: IdentityProviderConnection, request: AuthorizeRequest, host: string | undefined): Promise<string> {
    if (!conn.oidc) throw new FederationRefused(`the connection ${conn.providerName} has no OIDC settings`);
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
    const identity = await decided(conn, String(claims.sub ?? ''), { email: claims.email, claimGroups: claims[conn.groupsClaim] });
    return { identity, request: pending.request };
  }

  /** The IdP's answer, checked: what decideSignIn makes of it with the tenant's stored facts, audited. */
  async function decided(conn: IdentityProviderConnection, subject: string, asserted: Omit<SignInAttempt, 'provider'>): Promise<FederatedIdentity> {
    const record = await signInRecordOf(deps.store, conn, asserted.email);
    const identity = federatedIdentity(conn, subject, decideSignIn({ provider: conn.providerName, ...asserted }, record));
    await deps.store.commit(identity.tenant, [{ kind: 'audit', entry: signInEntry(identity, deps.clock()) }]);
    return identity;
  }

  const samlStarted = new Map<string, SamlStarted>();
  const samlLib = () => import('@node-saml/node-saml');

  /**
   * node-saml for one connection: the IdP's signing certificates and entity id from its metadata, the
   * tenant's SP entity id as issuer and audience, our ACS as the callback. InResponseTo is always required
   * and looked up in `pending` (the one request this answer may continue). node-saml reads the wall clock
   * for times, so its own time checks are off (-1) and checkTimes reads the stack's clock instead.
   */
  async function samlFor(conn: IdentityProviderConnection, host: string | undefined, pending: { id: string; at: string } | null) {
    const { SAML, ValidateInResponseTo } = await samlLib();
    const meta = await parseSamlMetadata(conn.saml!.metadataXml, 'saml.metadataXml');
    const saml = new SAML({
      entryPoint: meta.ssoUrl,
      issuer: localSpEntityId(conn.tenant),
      audience: localSpEntityId(conn.tenant),
      callbackUrl: localAcsUrl(host),
      idpCert: meta.certificates.map((c) => `-----BEGIN CERTIFICATE-----\n${c.match(/.{1,64}/g)!.join('\n')}\n-----END CERTIFICATE-----`),
      // node-saml holds only logout messages to idpIssuer: the assertion's Issuer is decideSignIn's to check.
      idpIssuer: meta.entityId,
      wantAssertionsSigned: true,
      wantAuthnResponseSigned: false,
      identifierFormat: null,
      disableRequestedAuthnContext: true,
      acceptedClockSkewMs: -1,
      validateInResponseTo: ValidateInResponseTo.always,
      requestIdExpirationPeriodMs: Number.MAX_SAFE_INTEGER,
      generateUniqueId: () => pending?.id ?? `_${randomBytes(20).toString('hex')}`,
      cacheProvider: {
        saveAsync: async (key: string, value: string) => (pending && key === pending.id ? { value, createdAt: Date.now() } : null),
        getAsync: async (key: string) => (pending && key === pending.id ? pending.at : null),
        removeAsync: async (key: string | null) => (pending && key === pending.id ? pending.at : null),
      },
    });
    return { saml, meta };
  }

  async function samlStart(conn: IdentityProviderConnection, request: AuthorizeRequest, host: string | undefined): Promise<Onward> {
    if (!conn.saml) throw new FederationRefused(`the connection ${conn.providerName} has no SAML metadata`);
    const requestId = `_${randomBytes(20).toString('hex')}`;
    const relayState = randomBytes(24).toString('base64url');
    const { saml, meta } = await samlFor(conn, host, { id: requestId, at: new Date().toISOString() });
    const now = deps.clock().getTime();
    for (const [k, v] of samlStarted) if (v.expires < now) samlStarted.delete(k);
    samlStarted.set(relayState, { tenant: conn.tenant, version: conn.version, requestId, request, expires: now + STARTED_TTL_MS });
    if (meta.ssoBinding === 'redirect') return { redirect: await saml.getAuthorizeUrlAsync(relayState, host, {}) };
    return { html: await saml.getAuthorizeFormAsync(relayState, host, {}) };
  }

  /**
   * The IdP's SAML Response, posted to the ACS: continues the sign-in its RelayState names (once: a
   * replayed Response finds nothing), checked by node-saml (the assertion's signature against the
   * metadata's certificates, the audience = this tenant's SP entity id, InResponseTo = the
   * AuthnRequest we sent), here (Destination and Recipient = our ACS, the times on the stack's clock) and
   * by decideSignIn (the assertion's Issuer = the metadata's entity id, the email's domain, deprovisioned people).
   */
  async function samlCallback(form: URLSearchParams, host: string | undefined): Promise<Federated> {
    const relayState = form.get('RelayState') ?? '';
    const response = form.get('SAMLResponse') ?? '';
    const pending = samlStarted.get(relayState);
    samlStarted.delete(relayState); // single use, whatever happens next
    if (!response) throw new FederationRefused('the identity provider posted no SAMLResponse');
    if (!pending || pending.expires < deps.clock().getTime())
      throw new FederationRefused('this sign-in is unknown, used or expired (a SAML Response is taken once, for the request it answers): start again');
    const conn = await deps.store.getIdentityProvider(pending.tenant);
    if (!conn?.saml || conn.version !== pending.version)
      throw new FederationRefused('the identity provider connection changed during the sign-in: start again');
    const { saml } = await samlFor(conn, host, { id: pending.requestId, at: new Date().toISOString() });
    let profile: Record<string, unknown>;
    try {
      const out = await saml.validatePostResponseAsync({ SAMLResponse: response });
      if (!out.profile) throw new Error('the Response carries no assertion');
      profile = out.profile as unknown as Record<string, unknown>;
      await checkSamlResponse(response, (profile.getAssertionXml as () => string)(), pending.requestId, localAcsUrl(host), deps.clock().getTime());
    } catch (err) {
      throw new FederationRefused(`the identity provider's SAML Response does not hold: ${err instanceof Error ? err.message : String(err)}`);
    }
    const attributes = (profile.attributes ?? {}) as Record<string, unknown>;
    const nameId = String(profile.nameID ?? '');
    const fromAttributes = EMAIL_ATTRIBUTES.map((a) => attributes[a]).find((v) => typeof v === 'string' && v.includes('@')) as string | undefined;
    const email = fromAttributes ?? (profile.nameIDFormat === EMAIL_NAMEID ? nameId : undefined);
    // The Issuer of the assertion node-saml verified the signature of (none: null): decideSignIn holds it to the metadata's entity id.
    const issuer = typeof profile.issuer === 'string' && profile.issuer ? profile.issuer : null;
    const identity = await decided(conn, nameId, { email, samlIssuer: issuer, claimGroups: attributes[conn.groupsClaim] });
    return { identity, request: pending.request };
  }

  return { start, callback, samlCallback };
}

/**
 * What node-saml leaves to its caller: the Response's Destination and the bearer confirmation's Recipient
 * must be our ACS (an answer meant for another service provider is not ours to take), its InResponseTo our
 * request, and the assertion's times (Conditions and the bearer confirmation) hold on the stack's clock.
 * `assertionXml` is the assertion whose signature node-saml verified: only what it says is trusted.
 */
export async function checkSamlResponse(responseB64: string, assertionXml: string, requestId: string, acs: string, nowMs: number): Promise<void> {
  const { DOMParser } = await import('@xmldom/xmldom/lib/index.js');
  const SAMLP = 'urn:oasis:names:tc:SAML:2.0:protocol';
  const SAML = 'urn:oasis:names:tc:SAML:2.0:assertion';
  const parse = (xml: string): XmlElement => {
    const root = new DOMParser().parseFromString(xml, 'text/xml')?.documentElement;
    if (!root) throw new Error('not an XML document');
    return root;
  };
  const response = parse(Buffer.from(responseB64, 'base64').toString('utf8'));
  if (response.localName !== 'Response' || response.namespaceURI !== SAMLP) throw new Error('not a SAML 2.0 Response');
  const destination = response.getAttribute('Destination');
  if (destination && destination !== acs) throw new Error(`the Response is for ${destination}, not this service provider's ACS ${acs}`);
  if (response.getAttribute('InResponseTo') !== requestId) throw new Error('the Response does not answer the request this sign-in sent');
  const assertion = parse(assertionXml);
  const time = (el: XmlElement, attr: string) => {
    const v = el.getAttribute(attr);
    if (!v) return null;
    const ms = Date.parse(v);
    if (Number.isNaN(ms)) throw new Error(`${el.localName}@${attr} is not a time: ${v}`);
    return ms;
  };
  const window = (el: XmlElement, what: string) => {
    const notBefore = time(el, 'NotBefore');
    const notOnOrAfter = time(el, 'NotOnOrAfter');
    if (notBefore !== null && nowMs + SAML_CLOCK_SKEW_MS < notBefore) throw new Error(`${what} is not valid yet (NotBefore ${el.getAttribute('NotBefore')})`);
    if (notOnOrAfter !== null && nowMs - SAML_CLOCK_SKEW_MS >= notOnOrAfter)
      throw new Error(`${what} has expired (NotOnOrAfter ${el.getAttribute('NotOnOrAfter')})`);
  };
  const conditions = Array.from(assertion.getElementsByTagNameNS(SAML, 'Conditions'));
  if (conditions.length !== 1) throw new Error('the assertion must carry one Conditions element');
  if (!conditions[0]!.getAttribute('NotOnOrAfter')) throw new Error('the assertion’s Conditions name no NotOnOrAfter');
  window(conditions[0]!, 'the assertion');
  const bearer = Array.from(assertion.getElementsByTagNameNS(SAML, 'SubjectConfirmation')).filter(
    (c) => c.getAttribute('Method') === 'urn:oasis:names:tc:SAML:2.0:cm:bearer',
  );
  const data = bearer.flatMap((c) => Array.from(c.getElementsByTagNameNS(SAML, 'SubjectConfirmationData')));
  if (!data.length) throw new Error('the assertion has no bearer SubjectConfirmationData');
  const problems: string[] = [];
  for (const d of data) {
    try {
      if (d.getAttribute('Recipient') !== acs) throw new Error(`the assertion's Recipient is ${d.getAttribute('Recipient') ?? 'missing'}, not our ACS ${acs}`);
      if (d.getAttribute('InResponseTo') !== requestId) throw new Error('the assertion does not answer the request this sign-in sent');
      if (!d.getAttribute('NotOnOrAfter')) throw new Error('the bearer confirmation names no NotOnOrAfter');
      window(d, 'the bearer confirmation');
      return;
    } catch (err) {
      problems.push((err as Error).message);
    }
  }
  throw new Error(problems.join('; '));
}
