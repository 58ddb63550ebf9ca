import { createHash } from 'node:crypto';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
const IDP_GROUPS_ATTRIBUTE_MAX = 2048;
import type { ScimGroup, ScimUser } from '../../domain/access/scim-model.ts';
import { localSecretVariable } from '../../functions/adapters/secrets.ts';
import { handler } from '../../functions/handlers/pre-token.ts';
import { DEMO_USERS } from '../../local/issuer.ts';
import {
  identities,
  OIDC_SECRET,
  oidcSignIn,
  preTokenEvent,
  samlFinish,
  samlStart,
  startOidcIdp,
  startSamlIdp,
  useTriggerTable,
  type SignedIn,
  type TestOidcIdp,
  type TestSamlIdp,
} from '../support/federation.ts';
import { startTestStack, type TestStack } from '../support/stack.ts';

/**
 * One table of federated sign-ins, run against both places a sign-in is decided: on AWS the user pool's
 * pre-token-generation trigger (functions/handlers/pre-token.ts, invoked with the V2_0 event the user pool
 * sends, the table mocked as it reads it), and on the local stack the local issuer's sign-in through a real
 * OIDC provider and a real SAML IdP (the authorize page, the IdP, the OIDC callback or the SAML ACS, the
 * token endpoint). Both call one decision (decideSignIn, domain/access/sign-in.ts); each case says what it
 * must come to on both. A case the user pool itself refuses before the trigger runs says so (`aws`).
 */

/** Entra group object ids: 60 of them are 2,341 characters as the user pool attribute's JSON text. */
const GUIDS = Array.from({ length: 60 }, (_, i) => {
  const h = createHash('sha256').update(`group-${i}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
});
const MAPPING = [
  { idpGroup: 'ops', roles: ['deployer'] },
  { idpGroup: 'payments', group: 'payments' },
  { idpGroup: GUIDS[3]!, roles: ['approver'] },
  { idpGroup: GUIDS[59]!, group: 'release' },
];

/** The tenant's domains: the connection's, one the tenant holds but its IdP does not (its native users'), and another tenant's. */
interface Domains {
  connection: string;
  native: string;
  other: string;
}

interface Case {
  name: string;
  kind: 'oidc' | 'saml';
  groupsFrom?: 'scim';
  /** the address the IdP asserts (undefined: none) */
  email: (d: Domains) => string | undefined;
  /** the IdP's group claim */
  groups?: string[];
  /** the IdP asserts another tenant */
  tenantClaim?: boolean;
  /** the SAML assertion's Issuer: another entity, or none */
  issuer?: 'other' | 'none';
  /** the tenant's SCIM user with that address, and the SCIM groups (by externalId) they are in */
  scim?: { active: boolean; groups?: string[] };
  /** through the tenant's provider of the other kind (the tenant is connected through `kind`) */
  viaOtherKind?: boolean;
  expected: { groups: string[] } | { refused: RegExp };
  /** where AWS refuses it instead of the trigger: the user pool checks the Response's issuer against the provider's metadata */
  aws?: 'refused by the user pool';
}

const NOT_OURS = /not an email domain of this connection/;
const CASES: Case[] = [
  {
    name: 'a person of the connection’s domain gets the provider’s tenant and the roles the mapping gives (an IdP group named like a role grants nothing)',
    kind: 'oidc',
    email: (d) => `Pat@${d.connection}`,
    groups: ['ops', 'payments', 'admin'],
    expected: { groups: ['deployer', 'payments'] },
  },
  { name: 'the same through SAML', kind: 'saml', email: (d) => `pat@${d.connection}`, groups: ['ops'], expected: { groups: ['deployer'] } },
  {
    name: 'the IdP asserts another tenant: the token names the provider’s',
    kind: 'oidc',
    email: (d) => `mallory@${d.connection}`,
    groups: ['ops'],
    tenantClaim: true,
    expected: { groups: ['deployer'] },
  },
  {
    name: 'the IdP asserts a native user of the tenant (an address of the tenant’s own domain its connection does not hold): refused',
    kind: 'oidc',
    email: (d) => `victor@${d.native}`,
    groups: ['ops'],
    expected: { refused: NOT_OURS },
  },
  { name: 'the same through SAML', kind: 'saml', email: (d) => `victor@${d.native}`, expected: { refused: NOT_OURS } },
  { name: 'an address of another tenant’s domain: refused', kind: 'oidc', email: (d) => `alice@${d.other}`, expected: { refused: NOT_OURS } },
  { name: 'no email address: refused', kind: 'oidc', email: () => undefined, expected: { refused: /no email address/ } },
  {
    name: 'a person the tenant’s SCIM client deactivated: refused, whatever the IdP says',
    kind: 'oidc',
    email: (d) => `kim@${d.connection}`,
    groups: ['ops'],
    scim: { active: false },
    expected: { refused: /deprovisioned/ },
  },
  { name: 'the same through SAML', kind: 'saml', email: (d) => `kim@${d.connection}`, scim: { active: false }, expected: { refused: /deprovisioned/ } },
  {
    name: 'a SAML assertion signed with the metadata’s key whose Issuer is another entity: refused',
    kind: 'saml',
    email: (d) => `pat@${d.connection}`,
    issuer: 'other',
    expected: { refused: /Issuer is https:\/\/evil\.example\/metadata, not the metadata's entity/ },
    aws: 'refused by the user pool',
  },
  {
    name: 'a SAML assertion signed with the metadata’s key that names no Issuer (an empty one): refused',
    kind: 'saml',
    email: (d) => `pat@${d.connection}`,
    issuer: 'none',
    expected: { refused: /names no Issuer/ },
    aws: 'refused by the user pool',
  },
  {
    name: 'a provider the tenant is not connected through (its connection is of the other kind): refused',
    kind: 'oidc',
    email: (d) => `pat@${d.connection}`,
    viaOtherKind: true,
    expected: { refused: /no identity provider t-.*-saml|is connected through 't-.*-oidc', not 't-.*-saml'/ },
  },
  {
    name: 'a person in 60 Entra groups, taken from SCIM: the mapped ones become roles and groups, with no attribute to overflow',
    kind: 'oidc',
    groupsFrom: 'scim',
    email: (d) => `sam@${d.connection}`,
    scim: { active: true, groups: GUIDS },
    expected: { groups: ['approver', 'release'] },
  },
  {
    name: 'with groups from SCIM, the claim counts for nothing',
    kind: 'saml',
    groupsFrom: 'scim',
    email: (d) => `sam@${d.connection}`,
    groups: ['ops'],
    scim: { active: true, groups: [GUIDS[3]!] },
    expected: { groups: ['approver'] },
  },
];

/** What a token (or the trigger's answer) must say for a case that signs in. */
function expectToken(c: Case, got: { tenant: unknown; groups: unknown }, tenant: string) {
  if (!('groups' in c.expected)) throw new Error(`${c.name}: expected a refusal, got a token for ${String(got.tenant)}`);
  expect(got.tenant).toBe(tenant);
  expect([...(got.groups as string[])].sort()).toEqual([...c.expected.groups].sort());
}

describe('one sign-in decision, on AWS: the user pool’s pre-token-generation trigger', () => {
  const table = useTriggerTable();
  const d: Domains = { connection: 'acme.example', native: 'acme.test', other: 'globex.example' };
  const ENTITY = 'https://idp.acme.example/metadata';

  for (const c of CASES) {
    const run = c.aws ? it.skip : it;
    run(`${c.name}${c.aws ? ` (on AWS ${c.aws}, before the trigger)` : ''}`, async () => {
      table.connection('acme', c.kind, { emailDomains: [d.connection], groupsFrom: c.groupsFrom ?? 'claim', entityId: ENTITY });
      table.mapping('acme', MAPPING);
      const email = c.email(d);
      if (c.scim && email) {
        const at = '2026-11-28T00:00:00.000Z';
        const user: ScimUser = {
          tenant: 'acme',
          kind: 'User',
          id: 'scim-u1',
          userName: email,
          email: email.toLowerCase(),
          active: c.scim.active,
          attributes: {},
          created: at,
          lastModified: at,
          version: 1,
        };
        table.scim(user);
        for (const [i, g] of (c.scim.groups ?? []).entries()) {
          const group: ScimGroup = {
            tenant: 'acme',
            kind: 'Group',
            id: `scim-g${i}`,
            displayName: `Group ${i}`,
            members: ['scim-u1'],
            attributes: { externalId: g },
            created: at,
            lastModified: at,
            version: 1,
          };
          table.scim(group);
        }
      }
      const kind = c.viaOtherKind ? (c.kind === 'oidc' ? 'saml' : 'oidc') : c.kind;
      const attributes: Record<string, string> = {
        identities: identities(`t-acme-${kind}`, kind.toUpperCase(), kind === 'saml' ? ENTITY : null),
        // With groups from SCIM the connection maps no claim into the attribute (functions/adapters/cognito-identity-providers.ts).
        ...(c.groupsFrom === 'scim' ? {} : { 'custom:idp_groups': JSON.stringify(c.groups ?? []) }),
        ...(c.tenantClaim ? { 'custom:tenant_id': 'globex' } : {}),
      };
      const event = preTokenEvent(attributes);
      if (email === undefined) delete event.request.userAttributes.email;
      else event.request.userAttributes.email = email;
      if ('refused' in c.expected) {
        await expect(handler(event)).rejects.toThrow(c.expected.refused);
        return;
      }
      const out = (await handler(event)).response.claimsAndScopeOverrideDetails;
      expect(out.idTokenGeneration?.claimsToSuppress).toEqual(['custom:idp_groups']);
      expect(out.accessTokenGeneration?.claimsToAddOrOverride).toEqual(out.idTokenGeneration?.claimsToAddOrOverride);
      expectToken(
        c,
        { tenant: out.idTokenGeneration?.claimsToAddOrOverride?.['custom:tenant_id'], groups: out.groupOverrideDetails?.groupsToOverride },
        'acme',
      );
    });
  }

  it('60 Entra group ids do not fit the user pool attribute the claim travels in: why groups come from SCIM past 52', () => {
    expect(JSON.stringify(GUIDS).length).toBe(2341);
    expect(JSON.stringify(GUIDS).length).toBeGreaterThan(IDP_GROUPS_ATTRIBUTE_MAX);
    expect(JSON.stringify(GUIDS.slice(0, 52)).length).toBeLessThanOrEqual(IDP_GROUPS_ATTRIBUTE_MAX);
    expect(JSON.stringify(GUIDS.slice(0, 53)).length).toBeGreaterThan(IDP_GROUPS_ATTRIBUTE_MAX);
  });
});

describe('one sign-in decision, on the local stack: the local issuer’s OIDC callback and SAML ACS', () => {
  let t: TestStack;
  let oidc: TestOidcIdp;
  let saml: TestSamlIdp;
  beforeAll(async () => {
    t = await startTestStack();
    [oidc, saml] = await Promise.all([startOidcIdp(`${t.url}/dev/oauth2/idpresponse`), startSamlIdp(t)]);
  });
  afterAll(async () => {
    await oidc?.close();
    await saml?.close();
    await t?.stop();
  });

  const scimCall = (token: string, method: string, path: string, body: unknown) =>
    t.call(method, `/scim/v2${path}`, {
      token,
      raw: JSON.stringify(body),
      headers: { 'content-type': 'application/scim+json', accept: 'application/scim+json' },
    });

  /** A tenant created by the platform operator with its own domain and the connection's, connected to the case's IdP, with the mapping. */
  async function tenantFor(c: Case) {
    const id = t.tenant();
    const d: Domains = { connection: `${id}.example`, native: `${id}.test`, other: `other-${id}.example` };
    const pat = await t.stack.issuer.sign(DEMO_USERS.pat!);
    const made = await t.call('POST', '/api/v1/tenants', { token: pat, body: { id, adminEmail: `ada@${d.native}`, emailDomains: [d.native, d.connection] } });
    expect(made.status, JSON.stringify(made.body)).toBe(201);
    const admin = (await t.call('POST', '/dev/sign-in', { body: { email: `ada@${d.native}` } })).body.token as string;
    process.env[localSecretVariable(id, 'idp-client-secret', 'OKTA')!] = OIDC_SECRET;
    const settings =
      c.kind === 'oidc' ? { oidc: { issuer: oidc.issuer, clientId: 'stageline', clientSecret: 'OKTA' } } : { saml: { metadataXml: saml.metadata } };
    const put = await t.call('PUT', '/api/v1/access/identity-provider', {
      token: admin,
      body: { kind: c.kind, ...settings, emailDomains: [d.connection], ...(c.groupsFrom ? { groupsFrom: c.groupsFrom } : {}) },
    });
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    expect(put.body.groupsFrom).toBe(c.groupsFrom ?? 'claim');
    expect((await t.call('PUT', '/api/v1/access/group-mapping', { token: admin, body: { entries: MAPPING } })).status).toBe(200);
    return { id, d, admin };
  }

  /** The SCIM user with the address (and their groups, by externalId), as the tenant's SCIM client provisions them. */
  async function provision(admin: string, email: string, scim: NonNullable<Case['scim']>) {
    const token = (await t.call('POST', '/api/v1/scim/token', { token: admin })).body.token as string;
    const user = await scimCall(token, 'POST', '/Users', {
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
      userName: email,
      emails: [{ value: email, primary: true }],
    });
    expect(user.status, JSON.stringify(user.body)).toBe(201);
    for (const [i, g] of (scim.groups ?? []).entries()) {
      const group = await scimCall(token, 'POST', '/Groups', {
        schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'],
        displayName: `Group ${i}`,
        externalId: g,
        members: [{ value: user.body.id }],
      });
      expect(group.status, JSON.stringify(group.body)).toBe(201);
    }
    if (!scim.active) {
      const off = await scimCall(token, 'PATCH', `/Users/${user.body.id}`, {
        schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
        Operations: [{ op: 'replace', path: 'active', value: false }],
      });
      expect(off.status, JSON.stringify(off.body)).toBe(200);
    }
  }

  for (const c of CASES) {
    it(c.name, async () => {
      const { id, d, admin } = await tenantFor(c);
      const email = c.email(d);
      if (c.scim && email) await provision(admin, email, c.scim);
      const kind = c.viaOtherKind ? (c.kind === 'oidc' ? 'saml' : 'oidc') : c.kind;
      let signed: SignedIn;
      if (c.kind === 'oidc') {
        const subject = `okta-${id}`;
        oidc.accounts.set(subject, { email, groups: c.groups ?? [], ...(c.tenantClaim ? { extra: { 'custom:tenant_id': 'globex' } } : {}) });
        oidc.as = subject;
        signed = await oidcSignIn(t, `t-${id}-${kind}`);
      } else {
        const issuer = c.issuer === 'other' ? 'https://evil.example/metadata' : c.issuer === 'none' ? null : undefined;
        saml.next = { nameId: `entra-${id}`, email: email ?? '', groups: c.groups ?? [], ...(issuer !== undefined ? { issuer } : {}) };
        signed = await samlFinish(t, saml, await samlStart(t, saml, `t-${id}-${kind}`));
      }
      if ('refused' in c.expected) {
        expect(signed.refused, `a token for ${c.name}`).toMatch(/^400 /);
        expect(signed.refused).toMatch(c.expected.refused);
        return;
      }
      expect(signed.refused, signed.refused).toBeUndefined();
      const claims = decodeJwt(signed.token!);
      expect(claims.email).toBe(email!.toLowerCase());
      expect(claims['custom:idp_groups']).toBeUndefined();
      expectToken(c, { tenant: claims['custom:tenant_id'], groups: claims['cognito:groups'] }, id);
    });
  }
});
