import { targetMonitors, targetsOf } from '../../config/targets.ts';
import { monitorRefusal, monitorsBlock, type AlarmState } from '../../freeze/monitors.ts';
import { firstOf, targetsNamed } from '../../kernel/display.ts';
import type { Environment } from '../../kernel/model.ts';
import type { MonitorAlarm, Promotion, RolloutTarget } from '../../kernel/promotion-model.ts';
import type { With } from '../../kernel/deps.ts';
import { retryOnConflict } from '../../kernel/retry.ts';
import { ENGINE, patched } from '../aggregate.ts';
import { type Next } from '../terms/deadlines.ts';
import { completeRollout } from '../run/complete.ts';
import { PromotionFailed } from '../deliver/target-change.ts';
import { loadPromotion, promotionEvent, writePromotion } from '../write.ts';
import { analysisNames, haltForAnalysis, measureDue, missingTemplates, startRuns, templateBook } from './analysis.ts';
import { gitopsHealth } from './confirm-modes.ts';
import { askToStop } from './stop.ts';
import { allPlanNames } from '../terms/stored-plan.ts';

/**
 * A confirmed target bakes under its monitors; the bake's end reads them once more (TargetBaked);
 * an alarm during a rollout fails it; every wave done completes it (RolloutComplete).
 */

/**
 * The bake a target enters once it is confirmed: from then for its wave's bake time, watching its monitors.
 * Recorded when it starts, so a rollout stopped mid-bake (an alarm) still names every bake window; the
 * bake's end (TargetBaked) writes when it really ended.
 */
export const bakeWindow = (
  p: Promotion,
  env: Pick<Environment, 'monitors' | 'targets'> | null,
  name: string,
  wave: number,
  at: Date,
): NonNullable<RolloutTarget['bake']> => {
  const seconds = p.rollout?.waves.find((w) => w.wave === wave)?.bakeSeconds ?? 0;
  return { from: at.toISOString(), until: new Date(at.getTime() + seconds * 1000).toISOString(), monitors: env ? targetMonitors(env, name) : [] };
};

/**
 * TargetBaked: with analyses, one pass of the measuring loop first (rollout/analysis.ts: MeasureAgain until every
 * analysis has its answer and the bake time is over; a failed analysis fails the rollout, an inconclusive one halts
 * it); then the bake is over: the target's monitors are read once more (one in ALARM, or a read that fails, fails the
 * rollout), and a GitOps target's controller too (Degraded, Ready=False with a failure, or a read that fails: the
 * target fails and the rollout rolls back).
 */
export async function targetBakedStep(
  deps: With<'alarms' | 'metrics' | 'gitopsStatus'>,
  tenant: string,
  id: string,
  name: string,
  bakeSeconds: number,
): Promise<{ next: Next }> {
  const p = await loadPromotion(deps, tenant, id);
  const stopped = stoppedRollout(p);
  if (stopped) throw new PromotionFailed(p.status === 'EXECUTING' ? stopped : `the rollout stopped: ${stopped}`);
  let item = await deps.store.getRolloutTarget(tenant, id, name);
  if (!item || item.state === 'ROLLED_BACK' || item.state === 'FAILED') throw new PromotionFailed(`target ${name} is ${item?.state ?? 'not changed'}`);
  if (item.state === 'DONE') return { next: 'done' };
  // Only a target that baked ends its bake: one still waiting for its confirmation (its callback, its fleet, its
  // health) never reached it, however the flow came here (a 300-promotion chaos run with crashes and an upgrade saw a
  // fleet target, one instance of two seen, made DONE here unconfirmed). Fail closed: the rollout rolls back.
  if (item.state === 'CONFIRMING') throw new PromotionFailed(`target '${name}' reached the end of its bake still CONFIRMING: it was never confirmed`);
  const env = await deps.store.getEnvironment(tenant, p.targetEnvironment);
  const now = deps.clock();
  if (env) item = await analysisPass(deps, p, env, item, bakeSeconds, now);
  const arns = env ? targetMonitors(env, name) : [];
  const from = new Date(now.getTime() - bakeSeconds * 1000).toISOString();
  let firing: MonitorAlarm | null = null;
  let why: string | null = null;
  if (arns.length) {
    const foreign = arns.map((a) => monitorRefusal(tenant, a)).filter(Boolean);
    let states: AlarmState[] = [];
    if (foreign.length) why = `the monitors of '${name}' could not be checked: ${foreign.join('; ')}`;
    else {
      try {
        states = await deps.alarms.states(arns);
        why = monitorsBlock(arns, states);
      } catch (err) {
        why = `the monitors of '${name}' could not be read (fail closed): ${(err as Error).message}`;
      }
    }
    const s = states.find((x) => x.state === 'ALARM' && arns.includes(x.arn));
    if (s) firing = { arn: s.arn, name: s.name, reason: (s.reason ?? '').slice(0, 500), at: s.updatedAt ?? now.toISOString() };
  }
  if (!why && env) {
    const target = targetsOf(env).find((t) => t.name === name);
    const g = target ? await gitopsHealth(deps, tenant, p, target, item) : null;
    if (g?.degraded) why = `'${name}' is not healthy at the end of its bake: ${g.detail}`;
  }
  const at = now.toISOString();
  const next: RolloutTarget = {
    ...item,
    state: why ? 'FAILED' : 'DONE',
    bake: { from: item.bake?.from ?? from, until: at, monitors: arns },
    ...(firing ? { alarm: firing } : {}),
    ...(why ? { error: why.slice(0, 500) } : {}),
    taskToken: null,
    version: item.version + 1,
    updatedAt: at,
  };
  await deps.store.commit(tenant, [{ kind: 'rolloutTarget', target: next, expectedVersion: item.version }]);
  if (why) throw new PromotionFailed(`target '${name}' failed its bake: ${why}`);
  return { next: 'done' };
}

/**
 * One pass of the measuring loop of a target with analyses (none: the target as it is). The runs start with the
 * bake (the templates as they are then); what is due is measured and written; a failed run fails the target; an
 * inconclusive one halts the rollout; until every run has its answer and the bake time is over, MeasureAgain (the
 * flow waits the target's measuring interval and comes back).
 */
async function analysisPass(
  deps: With<'metrics'>,
  p: Promotion,
  env: Environment,
  item: RolloutTarget,
  bakeSeconds: number,
  now: Date,
): Promise<RolloutTarget> {
  let runs = item.analysis;
  if (!runs) {
    if (!analysisNames(env).length) return item;
    const stored = await deps.store.getAnalysisTemplates(p.tenant);
    const book = templateBook(stored?.templates);
    const missing = missingTemplates(env, book);
    if (missing.length)
      throw new PromotionFailed(
        `analysis template${missing.length > 1 ? 's' : ''} ${missing.map((m) => `'${m}'`).join(', ')} no longer defined: the rollout cannot measure '${item.name}'`,
      );
    runs = startRuns(env, book, item.name, item.wave, item.bake?.from ?? now.toISOString());
    if (!runs.length) return item;
  }
  if (!runs.length) return item;
  const out = await measureDue(deps, p, env, { ...item, analysis: runs }, now);
  const at = now.toISOString();
  const next: RolloutTarget = {
    ...item,
    analysis: out.runs,
    ...(out.failed
      ? { state: 'FAILED' as const, error: out.failed.slice(0, 500), bake: { from: item.bake?.from ?? at, until: at, monitors: item.bake?.monitors ?? [] } }
      : {}),
    version: item.version + 1,
    updatedAt: at,
  };
  // Each analysis that has its answer now is news (webhook promotion.analysis_decided, an opt-in notification).
  const decided = out.runs.filter((r) => r.phase !== 'Running' && runs.find((x) => x.template === r.template && x.scope === r.scope)?.phase === 'Running');
  const news = decided.map((r) =>
    promotionEvent(deps, 'Promotion Analysis Decided', p, {
      target: item.name,
      wave: item.wave,
      reason: r.message,
      analysis: {
        template: r.template,
        scope: r.scope,
        phase: r.phase as 'Successful' | 'Failed' | 'Inconclusive' | 'Error',
        ...(r.message ? { message: r.message.slice(0, 500) } : {}),
        ...(r.thresholds ? { thresholds: r.thresholds } : {}),
        measurements: r.measurements.slice(-10).map((m) => ({ at: m.at, phase: m.phase, value: m.value, ...(m.error ? { error: m.error } : {}) })),
      },
    }),
  );
  await deps.store.commit(p.tenant, [{ kind: 'rolloutTarget', target: next, expectedVersion: item.version }, ...news]);
  if (out.failed) throw new PromotionFailed(out.failed);
  if (out.inconclusive.length) await haltForAnalysis(deps, p, out.inconclusive);
  const bakeEnd = new Date(item.bake?.from ?? at).getTime() + bakeSeconds * 1000;
  if (!out.finished || now.getTime() + 1000 < bakeEnd)
    throw new MeasureAgain(`'${item.name}': ${out.runs.filter((r) => r.phase === 'Running').length} analyses running`);
  return next;
}

/** A target's analyses are not all answered yet, or its bake time is not over: the flow waits its measuring interval and runs TargetBaked again. */
export class MeasureAgain extends Error {
  override readonly name = 'MeasureAgain';
}

/**
 * A monitored alarm went to ALARM while a rollout is under way: every target that watches it (its own
 * monitors, or the environment's when it has none) and has been changed records it, the promotion records
 * it (monitorAlarm), and the flow is asked to stop (askToStop: the decision to stop, every waiting token
 * failed with MonitorAlarm): the flow's MarkFailed rolls every changed target back at once. False when no
 * changed target of the promotion watches the alarm.
 */
export async function rolloutAlarm(deps: With<'workflow'>, p: Promotion, alarm: MonitorAlarm): Promise<boolean> {
  if (p.status !== 'EXECUTING' || !p.rollout) return false;
  const env = await deps.store.getEnvironment(p.tenant, p.targetEnvironment);
  if (!env) return false;
  const items = await deps.store.listRolloutTargets(p.tenant, p.id);
  const hit = items.filter((t) => t.appliedAt && t.state !== 'ROLLED_BACK' && targetMonitors(env, t.name).includes(alarm.arn));
  if (!hit.length) return false;
  const at = deps.clock().toISOString();
  for (const first of hit) {
    // A target's own step may write its item meanwhile (its bake's token, its bake's end): read it again and mark it then.
    let t: RolloutTarget | null = first;
    await retryOnConflict(deps.tunables, async () => {
      t ??= await deps.store.getRolloutTarget(p.tenant, p.id, first.name);
      const cur = t;
      t = null;
      if (!cur || cur.state === 'ROLLED_BACK' || cur.alarm?.arn === alarm.arn) return;
      await deps.store.commit(p.tenant, [
        {
          kind: 'rolloutTarget',
          target: { ...cur, alarm, state: cur.state === 'DONE' ? cur.state : 'FAILED', version: cur.version + 1, updatedAt: at },
          expectedVersion: cur.version,
        },
      ]);
    });
  }
  await writePromotion(deps, p.tenant, p.id, (cur) =>
    cur.status !== 'EXECUTING' || cur.monitorAlarm
      ? null
      : {
          next: patched(cur, at, { monitorAlarm: alarm }),
          action: 'promotion.alarm',
          by: ENGINE,
          reason: `monitor '${alarm.name}' of ${targetsNamed(hit)} went to ALARM`,
        },
  );
  const what = `monitor '${alarm.name}' of ${targetsNamed(hit)} went to ALARM at ${alarm.at}${alarm.reason ? ` (${alarm.reason})` : ''}`;
  await askToStop(deps, p, `post-deploy verification failed: ${what}`, 'MonitorAlarm');
  return true;
}

/**
 * TargetBake (a task-token wait, its timer the target's first wait: the bake time, or its first measurement): the token
 * is kept on the target's item and nothing answers it but whoever asks the flow to stop (askToStop: an alarm, the
 * sweep); its timer's end goes on to TargetBaked. The flow's other waits of a target run this step too (TargetHealthWait
 * between polls, TargetMeasureWait between measurements: their timers the intervals), so a stop ends any of them at
 * once, not one interval later. The token is written first and the promotion read after it, so a
 * decision to stop written meanwhile is seen here (the step fails its own token) or the token is seen by askToStop.
 */
export async function targetBakeStep(deps: With<'workflow'>, tenant: string, id: string, name: string, token: string): Promise<{ next: Next }> {
  const refuse = async (why: string) => (await deps.workflow.sendTaskFailure(token, 'RolloutStopped', why), { next: 'done' as const });
  let stopped = stoppedRollout(await loadPromotion(deps, tenant, id));
  if (stopped) return refuse(stopped);
  let item: RolloutTarget | null = null;
  await retryOnConflict(deps.tunables, async () => {
    item = await deps.store.getRolloutTarget(tenant, id, name);
    if (!item || item.taskToken === token || item.state === 'ROLLED_BACK' || item.state === 'FAILED' || item.state === 'DONE') return;
    const next: RolloutTarget = { ...item, taskToken: token, version: item.version + 1 };
    await deps.store.commit(tenant, [{ kind: 'rolloutTarget', target: next, expectedVersion: item.version }]);
    item = next;
  });
  const kept = item as RolloutTarget | null;
  if (!kept || kept.state === 'ROLLED_BACK' || kept.state === 'FAILED') return refuse(`target ${name} is ${kept?.state ?? 'not changed'}`);
  // Baked already (a retried task): TargetBaked reads it and goes on.
  if (kept.state === 'DONE') return (await deps.workflow.sendTaskSuccess(token, {}), { next: 'done' });
  stopped = stoppedRollout(await loadPromotion(deps, tenant, id));
  if (stopped) return refuse(stopped);
  return { next: 'await-go' };
}

/** Why a rollout's step may not go on: it is not executing, or its decision to stop is written. */
const stoppedRollout = (p: Promotion): string | null =>
  p.status !== 'EXECUTING' || !p.rollout ? `promotion is ${p.status}` : p.rollout.stopping ? `the rollout stopped: ${p.rollout.stopping.reason}` : null;

/** RolloutComplete: every wave done; the environment's head moves to the release in one transaction and the promotion completes. */
export async function rolloutCompleteStep(deps: With<'git' | 'registry' | 'scheduler' | 'workflow'>, tenant: string, id: string): Promise<{ next: Next }> {
  const p = await loadPromotion(deps, tenant, id);
  if (p.status !== 'EXECUTING' || !p.rollout) return { next: 'done' };
  const items = await deps.store.listRolloutTargets(tenant, id);
  const names = [...(await allPlanNames(deps.store, p)).values()].flat();
  const missing = names.filter((n) => items.find((t) => t.name === n)?.state !== 'DONE');
  if (missing.length) throw new PromotionFailed(`not every target is confirmed and baked: ${missing.length} of ${names.length} are not (${firstOf(missing)})`);
  await completeRollout(deps, tenant, id, names);
  return { next: 'done' };
}
