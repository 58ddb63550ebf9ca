import { fmt, heading } from './common.ts';
import { table } from '../scripts/build.ts';
import { startDynamo } from '../local/dynamodb.ts';
import { openHarness } from '../local/measure/harness.ts';
import { rolloutFlow, type RolloutCounts } from '../local/measure/rollout-flow.ts';
import { PRICE, usd } from './promotion-cost.ts';

/**
 * `npm run bench`, targets and waves: one config promotion into an environment of 1 (implicit), 6 (3 waves)
 * and 100 (5 waves) immediate targets without bake, measured end to end on DynamoDB Local with the real
 * handlers and the real ASL: state transitions, step invocations, DynamoDB write and read units, per target;
 * the cost per 1,000 promotions through 6 targets in 3 waves at list prices. Goals: one target unchanged
 * (3 transitions); at most 4 transitions per target plus 2 per wave (beyond the flow's own 5).
 */
export async function benchWaves(): Promise<{ rows: RolloutCounts[]; usdPer1000Six: number }> {
  heading('Targets and waves: one promotion through 1 → 6 → 100 targets');
  const dynamo = await startDynamo({});
  try {
    const { b, close } = await openHarness(dynamo.endpoint);
    try {
      await rolloutFlow(b, 'warm', 6, 3);
      const rows = [await rolloutFlow(b, 'one', 1, 1), await rolloutFlow(b, 'six', 6, 3), await rolloutFlow(b, 'hundred', 100, 5)];
      console.log(
        table(
          ['targets', 'waves', 'status', 'transitions', 'per target', 'goal', 'step calls', 'DDB requests', 'WRU', 'WRU per target', 'RRU', 'wall ms'],
          rows.map((r) => {
            const goal = r.targets === 1 ? 3 : 5 + 4 * r.targets + 2 * r.waves;
            return [
              r.targets,
              r.waves,
              r.status,
              r.transitions,
              fmt(r.transitions / r.targets, 2),
              `≤ ${goal} ${r.transitions <= goal ? 'met' : 'NOT met'}`,
              r.stepInvocations,
              r.requests,
              fmt(r.wru, 0),
              fmt(r.wru / r.targets, 1),
              fmt(r.rru, 0),
              fmt(r.wallMs, 0),
            ];
          }),
        ),
      );
      const six = rows[1]!;
      // Lambda time is not priced here (the step calls are counted): transitions, write and read units, the API calls.
      const usdPer1000Six =
        (six.transitions * PRICE.sfnPerTransition + six.wru * PRICE.ddbPerWru + six.rru * PRICE.ddbPerRru + six.stepInvocations * PRICE.lambdaPerRequest) *
        1000;
      console.log(
        `Cost per 1,000 promotions through 6 targets in 3 waves: ${usd(usdPer1000Six, 3)} (state transitions, DynamoDB units and step invocations at list prices; Lambda duration not included).`,
      );
      return { rows, usdPer1000Six };
    } finally {
      await close();
    }
  } finally {
    await dynamo.stop();
  }
}
