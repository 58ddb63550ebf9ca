import { fmt, heading, sub } from './common.ts';
import { table } from '../scripts/build.ts';
import { startDynamo } from '../local/dynamodb.ts';
import { openHarness, type Harness } from '../local/measure/harness.ts';
import { ALARM_WAVE_BAKE_SECONDS, rolloutFlow, type RolloutCounts } from '../local/measure/rollout-flow.ts';
import { configWriteFlow, fleetTargets, type ConfigWriteCounts } from '../local/measure/config-write.ts';
import { createEnvironment } from '#domain/config/environments';
import { createEnvironment as envSchema } from '#domain/kernel/schemas';
import { resolvePlan } from '#domain/promotion/rollout/plan';
import { storedPlan } from '#domain/promotion/terms/stored-plan';
import { ctxOf } from '../local/measure/api.ts';
import { newInvocation } from '../local/measure/attribution.ts';
import { usersOf } from '../local/measure/tenants.ts';
import { PRICE, usd } from './promotion-cost.ts';
import { benchFleetRollback } from './fleet-rollback.ts';

/**
 * `npm run bench`, targets and waves: one config promotion into an environment of 1 (implicit), 6 (3 waves)
 * and 100 (5 waves) immediate targets without bake, measured end to end on DynamoDB Local with the real
 * handlers and the real ASL: state transitions, step invocations, DynamoDB write and read units, per target;
 * the cost per 1,000 promotions through 6 targets in 3 waves at list prices. Goals: one target unchanged
 * (3 transitions); at most 4 transitions per target plus 2 per wave (beyond the flow's own 5). Then the rollback row
 * (benchWavesRollback).
 */
/** List prices of one flow's counts: state transitions, DynamoDB units, Lambda requests (steps and the alarm's function); no Lambda duration. */
const usdOf = (r: RolloutCounts) =>
  r.transitions * PRICE.sfnPerTransition +
  r.wru * PRICE.ddbPerWru +
  r.rru * PRICE.ddbPerRru +
  (r.stepInvocations + (r.rollback?.invocations ?? 0)) * PRICE.lambdaPerRequest;

/**
 * The rollback row ("rollback of a 6-target environment after an alarm in wave 3: every changed target back,
 * measured in transitions and writes"): 6 immediate targets in waves of 1 + 2 + 3, wave 3 baking under a monitor of
 * its first target (ALARM_WAVE_BAKE_SECONDS); the monitor goes to ALARM while wave 3 bakes (the bus runs the alarm-state function, as POST
 * /dev/events does on the local stack); every changed target is put back and the promotion ends ROLLED_BACK.
 * Its goals, each beside the same promotion completing through the same 1 + 2 + 3 targets (measured in this run):
 * - transitions ≤ 5 + 4 per target + 2 per wave (35): the rule of the completing rollout; the flow's own 5 are
 *   Decide, Route, Rollout, Waves and MarkFailed, which takes RolloutComplete's place. The rollback itself is no state:
 *   the alarm-state function records the alarm and the decision to stop and fails the flow's waiting bakes; the flow's
 *   MarkFailed puts the targets back and ends the promotion (the one writer).
 * - writes: putting a target back costs at most what changing it did, so WRU per target put back (everything the
 *   alarm's function and the flow's MarkFailed wrote, over the targets put back) ≤ the mean WRU of a target-apply step, and the whole
 *   flow's WRU and DynamoDB requests ≤ the completing rollout's plus one target-apply's per target put back.
 * - cost: at most twice the completing rollout's (a rollback costs no more than the rollout again).
 */
export async function benchWavesRollback(b: Harness): Promise<RolloutCounts & { goals: Record<string, { goal: number; met: boolean }> }> {
  const completed = await rolloutFlow(b, 'six-123', 6, 3, { waveSizes: [1, 2, 3] });
  const applies = b.calls.filter((c) => c.kind === 'step' && c.label === 'step: target-apply');
  const applyWru = applies.reduce((n, c) => n + c.wru, 0) / applies.length;
  const applyRequests = applies.reduce((n, c) => n + Object.values(c.requests).reduce((a, x) => a + x, 0), 0) / applies.length;
  const r = await rolloutFlow(b, 'six-rollback', 6, 3, { waveSizes: [1, 2, 3], alarmInWave: 3 });
  const rb = r.rollback!;
  if (r.status !== 'ROLLED_BACK' || rb.rolledBack !== rb.changed)
    throw new Error(`bench: the rollback ended ${r.status} with ${rb.rolledBack} of ${rb.changed} changed targets back`);
  const perTarget = rb.wru / rb.rolledBack;
  const goals = {
    transitions: 5 + 4 * r.targets + 2 * r.waves,
    requests: completed.requests + rb.rolledBack * applyRequests,
    wru: completed.wru + rb.rolledBack * applyWru,
    wruPerTarget: applyWru,
    usdPer1000: 2 * usdOf(completed) * 1000,
  };
  const measured = { transitions: r.transitions, requests: r.requests, wru: r.wru, wruPerTarget: perTarget, usdPer1000: usdOf(r) * 1000 };
  const met = (k: keyof typeof goals) => ({ goal: goals[k], met: measured[k] <= goals[k] });
  const g = { transitions: met('transitions'), requests: met('requests'), wru: met('wru'), wruPerTarget: met('wruPerTarget'), usdPer1000: met('usdPer1000') };
  const mark = (k: keyof typeof g) => (g[k].met ? 'met' : 'NOT met');
  sub('Rollback of a 6-target environment (1 + 2 + 3) after an alarm in wave 3');
  console.log(
    table(
      ['figure', 'rolled back', 'completing', 'goal', ''],
      [
        ['status', `${r.status}, ${rb.rolledBack} of ${rb.changed} changed targets ROLLED_BACK`, completed.status, 'every changed target back', 'met'],
        ['state transitions', r.transitions, completed.transitions, `≤ ${goals.transitions}`, mark('transitions')],
        ['DynamoDB requests', r.requests, completed.requests, `≤ ${fmt(goals.requests, 0)}`, mark('requests')],
        ['WRU', fmt(r.wru, 0), fmt(completed.wru, 0), `≤ ${fmt(goals.wru, 0)}`, mark('wru')],
        [
          'WRU per target put back',
          `${fmt(perTarget, 1)} (${fmt(rb.wru, 0)} WRU, ${rb.requests} requests: the alarm's function ${fmt(rb.alarm.wru, 0)}, MarkFailed ${fmt(rb.markFailed.wru, 0)})`,
          `${fmt(applyWru, 1)} to change one`,
          `≤ ${fmt(goals.wruPerTarget, 1)}`,
          mark('wruPerTarget'),
        ],
        ['step calls (+ alarm function)', `${r.stepInvocations} + ${rb.invocations}`, completed.stepInvocations, '', ''],
        ['RRU', fmt(r.rru, 0), fmt(completed.rru, 0), '', ''],
        ['cost per 1,000 such rollouts', usd(measured.usdPer1000, 3), usd(usdOf(completed) * 1000, 3), `≤ ${usd(goals.usdPer1000, 3)}`, mark('usdPer1000')],
        [`wall ms (${ALARM_WAVE_BAKE_SECONDS} s bake in wave 3)`, fmt(r.wallMs, 0), fmt(completed.wallMs, 0), '', ''],
      ],
    ),
  );
  return { ...r, goals: g };
}

/**
 * The config-write row: one config change (a key set: the environment's head moves) in an environment of 0, 6 and
 * 100 targets (each about 200 bytes of JSON: a region, two labels, an endpoint parameter, a callback confirmation).
 * The targets are an item of their own, written only when they change (functions/adapters/store/targets.ts), so the
 * write units of a config write do not grow with them. Goal: flat (the same WRU with 100 targets as with none).
 * Alone: `tsx bench/waves.ts config-writes`.
 */
export async function benchConfigWrites(b: Harness): Promise<{ rows: ConfigWriteCounts[]; flat: boolean }> {
  const rows = [await configWriteFlow(b, 'cw-none', 0), await configWriteFlow(b, 'cw-six', 6), await configWriteFlow(b, 'cw-hundred', 100)];
  const flat = rows.every((r) => r.wru === rows[0]!.wru);
  sub('WRU per config write with 0, 6 and 100 targets (a key changed: the head moves; mean of 3 writes)');
  console.log(
    table(
      ['targets', 'targets JSON', 'WRU per write', 'goal', 'DDB requests', 'RRU'],
      rows.map((r) => [
        r.targets,
        `${fmt(r.targetsBytes, 0)} B`,
        fmt(r.wru, 1),
        `= ${fmt(rows[0]!.wru, 1)} ${r.wru === rows[0]!.wru ? 'met' : 'NOT met'}`,
        fmt(r.requests, 1),
        fmt(r.rru, 1),
      ]),
    ),
  );
  return { rows, flat };
}

/**
 * The analysis row: the same promotion through 6 targets in 3 waves, each target's bake measured by one analysis
 * template 5 times (interval 1 s; the provider answers at once: the flow's cost is what is counted). Goals: at most
 * 2 state transitions per measurement (a Wait and a task: TargetMeasureWait ⇄ TargetBaked), and the cost per 1,000
 * such promotions printed beside the same rollout without analysis.
 */
export async function benchAnalysis(b: Harness, without: RolloutCounts) {
  const COUNT = 5;
  const r = await rolloutFlow(b, 'six-analysis', 6, 3, { analysis: { count: COUNT, intervalSeconds: 1 } });
  if (r.status !== 'COMPLETED') throw new Error(`bench: the measured rollout ended ${r.status}`);
  const measurements = r.targets * COUNT;
  // The bake without analysis is one Wait and one task per target; with it, the first measurement is that task.
  const perMeasurement = (r.transitions - without.transitions + 2 * r.targets) / measurements;
  const usd1000 = usdOf(r) * 1000;
  sub('One analysis of 5 measurements per target: 6 targets in 3 waves');
  console.log(
    table(
      ['figure', 'with analysis', 'without', 'goal', ''],
      [
        ['state transitions', r.transitions, without.transitions, '', ''],
        ['transitions per measurement', fmt(perMeasurement, 2), '', '≤ 2', perMeasurement <= 2 ? 'met' : 'NOT met'],
        ['step calls', r.stepInvocations, without.stepInvocations, '', ''],
        ['WRU', fmt(r.wru, 0), fmt(without.wru, 0), '', ''],
        ['WRU per measurement', fmt((r.wru - without.wru) / measurements, 2), '', '', ''],
        ['RRU', fmt(r.rru, 0), fmt(without.rru, 0), '', ''],
        ['cost per 1,000 promotions', usd(usd1000, 3), usd(usdOf(without) * 1000, 3), 'printed', ''],
      ],
    ),
  );
  return { ...r, perMeasurement, usdPer1000: usd1000 };
}

export async function benchWaves(): Promise<{
  rows: RolloutCounts[];
  usdPer1000Six: number;
  rollback: Awaited<ReturnType<typeof benchWavesRollback>>;
  fleetRollback: Awaited<ReturnType<typeof benchFleetRollback>>;
  fleetRollback1000: Awaited<ReturnType<typeof benchFleetRollback>>;
}> {
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
      await benchAnalysis(b, six);
      const rollback = await benchWavesRollback(b);
      await benchConfigWrites(b);
      // A fleet of 10,000 targets at store level: validated, planned, read back; config writes flat; all rolled back.
      const fleet = await benchFleet(b);
      // The same rollback at a tenth of the fleet: per target it should cost the same (each target read once).
      const fleetRollback1000 = await benchFleetRollback(b, 1_000);
      return { rows, usdPer1000Six, rollback, fleetRollback: fleet.rollback, fleetRollback1000 };
    } finally {
      await close();
    }
  } finally {
    await dynamo.stop();
  }
}

/**
 * The fleet row, store level on DynamoDB Local: 10,000 targets in 10 waves validated and written in one
 * environment write; their plan resolved and stored as a rollout's start stores it (plan pages) and read back wave by
 * wave; and the WRU of a config write at 0 and at 10,000 targets (goal: flat). Printed, with the time each took.
 * Then the rollback of a promotion that changed all 10,000 (bench/fleet-rollback.ts): the engine's fail step run as the
 * flow's MarkFailed → PutBackMore loop runs it, a batch of ROLLBACK_BATCH per run, until every target is ROLLED_BACK
 * and the promotion too, newest wave first; its runs, units, requests and time, and the sizes of the promotion's final
 * item, end event and audit entry (bounded: 400 KB, 256 KB).
 * Alone: `tsx bench/waves.ts fleet`.
 */
export async function benchFleet(b: Harness) {
  const N = 10_000;
  const u = usersOf('fleet-10k-plan');
  const declared = fleetTargets(N, 10);
  const validate = newInvocation('targets-write', `${N} targets validated and written`, 'api');
  let t0 = performance.now();
  await b.attribution.run(validate, () =>
    createEnvironment(b.deps, ctxOf(u.admin), envSchema.parse({ name: 'edge', position: 0, reason: 'bench', targets: declared, rollout: { maxParallel: 10 } })),
  );
  const validateMs = performance.now() - t0;
  const env = (await b.deps.store.getEnvironment('fleet-10k-plan', 'edge'))!;
  const plan = newInvocation('plan-write', `a plan of ${N} targets stored`, 'step');
  t0 = performance.now();
  const stored = storedPlan(resolvePlan(env));
  await b.attribution.run(plan, () => b.deps.store.putPlanPages('fleet-10k-plan', 'prm_bench', stored.pages));
  const planMs = performance.now() - t0;
  t0 = performance.now();
  let read = 0;
  for (const w of stored.waves) read += (await b.deps.store.getPlanPages('fleet-10k-plan', 'prm_bench', stored.id!, w.wave, w.pages!)).length;
  const readMs = performance.now() - t0;
  if (read !== N) throw new Error(`bench: the stored plan read back ${read} names, not ${N}`);
  const [none, fleet] = [await configWriteFlow(b, 'fleet-cw-none', 0), await configWriteFlow(b, 'fleet-cw-10k', N, 3, 10)];
  sub(`${fmt(N, 0)} targets in 10 waves: validated, planned, read back; a config write at 0 and ${fmt(N, 0)} targets`);
  console.log(
    table(
      ['figure', 'time', 'WRU', 'DDB requests', 'goal'],
      [
        [
          `${fmt(N, 0)} targets validated and written (one request)`,
          `${fmt(validateMs, 0)} ms`,
          fmt(validate.wru, 0),
          fmt(
            Object.values(validate.requests).reduce((a, x) => a + x, 0),
            0,
          ),
          '',
        ],
        [
          `plan stored (${stored.pages.length} pages)`,
          `${fmt(planMs, 0)} ms`,
          fmt(plan.wru, 0),
          fmt(
            Object.values(plan.requests).reduce((a, x) => a + x, 0),
            0,
          ),
          '',
        ],
        ['plan read back, wave by wave', `${fmt(readMs, 0)} ms`, '0', '', ''],
        ['config write, 0 targets', '', fmt(none.wru, 1), fmt(none.requests, 1), ''],
        [
          `config write, ${fmt(N, 0)} targets`,
          '',
          fmt(fleet.wru, 1),
          fmt(fleet.requests, 1),
          `= ${fmt(none.wru, 1)} ${fleet.wru === none.wru ? 'met' : 'NOT met'}`,
        ],
      ],
    ),
  );
  const rollback = await benchFleetRollback(b, N);
  return { validateMs, validateWru: validate.wru, planMs, planWru: plan.wru, readMs, configWru: { none: none.wru, fleet: fleet.wru }, rollback };
}

/** The fleet's rollback row alone at `n` targets, on a DynamoDB Local of its own (`npm run bench -- --quick`). */
export async function benchRollbackAlone(n: number) {
  heading(`Targets and waves: the rollback of ${n} changed targets`);
  const dynamo = await startDynamo({});
  try {
    const { b, close } = await openHarness(dynamo.endpoint);
    try {
      return await benchFleetRollback(b, n);
    } finally {
      await close();
    }
  } finally {
    await dynamo.stop();
  }
}

/** `tsx bench/waves.ts fleet`: the fleet row alone, on a DynamoDB Local of its own. */
if (import.meta.url === `file://${process.argv[1]}` && process.argv[2] === 'fleet') {
  heading('Targets and waves: a fleet of 10,000');
  const dynamo = await startDynamo({});
  try {
    const { b, close } = await openHarness(dynamo.endpoint);
    try {
      await benchFleet(b);
    } finally {
      await close();
    }
  } finally {
    await dynamo.stop();
  }
}

/** `tsx bench/waves.ts config-writes`: the config-write row alone, on a DynamoDB Local of its own. */
if (import.meta.url === `file://${process.argv[1]}` && process.argv[2] === 'config-writes') {
  heading('Targets and waves: config writes');
  const dynamo = await startDynamo({});
  try {
    const { b, close } = await openHarness(dynamo.endpoint);
    try {
      await benchConfigWrites(b);
    } finally {
      await close();
    }
  } finally {
    await dynamo.stop();
  }
}

/** `tsx bench/waves.ts analysis`: the analysis row alone (with the 6-target rollout it is compared with). */
if (import.meta.url === `file://${process.argv[1]}` && process.argv[2] === 'analysis') {
  heading('Targets and waves: analysis');
  const dynamo = await startDynamo({});
  try {
    const { b, close } = await openHarness(dynamo.endpoint);
    try {
      await rolloutFlow(b, 'warm', 6, 3);
      await benchAnalysis(b, await rolloutFlow(b, 'six', 6, 3));
    } finally {
      await close();
    }
  } finally {
    await dynamo.stop();
  }
}
