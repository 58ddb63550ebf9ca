import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROUTES } from '../../functions/http/routes.ts';
import { makeLine, startTestStack, type TestStack } from '../support/stack.ts';

let t: TestStack;
beforeAll(async () => {
  t = await startTestStack();
});
afterAll(() => t.stop());

/** A valid body for each writing route, so the request gets past validation and reaches the data. */
const BODIES: Record<string, unknown> = {
  'environments-create': { name: 'qa', position: 7 },
  'environments-update': { version: 1, description: 'hijack' },
  'items-create': { key: 'secret.key', value: 'from-B' },
  'items-update': { value: 'from-B' },
  'items-batch': { set: [{ key: 'secret.key', value: 'from-B' }], delete: [{ key: 'other' }] },
  'snapshots-restore': { reason: 'hijack' },
  'promotions-create': { sourceEnvironment: 'dev', targetEnvironment: 'staging' },
  'promotions-approve': {},
  'promotions-reject': { reason: 'hijack' },
  'promotions-execute': {},
  'promotions-schedule': { at: '2999-01-01T00:00:00Z' },
  'promotions-rollback': { reason: 'hijack' },
  'promotions-evidence': { type: 'test_results', payload: { passed: 1, failed: 0 } },
  'promotions-auto-check': { sourceEnvironment: 'dev' },
  'rules-create': { name: 'hijack', sourceEnvironment: 'dev', targetEnvironment: 'staging' },
  'rules-update': { version: 1, name: 'hijack' },
  'artifacts-publish': { version: 'v1.0.0', digest: `sha256:${'b'.repeat(64)}` },
  'artifacts-evidence': { type: 'test_results', payload: { passed: 1, failed: 0 } },
};

describe('tenant isolation, from the outside', () => {
  it("every route driven with tenant B's token against tenant A's ids reads and changes nothing of A", async () => {
    const A = t.tenant();
    const B = t.tenant();
    const a = await t.users(A);
    const b = await t.users(B);
    await makeLine(t, a.admin);
    await makeLine(t, b.admin); // B has environments of the same names
    const cfg = await t.call('POST', '/api/v1/environments/dev/configs', { token: a.deployer, body: { key: 'secret.key', value: 'A-SECRET-VALUE' } });
    const flag = await t.call('POST', '/api/v1/environments/dev/flags', { token: a.deployer, body: { key: 'secret.flag', value: 'A-SECRET-FLAG' } });
    await t.call('POST', '/api/v1/environments/staging/configs', { token: a.deployer, body: { key: 'secret.key', value: 'A-SECRET-STAGING' } });
    await t.call('POST', '/api/v1/artifacts/a-secret-app/versions', { token: a.deployer, body: { version: 'v1.0.0', digest: `sha256:${'a'.repeat(64)}` } });
    const rule = await t.call('POST', '/api/v1/promotions/rules', {
      token: a.admin,
      body: { name: 'A-SECRET-RULE', sourceEnvironment: 'dev', targetEnvironment: 'staging' },
    });
    const promo = await t.call('POST', '/api/v1/promotions', {
      token: a.deployer,
      body: { sourceEnvironment: 'dev', targetEnvironment: 'staging', notes: 'A-SECRET-NOTES' },
    });
    expect(promo.status).toBe(201);
    await new Promise((r) => setTimeout(r, 500));
    const before = {
      envs: (await t.call('GET', '/api/v1/environments', { token: a.viewer })).body,
      audit: (await t.call('GET', '/api/v1/audit?limit=100', { token: a.viewer })).body,
      promotions: (await t.call('GET', '/api/v1/promotions', { token: a.viewer })).body,
      rules: (await t.call('GET', '/api/v1/promotions/rules', { token: a.viewer })).body,
    };
    const aCursor = (await t.call('GET', '/api/v1/audit?limit=1', { token: a.viewer })).body.nextCursor;

    const statuses: Record<string, number> = {};
    for (const route of ROUTES.filter((r) => r.auth === 'jwt')) {
      const id = route.path.includes('/flags')
        ? flag.body.id
        : route.path.includes('/promotions/rules') || route.path.includes('/approval-policies')
          ? rule.body.id
          : route.path.includes('/promotions')
            ? promo.body.id
            : cfg.body.id;
      const path = route.path
        .replace('{env}', 'dev')
        .replace('{id}', id)
        .replace('{seq}', '1')
        .replace('{name}', 'a-secret-app')
        .replace('{version}', 'v1.0.0');
      const query = route.handler.startsWith('diff-environments')
        ? '?source=dev&target=staging'
        : route.handler === 'diff-snapshots'
          ? '?from=dev@1&to=staging@1'
          : route.handler === 'audit-list'
            ? `?cursor=${aCursor}`
            : '';
      const r = await t.call(route.method, path + query, { token: b.admin, body: BODIES[route.handler] });
      statuses[`${route.method} ${route.path}`] = r.status;
      expect(r.status, `${route.method} ${route.path}`).toBeLessThan(500);
      expect(JSON.stringify(r.body ?? '')).not.toMatch(/A-SECRET/);
    }
    // A cursor minted for tenant A is refused for tenant B.
    expect(statuses['GET /api/v1/audit']).toBe(400);

    const after = {
      envs: (await t.call('GET', '/api/v1/environments', { token: a.viewer })).body,
      audit: (await t.call('GET', '/api/v1/audit?limit=100', { token: a.viewer })).body,
      promotions: (await t.call('GET', '/api/v1/promotions', { token: a.viewer })).body,
      rules: (await t.call('GET', '/api/v1/promotions/rules', { token: a.viewer })).body,
    };
    expect(after).toEqual(before);
    const still = await t.call('GET', `/api/v1/environments/dev/configs/${cfg.body.id}`, { token: a.viewer });
    expect(still.body.value).toBe('A-SECRET-VALUE');
    await t.stack.stream.idle();
    expect((await t.call('GET', '/api/v1/audit/verify', { token: a.viewer })).body.ok).toBe(true);
  });
});
