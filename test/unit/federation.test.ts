import { describe, expect, it } from 'vitest';
import { federatedIdentity, FederationRefused, IDP_GROUPS_CLAIM, identityProviderBody, providerName } from '../../domain/access/federation.ts';

/** The seam with the groups-to-roles mapping: who a federated sign-in makes someone. */
const conn = { tenant: 'acme', providerName: providerName('acme', 'oidc'), emailDomains: ['acme.example'] };

describe('federatedIdentity', () => {
  it('takes the tenant from the connection, whatever the IdP asserts, and carries the raw groups as a JSON array string', () => {
    const id = federatedIdentity(conn, { subject: '00u1', email: 'Pat@ACME.example', groups: ['payments', 'payments', 'release-managers'] });
    expect(id.tenant).toBe('acme');
    expect(id.email).toBe('pat@acme.example');
    expect(id.idpSubject).toBe('00u1');
    expect(JSON.parse(id[IDP_GROUPS_CLAIM])).toEqual(['payments', 'release-managers']);
    // the asserted object has no say over the tenant
    const forged = federatedIdentity(conn, { subject: '00u1', email: 'pat@acme.example', groups: [], ...{ tenant: 'globex', 'custom:tenant_id': 'globex' } });
    expect(forged.tenant).toBe('acme');
  });

  it('one subject is one person per connection: the same IdP subject through another tenant’s connection is another person', () => {
    const a = federatedIdentity(conn, { subject: 's', email: 'x@acme.example', groups: [] });
    const b = federatedIdentity(
      { ...conn, tenant: 'globex', providerName: providerName('globex', 'oidc'), emailDomains: ['acme.example'] },
      { subject: 's', email: 'x@acme.example', groups: [] },
    );
    expect(a.sub).toBe(federatedIdentity(conn, { subject: 's', email: 'x@acme.example', groups: ['g'] }).sub);
    expect(a.sub).not.toBe(b.sub);
    expect(providerName('acme', 'saml')).toBe('t-acme-saml');
  });

  it('a single group (a SAML attribute with one value) is a list of one; what is not a string is dropped', () => {
    expect(JSON.parse(federatedIdentity(conn, { subject: 's', email: 'x@acme.example', groups: 'admins' })[IDP_GROUPS_CLAIM])).toEqual(['admins']);
    expect(JSON.parse(federatedIdentity(conn, { subject: 's', email: 'x@acme.example', groups: [1, null, 'ok', ''] })[IDP_GROUPS_CLAIM])).toEqual(['ok']);
    expect(JSON.parse(federatedIdentity(conn, { subject: 's', email: 'x@acme.example', groups: undefined })[IDP_GROUPS_CLAIM])).toEqual([]);
  });

  it('refuses an address outside the connection’s domains, no email, no subject', () => {
    expect(() => federatedIdentity(conn, { subject: 's', email: 'eve@globex.example', groups: [] })).toThrow(FederationRefused);
    expect(() => federatedIdentity(conn, { subject: 's', email: 'eve@evil-acme.example', groups: [] })).toThrow(/not an email domain/);
    expect(() => federatedIdentity(conn, { subject: 's', email: undefined, groups: [] })).toThrow(/no email/);
    expect(() => federatedIdentity(conn, { subject: '', email: 'x@acme.example', groups: [] })).toThrow(/no subject/);
  });
});

describe('identityProviderBody', () => {
  it('takes an email domain of at most 40 characters (the user pool routes idp_identifier by it) and names the field past that', () => {
    const body = (d: string) => ({ kind: 'oidc', oidc: { issuer: 'https://idp.example', clientId: 'c', clientSecret: 'S' }, emailDomains: [d] });
    expect(identityProviderBody.safeParse(body(`${'a'.repeat(32)}.example`)).success).toBe(true);
    const long = identityProviderBody.safeParse(body(`${'a'.repeat(33)}.example`));
    expect(long.success).toBe(false);
    expect(long.error!.issues.map((i) => [i.path.join('.'), i.message])).toEqual([['emailDomains.0', expect.stringMatching(/at most 40 characters/)]]);
  });
});
