import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { inflateRawSync } from 'node:zlib';
import type { PreTokenGenerationV2TriggerEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { DynamoDBDocumentClient, GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import Provider from 'oidc-provider';
import { afterAll, afterEach, beforeAll, beforeEach, expect } from 'vitest';
import { keys } from '../../functions/adapters/keys.ts';
import { uniquesOf, type ScimRecord } from '../../domain/access/scim-model.ts';
import type { TestStack } from './stack.ts';

/**
 * Signing in through a tenant's identity provider, on both sides, for the federation tests:
 * - the local stack: a real OpenID Connect provider (panva's oidc-provider) and a real SAML IdP (samlify,
 *   signing with a fixed test key pair), each in-process on a loopback port, and the browser's part of a
 *   sign-in through the local authorize page, the IdP and back (`oidcSignIn`, `samlStart` / `samlFinish`);
 * - AWS: the user pool's pre-token-generation event (`preTokenEvent`) and the table as the trigger reads it
 *   (`useTriggerTable`, aws-sdk-client-mock).
 * Both answer a sign-in the same way: `{ token }` (the claims as decoded) or `{ refused }` (why).
 */

export type SignedIn = { token: string; refused?: undefined } | { refused: string; token?: undefined };

// ---------------------------------------------------------------------------------------------
// OpenID Connect

export interface OidcAccount {
  email?: string;
  groups: string[];
  extra?: Record<string, unknown>;
}

export interface TestOidcIdp {
  issuer: string;
  accounts: Map<string, OidcAccount>;
  /** who the next login at this IdP is */
  as: string;
  close(): Promise<void>;
}

/** The client secret the test IdP knows Stageline by (client id `stageline`). */
export const OIDC_SECRET = 'idp-client-secret-value';

export async function startOidcIdp(redirectUri: string): Promise<TestOidcIdp> {
  const accounts = new Map<string, OidcAccount>();
  const server: Server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const idp: TestOidcIdp = { issuer, accounts, as: '', close: () => new Promise((r) => server.close(() => r())) };
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: 'stageline',
        client_secret: OIDC_SECRET,
        redirect_uris: [redirectUri],
        grant_types: ['authorization_code'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_basic',
      },
    ],
    cookies: { keys: [randomBytes(16).toString('hex')] },
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['groups', 'custom:tenant_id'] },
    conformIdTokenClaims: false,
    features: { devInteractions: { enabled: false } },
    interactions: { url: (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}` },
    async findAccount(_ctx: unknown, id: string) {
      const a = accounts.get(id);
      if (!a) return undefined;
      return { accountId: id, claims: async () => ({ sub: id, email: a.email, email_verified: true, groups: a.groups, ...a.extra }) };
    },
  });
  const callback = provider.callback();
  server.on('request', async (req: IncomingMessage, res: ServerResponse) => {
    if (!req.url?.startsWith('/interaction/')) return callback(req, res);
    // The IdP's own login and consent, answered for the person the test signs in as.
    try {
      const details = await provider.interactionDetails(req, res);
      if (details.prompt.name === 'login') {
        await provider.interactionFinished(req, res, { login: { accountId: idp.as } }, { mergeWithLastSubmission: false });
        return;
      }
      const grant = new provider.Grant({ accountId: details.session!.accountId, clientId: details.params.client_id as string });
      grant.addOIDCScope(String(details.params.scope));
      await provider.interactionFinished(req, res, { consent: { grantId: await grant.save() } }, { mergeWithLastSubmission: true });
    } catch (err) {
      res.statusCode = 500;
      res.end(String(err));
    }
  });
  return idp;
}

/**
 * A browser: follows redirects by hand (a POST answered by a redirect goes on as a GET), keeping each host's cookies
 * across its calls, until it reaches `stopAt`.
 */
export function browser() {
  const jar = new Map<string, Map<string, string>>();
  return async function go(start: string, stopAt: string, form?: URLSearchParams): Promise<{ url: string; status: number; text: string }> {
    let url = start;
    let body = form;
    for (let hop = 0; hop < 20; hop++) {
      if (url.startsWith(stopAt)) return { url, status: 302, text: '' };
      const host = new URL(url).host;
      const cookie = [...(jar.get(host) ?? new Map()).entries()].map(([k, v]) => `${k}=${v}`).join('; ');
      const res = await fetch(url, {
        method: body ? 'POST' : 'GET',
        redirect: 'manual',
        headers: { ...(cookie ? { cookie } : {}), ...(body ? { 'content-type': 'application/x-www-form-urlencoded' } : {}) },
        body: body?.toString(),
      });
      body = undefined;
      for (const c of res.headers.getSetCookie()) {
        const [pair] = c.split(';');
        const i = pair!.indexOf('=');
        if (!jar.has(host)) jar.set(host, new Map());
        jar.get(host)!.set(pair!.slice(0, i).trim(), pair!.slice(i + 1));
      }
      const location = res.headers.get('location');
      if (res.status >= 300 && res.status < 400 && location) {
        url = new URL(location, url).toString();
        continue;
      }
      return { url, status: res.status, text: await res.text() };
    }
    throw new Error('too many redirects');
  };
}

/** One visit with a browser of its own (no cookies before it). */
export const browse = (start: string, stopAt: string) => browser()(start, stopAt);

/** An authorize request of the local app client (PKCE S256), through `provider` (identity_provider) or `{ idpIdentifier }`. */
function authorizeRequest(t: TestStack, provider: string | { idpIdentifier: string }) {
  const verifier = randomBytes(32).toString('base64url');
  const back = `${t.url}/signed-in`;
  const q = new URLSearchParams({
    response_type: 'code',
    client_id: 'stageline-local',
    redirect_uri: back,
    state: 'st-1',
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
    ...(typeof provider === 'string' ? { identity_provider: provider } : { idp_identifier: provider.idpIdentifier }),
  });
  return { verifier, back, url: `${t.url}/dev/oauth2/authorize?${q}` };
}

/** The code the authorize flow ended with, exchanged at the token endpoint: the ID token. */
async function tokenFor(t: TestStack, returned: string, a: { verifier: string; back: string }): Promise<SignedIn> {
  const code = new URL(returned).searchParams.get('code')!;
  expect(new URL(returned).searchParams.get('state')).toBe('st-1');
  const res = await fetch(`${t.url}/dev/oauth2/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'authorization_code', code, client_id: 'stageline-local', redirect_uri: a.back, code_verifier: a.verifier }),
  });
  const body = (await res.json()) as { id_token: string };
  expect(res.status, JSON.stringify(body)).toBe(200);
  return { token: body.id_token };
}

/** Signs in through the local authorize page and the OIDC IdP (as whoever `idp.as` names): the token, or the page's refusal. */
export async function oidcSignIn(t: TestStack, provider: string | { idpIdentifier: string }): Promise<SignedIn> {
  const a = authorizeRequest(t, provider);
  const end = await browse(a.url, a.back);
  if (!end.url.startsWith(a.back)) return { refused: `${end.status} ${end.text}` };
  return tokenFor(t, end.url, a);
}

// ---------------------------------------------------------------------------------------------
// SAML 2.0

const fixture = (name: string) => readFileSync(new URL(`../fixtures/saml/${name}`, import.meta.url), 'utf8');
/** A private key the metadata does not name. */
export const OTHER_SAML_KEY = fixture('other-key.pem');
const REDIRECT = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect';
const POST = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST';

/**
 * samlify, loaded without its types: they import @xmldom/xmldom's, which reference the DOM library and would turn the
 * whole program's Headers and RequestInit into the browser's (functions/adapters/xmldom.d.ts). What the tests use of it:
 */
interface SamlEntity {
  getMetadata(): string;
  parseLoginRequest(sp: SamlEntity, binding: string, req: { query: Record<string, string> }): Promise<{ extract: { request: { id: string } } }>;
  createLoginResponse(
    sp: SamlEntity,
    request: unknown,
    binding: string,
    user: Record<string, string>,
    options: { relayState: string; customTagReplacement: (template: string) => { id: string; context: string } },
  ): Promise<unknown>;
}
const samlify = createRequire(import.meta.url)('samlify') as {
  setSchemaValidator(v: { validate: (xml: string) => Promise<string> }): void;
  IdentityProvider(settings: Record<string, unknown>): SamlEntity;
  ServiceProvider(settings: Record<string, unknown>): SamlEntity;
};
// The SP side (what the tests check) is node-saml's, in the stack; samlify's schema check is only the test IdP's.
samlify.setSchemaValidator({ validate: async () => 'checked by the service provider (node-saml)' });

/** What the next Response the test IdP issues says; each field overrides what a well-behaved IdP sends. */
export interface SamlNext {
  nameId: string;
  email: string;
  groups: string[];
  groupsAttribute?: string;
  audience?: string;
  recipient?: string;
  /** the times, relative to the stack's clock */
  notOnOrAfterMs?: number;
  /** sign with another key than the metadata's */
  key?: string;
  /** the assertion's Issuer: another entity, or none (null: an empty Issuer); left out: the metadata's entity id */
  issuer?: string | null;
}

export interface TestSamlIdp {
  entityId: string;
  metadata: string;
  next: SamlNext;
  /** the last Response the IdP posted: the ACS it posts to and the form */
  posted?: { action: string; SAMLResponse: string; RelayState: string };
  close(): Promise<void>;
}

export const acsOf = (t: TestStack) => `${t.url}/dev/saml2/idpresponse`;
const esc = (s: string) => s.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);

export async function startSamlIdp(t: TestStack): Promise<TestSamlIdp> {
  const server: Server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const settings = {
    entityID: `${base}/metadata`,
    signingCert: fixture('idp-cert.pem'),
    privateKey: fixture('idp-key.pem'),
    singleSignOnService: [{ Binding: REDIRECT, Location: `${base}/sso` }],
    nameIDFormat: ['urn:oasis:names:tc:SAML:2.0:nameid-format:persistent'],
  };
  const real = samlify.IdentityProvider(settings);
  const state: TestSamlIdp = {
    entityId: settings.entityID,
    metadata: real.getMetadata(),
    next: { nameId: '', email: '', groups: [] },
    close: () => new Promise((r) => server.close(() => r())),
  };
  const acs = acsOf(t);
  server.on('request', async (req, res) => {
    try {
      const url = new URL(req.url!, base);
      if (url.pathname !== '/sso') return res.writeHead(404).end();
      // The AuthnRequest says which SP (its Issuer) and which request (its ID) this answers.
      const issuer = /<saml:Issuer[^>]*>([^<]+)</.exec(inflateRawSync(Buffer.from(url.searchParams.get('SAMLRequest')!, 'base64')).toString('utf8'))?.[1];
      const sp = samlify.ServiceProvider({ entityID: issuer!, assertionConsumerService: [{ Binding: POST, Location: acs }], wantAssertionsSigned: true });
      const signer = state.next.key ? samlify.IdentityProvider({ ...settings, privateKey: state.next.key }) : real;
      const parsed = await signer.parseLoginRequest(sp, 'redirect', { query: Object.fromEntries(url.searchParams) });
      const requestId = parsed.extract.request.id as string;
      const n = state.next;
      const now = t.stack.clock.now();
      const at = (ms: number) => new Date(now + ms).toISOString();
      const until = at(n.notOnOrAfterMs ?? 5 * 60_000);
      const groupValues = n.groups.map((g) => `<saml:AttributeValue>${esc(g)}</saml:AttributeValue>`).join('');
      // An empty Issuer for none (the test IdP signs next to the assertion's Issuer element, so the element stays).
      const assertionIssuer = `<saml:Issuer>${n.issuer === null ? '' : esc(n.issuer ?? settings.entityID)}</saml:Issuer>`;
      const out = await signer.createLoginResponse(
        sp,
        parsed,
        'post',
        { email: n.email },
        {
          relayState: url.searchParams.get('RelayState') ?? '',
          customTagReplacement: () => {
            const id = `_${randomBytes(16).toString('hex')}`;
            const context =
              `<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="${id}" Version="2.0" IssueInstant="${at(0)}" Destination="${esc(n.recipient ?? acs)}" InResponseTo="${requestId}">` +
              `<saml:Issuer>${esc(settings.entityID)}</saml:Issuer><samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>` +
              `<saml:Assertion ID="_a${id.slice(1)}" Version="2.0" IssueInstant="${at(0)}">${assertionIssuer}` +
              `<saml:Subject><saml:NameID Format="urn:oasis:names:tc:SAML:2.0:nameid-format:persistent">${esc(n.nameId)}</saml:NameID>` +
              `<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml:SubjectConfirmationData NotOnOrAfter="${until}" Recipient="${esc(n.recipient ?? acs)}" InResponseTo="${requestId}"/></saml:SubjectConfirmation></saml:Subject>` +
              `<saml:Conditions NotBefore="${at(-5_000)}" NotOnOrAfter="${until}"><saml:AudienceRestriction><saml:Audience>${esc(n.audience ?? issuer!)}</saml:Audience></saml:AudienceRestriction></saml:Conditions>` +
              `<saml:AuthnStatement AuthnInstant="${at(0)}" SessionIndex="_s${id.slice(1, 9)}"><saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>` +
              `<saml:AttributeStatement><saml:Attribute Name="http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress"><saml:AttributeValue>${esc(n.email)}</saml:AttributeValue></saml:Attribute>` +
              `<saml:Attribute Name="${esc(n.groupsAttribute ?? 'groups')}">${groupValues}</saml:Attribute></saml:AttributeStatement></saml:Assertion></samlp:Response>`;
            return { id, context };
          },
        },
      );
      const form = out as { context: string; entityEndpoint: string; relayState?: string };
      state.posted = { action: form.entityEndpoint, SAMLResponse: form.context, RelayState: form.relayState ?? '' };
      // The IdP's page posts the Response to the SP's ACS (the test plays the browser's part).
      res.writeHead(200, { 'content-type': 'text/html' }).end(`<form method="post" action="${esc(form.entityEndpoint)}"></form>`);
    } catch (err) {
      res.writeHead(500).end(String(err));
    }
  });
  return state;
}

export type SamlStarted = ReturnType<typeof authorizeRequest> & { posted: NonNullable<TestSamlIdp['posted']> };

/** Starts a sign-in at the local authorize page: an AuthnRequest to the metadata's SSO URL (HTTP-Redirect), which the IdP answers (idp.posted). */
export async function samlStart(t: TestStack, idp: TestSamlIdp, provider: string): Promise<SamlStarted> {
  const a = authorizeRequest(t, provider);
  idp.posted = undefined;
  const authorize = await fetch(a.url, { redirect: 'manual' });
  expect(authorize.status, await authorize.clone().text()).toBe(302);
  const to = new URL(authorize.headers.get('location')!);
  expect(`${to.origin}${to.pathname}`).toBe(new URL('/sso', idp.entityId).toString());
  expect(to.searchParams.get('SAMLRequest')).toBeTruthy();
  expect(to.searchParams.get('RelayState')).toBeTruthy();
  const atIdp = await fetch(to, { redirect: 'manual' });
  expect(atIdp.status, await atIdp.clone().text()).toBe(200);
  return { ...a, posted: idp.posted! };
}

/** Posts a Response to the ACS (as the IdP's page makes the browser do): the token, or the page's refusal. */
export async function samlFinish(t: TestStack, idp: TestSamlIdp, s: SamlStarted, samlResponse = s.posted.SAMLResponse): Promise<SignedIn> {
  expect(s.posted.action).toBe(acsOf(t));
  const res = await fetch(s.posted.action, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin: new URL(idp.entityId).origin },
    body: new URLSearchParams({ SAMLResponse: samlResponse, RelayState: s.posted.RelayState }),
  });
  const location = res.headers.get('location');
  if (res.status !== 302 || !location?.startsWith(s.back)) return { refused: `${res.status} ${await res.text()}` };
  return tokenFor(t, location, s);
}

// ---------------------------------------------------------------------------------------------
// AWS: the user pool's pre-token-generation trigger

/** The V2_0 event the user pool sends the trigger, for a user with these attributes (and the groups the pool had). */
export function preTokenEvent(userAttributes: Record<string, string>, groups: string[] = []): PreTokenGenerationV2TriggerEvent {
  return {
    version: '2',
    triggerSource: 'TokenGeneration_HostedAuth',
    region: 'eu-west-1',
    userPoolId: 'eu-west-1_AbCdEf123',
    userName: 't-acme-oidc_8f3c1f2a',
    callerContext: { awsSdkVersion: 'aws-sdk-unknown-unknown', clientId: '1example23456789' },
    request: {
      userAttributes: { sub: '8f3c1f2a-0000-4000-8000-000000000001', email: 'fed@acme.example', email_verified: 'true', ...userAttributes },
      groupConfiguration: { groupsToOverride: groups, iamRolesToOverride: [], preferredRole: undefined },
      scopes: ['openid', 'email', 'profile'],
    },
    response: { claimsAndScopeOverrideDetails: {} as never },
  } as PreTokenGenerationV2TriggerEvent;
}

/** The user's `identities` attribute as the user pool keeps it for a federated user (SAML: the IdP's entity id as issuer). */
export const identities = (providerName: string, providerType = 'OIDC', issuer: string | null = null) =>
  JSON.stringify([{ userId: 'abc', providerName, providerType, issuer, primary: 'true', dateCreated: '1732700000000' }]);

const mockDocumentClient = () => mockClient(DynamoDBDocumentClient);

/**
 * The table as the trigger reads it (its GetItems by key, its Query of a tenant's SCIM groups with the members filter),
 * for the file's tests: `items` cleared before each.
 */
export function useTriggerTable() {
  // Mocked for the tests that use it only (a local stack in the same file reaches DynamoDB through the same client).
  let ddb: ReturnType<typeof mockDocumentClient> | undefined;
  beforeAll(() => {
    ddb = mockDocumentClient();
  });
  afterAll(() => ddb?.restore());
  const items = new Map<string, Record<string, unknown>>();
  const put = (item: Record<string, unknown> & { pk: string; sk: string }) => items.set(JSON.stringify({ pk: item.pk, sk: item.sk }), item);
  beforeEach(() => {
    process.env.TABLE_NAME = 'stageline-table';
    items.clear();
    ddb!.on(GetCommand).callsFake((input: { Key: { pk: string; sk: string } }) => ({ Item: items.get(JSON.stringify(input.Key)) }));
    ddb!.on(QueryCommand).callsFake((input: { ExpressionAttributeValues: Record<string, string> }) => {
      const v = input.ExpressionAttributeValues;
      const found = [...items.values()].filter(
        (i) => i.pk === v[':pk'] && String(i.sk).startsWith(v[':sk']!) && (i.members as string[] | undefined)?.includes(v[':id']!),
      );
      return { Items: found.map((i) => ({ displayName: i.displayName, attributes: i.attributes })) };
    });
  });
  afterEach(() => {
    ddb?.reset();
    delete process.env.TABLE_NAME;
  });
  return {
    /** the mocked client (its calls), from the first test on */
    get ddb() {
      if (!ddb) throw new Error('the trigger table is mocked from the first test on');
      return ddb;
    },
    items,
    /** The tenant's identity provider connection (keys.identityProvider), as the API stores it (providerName t-<tenant>-<kind>). */
    connection(tenant: string, kind: 'oidc' | 'saml' = 'oidc', more: { emailDomains?: string[]; groupsFrom?: 'claim' | 'scim'; entityId?: string } = {}) {
      put({
        ...keys.identityProvider(tenant),
        entity: 'IdentityProvider',
        tenant,
        kind,
        providerName: `t-${tenant}-${kind}`,
        emailDomains: more.emailDomains ?? [`${tenant}.example`],
        ...(more.groupsFrom ? { groupsFrom: more.groupsFrom } : {}),
        ...(kind === 'saml'
          ? { saml: { entityId: more.entityId ?? 'https://idp.example/metadata', metadataXml: '<md/>', ssoUrl: 'https://idp.example/sso' } }
          : {}),
        version: 1,
      });
    },
    dropConnection: (tenant: string) => items.delete(JSON.stringify(keys.identityProvider(tenant))),
    mapping(tenant: string, entries: unknown[], version = 1) {
      put({ ...keys.groupMapping(tenant), entity: 'GroupMapping', tenant, entries, version });
    },
    /** A SCIM record of the tenant, with its uniqueness claims, as the store writes them (functions/adapters/store/scim.ts). */
    scim(record: ScimRecord) {
      put({ ...keys.scimRecord(record.tenant, record.kind, record.id), entity: `Scim${record.kind}`, ...record });
      for (const v of uniquesOf(record)) put({ ...keys.scimUnique(record.tenant, v), entity: 'ScimUnique', owner: record.id });
    },
  };
}
