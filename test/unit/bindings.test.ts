import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ROLES, hasRole, type Principal } from '../../domain/access/auth.ts';
import { BINDING_ROLES, checkBindings, normalBindings, rightsIn, type Binding } from '../../domain/access/bindings.ts';

const ENVS = ['dev', 'staging', 'production'];
const GROUPS = ['payments', 'release', 'ops'];
const env = fc.constantFrom(...ENVS);
const principal = fc.record({
  tenant: fc.constant('acme'),
  id: fc.constantFrom('u1', 'u2'),
  name: fc.constantFrom('a@acme.test', 'b@acme.test'),
  roles: fc.subarray([...ROLES]),
  groups: fc.subarray(GROUPS),
  kind: fc.constant('user' as const),
}) as fc.Arbitrary<Principal>;
const binding: fc.Arbitrary<Binding> = fc
  .record({
    subject: fc.oneof(fc.record({ user: fc.constantFrom('u1', 'u2', 'a@acme.test', 'b@acme.test') }), fc.record({ group: fc.constantFrom(...GROUPS) })),
    role: fc.constantFrom(...BINDING_ROLES),
    environments: fc.subarray([...ENVS, '*'], { minLength: 1 }),
  })
  .map(({ subject, ...rest }) => ({ ...subject, ...rest }));
const bindings = fc.array(binding, { maxLength: 8 });

describe('rightsIn (domain/access/bindings.ts)', () => {
  it('with no binding, the rights are the token roles, as before bindings (tenant-wide, in every environment)', () => {
    fc.assert(
      fc.property(principal, fc.option(env, { nil: null }), (p, e) => {
        const r = rightsIn(p, [], e);
        for (const role of ROLES) expect(r.roles.includes(role)).toBe(hasRole(p, role));
        expect(r.breakGlass).toBe(hasRole(p, 'admin'));
      }),
    );
  });

  it('is the union of the token roles and what each binding that names the caller grants there', () => {
    fc.assert(
      fc.property(principal, bindings, env, (p, bs, e) => {
        const all = rightsIn(p, bs, e);
        const parts = [rightsIn(p, [], e), ...bs.map((b) => rightsIn(p, [b], e))];
        expect(all.roles).toEqual(ROLES.filter((r) => parts.some((x) => x.roles.includes(r))));
        expect(all.breakGlass).toBe(parts.some((x) => x.breakGlass));
      }),
    );
  });

  it('is monotone: adding a binding never takes a right away', () => {
    fc.assert(
      fc.property(principal, bindings, binding, fc.option(env, { nil: null }), (p, bs, extra, e) => {
        const before = rightsIn(p, bs, e);
        const after = rightsIn(p, [...bs, extra], e);
        for (const r of before.roles) expect(after.roles).toContain(r);
        if (before.breakGlass) expect(after.breakGlass).toBe(true);
      }),
    );
  });

  it('a binding grants only in the environments it names (or *), and only to whom it names', () => {
    fc.assert(
      fc.property(principal, binding, env, (p, b, e) => {
        const none = { ...p, roles: [] };
        const r = rightsIn(none, [b], e);
        const named = b.user !== undefined ? b.user === p.id || b.user === p.name : p.groups!.includes(b.group!);
        const applies = b.environments.includes('*') || b.environments.includes(e);
        if (!named) expect(r.roles).toEqual([]);
        if (named && !applies) expect(r.roles).toEqual(['viewer']);
        if (named && applies && b.role !== 'break-glass') expect(r.roles).toContain(b.role);
        expect(r.breakGlass).toBe(named && applies && (b.role === 'break-glass' || b.role === 'admin'));
      }),
    );
  });

  it('a deployer of staging deploys in staging, not in production, nor tenant-wide; reads everywhere', () => {
    const p: Principal = { tenant: 'acme', id: 'u9', name: 'pay@acme.test', roles: [], groups: ['payments'], kind: 'user' };
    const bs: Binding[] = [{ group: 'payments', role: 'deployer', environments: ['staging'] }];
    expect(rightsIn(p, bs, 'staging').roles).toEqual(['viewer', 'deployer']);
    expect(rightsIn(p, bs, 'production').roles).toEqual(['viewer']);
    expect(rightsIn(p, bs, null).roles).toEqual(['viewer']);
  });

  it('normal form: merging and sorting does not change any decision', () => {
    fc.assert(
      fc.property(principal, bindings, fc.option(env, { nil: null }), (p, bs, e) => {
        const a = rightsIn(p, bs, e);
        const b = rightsIn(p, normalBindings(bs), e);
        expect(b.roles).toEqual(a.roles);
        expect(b.breakGlass).toBe(a.breakGlass);
      }),
    );
  });

  it('checkBindings refuses an environment that does not exist, naming the field', () => {
    expect(() => checkBindings([{ group: 'g', role: 'deployer', environments: ['staging', 'prod'] }], ['staging'])).toThrow(
      expect.objectContaining({ issues: [expect.objectContaining({ path: 'body.bindings.0.environments.1' })] }),
    );
    expect(checkBindings([{ group: 'g', role: 'deployer', environments: ['*'] }], [])).toEqual([{ group: 'g', role: 'deployer', environments: ['*'] }]);
  });
});
