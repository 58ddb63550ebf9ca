import { afterEach, describe, expect, it } from 'vitest';
import { changeRoles, createTenant, inviteUser, listUsers, removeUser } from '../../domain/access/users.ts';
import { CognitoUserAdmin } from '../../functions/adapters/cognito-users.ts';
import { fakeUserPool } from '../../local/measure/cognito-pool.ts';
import { memoryDeps } from '../support/memory-deps.ts';
import type { Ctx } from '../../domain/ports.ts';
import { migrateTenants } from '../../domain/access/migrate.ts';
import { VersionConflict } from '../../domain/kernel/errors.ts';
import { auditEntry } from '../../domain/audit/audit.ts';

const auditOf = (action: string) =>
  auditEntry('acme', { actor: 'test', actorName: 'test', action, entityType: 'user', entityId: 'x', before: null, after: null }, new Date());

/**
 * User management on Cognito (aws-sdk-client-mock, a pool in memory): what the people routes cost
 * in Cognito calls does not grow with the other tenants' users, and removing or demoting someone
 * signs them out everywhere (AdminUserGlobalSignOut).
 */
let pools: ReturnType<typeof fakeUserPool>[] = [];
afterEach(() => {
  for (const p of pools) p.restore();
  pools = [];
});

async function tenantWithOthers(others: number) {
  const pool = fakeUserPool();
  pools.push(pool);
  const groups = ['viewer', 'deployer', 'approver', 'admin'];
  for (let i = 0; i < others; i++) pool.add({ email: `u${i}@other${i % 50}.test`, tenant: `other${i % 50}`, groups: [groups[i % 4]!] });
  const pat = pool.add({ email: 'pat@platform.test', tenant: 'platform', groups: ['admin', 'platform-admin'] });
  const m = memoryDeps();
  const deps = { ...m.deps, users: new CognitoUserAdmin(pool.client, 'pool') };
  const as = (sub: string, tenant: string, email: string, roles: string[]): Ctx => ({
    principal: { tenant, id: sub, name: email, roles: roles as never, groups: roles, kind: 'user' },
  });
  const made = await createTenant(deps, as(pat.sub, 'platform', pat.email, ['admin', 'platform-admin']), { id: 'acme', adminEmail: 'ada@acme.test' });
  const ada = as(made.admin.id, 'acme', 'ada@acme.test', ['admin']);
  const carl = await inviteUser(deps, ada, { email: 'carl@acme.test', roles: ['approver'] });
  const vic = await inviteUser(deps, ada, { email: 'vic@acme.test', roles: ['admin'] });
  return { pool, deps, ada, carl, vic, as };
}

describe('people on Cognito', () => {
  it('GET /users and the last-admin check cost the same Cognito calls with 10 or 10,000 users in other tenants', async () => {
    const cost: Record<number, { list: number; demote: number; remove: number }> = {};
    for (const others of [10, 10_000]) {
      const { pool, deps, ada, carl, vic } = await tenantWithOthers(others);
      pool.resetCalls();
      const listed = await listUsers(deps, ada);
      const list = pool.calls().length;
      expect(listed.items.map((u) => `${u.email}:${u.roles.join(',')}`)).toEqual(['ada@acme.test:admin', 'carl@acme.test:approver', 'vic@acme.test:admin']);
      pool.resetCalls();
      await changeRoles(deps, ada, vic.id, ['viewer']);
      const demote = pool.calls().length;
      pool.resetCalls();
      await removeUser(deps, ada, carl.id);
      const remove = pool.calls().length;
      cost[others] = { list, demote, remove };
    }
    expect(cost[10_000]).toEqual(cost[10]);
    // the caller's own roles (2 calls) and one AdminGetUser per person of the tenant
    expect(cost[10]!.list).toBeLessThanOrEqual(5);
  });

  it('removing or demoting someone signs them out everywhere; promoting does not', async () => {
    const { pool, deps, ada, carl, vic } = await tenantWithOthers(3);
    pool.resetCalls();
    await changeRoles(deps, ada, carl.id, ['approver', 'deployer']);
    expect(pool.calls()).not.toContain('AdminUserGlobalSignOut');
    await changeRoles(deps, ada, vic.id, ['viewer']);
    expect(pool.calls()).toContain('AdminUserGlobalSignOut');
    pool.resetCalls();
    await removeUser(deps, ada, carl.id);
    expect(pool.calls().filter((c) => c.startsWith('AdminUserGlobal') || c === 'AdminDeleteUser')).toEqual(['AdminUserGlobalSignOut', 'AdminDeleteUser']);
  });

  it('an admin removed between the check of their token and their own change is refused, never put back into the index: the tenant keeps its other admin', async () => {
    const { deps, ada, vic, as } = await tenantWithOthers(0);
    const vicCtx = as(vic.id, 'acme', vic.email, ['admin']);
    // vic removes ada: the index entry goes first (with ada's "not before"), the directory after; ada's change lands in between.
    await deps.store.removeMember('acme', ada.principal.id, auditOf('user.remove'), Math.floor(Date.now() / 1000));
    await expect(changeRoles(deps, ada, vic.id, ['viewer'])).rejects.toBeInstanceOf(VersionConflict);
    await expect(removeUser(deps, ada, vic.id)).rejects.toBeInstanceOf(VersionConflict);
    expect(await deps.store.getMember('acme', ada.principal.id)).toBeNull();
    expect((await deps.store.getMember('acme', vic.id))?.roles).toEqual(['admin']);
    // The directory catches up; vic is the tenant's admin and manages people as before.
    await expect(changeRoles(deps, vicCtx, ada.principal.id, ['viewer'])).resolves.toMatchObject({ roles: ['viewer'] });
    // Someone from before the index, never removed, is written into it (once) on their first change.
    const member = { ...(await deps.store.getMember('acme', vic.id))!, id: 'u-before-index', email: 'old@acme.test' };
    expect(await deps.store.indexMember(member)).toBe(true);
    expect(await deps.store.indexMember(member)).toBe(true);
    expect((await deps.store.getMember('acme', 'u-before-index'))?.email).toBe('old@acme.test');
  });

  it('the migration gives the tenants of a pool from before the people routes their record, email domains and people index, once', async () => {
    const pool = fakeUserPool();
    pools.push(pool);
    for (let i = 0; i < 130; i++) pool.add({ email: `u${i}@globex.test`, tenant: 'globex', groups: ['viewer'] });
    const alice = pool.add({ email: 'alice@acme.test', tenant: 'acme', groups: ['admin'] });
    pool.add({ email: 'bob@acme.test', tenant: 'acme', groups: ['deployer', 'approver'] });
    pool.add({ email: 'pat@platform.test', tenant: 'platform', groups: ['admin', 'platform-admin'] });
    const m = memoryDeps();
    const deps = { ...m.deps, users: new CognitoUserAdmin(pool.client, 'pool') };
    const report = await migrateTenants(deps);
    expect(report).toEqual({
      created: ['acme', 'globex', 'platform'],
      domains: { acme: ['acme.test'], globex: ['globex.test'], platform: ['platform.test'] },
      indexed: 133,
    });
    expect(await migrateTenants(deps)).toEqual({ created: [], domains: {}, indexed: 0 });
    expect(await m.store.tenantInUse('acme')).toBe(true);
    const ctx: Ctx = { principal: { tenant: 'acme', id: alice.sub, name: alice.email, roles: ['admin'], groups: ['admin'], kind: 'user' } };
    expect((await listUsers(deps, ctx)).items.map((u) => `${u.email}:${[...u.roles].sort().join(',')}`)).toEqual([
      'alice@acme.test:admin',
      'bob@acme.test:approver,deployer',
    ]);
  });
});
