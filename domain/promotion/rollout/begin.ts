import { targetsOf } from '../../config/targets.ts';
import type { Environment } from '../../kernel/model.ts';
import type { RolloutState } from '../../kernel/promotion-model.ts';
import { isPolled } from '../../kernel/target-schemas.ts';
import type { With } from '../../kernel/deps.ts';
import { allPlanNames, planSize, storedPlan } from '../terms/stored-plan.ts';
import { ENGINE, moved, waitsToExecute } from '../aggregate.ts';
import type { Next } from '../terms/deadlines.ts';
import { freezeHold } from '../run/freeze-hold.ts';
import { holdsBeforeExecute } from '../run/before-execute.ts';
import { monitorCheck } from './monitor-watch.ts';
import { analysisNames, measureTiming, missingTemplates, templateBook, type TemplateBook } from './analysis.ts';
import { runsAsChild } from './wave-go.ts';
import { notQueued, queueBehind } from '../run/queue.ts';
import { PromotionFailed } from '../deliver/target-change.ts';
import { writePromotion } from '../write.ts';
import { confirmSeconds, resolvePlan, rolloutLockSeconds, type FlowWave } from './plan.ts';

/**
 * The rollout started (the flow's Rollout step, promotion-step alone): the freeze and soak holds, change control (its
 * request waited for: run/change-hold.ts, loaded on first use), the lease, the stored plan, and the wave plan the flow
 * iterates. Kept apart from plan.ts, which many functions bundle for its small helpers, so change control's chunk is
 * promotion-step's only.
 */

const flowWaves = (env: Environment, r: RolloutState, names: ReadonlyMap<number, string[]>, book: TemplateBook): FlowWave[] => {
  const byName = new Map(targetsOf(env).map((t) => [t.name, t]));
  return r.waves.map((w) => {
    const all = names.get(w.wave) ?? [];
    // A wave run as a child execution reads its names itself (waveTargets), a batch at a time: none in the flow's payload.
    const child = runsAsChild(env, w, all);
    return {
      wave: w.wave,
      bakeSeconds: w.bakeSeconds,
      maxParallel: w.maxParallel,
      count: all.length,
      child,
      targets: (child ? [] : all).map((name) => {
        const t = byName.get(name);
        return {
          name,
          timeoutSeconds: confirmSeconds(t),
          intervalSeconds: t && isPolled(t.confirm) ? t.confirm.intervalSeconds : 15,
          ...measureTiming(env, book, name, w.wave, w.bakeSeconds),
        };
      }),
    };
  });
};

/**
 * Rollout: the freeze hold, the soak, the change request (change control's gate, as an ordinary execution waits for
 * it: domain/promotion/run/change-hold.ts changeHold, loaded only for a change-controlled promotion) and the
 * environment's monitors as any execution, the lease, EXECUTING with the wave plan.
 */
export async function rolloutStartStep(
  deps: With<'alarms' | 'scheduler'> & Partial<With<'changes' | 'ciRuns'>>,
  tenant: string,
  id: string,
): Promise<{ next: Next; waves: FlowWave[] }> {
  const { held, read: unfrozen } = await freezeHold(deps, tenant, id);
  if (held) return { ...held, waves: [] };
  // The soak, the allowed hours, the CI gate and the change request (run/before-execute.ts).
  const { read, env } = await holdsBeforeExecute(deps, unfrozen);
  // Its CI run failed, or its request was rejected or cancelled in the tool: it ended REJECTED, nothing changed.
  if (!read) return { next: 'done', waves: [] };
  await monitorCheck(deps, read);
  if (!env) throw new PromotionFailed(`target environment '${read.targetEnvironment}' no longer exists`);
  if (!waitsToExecute(read) && read.status !== 'EXECUTING') return { next: 'done', waves: [] };
  const book = analysisNames(env).length ? templateBook((await deps.store.getAnalysisTemplates(tenant))?.templates) : templateBook([]);
  const missing = missingTemplates(env, book);
  if (missing.length)
    throw new PromotionFailed(
      `analysis template${missing.length > 1 ? 's' : ''} ${missing.map((m) => `'${m}'`).join(', ')} of '${env.name}' not defined: nothing was changed`,
    );
  // Another promotion holds the lease: wait behind it (held, when it is long) or retry (TargetBusy).
  if (!(await deps.store.acquireLock(tenant, read.targetEnvironment, id, deps.clock(), rolloutLockSeconds(env)))) await queueBehind(deps, read);
  // The stored plan: resolved once here, its pages (a plan of more than INLINE_PLAN_NAMES names) written before the
  // promotion names them; a retried start that finds the promotion EXECUTING keeps the plan it stored.
  const resolved = resolvePlan(env);
  const plan = storedPlan(resolved);
  if (read.status !== 'EXECUTING') await deps.store.putPlanPages(tenant, id, plan.pages);
  const { before, after } = await writePromotion(
    deps,
    tenant,
    id,
    (cur) => {
      if (cur.status === 'EXECUTING') return null;
      const rollout: RolloutState = { waves: plan.waves, ...(plan.id ? { plan: plan.id } : {}), wave: 0, halted: null, waiting: null, outcome: null };
      const n = planSize(rollout.waves);
      return {
        next: moved(cur, 'EXECUTING', ENGINE, deps.clock(), { taskToken: null, rollout, ...notQueued(cur) }),
        action: 'promotion.execute.start',
        by: ENGINE,
        reason: `rolling out through ${n} targets in ${rollout.waves.length} waves`,
      };
    },
    { read },
  );
  const p = after ?? before;
  if (p.status !== 'EXECUTING' || !p.rollout) return { next: 'done', waves: [] };
  const names = after ? new Map(resolved.map((w) => [w.wave, w.names])) : await allPlanNames(deps.store, p);
  return { next: 'execute', waves: flowWaves(env, p.rollout, names, book) };
}
