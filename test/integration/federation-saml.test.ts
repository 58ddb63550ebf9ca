import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestStack, type TestStack } from '../support/stack.ts';

/**
 * SAML 2.0 federation through the API on the local stack, against a real SAML identity provider run by the
 * test (samlify's IdentityProvider, in-process on a loopback port, signing with a fixed test key pair): a
 * tenant's admin connects the tenant with the IdP's metadata document, a person of the IdP signs in through
 * the local authorize page (which sends a SAML AuthnRequest to the IdP's SSO URL, HTTP-Redirect binding), the
 * IdP posts its signed Response to the local ACS (/dev/saml2/idpresponse), and the token names the
 * connection's tenant, the email and the groups attribute as sent. A tampered Response, one signed with
 * another key, one for another audience or recipient, an expired one (on the stack's clock) and a replayed one
 * are refused with a page saying why; the sign-in is audited with the IdP's NameID.
 */

const fixture = (name: string) => readFileSync(new URL(`../fixtures/saml/${name}`, import.meta.url), 'utf8');
const REDIRECT = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect';
const POST = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST';

/**
 * samlify, loaded without its types: they import @xmldom/xmldom's, which reference the DOM library and would turn the
 * whole program's Headers and RequestInit into the browser's (functions/adapters/xmldom.d.ts). What the test uses of it:
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

// The SP side (what the test checks) is node-saml's, in the stack; samlify's schema check is only the test IdP's.
samlify.setSchemaValidator({ validate: async () => 'checked by the service provider (node-saml)' });

/** What the next Response the test IdP issues says; each field overrides what a well-behaved IdP sends. */
interface Next {
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
}

interface TestIdp {
  entityId: string;
  metadata: string;
  next: Next;
  /** the last Response the IdP posted: the ACS it posts to and the form */
  posted?: { action: string; SAMLResponse: string; RelayState: string };
  close(): Promise<void>;
}

let t: TestStack;
let idp: TestIdp;

const acs = () => `${t.url}/dev/saml2/idpresponse`;
const spEntityId = (tenant: string) => `urn:stageline:local:sp:${tenant}`;
const esc = (s: string) => s.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);

async function startIdp(): Promise<TestIdp> {
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
  const state: TestIdp = {
    entityId: settings.entityID,
    metadata: real.getMetadata(),
    next: { nameId: '', email: '', groups: [] },
    close: () => new Promise((r) => server.close(() => r())),
  };
  server.on('request', async (req, res) => {
    try {
      const url = new URL(req.url!, base);
      if (url.pathname !== '/sso') return res.writeHead(404).end();
      // The AuthnRequest says which SP (its Issuer) and which request (its ID) this answers.
      const issuer = /<saml:Issuer[^>]*>([^<]+)</.exec(
        (await import('node:zlib')).inflateRawSync(Buffer.from(url.searchParams.get('SAMLRequest')!, 'base64')).toString('utf8'),
      )?.[1];
      const sp = samlify.ServiceProvider({
        entityID: issuer!,
        assertionConsumerService: [{ Binding: POST, Location: acs() }],
        wantAssertionsSigned: true,
      });
      const signer = state.next.key ? samlify.IdentityProvider({ ...settings, privateKey: state.next.key }) : real;
      const parsed = await signer.parseLoginRequest(sp, 'redirect', { query: Object.fromEntries(url.searchParams) });
      const requestId = parsed.extract.request.id as string;
      const n = state.next;
      const now = t.stack.clock.now();
      const at = (ms: number) => new Date(now + ms).toISOString();
      const until = at(n.notOnOrAfterMs ?? 5 * 60_000);
      const groupValues = n.groups.map((g) => `<saml:AttributeValue>${esc(g)}</saml:AttributeValue>`).join('');
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
              `<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="${id}" Version="2.0" IssueInstant="${at(0)}" Destination="${esc(n.recipient ?? acs())}" InResponseTo="${requestId}">` +
              `<saml:Issuer>${esc(settings.entityID)}</saml:Issuer><samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>` +
              `<saml:Assertion ID="_a${id.slice(1)}" Version="2.0" IssueInstant="${at(0)}"><saml:Issuer>${esc(settings.entityID)}</saml:Issuer>` +
              `<saml:Subject><saml:NameID Format="urn:oasis:names:tc:SAML:2.0:nameid-format:persistent">${esc(n.nameId)}</saml:NameID>` +
              `<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml:SubjectConfirmationData NotOnOrAfter="${until}" Recipient="${esc(n.recipient ?? acs())}" InResponseTo="${requestId}"/></saml:SubjectConfirmation></saml:Subject>` +
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

beforeAll(async () => {
  t = await startTestStack();
  idp = await startIdp();
});
afterAll(async () => {
  await idp?.close();
  await t?.stop();
});

const connect = (token: string, body: unknown) => t.call('PUT', '/api/v1/access/identity-provider', { token, body });

async function samlTenant(groupsClaim?: string) {
  const tenant = t.tenant();
  const u = await t.users(tenant);
  const domain = `${tenant}.example`;
  const put = await connect(u.admin, { kind: 'saml', saml: { metadataXml: idp.metadata }, emailDomains: [domain], ...(groupsClaim ? { groupsClaim } : {}) });
  expect(put.status, JSON.stringify(put.body)).toBe(200);
  return { tenant, u, domain, put };
}

/** Starts a sign-in at the local authorize page: the IdP answers (idp.posted). */
async function startSignIn(provider: string) {
  const verifier = randomBytes(32).toString('base64url');
  const back = `${t.url}/signed-in`;
  const q = new URLSearchParams({
    response_type: 'code',
    client_id: 'stageline-local',
    redirect_uri: back,
    state: 'st-1',
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
    identity_provider: provider,
  });
  idp.posted = undefined;
  const authorize = await fetch(`${t.url}/dev/oauth2/authorize?${q}`, { redirect: 'manual' });
  expect(authorize.status, await authorize.clone().text()).toBe(302);
  const to = new URL(authorize.headers.get('location')!);
  // An AuthnRequest to the SSO URL of the metadata, HTTP-Redirect binding, with a RelayState.
  expect(`${to.origin}${to.pathname}`).toBe(new URL('/sso', idp.entityId).toString());
  expect(to.searchParams.get('SAMLRequest')).toBeTruthy();
  expect(to.searchParams.get('RelayState')).toBeTruthy();
  const atIdp = await fetch(to, { redirect: 'manual' });
  expect(atIdp.status, await atIdp.clone().text()).toBe(200);
  return { verifier, back, posted: idp.posted! };
}

/** Posts a Response to the ACS (as the IdP's page makes the browser do): the token, or the page's refusal. */
async function finish(s: Awaited<ReturnType<typeof startSignIn>>, samlResponse = s.posted.SAMLResponse) {
  expect(s.posted.action).toBe(acs());
  const res = await fetch(s.posted.action, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin: new URL(idp.entityId).origin },
    body: new URLSearchParams({ SAMLResponse: samlResponse, RelayState: s.posted.RelayState }),
  });
  const location = res.headers.get('location');
  if (res.status !== 302 || !location?.startsWith(s.back)) return { refused: `${res.status} ${await res.text()}` };
  const code = new URL(location).searchParams.get('code')!;
  expect(new URL(location).searchParams.get('state')).toBe('st-1');
  const tok = await fetch(`${t.url}/dev/oauth2/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'authorization_code', code, client_id: 'stageline-local', redirect_uri: s.back, code_verifier: s.verifier }),
  });
  const body = (await tok.json()) as { id_token: string };
  expect(tok.status, JSON.stringify(body)).toBe(200);
  return { token: body.id_token };
}

const xmlOf = (b64: string) => Buffer.from(b64, 'base64').toString('utf8');
const b64Of = (xml: string) => Buffer.from(xml, 'utf8').toString('base64');

describe('federation with a SAML 2.0 identity provider', () => {
  it('a person of the IdP signs in through the ACS, gets a token for the connection’s tenant with the groups attribute, acts under a binding, and is audited with their NameID', async () => {
    const { tenant, u, domain, put } = await samlTenant('memberOf');
    expect(put.body).toMatchObject({ kind: 'saml', providerName: `t-${tenant}-saml`, groupsClaim: 'memberOf' });
    expect(put.body.saml).toMatchObject({ entityId: idp.entityId, ssoUrl: new URL('/sso', idp.entityId).toString() });

    idp.next = { nameId: 'entra-7f3a', email: `Sam@${domain}`, groups: ['payments', 'release-managers'], groupsAttribute: 'memberOf' };
    const s = await startSignIn(`t-${tenant}-saml`);
    const signed = await finish(s);
    expect(signed.refused, signed.refused).toBeUndefined();
    const claims = decodeJwt(signed.token!);
    expect(claims['custom:tenant_id']).toBe(tenant);
    expect(claims.email).toBe(`sam@${domain}`);
    expect(JSON.parse(String(claims['custom:idp_groups']))).toEqual(['payments', 'release-managers']);
    expect(claims['cognito:groups']).toEqual([]);

    // The gateway takes the token: no role yet; bound as viewer by email, it reads the tenant.
    expect((await t.call('GET', '/api/v1/environments', { token: signed.token })).status).toBe(403);
    const bound = await t.call('PUT', '/api/v1/access/bindings', {
      token: u.admin,
      body: { bindings: [{ user: `sam@${domain}`, role: 'viewer', environments: ['*'] }] },
    });
    expect(bound.status, JSON.stringify(bound.body)).toBe(200);
    expect((await t.call('GET', '/api/v1/environments', { token: signed.token })).status).toBe(200);

    const audit = await t.call('GET', '/api/v1/audit?entityType=user', { token: u.admin });
    const entry = (audit.body.items as { action: string; after: string }[]).find((e) => e.action === 'auth.federated-sign-in');
    expect(entry, JSON.stringify(audit.body)).toBeDefined();
    expect(JSON.parse(entry!.after)).toMatchObject({ provider: `t-${tenant}-saml`, idpSubject: 'entra-7f3a', idpGroups: ['payments', 'release-managers'] });

    // The same Response again (a replay, with its RelayState): refused, whoever posts it.
    const replayed = await finish(s);
    expect(replayed.refused).toMatch(/^400 .*unknown, used or expired/);
  });

  it('refuses, with a page saying why, a tampered Response, one signed with another key, one for another audience or recipient, an expired one, and one answering another request', async () => {
    const { tenant, domain } = await samlTenant();
    const provider = `t-${tenant}-saml`;
    const good: Next = { nameId: 'okta-00u9', email: `kim@${domain}`, groups: ['payments'] };

    // Tampered after signing: the groups changed in transit.
    idp.next = good;
    let s = await startSignIn(provider);
    const tampered = xmlOf(s.posted.SAMLResponse).replace('<saml:AttributeValue>payments<', '<saml:AttributeValue>admins<');
    expect(tampered).toContain('admins');
    expect((await finish(s, b64Of(tampered))).refused).toMatch(/^400 .*does not hold: .*[Ss]ignature/);

    // Signed by a key the metadata does not name.
    idp.next = { ...good, key: fixture('other-key.pem') };
    s = await startSignIn(provider);
    expect((await finish(s)).refused).toMatch(/^400 .*does not hold: .*[Ss]ignature/);

    // Addressed to another service provider (another tenant's SP entity id): the audience is not ours.
    idp.next = { ...good, audience: spEntityId('ten-other') };
    s = await startSignIn(provider);
    expect((await finish(s)).refused).toMatch(/^400 .*audience/);

    // For another ACS: Destination and Recipient are not ours.
    idp.next = { ...good, recipient: 'https://elsewhere.example/saml2/idpresponse' };
    s = await startSignIn(provider);
    expect((await finish(s)).refused).toMatch(/^400 .*not this service provider's ACS/);

    // Expired on the stack's clock: valid for a minute, posted ten minutes later.
    idp.next = { ...good, notOnOrAfterMs: 60_000 };
    s = await startSignIn(provider);
    t.stack.clock.advance(10 * 60_000 - 1);
    expect((await finish(s)).refused).toMatch(/^400 .*expired/);

    // A valid Response to one sign-in, posted with another sign-in's RelayState: it does not answer that request.
    idp.next = good;
    const first = await startSignIn(provider);
    const second = await startSignIn(provider);
    expect((await finish(second, first.posted.SAMLResponse)).refused).toMatch(/^400 .*InResponseTo|does not answer/);

    // Garbage, and nothing at all, are refused the same way, never a 500.
    s = await startSignIn(provider);
    expect((await finish(s, b64Of('<not xml'))).refused).toMatch(/^400 /);
    const empty = await fetch(acs(), { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: '' });
    expect(empty.status).toBe(400);
    expect((await fetch(acs())).status).toBe(405);

    // After all that, a good Response still signs in (nothing above left anything behind).
    idp.next = good;
    const ok = await finish(await startSignIn(provider));
    expect(ok.refused, ok.refused).toBeUndefined();
    // An address outside the connection's domains is refused, whatever the IdP signs.
    idp.next = { ...good, email: 'kim@another.example' };
    expect((await finish(await startSignIn(provider))).refused).toMatch(/^400 .*not an email domain of this connection/);
  });
});
