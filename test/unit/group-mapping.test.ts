import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ROLES, PLATFORM_GROUP } from '../../domain/access/auth.ts';
import {
  claimsFor,
  groupMappingBody,
  normalGroupMap,
  parseIdpGroups,
  tenantOfProvider,
  tokenGroups,
  MAX_GROUP_MAP_ENTRIES,
  type GroupMapEntry,
} from '../../domain/access/group-mapping.ts';

/** Names an attacker would reach for: prototype keys, role names spelled as IdP groups, empty-ish values. */
const PROTOTYPISH = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf', '__defineGetter__'];
const IDP = ['payments', 'Release Managers', '8f3c1f2a-0000-4000-8000-000000000001', ...PROTOTYPISH, 'admin'];
const entry: fc.Arbitrary<GroupMapEntry> = fc
  .record({
    idpGroup: fc.constantFrom(...IDP),
    group: fc.option(fc.constantFrom('payments', 'release', 'ops', '__proto__', 'constructor'), { nil: undefined }),
    roles: fc.option(fc.subarray([...ROLES], { minLength: 1 }), { nil: undefined }),
  })
  .filter((e) => e.group !== undefined || e.roles !== undefined)
  .map((e) => Object.fromEntries(Object.entries(e).filter(([, v]) => v !== undefined)) as unknown as GroupMapEntry);
const mapping = fc.array(entry, { maxLength: 8 });
const idpGroups = fc.array(fc.oneof(fc.constantFrom(...IDP), fc.string({ maxLength: 12 })), { maxLength: 8 });

describe('claimsFor (domain/access/group-mapping.ts)', () => {
  it('grants exactly what the entries naming one of the IdP groups map to, nothing from an unmapped group', () => {
    fc.assert(
      fc.property(mapping, idpGroups, (m, sent) => {
        const c = claimsFor(m, sent);
        const hit = m.filter((e) => sent.includes(e.idpGroup));
        expect(c.roles).toEqual(ROLES.filter((r) => hit.some((e) => e.roles?.includes(r))));
        expect(c.groups).toEqual([...new Set(hit.flatMap((e) => (e.group ? [e.group] : [])))].sort());
      }),
    );
  });

  it('an unmapped IdP group never grants anything: adding it changes no claim', () => {
    fc.assert(
      fc.property(mapping, idpGroups, fc.string({ maxLength: 20 }), (m, sent, extra) => {
        fc.pre(!m.some((e) => e.idpGroup === extra));
        expect(claimsFor(m, [...sent, extra])).toEqual(claimsFor(m, sent));
      }),
    );
  });

  it('with no mapping, no IdP group grants anything, whatever its name (a role name or a prototype key included)', () => {
    fc.assert(
      fc.property(idpGroups, (sent) => {
        expect(claimsFor([], sent)).toEqual({ groups: [], roles: [] });
        expect(tokenGroups(claimsFor([], sent))).toEqual([]);
      }),
    );
    expect(claimsFor([], ['admin', 'platform-admin', '__proto__'])).toEqual({ groups: [], roles: [] });
  });

  it('removing an entry removes what only it granted (the next token loses the role)', () => {
    fc.assert(
      fc.property(mapping, entry, idpGroups, (m, removed, sent) => {
        const before = claimsFor([...m, removed], sent);
        const after = claimsFor(m, sent);
        for (const r of after.roles) expect(before.roles).toContain(r);
        for (const r of before.roles) if (!m.some((e) => sent.includes(e.idpGroup) && e.roles?.includes(r))) expect(after.roles).not.toContain(r);
      }),
    );
  });

  it('prototype-ish names are data: an IdP group or a Stageline group named __proto__ maps like any other', () => {
    const m: GroupMapEntry[] = [
      { idpGroup: '__proto__', group: 'constructor' },
      { idpGroup: 'constructor', roles: ['deployer'] },
    ];
    expect(claimsFor(m, ['__proto__'])).toEqual({ groups: ['constructor'], roles: [] });
    expect(claimsFor(m, ['constructor'])).toEqual({ groups: [], roles: ['deployer'] });
    expect(claimsFor(m, ['toString', 'hasOwnProperty'])).toEqual({ groups: [], roles: [] });
    expect(({} as Record<string, unknown>).constructor).toBe(Object);
  });

  it('the token carries roles then mapped groups, each once', () => {
    expect(tokenGroups({ roles: ['deployer'], groups: ['payments'] })).toEqual(['deployer', 'payments']);
  });
});

describe('the group mapping body', () => {
  const parse = (body: unknown) => groupMappingBody.safeParse(body);
  it('accepts entries with a group, roles, or both', () => {
    const r = parse({
      version: 0,
      entries: [
        { idpGroup: 'Payments', group: 'payments' },
        { idpGroup: 'x', roles: ['approver'] },
      ],
    });
    expect(r.success, JSON.stringify(r.error?.issues)).toBe(true);
  });
  it('refuses an entry that grants nothing, an unknown role, and a group named like a role or the platform group (it would grant that role)', () => {
    for (const bad of [
      { idpGroup: 'a' },
      { idpGroup: 'a', roles: [] },
      { idpGroup: 'a', roles: ['root'] },
      { idpGroup: 'a', group: 'admin' },
      { idpGroup: 'a', group: 'Admin' },
      { idpGroup: 'a', group: PLATFORM_GROUP },
      { idpGroup: 'a', group: 'two words' },
      { idpGroup: '', group: 'g' },
      { idpGroup: 'x'.repeat(257), group: 'g' },
      { idpGroup: 'a', group: 'g', extra: 1 },
    ]) {
      const r = parse({ entries: [bad] });
      expect(r.success, JSON.stringify(bad)).toBe(false);
      expect(r.error!.issues[0]!.path[0], JSON.stringify(bad)).toBe('entries');
    }
  });
  it('is bounded in count', () => {
    const many = Array.from({ length: MAX_GROUP_MAP_ENTRIES + 1 }, (_, i) => ({ idpGroup: `g${i}`, group: 'g' }));
    expect(parse({ entries: many }).success).toBe(false);
    expect(parse({ entries: many.slice(1) }).success).toBe(true);
  });
  it('keeps __proto__ as data, in the normal form (sorted, duplicates merged)', () => {
    const r = parse({
      entries: [
        { idpGroup: '__proto__', group: 'p' },
        { idpGroup: 'a', roles: ['viewer', 'admin'] },
        { idpGroup: 'a', roles: ['admin'] },
      ],
    });
    expect(r.success).toBe(true);
    expect(normalGroupMap(r.data!.entries)).toEqual([
      { idpGroup: '__proto__', group: 'p' },
      { idpGroup: 'a', roles: ['viewer', 'admin'] },
    ]);
  });
});

describe('parseIdpGroups and tenantOfProvider', () => {
  it('reads the claim as the JSON array string the federation writes, refusing nothing but ignoring what is not a string', () => {
    expect(parseIdpGroups('["a","b",1,null,"a"]')).toEqual(['a', 'b']);
    expect(parseIdpGroups('not json')).toEqual([]);
    expect(parseIdpGroups('{"__proto__":["admin"]}')).toEqual([]);
    expect(parseIdpGroups(undefined)).toEqual([]);
    expect(parseIdpGroups(['x', 'y'])).toEqual(['x', 'y']);
  });
  it('names the tenant of a per-tenant provider, and no tenant for any other name', () => {
    expect(tenantOfProvider('t-acme-oidc')).toBe('acme');
    expect(tenantOfProvider('t-big-co-saml')).toBe('big-co');
    for (const n of ['acme', 'Google', 't--oidc', 't-acme-ldap', 't-a b-oidc', 'x-acme-oidc', 't-acme-oidc ']) expect(tenantOfProvider(n), n).toBeNull();
  });
});
