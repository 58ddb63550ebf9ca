import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor, waitForToken } from '../support/promotions.ts';
import { makeLine, startTestStack, type TestStack } from '../support/stack.ts';

let t: TestStack;
beforeAll(async () => {
  t = await startTestStack();
});
afterAll(() => t.stop());

async function tenantWithConfigs() {
  const tenant = t.tenant();
  const u = await t.users(tenant);
  await makeLine(t, u.admin);
  await t.call('POST', '/api/v1/environments/dev/items/batch', {
    token: u.deployer,
    body: { set: [{ key: 'query.timeout', value: '180s' }, { key: 'ai.model', value: 'gpt-4-turbo' }, { kind: 'flag', key: 'new-ui', value: true }] },
  });
  return { tenant, u };
}

describe('config promotions', () => {
  it('dev → staging needs no approval by default and completes through the state machine', async () => {
    const { u } = await tenantWithConfigs();
    const r = await t.call('POST', '/api/v1/config/promotions', {
      token: u.deployer,
      body: { sourceEnvironment: 'dev', targetEnvironment: 'staging', promotionType: 'FULL', notes: 'first' },
    });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    const done = await waitFor(t, u.viewer, r.body.id, ['COMPLETED', 'FAILED', 'VALIDATION_FAILED']);
    expect(done.status, JSON.stringify(done)).toBe('COMPLETED');
    expect(done.transitions.map((x: any) => x.status)).toEqual(['PENDING', 'VALIDATING', 'APPROVED', 'EXECUTING', 'COMPLETED']);
    const diff = await t.call('GET', '/api/v1/config/promotions/diff?source=dev&target=staging', { token: u.viewer });
    expect(diff.body).toMatchObject({ added: [], modified: [], removed: [], unchanged: 3 });
  });

  it('staging → production waits for an approval that the requester cannot give', async () => {
    const { u } = await tenantWithConfigs();
    const first = await t.call('POST', '/api/v1/config/promotions', { token: u.deployer, body: { sourceEnvironment: 'dev', targetEnvironment: 'staging' } });
    await waitFor(t, u.viewer, first.body.id, ['COMPLETED']);
    const r = await t.call('POST', '/api/v1/promotions', { token: u.deployer, body: { sourceEnvironment: 'staging', targetEnvironment: 'production' } });
    expect(r.status).toBe(201);
    const waiting = await waitForToken(t, u.viewer, r.body.id);
    expect(waiting.status).toBe('AWAITING_APPROVAL');
    const approved = await t.call('POST', `/api/v1/promotions/${r.body.id}/approve`, { token: u.approver, body: { comment: 'lgtm' } });
    expect(approved.status, JSON.stringify(approved.body)).toBe(200);
    const done = await waitFor(t, u.viewer, r.body.id, ['COMPLETED', 'FAILED']);
    expect(done.status).toBe('COMPLETED');
    expect(done.approvedBy).toEqual([`approver@${first.body.requestedBy.name.split('@')[1]}`]);
  });
});
