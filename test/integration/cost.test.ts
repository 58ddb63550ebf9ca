import { inject, describe, expect, it } from 'vitest';
import { measureApprovedPromotion } from '../../bench/promotion.ts';

/**
 * The counts behind the cost of one approved promotion (staging → production, 3 gates passing
 * on release evidence, 1 approver, no bake time), measured the way `npm run bench` measures them:
 * the real API and step handlers, the real ASL, the stream consumer, DynamoDB Local. Counts, not
 * times: a change that adds a write, a request or a state transition fails here.
 */
describe('cost of an approved promotion (counts)', () => {
  it('5 state transitions, ≤ 58 DynamoDB requests, ≤ 116 WRU, 7 events, a promotion item ≤ 1 KB', async () => {
    const c = await measureApprovedPromotion(inject('dynamoEndpoint'));
    expect(c.transitions).toBe(5);
    expect(c.invocations.step).toBe(3); // gates, await-approval, execute (no verify without a bake time)
    expect(c.invocations.api).toBe(5); // 3 evidence, create, approve
    expect(c.events).toBe(7);
    // Measured: 54 requests, 110 WRU. How the local stream splits records into batches varies a little from run to
    // run (each batch is one chain transaction), hence a few units of headroom.
    expect(c.requests).toBeLessThanOrEqual(58);
    expect(c.wru).toBeLessThanOrEqual(116);
    expect(c.promotionItemBytes).toBeLessThanOrEqual(1024);
  }, 120_000);
});
