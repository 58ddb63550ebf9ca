import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../support/promotions.ts';
import { makeLine, startTestStack, type TestStack } from '../support/stack.ts';

let t: TestStack;
let failGates = false;
beforeAll(async () => {
  t = await startTestStack({
    beforeStep: (payload) => {
      if (failGates && (payload as { step: string }).step === 'decide') throw new Error('gate provider unreachable');
    },
  });
});
afterAll(() => t.stop());

describe('a flow step that errors', () => {
  it('an error while evaluating gates fails closed (VALIDATION_FAILED, with the reason) instead of leaving the promotion VALIDATING; validating again works', async () => {
    const tenant = t.tenant();
    const u = await t.users(tenant);
    await makeLine(t, u.admin);
    await t.call('POST', '/api/v1/environments/dev/configs', { token: u.deployer, body: { key: 'a', value: 1 } });
    failGates = true;
    const p = await t.call('POST', '/api/v1/promotions', { token: u.deployer, body: { sourceEnvironment: 'dev', targetEnvironment: 'staging' } });
    const failed = await waitFor(t, u.viewer, p.body.id, ['VALIDATION_FAILED', 'COMPLETED']);
    expect(failed).toMatchObject({
      status: 'VALIDATION_FAILED',
      error: { code: 'GATES_ERROR', message: expect.stringContaining('gate provider unreachable') },
    });
    failGates = false;
    expect((await t.call('POST', `/api/v1/promotions/${p.body.id}/validate`, { token: u.deployer, body: {} })).status).toBe(202);
    expect((await waitFor(t, u.viewer, p.body.id, ['COMPLETED', 'FAILED'])).status).toBe('COMPLETED');
  });
});
