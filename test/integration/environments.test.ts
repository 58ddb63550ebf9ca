import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeLine, startTestStack, type TestStack } from '../support/stack.ts';

let t: TestStack;
beforeAll(async () => {
  t = await startTestStack();
});
afterAll(() => t.stop());

describe('environments API', () => {
  it('creates environments and lists them in line order, not creation order', async () => {
    const tenant2 = t.tenant();
    const u2 = await t.users(tenant2);
    for (const [name, position] of [
      ['production', 20],
      ['dev', 0],
      ['staging', 10],
    ] as const) {
      expect((await t.call('POST', '/api/v1/environments', { token: u2.admin, body: { name, position } })).status).toBe(201);
    }
    const list2 = await t.call('GET', '/api/v1/environments', { token: u2.viewer });
    expect(list2.body.items.map((e: any) => e.name)).toEqual(['dev', 'staging', 'production']);
  });

  it('returns every field the seeds ask for, with policy_compliance always on', async () => {
    const u = await t.users(t.tenant());
    const r = await t.call('POST', '/api/v1/environments', {
      token: u.admin,
      body: { name: 'staging', displayName: 'Staging', position: 1, description: 'integration', protected: true, gates: { tests: true, security_scan: true } },
    });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({
      name: 'staging',
      displayName: 'Staging',
      position: 1,
      description: 'integration',
      protected: true,
      gates: { policy_compliance: true, tests: true, security_scan: true, cost_analysis: false, performance_baseline: false },
      snapshot: { seq: 0 },
      itemCount: 0,
      version: 1,
      createdBy: expect.stringContaining('admin@'),
      updatedBy: expect.stringContaining('admin@'),
    });
    const off = await t.call('POST', '/api/v1/environments', { token: u.admin, body: { name: 'qa', position: 2, gates: { policy_compliance: false } } });
    expect(off.status).toBe(400);
    expect(off.body.error.issues[0]).toMatchObject({ path: 'gates.policy_compliance', message: expect.stringContaining('mandatory') });
  });

  it('rejects a duplicate name or position with 409', async () => {
    const u = await t.users(t.tenant());
    await makeLine(t, u.admin);
    const dupName = await t.call('POST', '/api/v1/environments', { token: u.admin, body: { name: 'dev', position: 7 } });
    expect(dupName.status).toBe(409);
    const dupPos = await t.call('POST', '/api/v1/environments', { token: u.admin, body: { name: 'qa', position: 1 } });
    expect(dupPos.status).toBe(409);
    expect(dupPos.body.error.message).toContain("held by 'staging'");
  });

  it('updates with optimistic locking: a stale version answers 409', async () => {
    const u = await t.users(t.tenant());
    await makeLine(t, u.admin);
    const got = await t.call('GET', '/api/v1/environments/staging', { token: u.viewer });
    const ok = await t.call('PATCH', '/api/v1/environments/staging', {
      token: u.admin,
      body: { version: got.body.version, description: 'v2', gates: { cost_analysis: true } },
    });
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ version: got.body.version + 1, description: 'v2', gates: { cost_analysis: true, tests: false } });
    const stale = await t.call('PATCH', '/api/v1/environments/staging', { token: u.admin, body: { version: got.body.version, description: 'v3' } });
    expect(stale.status).toBe(409);
    expect(stale.body.error).toMatchObject({ code: 'VERSION_CONFLICT', currentVersion: got.body.version + 1 });
    const moved = await t.call('PATCH', '/api/v1/environments/staging', { token: u.admin, body: { version: ok.body.version, position: 5 } });
    expect(moved.status).toBe(200);
    // the old position is free again
    expect((await t.call('POST', '/api/v1/environments', { token: u.admin, body: { name: 'qa', position: 1 } })).status).toBe(201);
  });

  it('concurrent updates with the same version: exactly one wins', async () => {
    const u = await t.users(t.tenant());
    await makeLine(t, u.admin);
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) => t.call('PATCH', '/api/v1/environments/dev', { token: u.admin, body: { version: 1, description: `writer ${i}` } })),
    );
    expect(results.filter((r) => r.status === 200)).toHaveLength(1);
    expect(results.filter((r) => r.status === 409)).toHaveLength(7);
  });

  it('refuses to delete an environment that holds configs, or is protected; deletes an empty one', async () => {
    const u = await t.users(t.tenant());
    await makeLine(t, u.admin);
    await t.call('POST', '/api/v1/environments/dev/configs', { token: u.deployer, body: { key: 'a', value: 1 } });
    const full = await t.call('DELETE', '/api/v1/environments/dev', { token: u.admin });
    expect(full.status).toBe(409);
    expect(full.body.error.code).toBe('ENVIRONMENT_NOT_EMPTY');
    const cur = await t.call('GET', '/api/v1/environments/production', { token: u.admin });
    await t.call('PATCH', '/api/v1/environments/production', { token: u.admin, body: { version: cur.body.version, protected: true } });
    expect((await t.call('DELETE', '/api/v1/environments/production', { token: u.admin })).status).toBe(409);
    const empty = await t.call('DELETE', '/api/v1/environments/staging?reason=retired', { token: u.admin });
    expect(empty.status).toBe(204);
    expect((await t.call('GET', '/api/v1/environments/staging', { token: u.admin })).status).toBe(404);
  });

  it('enforces roles: viewers read, only admins change environments', async () => {
    const u = await t.users(t.tenant());
    await makeLine(t, u.admin);
    for (const who of [u.viewer, u.deployer, u.approver]) {
      const r = await t.call('POST', '/api/v1/environments', { token: who, body: { name: 'qa', position: 9 } });
      expect(r.status).toBe(403);
      expect(r.body.error.message).toContain("'admin' role");
      expect((await t.call('PATCH', '/api/v1/environments/dev', { token: who, body: { version: 1 } })).status).toBe(403);
      expect((await t.call('DELETE', '/api/v1/environments/dev', { token: who })).status).toBe(403);
      expect((await t.call('GET', '/api/v1/environments', { token: who })).status).toBe(200);
    }
    const none = await t.token({ tenant: t.tenant(), groups: [] });
    expect((await t.call('GET', '/api/v1/environments', { token: none })).status).toBe(403);
  });
});

describe('authentication like the API Gateway JWT authorizer', () => {
  it('answers 401 without a token, with a forged, expired or foreign token', async () => {
    const tenant = t.tenant();
    expect((await t.call('GET', '/api/v1/environments')).status).toBe(401);
    const good = await t.token({ tenant, groups: ['admin'] });
    const [h, p] = good.split('.');
    const forgedPayload = Buffer.from(
      JSON.stringify({ ...JSON.parse(Buffer.from(p!, 'base64url').toString()), 'cognito:groups': ['admin'], 'custom:tenant_id': 'other' }),
    ).toString('base64url');
    expect((await t.call('GET', '/api/v1/environments', { token: `${h}.${forgedPayload}.${good.split('.')[2]}` })).status).toBe(401);
    const expired = await t.stack.issuer.sign({ sub: 'x', email: 'x@x', tenant, groups: ['admin'] }, { expiresIn: '-1m' });
    expect((await t.call('GET', '/api/v1/environments', { token: expired })).status).toBe(401);
    const wrongAud = await t.stack.issuer.sign({ sub: 'x', email: 'x@x', tenant, groups: ['admin'] }, { audience: 'someone-else' });
    expect((await t.call('GET', '/api/v1/environments', { token: wrongAud })).status).toBe(401);
    const wrongIss = await t.stack.issuer.sign({ sub: 'x', email: 'x@x', tenant, groups: ['admin'] }, { issuer: 'https://evil.example' });
    expect((await t.call('GET', '/api/v1/environments', { token: wrongIss })).status).toBe(401);
    expect((await t.call('GET', '/health')).status).toBe(200);
  });

  it('takes the tenant only from the token: X-Tenant-ID must match, X-User-* never override', async () => {
    const tenant = t.tenant();
    const u = await t.users(tenant);
    await makeLine(t, u.admin);
    expect((await t.call('GET', '/api/v1/environments', { token: u.viewer, headers: { 'x-tenant-id': tenant } })).status).toBe(200);
    const other = await t.call('GET', '/api/v1/environments', { token: u.viewer, headers: { 'x-tenant-id': 'someone-else' } });
    expect(other.status).toBe(403);
    const r = await t.call('POST', '/api/v1/environments/dev/configs', {
      token: u.deployer,
      headers: { 'x-user-id': 'ceo', 'x-user-email': 'ceo@acme.example' },
      body: { key: 'k', value: 1 },
    });
    expect(r.body.updatedBy).toBe(`deployer@${tenant}.test`);
  });
});
