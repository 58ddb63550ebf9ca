import { describe, expect, it } from 'vitest';
import { cliOf } from '../support/cli.ts';
import { digest, waitFor } from '../support/promotions.ts';
import { makeLine, useTestStack } from '../support/stack.ts';

const t = useTestStack();
const cli = cliOf(t);

describe('the safe order of pending promotions', () => {
  it('orders a consumer before the provider it re-pins for, reports a break nothing pending resolves, and refuses what it cannot plan', async () => {
    const tenant = t.tenant();
    const u = await t.users(tenant);
    await makeLine(t, u.admin);
    const publish = (artifact: string, version: string, c: string, metadata: Record<string, unknown> = {}) =>
      t.call('POST', `/api/v1/artifacts/${artifact}/versions`, { token: u.deployer, body: { version, digest: digest(c), metadata } });
    const promote = (artifact: string, version: string, autoStart = true) =>
      t.call('POST', '/api/v1/promotions', {
        token: u.deployer,
        body: { sourceEnvironment: 'dev', targetEnvironment: 'staging', artifact, version, autoStart },
      });
    for (const [a, v, c] of [
      ['platform', 'v1.2.3', '1'],
      ['orders', 'v1.0.0', '2'],
    ] as const) {
      expect((await publish(a, v, c)).status).toBe(201);
      const p = await promote(a, v);
      expect((await waitFor(t, u.viewer, p.body.id, ['COMPLETED', 'FAILED'])).status).toBe('COMPLETED');
    }
    // platform v2 is requested; then orders pins ^1.2 in staging, and its own new version (requested after) declares a pin v2 satisfies.
    await publish('platform', 'v2.0.0', '3');
    await publish('orders', 'v1.1.0', '4', { pins: { platform: '>=1.2.0, <3.0.0' } });
    const platform = await promote('platform', 'v2.0.0', false);
    expect(platform.status, JSON.stringify(platform.body)).toBe(201);
    await t.call('PUT', '/api/v1/artifacts/platform/consumers/orders', { token: u.deployer, body: { constraint: '^1.2.0', environment: 'staging' } });
    const orders = await promote('orders', 'v1.1.0', false);
    expect(orders.status, JSON.stringify(orders.body)).toBe(201);

    const byEnv = await t.call('GET', '/api/v1/promotions/plan?environment=staging', { token: u.viewer });
    expect(byEnv.status, JSON.stringify(byEnv.body)).toBe(200);
    expect(byEnv.body).toEqual({
      order: [
        { id: orders.body.id, targetEnvironment: 'staging', subject: 'orders@v1.1.0', after: [] },
        { id: platform.body.id, targetEnvironment: 'staging', subject: 'platform@v2.0.0', after: [orders.body.id] },
      ],
      blocked: [],
    });
    const byIds = await t.call('GET', `/api/v1/promotions/plan?ids=${platform.body.id},${orders.body.id}`, { token: u.viewer });
    expect(byIds.body).toEqual(byEnv.body);

    // Another consumer that nothing pending re-pins: platform v2 cannot run in any order (a break, named), orders still can.
    await t.call('PUT', '/api/v1/artifacts/platform/consumers/ledger', { token: u.deployer, body: { constraint: '~1.2.0' } });
    const stuck = await t.call('GET', '/api/v1/promotions/plan?environment=staging', { token: u.viewer });
    expect(stuck.status).toBe(200);
    expect(stuck.body.order.map((s: any) => s.id)).toEqual([orders.body.id]);
    expect(stuck.body.blocked).toEqual([
      {
        id: platform.body.id,
        targetEnvironment: 'staging',
        subject: 'platform@v2.0.0',
        kind: 'break',
        breaks: [{ consumer: 'ledger', artifact: 'platform', constraint: '~1.2.0', reason: 'v2.0.0 does not satisfy it' }],
        waitsOn: [],
        message: expect.stringContaining("consumer 'ledger' pins platform ~1.2.0"),
      },
    ]);

    // The CLI prints the same order, and the blocked one with its reason.
    const printed = (await cli(u.viewer, 'promotions', 'plan', '--to', 'staging')).stdout;
    expect(printed).toContain(`1. orders@v1.1.0 → staging  ${orders.body.id}`);
    expect(printed).toMatch(new RegExp(`✗ ${platform.body.id} \\(break\\): .*consumer 'ledger' pins platform ~1\\.2\\.0`));

    // What it cannot plan: ids or environment (one of them), an unknown promotion, one no longer pending.
    expect((await t.call('GET', '/api/v1/promotions/plan', { token: u.viewer })).status).toBe(422);
    expect((await t.call('GET', `/api/v1/promotions/plan?ids=${orders.body.id}&environment=staging`, { token: u.viewer })).status).toBe(422);
    expect((await t.call('GET', '/api/v1/promotions/plan?ids=prm_nope', { token: u.viewer })).status).toBe(404);
    expect((await t.call('GET', '/api/v1/promotions/plan?environment=nowhere', { token: u.viewer })).status).toBe(404);
    expect((await t.call('POST', `/api/v1/promotions/${orders.body.id}/validate`, { token: u.deployer })).status).toBe(202);
    expect((await waitFor(t, u.viewer, orders.body.id, ['COMPLETED', 'FAILED'])).status).toBe('COMPLETED');
    const done = await t.call('GET', `/api/v1/promotions/plan?ids=${orders.body.id}`, { token: u.viewer });
    expect(done.status).toBe(409);
    expect(done.body.error.message).toContain('COMPLETED');
  });
});
