import { fmt, heading } from './common.ts';
import { startDynamo } from '../local/dynamodb.ts';
import { approvedFlow, countsOf, promotionItemBytes, type PromotionCounts } from '../local/measure/approved-flow.ts';
import { openHarness } from '../local/measure/harness.ts';
import { PRICE, printApproved, usd } from './promotion-cost.ts';
import { throughput, type AnchorAtRate } from './throughput.ts';

/**
 * `npm run bench`, promotion section: (1) what ONE approved, gated promotion
 * costs on AWS — state transitions, Lambda invocations and their time,
 * DynamoDB requests and capacity, events — priced at list prices next to
 * CodePipeline V2; (2) local end-to-end throughput of promotions without
 * approval, sequential and concurrent.
 *
 * Everything runs in this process against DynamoDB Local: the real API
 * handlers are invoked directly with API Gateway (payload v2) events, and the
 * real state machine (statemachines/promotion.asl.json) runs in a LocalWorkflow
 * whose task states call the real promotion-step handler. Figures, not
 * pass/fail: only the flows' outcomes are checked.
 */

export async function benchPromotion(): Promise<
  PromotionCounts & { throughput: number; usdPer1000: number; usdPer1000AtRate: number; anchorAtRate: AnchorAtRate }
> {
  heading('Promotion flow: cost per promotion and local throughput');
  const dynamo = await startDynamo({});
  try {
    const { b, probe, db, tableName, close } = await openHarness(dynamo.endpoint);
    try {
      await approvedFlow(b, 'warmup');
      const measured = await approvedFlow(b, 'cost');
      const bytes = await promotionItemBytes(db, tableName, measured.tenant, measured.promotionId);
      const usdPer1000 = printApproved(measured, probe);
      console.log(
        `The promotion item: ${bytes.pinned} bytes with its times and random ids pinned (as this run stored it: ${bytes.stored} bytes; goal ≤ 1,024).`,
      );
      await close();
      // Throughput on a fresh table, the stream consumer polling as the local stack does (every 100 ms when idle;
      // Lambda polls a shard about 4 times a second): faster polling costs DynamoDB Local about 15% of its throughput.
      const t = await openHarness(dynamo.endpoint, 100);
      try {
        const { perSecond, anchor } = await throughput(t.b);
        // The approved promotion's cost at a rate: its anchoring as counted while promotions ran at ≥ 1/s, instead of
        // the one signature its lone window flushed.
        const single = (measured.anchor.kms * PRICE.kmsAsymmetricPerRequest + measured.anchor.checkpoints * PRICE.s3PerPut) * 1000;
        const usdPer1000AtRate = usdPer1000 - single + anchor.usdPer1000;
        console.log(
          `Cost per 1,000 approved promotions at ${fmt(anchor.perSecond, 2)} promotions/s: ${usd(usdPer1000AtRate, 3)} ` +
            `(the table above with the anchoring counted at that rate, ${usd(anchor.usdPer1000, 4)}, instead of its lone promotion's ${usd(single, 4)}; goal ≤ $0.15; CodePipeline V2 $8.00).`,
        );
        return {
          ...countsOf(measured),
          promotionItemBytes: bytes.pinned,
          promotionItemStoredBytes: bytes.stored,
          throughput: perSecond,
          usdPer1000,
          usdPer1000AtRate,
          anchorAtRate: anchor,
        };
      } finally {
        await t.close();
      }
    } catch (err) {
      await close();
      throw err;
    }
  } finally {
    await dynamo.stop();
  }
}
