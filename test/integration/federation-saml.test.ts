import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acsOf, OTHER_SAML_KEY, samlFinish, samlStart, startSamlIdp, type SamlNext, type SamlStarted, type TestSamlIdp } from '../support/federation.ts';
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

let t: TestStack;
let idp: TestSamlIdp;

const spEntityId = (tenant: string) => `urn:stageline:local:sp:${tenant}`;

beforeAll(async () => {
  t = await startTestStack();
  idp = await startSamlIdp(t);
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

const startSignIn = (provider: string) => samlStart(t, idp, provider);
const finish = (s: SamlStarted, samlResponse?: string) => samlFinish(t, idp, s, samlResponse);

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
    expect(claims['custom:idp_groups']).toBeUndefined();
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
    const good: SamlNext = { nameId: 'okta-00u9', email: `kim@${domain}`, groups: ['payments'] };

    // Tampered after signing: the groups changed in transit.
    idp.next = good;
    let s = await startSignIn(provider);
    const tampered = xmlOf(s.posted.SAMLResponse).replace('<saml:AttributeValue>payments<', '<saml:AttributeValue>admins<');
    expect(tampered).toContain('admins');
    expect((await finish(s, b64Of(tampered))).refused).toMatch(/^400 .*does not hold: .*[Ss]ignature/);

    // Signed by a key the metadata does not name.
    idp.next = { ...good, key: OTHER_SAML_KEY };
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
    const empty = await fetch(acsOf(t), { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: '' });
    expect(empty.status).toBe(400);
    expect((await fetch(acsOf(t))).status).toBe(405);

    // After all that, a good Response still signs in (nothing above left anything behind).
    idp.next = good;
    const ok = await finish(await startSignIn(provider));
    expect(ok.refused, ok.refused).toBeUndefined();
    // An address outside the connection's domains is refused, whatever the IdP signs.
    idp.next = { ...good, email: 'kim@another.example' };
    expect((await finish(await startSignIn(provider))).refused).toMatch(/^400 .*not an email domain of this connection/);
  });
});
