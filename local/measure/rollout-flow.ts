import { createEnvironment } from '#domain/config/environments';
import { createEnvironment as envSchema, createItem as createItemSchema } from '#domain/kernel/schemas';
import { createItem } from '#domain/config/items';
import { analysisTemplateBody, putAnalysisTemplate } from '#domain/verification/templates';
import { LocalWorkflow } from '../workflow.ts';
import { api, ctxOf, expectStatus } from './api.ts';
import { totalRequests } from './counter.ts';
import type { Harness } from './harness.ts';
import { usersOf } from './tenants.ts';

/** What one promotion through an environment's targets costs, in counts (bench/waves.ts prints them). */
export interface RolloutCounts {
  promotionId: string;
  targets: number;
  waves: number;
  transitions: number;
  stepInvocations: number;
  requests: number;
  wru: number;
  rru: number;
  wallMs: number;
  status: string;
  /**
   * with `alarmInWave`: the rollback, what the alarm-state function wrote (the alarm, the decision to stop; it asks the
   * flow) and what the flow's MarkFailed step wrote (every changed target put back, the promotion's end: the one writer)
   */
  rollback?: {
    /** targets changed before the alarm, and of them those ROLLED_BACK when the flow ended */
    changed: number;
    rolledBack: number;
    /** targets never changed (waves after the alarm's) */
    untouched: number;
    /** the alarm-state function's invocations (Lambda requests beside the flow's steps) */
    invocations: number;
    /** the alarm's function and the flow's fail step together */
    wru: number;
    requests: number;
    /** each apart: WRU, requests and transactions (TransactWriteItems) */
    alarm: { wru: number; requests: number; transactions: number };
    markFailed: { invocations: number; wru: number; requests: number; transactions: number };
  };
}

/** The local stack's account and region (local/stack.ts), as the bench's monitors name them. */
const alarmArn = (tenant: string, name: string) => `arn:aws:cloudwatch:us-east-1:000000000000:alarm:${tenant}/${name}`;
/** A CloudWatch alarm going to ALARM, as EventBridge delivers it from the default bus (POST /dev/events on the local stack puts the same). */
export const alarmEvent = (arn: string, reason: string, at: Date) => ({
  source: 'aws.cloudwatch',
  'detail-type': 'CloudWatch Alarm State Change',
  account: '000000000000',
  region: 'us-east-1',
  time: at.toISOString(),
  resources: [arn],
  detail: { alarmName: arn.split(':alarm:')[1]!, state: { value: 'ALARM', reason, timestamp: at.toISOString() }, previousState: { value: 'OK' } },
});

/** With an alarm: the bake of the alarm's wave, long enough to raise the alarm inside it (the other waves bake 0 s, as without). */
export const ALARM_WAVE_BAKE_SECONDS = 3;

/**
 * Setup (not measured): dev, and production with `targets` immediate targets spread over `waves` waves
 * (evenly, or `waveSizes` per wave; none when `targets` is 1: the implicit target, today's one-step execution),
 * no bake; one config key in dev. Measured: the dev → production config promotion requested, approved (production is the last
 * environment: one approver), and its whole rollout to COMPLETED; or, with `alarmInWave`, to its rollback: the
 * first target of that wave watches a monitor, the wave bakes ALARM_WAVE_BAKE_SECONDS, and once every target of
 * the wave is changed (baking) the monitor goes to ALARM on the bus; the alarm-state function records it and the
 * decision to stop and fails the flow's waiting bakes, and the flow's MarkFailed rolls every changed target back at
 * once. The window holds the whole execution and the alarm's function.
 */
export async function rolloutFlow(
  b: Harness,
  tenant: string,
  targets: number,
  waves: number,
  opts: { alarmInWave?: number; waveSizes?: number[]; analysis?: { count: number; intervalSeconds: number } } = {},
): Promise<RolloutCounts> {
  const u = usersOf(tenant);
  const ctx = ctxOf(u.admin);
  await createEnvironment(b.deps, ctx, envSchema.parse({ name: 'dev', position: 0, reason: 'bench' }));
  const alarmWave = opts.alarmInWave;
  const sizes = opts.waveSizes;
  if (sizes && (sizes.length !== waves || sizes.reduce((a, n) => a + n, 0) !== targets))
    throw new Error(`bench: waves of ${sizes.join('+')} are not ${targets} targets in ${waves} waves`);
  // Wave i of `waveSizes` holds that many targets; otherwise the targets are spread evenly.
  const waveOf = (i: number) =>
    sizes ? sizes.findIndex((_, w) => i < sizes.slice(0, w + 1).reduce((a, n) => a + n, 0)) + 1 : Math.min(waves, 1 + Math.floor((i * waves) / targets));
  const declared = targets > 1 ? Array.from({ length: targets }, (_, i) => ({ name: `t-${String(i + 1).padStart(3, '0')}`, wave: waveOf(i) })) : undefined;
  if (alarmWave !== undefined && !declared?.some((t) => t.wave === alarmWave))
    throw new Error(`bench: no wave ${alarmWave} among ${targets} targets in ${waves} waves`);
  // With `analysis`: one template measured `count` times per target during its wave's bake (interval × count).
  if (opts.analysis) {
    await putAnalysisTemplate(
      b.deps,
      ctx,
      'error-rate',
      analysisTemplateBody.parse({
        provider: { type: 'web', url: 'https://metrics.example.com/error-rate/{{target.name}}', jsonPath: '$.value' },
        intervalSeconds: opts.analysis.intervalSeconds,
        count: opts.analysis.count,
        failureCondition: 'result > 0.05',
      }),
    );
  }
  const measuredBake = opts.analysis ? opts.analysis.count * opts.analysis.intervalSeconds : undefined;
  const watched = alarmWave !== undefined ? declared!.find((t) => t.wave === alarmWave)! : undefined;
  const monitor = watched && alarmArn(tenant, `${watched.name}-5xx`);
  await createEnvironment(
    b.deps,
    ctx,
    envSchema.parse({
      name: 'production',
      position: 1,
      reason: 'bench',
      ...(declared
        ? {
            targets: declared.map((t) => (t === watched ? { ...t, monitors: [monitor] } : t)),
            rollout: { maxParallel: 10, ...(alarmWave !== undefined ? { waves: [{ wave: alarmWave, bakeSeconds: ALARM_WAVE_BAKE_SECONDS }] } : {}) },
            ...(measuredBake ? { bakeSeconds: measuredBake, analysis: [{ template: 'error-rate' }] } : {}),
          }
        : {}),
    }),
  );
  await createItem(b.deps, ctxOf(u.deployer), 'config', 'dev', createItemSchema.parse({ key: 'feature.x', value: true }));
  await b.stream.idle();
  b.counter.reset();
  b.calls.length = 0;
  const t0 = performance.now();
  const created = await api(b, u.deployer, 'POST', '/api/v1/promotions', { sourceEnvironment: 'dev', targetEnvironment: 'production' }, 'request');
  expectStatus(created, 201, 'dev → production');
  const id = String(created.body.id);
  await b.signals.wait(`${id}:decide`);
  expectStatus(await api(b, u.approver, 'POST', `/api/v1/promotions/${id}/approve`, {}, 'approve'), 200, 'approve');
  if (watched) {
    // Every target of the wave changed and baking (its TargetBake task began: its token kept). Its monitor goes to ALARM
    // (the bus runs the alarm-state function).
    await Promise.all(declared!.filter((t) => t.wave === alarmWave).map((t) => b.signals.wait(`${id}:target-bake:${t.name}`)));
    await b.bus.put(alarmEvent(monitor!, `5xx rate over threshold on ${watched.name}`, b.deps.clock()));
  }
  await b.workflow.done(LocalWorkflow.executionId({ tenant, promotionId: id }));
  const wallMs = performance.now() - t0;
  await b.stream.idle();
  const counts = b.counter.take();
  const p = await b.deps.store.getPromotion(tenant, id);
  let rollback: RolloutCounts['rollback'];
  if (watched) {
    const items = await b.deps.store.listRolloutTargets(tenant, id);
    const byAlarm = b.calls.filter((c) => c.kind === 'event');
    const byFail = b.calls.filter((c) => c.kind === 'step' && c.label === 'step: fail');
    const sum = (calls: typeof b.calls) => ({
      wru: calls.reduce((n, c) => n + c.wru, 0),
      requests: calls.reduce((n, c) => n + Object.values(c.requests).reduce((a, x) => a + x, 0), 0),
      transactions: calls.reduce((n, c) => n + (c.requests.TransactWriteItemsCommand ?? 0), 0),
    });
    const alarm = sum(byAlarm);
    const markFailed = { invocations: byFail.length, ...sum(byFail) };
    rollback = {
      changed: items.filter((t) => t.appliedAt).length,
      rolledBack: items.filter((t) => t.appliedAt && t.state === 'ROLLED_BACK').length,
      untouched: targets - items.filter((t) => t.appliedAt).length,
      invocations: byAlarm.length,
      wru: alarm.wru + markFailed.wru,
      requests: alarm.requests + markFailed.requests,
      alarm,
      markFailed,
    };
  }
  return {
    promotionId: id,
    targets,
    waves: declared ? waves : 1,
    transitions: b.workflow.transitions(LocalWorkflow.executionId({ tenant, promotionId: id })),
    stepInvocations: b.calls.filter((c) => c.kind === 'step').length,
    requests: totalRequests(counts),
    wru: b.calls.reduce((n, c) => n + c.wru, 0),
    rru: b.calls.reduce((n, c) => n + c.rru, 0),
    wallMs,
    status: p?.status ?? 'missing',
    ...(rollback ? { rollback } : {}),
  };
}
