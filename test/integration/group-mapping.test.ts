import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeJwt } from 'jose';
import { cliOf, outcome } from '../support/cli.ts';
import { waitFor } from '../support/promotions.ts';
import { DEMO_USERS, makeLine, startTestStack, type TestStack } from '../support/stack.ts';

/**
 * Groups become roles, through the API on the local stack: the tenant's group mapping turns the groups
 * its identity provider sends (`idpGroups`, as a federated sign-in carries them) into the token's groups
 * and roles, the way the pre-token-generation trigger does on AWS. A mapped group bound as deployer in
 * staging acts there and is refused in production; an unmapped group grants nothing; a change to the
 * mapping is in the next token.
 */
let t: TestStack;
beforeAll(async () => {
  t = await startTestStack();
});
afterAll(async () => {
  await t.stop();
});

const groupsIn = (token: string) => decodeJwt(token)['cognito:groups'];

describe('group mapping: IdP groups become Stageline groups and roles', () => {
  it('a token with IdP group X gets what X maps to (deployer in staging by a binding to the mapped group), is refused in production, and the next token follows a change', async () => {
    const tenant = t.tenant();
    const u = await t.users(tenant);
    await makeLine(t, u.admin);
    const federated = (idpGroups: string[]) => t.token({ tenant, groups: [], idpGroups, email: `fed@${tenant}.test`, sub: 'u-fed' });
    const bound = await t.call('PUT', '/api/v1/access/bindings', {
      token: u.admin,
      body: { version: 0, bindings: [{ group: 'payments', role: 'deployer', environments: ['staging'] }] },
    });
    expect(bound.status, JSON.stringify(bound.body)).toBe(200);

    // No mapping yet: the IdP's groups grant nothing, not even a group literally named like a role.
    const before = await federated(['Payments Engineers', 'admin', 'platform-admin', '__proto__']);
    expect(groupsIn(before)).toEqual([]);
    expect((await t.call('GET', '/api/v1/environments', { token: before })).status).toBe(403);
    expect((await t.call('GET', '/api/v1/access/group-mapping', { token: u.admin })).body).toEqual({ entries: [], version: 0 });

    const put = await t.call('PUT', '/api/v1/access/group-mapping', {
      token: u.admin,
      body: {
        version: 0,
        entries: [
          { idpGroup: 'Payments Engineers', group: 'payments' },
          { idpGroup: 'Release Managers', roles: ['approver'] },
        ],
      },
    });
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    expect(put.body).toEqual({
      version: 1,
      entries: [
        { idpGroup: 'Payments Engineers', group: 'payments' },
        { idpGroup: 'Release Managers', roles: ['approver'] },
      ],
    });

    const pay = await federated(['Payments Engineers', 'Everyone']);
    expect(groupsIn(pay)).toEqual(['payments']);
    expect(decodeJwt(pay)['custom:idp_groups']).toBeUndefined();
    await t.call('POST', '/api/v1/environments/dev/items/batch', { token: u.deployer, body: { set: [{ key: 'a', value: 1 }] } });
    const intoStaging = await t.call('POST', '/api/v1/promotions', { token: pay, body: { sourceEnvironment: 'dev', targetEnvironment: 'staging' } });
    expect(intoStaging.status, JSON.stringify(intoStaging.body)).toBe(201);
    expect((await waitFor(t, u.viewer, intoStaging.body.id, ['COMPLETED', 'FAILED', 'CANCELLED'])).status).toBe('COMPLETED');
    const intoProd = await t.call('POST', '/api/v1/promotions', { token: pay, body: { sourceEnvironment: 'staging', targetEnvironment: 'production' } });
    expect(intoProd.status, JSON.stringify(intoProd.body)).toBe(403);
    expect(intoProd.body.error.message).toMatch(/'deployer' role in environment 'production'/);

    // Roles map tenant-wide: the release managers approve anywhere, and only that.
    const release = await federated(['Release Managers']);
    expect(groupsIn(release)).toEqual(['approver']);
    expect((await t.call('POST', '/api/v1/promotions', { token: release, body: { sourceEnvironment: 'dev', targetEnvironment: 'staging' } })).status).toBe(403);

    // The mapping changes: the next token follows (payments no longer mapped, so no rights; release managers now map to the group).
    const changed = await t.call('PUT', '/api/v1/access/group-mapping', {
      token: u.admin,
      body: { version: 1, entries: [{ idpGroup: 'Release Managers', group: 'payments' }] },
    });
    expect(changed.status, JSON.stringify(changed.body)).toBe(200);
    const payNext = await federated(['Payments Engineers']);
    expect(groupsIn(payNext)).toEqual([]);
    expect((await t.call('GET', '/api/v1/environments', { token: payNext })).status).toBe(403);
    const releaseNext = await federated(['Release Managers']);
    expect(groupsIn(releaseNext)).toEqual(['payments']);
    await t.call('POST', '/api/v1/environments/dev/items/batch', { token: u.deployer, body: { set: [{ key: 'b', value: 2 }] } });
    const again = await t.call('POST', '/api/v1/promotions', { token: releaseNext, body: { sourceEnvironment: 'dev', targetEnvironment: 'staging' } });
    expect(again.status, JSON.stringify(again.body)).toBe(201);

    // Audited with before and after.
    const audit = await t.call('GET', '/api/v1/audit?entityType=tenant&entityId=group-mapping', { token: u.admin });
    expect(audit.status).toBe(200);
    const [last] = audit.body.items;
    expect(last.action).toBe('access.group-mapping.put');
    expect(last.before).toMatch(/"Payments Engineers" -> group:payments/);
    expect(last.after).toBe('"Release Managers" -> group:payments');
  });

  it('bad input answers 400 naming the field, a stale version 409, and only an admin reads or changes the mapping', async () => {
    const tenant = t.tenant();
    const u = await t.users(tenant);
    const bad = async (entries: unknown) => t.call('PUT', '/api/v1/access/group-mapping', { token: u.admin, body: { entries } });
    const asRole = await bad([{ idpGroup: 'x', group: 'admin' }]);
    expect(asRole.status).toBe(400);
    expect(JSON.stringify(asRole.body)).toMatch(/entries\.0\.group/);
    const grantsNothing = await bad([{ idpGroup: 'x' }]);
    expect(grantsNothing.status).toBe(400);
    expect(JSON.stringify(grantsNothing.body)).toMatch(/entries\.0\.group/);
    const unknownRole = await bad([{ idpGroup: 'x', roles: ['root'] }]);
    expect(unknownRole.status).toBe(400);
    expect(JSON.stringify(unknownRole.body)).toMatch(/entries\.0\.roles/);
    const tooMany = await bad(Array.from({ length: 201 }, (_, i) => ({ idpGroup: `g${i}`, group: 'g' })));
    expect(tooMany.status).toBe(400);
    const proto = await bad([{ idpGroup: '__proto__', group: 'constructor' }]);
    expect(proto.status, JSON.stringify(proto.body)).toBe(200);
    expect(proto.body.entries).toEqual([{ idpGroup: '__proto__', group: 'constructor' }]);
    const stale = await t.call('PUT', '/api/v1/access/group-mapping', { token: u.admin, body: { version: 0, entries: [] } });
    expect(stale.status).toBe(409);
    expect((await t.call('GET', '/api/v1/access/group-mapping', { token: u.deployer })).status).toBe(403);
    expect((await t.call('PUT', '/api/v1/access/group-mapping', { token: u.deployer, body: { entries: [] } })).status).toBe(403);
  });

  it("the local sign-in of acme's federated demo user carries what acme's mapping makes of her IdP groups", async () => {
    const signIn = async () => {
      const r = await fetch(`${t.url}/dev/sign-in`, { method: 'POST', body: JSON.stringify({ email: DEMO_USERS.fiona!.email }) });
      return (await r.json()) as { token: string; groups: string[] };
    };
    expect((await signIn()).groups).toEqual([]);
    const alice = await t.stack.issuer.sign(DEMO_USERS.alice!);
    const put = await t.call('PUT', '/api/v1/access/group-mapping', {
      token: alice,
      body: { entries: [{ idpGroup: 'Payments Engineers', group: 'payments', roles: ['viewer'] }] },
    });
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    const after = await signIn();
    expect(after.groups).toEqual(['viewer', 'payments']);
    expect(groupsIn(after.token)).toEqual(['viewer', 'payments']);
  });

  it('the manifest section group_mapping: plan names the change, apply saves and audits it (admin), export writes it back (a plan of the export is empty), a bad entry is a 400 naming the field', async () => {
    const tenant = t.tenant();
    const u = await t.users(tenant);
    await makeLine(t, u.admin);
    const doc = (role: string) =>
      `artifacts:\n  promotion:\n    group_mapping:\n      - idpGroup: Payments Engineers\n        group: payments\n      - idpGroup: Release Managers\n        roles: [${role}]\n`;
    const bad = await t.call('POST', '/api/v1/manifest/plan', { token: u.viewer, body: { document: doc('owner') } });
    expect(bad.status, JSON.stringify(bad.body)).toBe(400);
    expect(JSON.stringify(bad.body.error.issues)).toContain('document.artifacts.promotion.group_mapping.1.roles.0');
    const reserved = await t.call('POST', '/api/v1/manifest/plan', {
      token: u.viewer,
      body: { document: 'artifacts:\n  promotion:\n    group_mapping:\n      - idpGroup: ops\n        group: admin\n' },
    });
    expect(reserved.status, JSON.stringify(reserved.body)).toBe(400);
    expect(JSON.stringify(reserved.body.error.issues)).toContain('document.artifacts.promotion.group_mapping.0.group');
    const plan = await t.call('POST', '/api/v1/manifest/plan', { token: u.viewer, body: { document: doc('approver') } });
    expect(plan.status, JSON.stringify(plan.body)).toBe(200);
    expect(plan.body.changes.map((c: any) => [c.op, c.path])).toEqual([
      ['add', 'group_mapping.Payments Engineers'],
      ['add', 'group_mapping.Release Managers'],
    ]);
    expect((await t.call('POST', '/api/v1/manifest/apply', { token: u.deployer, body: { document: doc('approver') } })).status).toBe(403);
    const applied = await t.call('POST', '/api/v1/manifest/apply', { token: u.admin, body: { document: doc('approver') } });
    expect(applied.status, JSON.stringify(applied.body)).toBe(200);
    expect((await t.call('GET', '/api/v1/access/group-mapping', { token: u.admin })).body).toEqual({
      version: 1,
      entries: [
        { idpGroup: 'Payments Engineers', group: 'payments' },
        { idpGroup: 'Release Managers', roles: ['approver'] },
      ],
    });
    const exported = await t.call('GET', '/api/v1/manifest', { token: u.viewer });
    expect(exported.body).toContain('group_mapping:');
    expect((await t.call('POST', '/api/v1/manifest/plan', { token: u.viewer, body: { document: exported.body } })).body.changes).toEqual([]);
    // A change to one entry is planned as that IdP group's change, and applied as the next version.
    const changed = await t.call('POST', '/api/v1/manifest/plan', { token: u.viewer, body: { document: doc('deployer') } });
    expect(changed.body.changes.map((c: any) => [c.op, c.path])).toEqual([['change', 'group_mapping.Release Managers']]);
    expect((await t.call('POST', '/api/v1/manifest/apply', { token: u.admin, body: { document: doc('deployer') } })).status).toBe(200);
    expect((await t.call('GET', '/api/v1/access/group-mapping', { token: u.admin })).body.version).toBe(2);
    const audit = await t.call('GET', '/api/v1/audit?entityType=tenant&entityId=group-mapping', { token: u.admin });
    expect(audit.body.items.map((e: any) => e.action)).toEqual(expect.arrayContaining(['manifest.group-mapping.add', 'manifest.group-mapping.change']));
    // The mapping is in force: the next token of a member of Release Managers carries deployer.
    const federated = await t.token({ tenant, groups: [], idpGroups: ['Release Managers'], email: `fed@${tenant}.test`, sub: 'u-fed' });
    expect(groupsIn(federated)).toEqual(['deployer']);
  });

  it('stageline idp groups list|set|remove: maps an IdP group, lists it (--json too), changes and removes it; a bad role is refused naming the field; only admins', async () => {
    const tenant = t.tenant();
    const u = await t.users(tenant);
    const cli = cliOf(t);
    expect((await cli(u.admin, 'idp', 'groups', 'list')).stdout).toContain('no group mapping');
    expect((await cli(u.admin, 'idp', 'groups', 'set', 'Payments Engineers', '--group', 'payments')).stdout.trim()).toBe(
      "'Payments Engineers' maps to group:payments (mapping version 1)",
    );
    expect((await cli(u.admin, 'idp', 'groups', 'set', 'Release Managers', '--role', 'approver', 'deployer')).stdout.trim()).toBe(
      "'Release Managers' maps to deployer approver (mapping version 2)",
    );
    expect(JSON.parse((await cli(u.admin, 'idp', 'groups', 'list', '--json')).stdout)).toEqual({
      version: 2,
      entries: [
        { idpGroup: 'Payments Engineers', group: 'payments' },
        { idpGroup: 'Release Managers', roles: ['deployer', 'approver'] },
      ],
    });
    expect((await cli(u.admin, 'idp', 'groups', 'list')).stdout).toMatch(/Payments Engineers\s+payments/);
    // set replaces what the IdP group maps to (not added to it).
    const json = JSON.parse((await cli(u.admin, 'idp', 'groups', 'set', 'Release Managers', '--group', 'release', '--role', 'viewer', '--json')).stdout);
    expect(json.entries).toContainEqual({ idpGroup: 'Release Managers', group: 'release', roles: ['viewer'] });
    expect(json.entries.filter((e: any) => e.idpGroup === 'Release Managers')).toHaveLength(1);
    const nothing = await outcome(cli(u.admin, 'idp', 'groups', 'set', 'Ops'));
    expect(nothing.code).not.toBe(0);
    expect(nothing.stderr).toMatch(/--group.*--role/);
    const bad = await outcome(cli(u.admin, 'idp', 'groups', 'set', 'Ops', '--group', 'admin'));
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/entries\.\d\.group/);
    expect((await cli(u.admin, 'idp', 'groups', 'remove', 'Payments Engineers')).stdout.trim()).toBe(
      "'Payments Engineers' maps to nothing now (mapping version 4)",
    );
    const unknown = await outcome(cli(u.admin, 'idp', 'groups', 'remove', 'Payments Engineers'));
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toMatch(/no entry maps 'Payments Engineers'/);
    expect((await t.call('GET', '/api/v1/access/group-mapping', { token: u.admin })).body).toEqual({
      version: 4,
      entries: [{ idpGroup: 'Release Managers', group: 'release', roles: ['viewer'] }],
    });
    expect((await outcome(cli(u.deployer, 'idp', 'groups', 'list'))).stderr).toMatch(/403/);
  });
});
