import { expect } from 'vitest';
import { waitFor } from './promotions.ts';
import { makeLine, type TestStack } from './stack.ts';

/**
 * A tenant with the default line, platform v1.0.0 promoted into staging, then v1.1.0 put back by an alarm
 * while it baked (staging bakes 2 s): the tenant, its users, and the promotion that was rolled back.
 */
export async function rolledBackByAlarm(t: TestStack) {
  const tenant = t.tenant();
  const u = await t.users(tenant);
  await makeLine(t, u.admin);
  const promote = async (v: string, c: string) => {
    await t.call('POST', '/api/v1/artifacts/platform/versions', { token: u.deployer, body: { version: v, digest: `sha256:${c.repeat(64)}` } });
    const p = await t.call('POST', '/api/v1/promotions', {
      token: u.deployer,
      body: { sourceEnvironment: 'dev', targetEnvironment: 'staging', artifact: 'platform', version: v },
    });
    return p.body.id as string;
  };
  expect((await waitFor(t, u.viewer, await promote('v1.0.0', '1'), ['COMPLETED', 'FAILED'])).status).toBe('COMPLETED');
  await t.call('PATCH', '/api/v1/environments/staging', { token: u.admin, body: { version: 1, bakeSeconds: 2 } });
  const bad = await promote('v1.1.0', '2');
  await waitFor(t, u.viewer, bad, ['EXECUTING']);
  await t.call('POST', `/api/v1/promotions/${bad}/evidence`, {
    token: u.deployer,
    body: { type: 'alarm', payload: { name: 'p99-latency', state: 'ALARM', reason: 'p99 > 800 ms' } },
  });
  expect((await waitFor(t, u.viewer, bad, ['ROLLED_BACK', 'COMPLETED', 'FAILED'], 20_000)).status).toBe('ROLLED_BACK');
  return { tenant, u, bad };
}
