import { fmt, heading, sub } from './common.ts';
import { table } from '../scripts/build.ts';
import { startDynamo } from '../local/dynamodb.ts';
import { openHarness } from '../local/measure/harness.ts';
import { rolloutFlow } from '../local/measure/rollout-flow.ts';
import { fleetFlowCounts } from '../local/measure/fleet-model.ts';
import { WAVE_MACHINE } from '../local/workflow.ts';
import { PRICE, usd } from './promotion-cost.ts';

/** Step Functions' limit on one execution's history. */
const HISTORY_LIMIT = 25_000;

/**
 * `npm run bench`, a fleet: each wave of more than 25 targets its own child execution (statemachines/wave.asl.json),
 * its targets in batches of 100. Transitions and history events at 100, 1,000 and 10,000 immediate targets in 10
 * waves are counted by running the real ASL on the local runner with steps that answer as the real ones do
 * (local/measure/fleet-model.ts; test/integration/waves-child.test.ts checks it against the real flow at 1,000).
 * Goals: at most 4 transitions per target; the largest history bounded, far under 25,000. Then one real rollout of
 * 1,000 targets in 10 waves on DynamoDB Local with the real handlers: its DynamoDB units, its step invocations and its
 * elapsed time, and the cost per 1,000 promotions at list prices (Step Functions transitions, Lambda requests, DynamoDB
 * units; no Lambda duration) through 1,000 targets as measured and through 10,000 with the DynamoDB units per target of
 * the 1,000-target run (the model gives its transitions and invocations).
 */
export async function benchFleet() {
  heading('Fleet: each wave its own execution (100, 1,000 and 10,000 targets in 10 waves)');
  const rows = [await fleetFlowCounts(100, 10), await fleetFlowCounts(1000, 10), await fleetFlowCounts(10_000, 10)];
  console.log(
    table(
      ['targets', 'waves', 'transitions', 'per target', 'goal ≤ 4', 'largest history (events)', 'limit', 'parent history', 'step calls'],
      rows.map((r) => [
        r.targets,
        r.waves,
        r.transitions,
        fmt(r.transitions / r.targets, 3),
        r.transitions / r.targets <= 4 ? 'met' : 'NOT met',
        r.largestHistory,
        `${HISTORY_LIMIT} ${r.largestHistory < HISTORY_LIMIT ? 'bounded' : 'NOT bounded'}`,
        r.parentHistory,
        r.stepInvocations,
      ]),
    ),
  );
  const dynamo = await startDynamo({});
  try {
    const { b, close } = await openHarness(dynamo.endpoint);
    try {
      const r = await rolloutFlow(b, 'fleet-1000', 1000, 10);
      const children = b.workflow.executions(WAVE_MACHINE).filter((e) => e.input.promotionId === r.promotionId);
      const transitions = r.transitions + children.reduce((n, c) => n + b.workflow.transitions(c.id), 0);
      sub('Local: 1,000 targets in 10 waves (no bake) on DynamoDB Local, the real handlers and ASL');
      console.log(
        table(
          ['status', 'child executions', 'transitions', 'step calls', 'DDB requests', 'WRU', 'WRU per target', 'RRU', 'elapsed ms'],
          [[r.status, children.length, transitions, r.stepInvocations, r.requests, fmt(r.wru, 0), fmt(r.wru / 1000, 1), fmt(r.rru, 0), fmt(r.wallMs, 0)]],
        ),
      );
      const ddbPerTarget = (r.wru * PRICE.ddbPerWru + r.rru * PRICE.ddbPerRru) / 1000;
      const at1000 = transitions * PRICE.sfnPerTransition + r.stepInvocations * PRICE.lambdaPerRequest + ddbPerTarget * 1000;
      const m = rows[2]!;
      const at10000 = m.transitions * PRICE.sfnPerTransition + m.stepInvocations * PRICE.lambdaPerRequest + ddbPerTarget * 10_000;
      sub('$ per 1,000 promotions (Step Functions, Lambda requests, DynamoDB at list prices; no Lambda duration)');
      console.log(
        table(
          ['targets', '$ per 1,000 promotions', 'of which DynamoDB', 'basis'],
          [
            [1000, usd(at1000 * 1000, 2), usd(ddbPerTarget * 1000 * 1000, 2), 'measured'],
            [10_000, usd(at10000 * 1000, 2), usd(ddbPerTarget * 10_000 * 1000, 2), 'model transitions and calls, DynamoDB per target as measured at 1,000'],
          ],
        ),
      );
      return { rows, local: { ...r, transitions, children: children.length }, usdPer1000: { at1000: at1000 * 1000, at10000: at10000 * 1000 } };
    } finally {
      await close();
    }
  } finally {
    await dynamo.stop();
  }
}
