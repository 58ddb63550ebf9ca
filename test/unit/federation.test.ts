import { describe, expect, it } from 'vitest';
import { federatedIdentity, FederationRefused, identityProviderBody, providerName } from '../../domain/access/federation.ts';
import { CHECKED_BY_USER_POOL, decideSignIn, type SignInRecord } from '../../domain/access/sign-in.ts';

/** The seam with the groups-to-roles mapping: who a federated sign-in makes someone (decideSignIn, the one decision both sides take). */
const connection = { providerName: providerName('acme', 'oidc'), kind: 'oidc' as const, emailDomains: ['acme.example'] };
const record: SignInRecord = { connection, mapping: [{ idpGroup: 'release-managers', roles: ['approver'] }], person: null };
const decide = (email: unknown, claimGroups: unknown, more: Partial<SignInRecord> = {}) =>
  decideSignIn({ provider: 't-acme-oidc', email, claimGroups }, { ...record, ...more });

describe('decideSignIn', () => {
  it('takes the tenant from the provider, whatever the IdP asserts, and maps the groups (each once) through the tenant’s mapping', () => {
    const d = decide('Pat@ACME.example', ['payments', 'payments', 'release-managers']);
    expect(d).toEqual({ tenant: 'acme', email: 'pat@acme.example', idpGroups: ['payments', 'release-managers'], groups: ['approver'] });
    const id = federatedIdentity(connection, '00u1', d);
    expect(id).toMatchObject({ tenant: 'acme', email: 'pat@acme.example', idpSubject: '00u1', provider: 't-acme-oidc', groups: ['approver'] });
  });

  it('one subject is one person per connection: the same IdP subject through another tenant’s connection is another person', () => {
    const d = decide('x@acme.example', []);
    const a = federatedIdentity(connection, 's', d);
    expect(a.sub).toBe(federatedIdentity(connection, 's', { ...d, groups: ['g'] }).sub);
    expect(a.sub).not.toBe(federatedIdentity({ providerName: providerName('globex', 'oidc') }, 's', d).sub);
    expect(providerName('acme', 'saml')).toBe('t-acme-saml');
    expect(() => federatedIdentity(connection, '', d)).toThrow(/no subject/);
  });

  it('a single group (a SAML attribute with one value) is a list of one; what is not a string is dropped', () => {
    expect(decide('x@acme.example', 'admins').idpGroups).toEqual(['admins']);
    expect(decide('x@acme.example', [1, null, 'ok', '', 'x'.repeat(257)]).idpGroups).toEqual(['ok']);
    expect(decide('x@acme.example', undefined).idpGroups).toEqual([]);
  });

  it('refuses an address outside the connection’s domains, no email, a deprovisioned person, a SAML assertion from another entity or none', () => {
    expect(() => decide('eve@globex.example', [])).toThrow(FederationRefused);
    expect(() => decide('eve@evil-acme.example', [])).toThrow(/not an email domain/);
    expect(() => decide(undefined, [])).toThrow(/no email/);
    expect(() => decide('kim@acme.example', [], { person: { active: false } })).toThrow(/deprovisioned/);
    expect(decide('kim@acme.example', [], { person: { active: true } }).email).toBe('kim@acme.example');
    const saml = {
      connection: { providerName: 't-acme-saml', kind: 'saml' as const, emailDomains: ['acme.example'], samlEntityId: 'https://idp.example' },
      mapping: null,
      person: null,
    };
    const viaSaml = (samlIssuer: string | null | typeof CHECKED_BY_USER_POOL) =>
      decideSignIn({ provider: 't-acme-saml', email: 'x@acme.example', samlIssuer, claimGroups: [] }, saml);
    expect(viaSaml('https://idp.example').tenant).toBe('acme');
    expect(viaSaml(CHECKED_BY_USER_POOL).tenant).toBe('acme');
    expect(() => viaSaml('https://evil.example')).toThrow(/Issuer is https:\/\/evil.example, not the metadata's entity https:\/\/idp.example/);
    expect(() => viaSaml(null)).toThrow(/names no Issuer/);
  });

  it('with groups from SCIM, reads the SCIM groups and ignores the claim', () => {
    const scim = { ...record, connection: { ...connection, groupsFrom: 'scim' as const }, person: { active: true, groups: ['release-managers'] } };
    expect(decideSignIn({ provider: 't-acme-oidc', email: 'x@acme.example', claimGroups: ['payments'] }, scim).idpGroups).toEqual(['release-managers']);
    expect(decideSignIn({ provider: 't-acme-oidc', email: 'x@acme.example', claimGroups: ['release-managers'] }, { ...scim, person: null }).groups).toEqual([]);
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
