import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoStore, documentClient } from '../../functions/adapters/dynamo-store.ts';
import { LOCAL_REGION, localCredentials } from '../../local/dynamodb.ts';
import { RequestCounter, totalRequests } from '../../local/measure/counter.ts';
import { storeOnlyDeps } from '../../local/measure/store-only.ts';
import type { Principal } from '../../domain/access/auth.ts';
import type { With } from '../../domain/ports.ts';
import { approvePromotion } from '../../domain/promotion/decide/approve.ts';
import { waitFor, waitForToken } from '../support/promotions.ts';
import { makeLine, startTestStack, type TestStack } from '../support/stack.ts';

/**
 * What one approval costs in DynamoDB requests, counted on the client the use case's store sends
 * through (the real store on DynamoDB Local): the promotion is read once, the approvals listed, the
 * approval written; an approval that does not yet meet the policy lists the approvals once more (a
 * concurrent approval may have met it), one that meets it moves the promotion in the same write.
 */
let t: TestStack;
beforeAll(async () => {
  t = await startTestStack();
});
afterAll(() => t.stop());

describe('approve: DynamoDB requests', () => {
  it('reads the promotion once: 4 requests for an approval that does not meet the policy, 4 for the one that does (with the other approver\'s "not before")', async () => {
    const tenant = t.tenant();
    const u = await t.users(tenant);
    await makeLine(t, u.admin);
    await t.call('POST', '/api/v1/environments/dev/configs', { token: u.deployer, body: { key: 'query.timeout', value: '180s' } });
    const rule = await t.call('POST', '/api/v1/promotions/rules', {
      token: u.admin,
      body: { name: 'two', sourceEnvironment: 'dev', targetEnvironment: 'staging', requiredApprovers: 2 },
    });
    expect(rule.status, JSON.stringify(rule.body)).toBe(201);
    const r = await t.call('POST', '/api/v1/promotions', { token: u.deployer, body: { sourceEnvironment: 'dev', targetEnvironment: 'staging' } });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    await waitForToken(t, u.viewer, r.body.id);

    const counter = new RequestCounter();
    const doc = documentClient({ endpoint: t.stack.dynamo.endpoint, region: LOCAL_REGION, credentials: localCredentials });
    counter.attach(doc);
    // The store's calls by method, beside the DynamoDB requests they send.
    const calls: Record<string, number> = {};
    const real = new DynamoStore(doc, t.stack.tableName);
    const store = new Proxy(real, {
      get(target, prop, receiver) {
        const v = Reflect.get(target, prop, receiver);
        return typeof v === 'function' ? (...args: unknown[]) => ((calls[String(prop)] = (calls[String(prop)] ?? 0) + 1), v.apply(target, args)) : v;
      },
    });
    const deps: With<'workflow'> = { ...storeOnlyDeps(store), workflow: t.stack.workflow };
    const take = () => {
      const out = { requests: totalRequests(counter.take()), calls: { ...calls } };
      counter.reset();
      for (const k of Object.keys(calls)) delete calls[k];
      return out;
    };
    const approver = (n: string): Principal => ({
      tenant,
      id: `${n}-${tenant}`,
      name: `${n}@${tenant}.test`,
      roles: ['approver'],
      groups: ['approver'],
      kind: 'user',
    });

    take();
    const first = await approvePromotion(deps, { principal: approver('approver') }, r.body.id, 'one');
    const one = take();
    expect(first.status).toBe('AWAITING_APPROVAL');
    const second = await approvePromotion(deps, { principal: approver('approver2') }, r.body.id, 'two');
    const two = take();
    expect(second.status).toBe('APPROVED');
    console.log('approve requests', JSON.stringify({ one, two }));
    // Before the promotion aggregate: 3 reads of the promotion and 3 lists of approvals (7 requests), then 2 and 2 (5).
    expect(one.calls).toEqual({ getPromotion: 1, listApprovals: 2, commit: 1 });
    // The approval that meets the policy reads the other approver's "not before" (one GetItem): an approval whose
    // approver lost their access since (removed, deactivated by SCIM, demoted) no longer counts (scim.test.ts).
    expect(two.calls).toEqual({ getPromotion: 1, listApprovals: 1, notBefore: 1, commit: 1 });
    expect(one.requests).toBe(4);
    expect(two.requests).toBe(4);
    expect((await waitFor(t, u.viewer, r.body.id, ['COMPLETED', 'FAILED'])).status).toBe('COMPLETED');
  }, 60_000);
});
