import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliOf, outcome } from '../support/cli.ts';
import { makeLine, startTestStack, type TestStack } from '../support/stack.ts';

/**
 * A person's effective rights per environment (GET /api/v1/access/rights, `stageline roles rights`), through the API
 * and the CLI on the local stack: each right with the role or binding that grants it; one's own for anyone bound,
 * another person's for an admin only; bad input a clear 4xx.
 */
let t: TestStack;
beforeAll(async () => {
  t = await startTestStack();
});
afterAll(async () => {
  await t.stop();
});

describe('effective rights per environment', () => {
  it('a deployer of staging sees deploy in staging (granted by their group binding), not in production; an admin sees anyone bound; a viewer never sees another', async () => {
    const tenant = t.tenant();
    const u = await t.users(tenant);
    await makeLine(t, u.admin);
    const put = await t.call('PUT', '/api/v1/access/bindings', {
      token: u.admin,
      body: {
        version: 0,
        bindings: [
          { group: 'payments', role: 'deployer', environments: ['staging'] },
          { user: `lead@${tenant}.test`, role: 'break-glass', environments: ['production'] },
        ],
      },
    });
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    const payments = await t.token({ groups: ['payments'], tenant, email: `pay@${tenant}.test`, sub: 'u-pay' });

    const mine = await t.call('GET', '/api/v1/access/rights', { token: payments });
    expect(mine.status, JSON.stringify(mine.body)).toBe(200);
    expect(mine.body.user).toEqual({ id: 'u-pay', email: `pay@${tenant}.test` });
    expect(mine.body.roles).toEqual([]);
    expect(mine.body.groups).toEqual(['payments']);
    const row = (env: string | null) => mine.body.environments.find((e: any) => e.environment === env).rights;
    expect(mine.body.environments.map((e: any) => e.environment)).toEqual([null, 'dev', 'staging', 'production']);
    const binding = { group: 'payments', role: 'deployer', environments: ['staging'] };
    expect(row('staging')).toEqual({ viewer: [{ binding }], deployer: [{ binding }], approver: [], admin: [], 'break-glass': [] });
    expect(row('production')).toEqual({ viewer: [{ binding, elsewhere: true }], deployer: [], approver: [], admin: [], 'break-glass': [] });
    expect(row(null).deployer).toEqual([]);
    // Asking for oneself by email is the same answer.
    expect((await t.call('GET', `/api/v1/access/rights?user=PAY@${tenant}.test`, { token: payments })).body).toEqual(mine.body);

    // A tenant-wide role: every right tenant-wide granted by it.
    const admin = await t.call('GET', '/api/v1/access/rights', { token: u.admin });
    expect(admin.body.environments[0].rights).toEqual({
      viewer: [{ role: 'admin' }],
      deployer: [{ role: 'admin' }],
      approver: [{ role: 'admin' }],
      admin: [{ role: 'admin' }],
      'break-glass': [{ role: 'admin' }],
    });

    // An admin asks for a person named by a binding (not signed in yet): break-glass in production only.
    const lead = await t.call('GET', `/api/v1/access/rights?user=${encodeURIComponent(`Lead@${tenant}.test`)}`, { token: u.admin });
    expect(lead.status, JSON.stringify(lead.body)).toBe(200);
    expect(lead.body.user).toEqual({ id: `lead@${tenant}.test`, email: `lead@${tenant}.test` });
    const leadProd = lead.body.environments.find((e: any) => e.environment === 'production').rights;
    expect(leadProd['break-glass']).toEqual([{ binding: { user: `lead@${tenant}.test`, role: 'break-glass', environments: ['production'] } }]);
    expect(leadProd.deployer).toEqual([]);

    // Nobody else sees another's rights; an unknown person is a 404; a bad query a 400 naming the field.
    for (const token of [payments, u.viewer, u.deployer, u.approver]) {
      const r = await t.call('GET', `/api/v1/access/rights?user=lead@${tenant}.test`, { token });
      expect(r.status, JSON.stringify(r.body)).toBe(403);
      expect(r.body.error.message).toMatch(/Only an admin sees another person's rights/);
    }
    const unknown = await t.call('GET', `/api/v1/access/rights?user=nobody@${tenant}.test`, { token: u.admin });
    expect(unknown.status, JSON.stringify(unknown.body)).toBe(404);
    expect(unknown.body.error.message).toContain(`nobody@${tenant}.test`);
    const empty = await t.call('GET', '/api/v1/access/rights?user=', { token: u.admin });
    expect(empty.status, JSON.stringify(empty.body)).toBe(400);
    expect(JSON.stringify(empty.body.error.issues)).toContain('user');
    const extra = await t.call('GET', '/api/v1/access/rights?who=me', { token: u.admin });
    expect(extra.status, JSON.stringify(extra.body)).toBe(400);
    // No role and no binding: refused as any read is.
    const stranger = await t.token({ groups: [], tenant });
    expect((await t.call('GET', '/api/v1/access/rights', { token: stranger })).status).toBe(403);
  });

  it('stageline roles rights [user]: a table per environment with what grants each right; another person for admins only', async () => {
    const tenant = t.tenant();
    const admin = await t.token({ groups: ['admin'], tenant, email: `admin@${tenant}.test` });
    await makeLine(t, admin, ['dev', 'staging', 'production']);
    const cli = cliOf(t);
    await cli(admin, 'roles', 'set', '--group', 'payments', '--role', 'deployer', '--env', 'staging');
    const payments = await t.token({ groups: ['payments'], tenant, email: `pay@${tenant}.test` });
    const text = (await cli(payments, 'roles', 'rights')).stdout;
    expect(text).toContain(`pay@${tenant}.test: tenant-wide roles none; groups payments`);
    expect(text).toMatch(/staging\s+yes \(group:payments deployer in staging\)\s+yes \(group:payments deployer in staging\)\s+no\s+no\s+no/);
    expect(text).toMatch(/production\s+yes \(group:payments deployer in staging \(elsewhere: reads\)\)\s+no\s+no\s+no\s+no/);
    const json = JSON.parse((await cli(payments, 'roles', 'rights', '--json')).stdout);
    expect(json.environments.find((e: any) => e.environment === 'staging').rights.deployer).toEqual([
      { binding: { group: 'payments', role: 'deployer', environments: ['staging'] } },
    ]);
    const refused = await outcome(cli(payments, 'roles', 'rights', `admin@${tenant}.test`));
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/403.*Only an admin sees another person's rights/s);
    // An admin asks for a person bound by name; one the tenant does not know is a 404 naming them.
    await cli(admin, 'roles', 'set', '--user', `Lead@${tenant}.test`, '--role', 'approver', '--env', 'production');
    expect((await cli(admin, 'roles', 'rights', `lead@${tenant}.test`)).stdout).toMatch(
      /production\s+yes \(user:lead@\S+ approver in production\)\s+no\s+yes \(user:lead@\S+ approver in production\)\s+no\s+no/,
    );
    const unknown = await outcome(cli(admin, 'roles', 'rights', `nobody@${tenant}.test`));
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toMatch(/404.*nobody@/s);
  });
});
