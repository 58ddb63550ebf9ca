import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeLine, startTestStack, type TestStack } from '../support/stack.ts';

/**
 * Roles scoped to environments on the two paths that change an environment without naming it in the
 * request: a manifest (each change needs the right in the environment it touches, tenant-wide sections the
 * tenant-wide right; all or nothing) and the routes that address a rule or a freeze window by id (the
 * environment is the stored item's). An id of another tenant is a 404, never a 403.
 */
let t: TestStack;
beforeAll(async () => {
  t = await startTestStack();
});
afterAll(async () => {
  await t.stop();
});

const inSeconds = (s: number) => new Date(Date.now() + s * 1000).toISOString();

async function stagingAdmin(tenant: string, adminToken: string) {
  const put = await t.call('PUT', '/api/v1/access/bindings', {
    token: adminToken,
    body: { version: 0, bindings: [{ group: 'payments', role: 'admin', environments: ['staging'] }] },
  });
  expect(put.status, JSON.stringify(put.body)).toBe(200);
  return t.token({ groups: ['payments'], tenant, email: 'pay@' + tenant + '.test' });
}

describe('changes scoped to the environments they touch', () => {
  it('manifest: an admin bound in staging applies a change to staging; one that also changes production or a tenant-wide section is refused (403 naming each) and nothing is applied', async () => {
    const tenant = t.tenant();
    const u = await t.users(tenant);
    await makeLine(t, u.admin);
    const payments = await stagingAdmin(tenant, u.admin);
    const exported = await t.call('GET', '/api/v1/manifest?format=json', { token: u.viewer });
    expect(exported.status).toBe(200);
    const base = typeof exported.body === 'string' ? JSON.parse(exported.body) : exported.body;
    const edit = (f: (p: any) => void) => {
      const doc = structuredClone(base);
      f(doc.artifacts.promotion);
      return JSON.stringify(doc);
    };

    // Staging only: the plan says which right each change needs; apply is allowed.
    const stagingOnly = edit((p) => (p.environment_settings.staging.description = 'ours'));
    const plan = await t.call('POST', '/api/v1/manifest/plan', { token: payments, body: { document: stagingOnly } });
    expect(plan.status, JSON.stringify(plan.body)).toBe(200);
    expect(plan.body.changes).toEqual([
      expect.objectContaining({ path: 'environment_settings.staging.description', needs: { role: 'admin', environments: ['staging'] } }),
    ]);
    const ok = await t.call('POST', '/api/v1/manifest/apply', { token: payments, body: { document: stagingOnly } });
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);

    // Staging and production (and a freeze window over production, a rule into it, a tenant-wide binding): 403 naming each; nothing applied.
    const wide = edit((p) => {
      p.environment_settings.staging.description = 'ours again';
      p.environment_settings.production.description = 'ours too';
      p.freeze_windows.push({ reason: 'mine', environment: 'production', start: inSeconds(60), end: inSeconds(3600) });
      p.bindings = [{ group: 'payments', role: 'admin', environments: ['staging', 'production'] }];
    });
    const widePlan = await t.call('POST', '/api/v1/manifest/plan', { token: payments, body: { document: wide } });
    expect(widePlan.status, JSON.stringify(widePlan.body)).toBe(200);
    expect(widePlan.body.changes.map((c: any) => [c.path, c.needs.environments[0]])).toEqual(
      expect.arrayContaining([
        ['environment_settings.production.description', 'production'],
        ['freeze_windows', 'production'],
        ['bindings.group:payments admin', '*'],
      ]),
    );
    const refused = await t.call('POST', '/api/v1/manifest/apply', { token: payments, body: { document: wide } });
    expect(refused.status, JSON.stringify(refused.body)).toBe(403);
    expect(refused.body.error.message).toMatch(/environments\.production/);
    expect(refused.body.error.message).toMatch(/tenant-wide/);
    expect(refused.body.error.message).not.toMatch(/environments\.staging/);
    expect(refused.body.error.changes.map((c: any) => c.path)).toEqual(
      expect.arrayContaining(['environment_settings.production.description', 'freeze_windows', 'bindings.group:payments admin']),
    );
    const after = await t.call('GET', '/api/v1/environments/staging', { token: u.viewer });
    expect(after.body.description).toBe('ours');
    expect((await t.call('GET', '/api/v1/freeze-windows', { token: u.viewer })).body.items ?? []).toEqual([]);
    // A tenant-wide admin applies the same document.
    expect((await t.call('POST', '/api/v1/manifest/apply', { token: u.admin, body: { document: wide } })).status).toBe(200);
  });

  it('rules, freeze windows and recurring promotions by id or name: the environment is the stored item’s; another tenant’s id is a 404', async () => {
    const tenant = t.tenant();
    const u = await t.users(tenant);
    await makeLine(t, u.admin);
    const payments = await stagingAdmin(tenant, u.admin);
    const ruleInto = async (source: string, target: string) => {
      const r = await t.call('POST', '/api/v1/promotions/rules', {
        token: u.admin,
        body: {
          name: `into-${target}`,
          sourceEnvironment: source,
          targetEnvironment: target,
          requiresApproval: false,
          requiredApprovers: 0,
          approverGroups: ['payments'],
          separationOfDuties: false,
          approvalExpirySeconds: 3600,
        },
      });
      expect(r.status, JSON.stringify(r.body)).toBe(201);
      return r.body;
    };
    const intoStaging = await ruleInto('dev', 'staging');
    const intoProd = await ruleInto('staging', 'production');
    const windowIn = async (environment?: string) => {
      const r = await t.call('POST', '/api/v1/freeze-windows', {
        token: u.admin,
        body: { reason: 'freeze', ...(environment ? { environment } : {}), start: inSeconds(600), end: inSeconds(3600) },
      });
      expect(r.status, JSON.stringify(r.body)).toBe(201);
      return r.body;
    };
    const wStaging = await windowIn('staging');
    const wProd = await windowIn('production');
    const wAll = await windowIn();

    // Production's rule and window, and the tenant-wide window: 403 naming where.
    const putProd = await t.call('PUT', `/api/v1/promotions/rules/${intoProd.id}`, { token: payments, body: { version: intoProd.version, name: 'mine' } });
    expect(putProd.status, JSON.stringify(putProd.body)).toBe(403);
    expect(putProd.body.error.message).toMatch(/'admin' role in environment 'production'/);
    const delProd = await t.call('DELETE', `/api/v1/promotions/rules/${intoProd.id}`, { token: payments });
    expect(delProd.status).toBe(403);
    expect(delProd.body.error.message).toMatch(/in environment 'production'/);
    const delWProd = await t.call('DELETE', `/api/v1/freeze-windows/${wProd.id}`, { token: payments });
    expect(delWProd.status, JSON.stringify(delWProd.body)).toBe(403);
    expect(delWProd.body.error.message).toMatch(/in environment 'production'/);
    const delWAll = await t.call('DELETE', `/api/v1/freeze-windows/${wAll.id}`, { token: payments });
    expect(delWAll.status).toBe(403);
    expect(delWAll.body.error.message).toMatch(/tenant-wide/);
    // Moving staging's rule into production needs the right there too.
    const moved = await t.call('PUT', `/api/v1/promotions/rules/${intoStaging.id}`, {
      token: payments,
      body: { version: intoStaging.version, sourceEnvironment: 'staging', targetEnvironment: 'production' },
    });
    expect(moved.status, JSON.stringify(moved.body)).toBe(403);
    expect(moved.body.error.message).toMatch(/in environment 'production'/);

    // Staging's: allowed.
    const putStaging = await t.call('PUT', `/api/v1/promotions/rules/${intoStaging.id}`, {
      token: payments,
      body: { version: intoStaging.version, name: 'ours' },
    });
    expect(putStaging.status, JSON.stringify(putStaging.body)).toBe(200);
    expect((await t.call('DELETE', `/api/v1/freeze-windows/${wStaging.id}`, { token: payments })).status).toBe(204);
    expect((await t.call('DELETE', `/api/v1/promotions/rules/${intoStaging.id}`, { token: payments })).status).toBe(204);

    // Recurring promotions by name: the stored target (a new one: the body's target).
    const calendar = { cron: '0 9 * * 1-5', timeZone: 'Europe/Berlin' };
    const prodTrain = await t.call('PUT', '/api/v1/recurring-promotions/prod-train', {
      token: u.admin,
      body: { source: 'staging', target: 'production', ...calendar },
    });
    expect(prodTrain.status, JSON.stringify(prodTrain.body)).toBe(200);
    const delTrain = await t.call('DELETE', '/api/v1/recurring-promotions/prod-train', { token: payments });
    expect(delTrain.status, JSON.stringify(delTrain.body)).toBe(403);
    expect(delTrain.body.error.message).toMatch(/in environment 'production'/);
    const newIntoProd = await t.call('PUT', '/api/v1/recurring-promotions/mine', {
      token: payments,
      body: { source: 'staging', target: 'production', ...calendar },
    });
    expect(newIntoProd.status, JSON.stringify(newIntoProd.body)).toBe(403);
    const mine = await t.call('PUT', '/api/v1/recurring-promotions/mine', { token: payments, body: { source: 'dev', target: 'staging', ...calendar } });
    expect(mine.status, JSON.stringify(mine.body)).toBe(200);
    expect((await t.call('DELETE', '/api/v1/recurring-promotions/mine', { token: payments })).status).toBe(204);

    // Another tenant's ids: 404, for its bound admin as for its tenant-wide one.
    const other = t.tenant();
    const o = await t.users(other);
    await makeLine(t, o.admin);
    const otherPayments = await stagingAdmin(other, o.admin);
    for (const token of [otherPayments, o.admin]) {
      expect((await t.call('DELETE', `/api/v1/promotions/rules/${intoProd.id}`, { token })).status).toBe(404);
      expect((await t.call('PUT', `/api/v1/promotions/rules/${intoProd.id}`, { token, body: { version: 1, name: 'x' } })).status).toBe(404);
      expect((await t.call('DELETE', `/api/v1/freeze-windows/${wProd.id}`, { token })).status).toBe(404);
      expect((await t.call('DELETE', '/api/v1/recurring-promotions/prod-train', { token })).status).toBe(404);
    }
  });
});
