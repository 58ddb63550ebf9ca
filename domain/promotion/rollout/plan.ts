import { targetsOf, wavesOf } from '../../config/targets.ts';
import type { Environment } from '../../kernel/model.ts';
import type { RolloutState } from '../../kernel/promotion-model.ts';
import { isPolled, type Target } from '../../kernel/target-schemas.ts';
import type { Deps, With } from '../../kernel/deps.ts';
import { PromotionNotFound } from '../../kernel/errors.ts';
import { allPlanNames, planNames, planSize, storedPlan, type ResolvedWave } from './stored-plan.ts';

export { INLINE_PLAN_NAMES, planNames, planWaveOf, waveSize } from './stored-plan.ts';
import { ENGINE, moved } from '../aggregate.ts';
import { LOCK_SECONDS, type Next } from '../run/deadlines.ts';
import { freezeHold } from '../run/freeze-hold.ts';
import { soakHold } from '../run/soak-hold.ts';
import { withChanges } from '../run/with-changes.ts';
import { monitorCheck } from './monitor-watch.ts';
import { analysisNames, measureTiming, missingTemplates, templateBook, type TemplateBook } from './analysis.ts';
import { runsAsChild } from './wave-go.ts';
import { notQueued, queueBehind } from '../run/queue.ts';
import { PromotionFailed } from '../run/target-change.ts';
import { writePromotion } from '../write.ts';

/**
 * Waves: executing a promotion into an environment with targets (domain/config/targets.ts). The flow
 * (statemachines/promotion.asl.json: Rollout → Waves (a Map, one wave at a time) → per wave WaveStart,
 * then WaveTargets (a Map over the wave's targets, at most maxParallel at once) → per target
 * TargetApply, TargetBake, TargetBaked → RolloutComplete) passes ids only; what each target did is its
 * RolloutTarget item. A target's change is its own head (TargetHead); the environment's head moves
 * only when every target has the release (RolloutComplete). A failure anywhere rolls every changed
 * target back (rollout/rollback.ts, through the fail step).
 *
 * This file: the rollout planned and started (the wave plan the flow iterates, the lease).
 */

/**
 * THE reader of a wave's target names (in order), for the engine and every view: the only place that knows where a
 * stored plan keeps them (the promotion item for a small plan, its PlanPage items otherwise: stored-plan.ts). An
 * unknown promotion: PromotionNotFound (404); a wave the plan does not have: 400 naming `wave`.
 */
export async function waveTargets(deps: Pick<Deps, 'store'>, tenant: string, promotionId: string, wave: number): Promise<string[]> {
  const p = await deps.store.getPromotion(tenant, promotionId);
  if (!p) throw new PromotionNotFound(promotionId);
  return planNames(deps.store, p, wave);
}

/** What the flow's Waves map iterates: per wave, its targets (name and how long its confirmation may take), bake and parallelism. */
export interface FlowWave {
  wave: number;
  /**
   * The wave runs as a child execution of statemachines/wave.asl.json (started with WaveStart's token) instead of the inline WaveTargets map:
   * its targets are then not in the flow's payload (`targets` is empty, `count` says how many), the child reads them
   * through {@link waveTargets} a batch at a time.
   */
  child: boolean;
  /** how many targets the wave has */
  count: number;
  /** per target: how long its confirmation may take and its poll; the bake's first wait and (with analyses) the measuring interval (0: none) */
  targets: { name: string; timeoutSeconds: number; intervalSeconds: number; firstWaitSeconds: number; measureSeconds: number }[];
  bakeSeconds: number;
  maxParallel: number;
}

/** How long a target's apply task may wait for its confirmation (immediate: the apply itself). */
export const confirmSeconds = (t: Target | undefined) => {
  const c = t?.confirm;
  return c && (c.mode === 'callback' || isPolled(c)) ? c.timeoutSeconds : 900;
};

export { INLINE_WAVE_TARGETS, runsAsChild, WAVE_BATCH } from './wave-go.ts';

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
  deps: With<'alarms' | 'scheduler'> & Partial<With<'changes'>>,
  tenant: string,
  id: string,
): Promise<{ next: Next; waves: FlowWave[] }> {
  const { held, read: unfrozen } = await freezeHold(deps, tenant, id);
  if (held) return { ...held, waves: [] };
  const soaked = await soakHold(deps, unfrozen);
  const read = soaked.changeControlled
    ? await (await import('../run/change-hold.ts')).changeHold(withChanges(deps), soaked, await deps.store.getEnvironment(tenant, soaked.targetEnvironment))
    : soaked;
  // Its request was rejected or cancelled in the tool: it ended REJECTED, nothing changed.
  if (!read) return { next: 'done', waves: [] };
  await monitorCheck(deps, read);
  const env = await deps.store.getEnvironment(tenant, read.targetEnvironment);
  if (!env) throw new PromotionFailed(`target environment '${read.targetEnvironment}' no longer exists`);
  if (read.status !== 'APPROVED' && read.status !== 'SCHEDULED' && read.status !== 'EXECUTING') return { next: 'done', waves: [] };
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

/** The environment's waves as a plan: per wave its target names in declaration order, bake, parallelism and pause. */
export const resolvePlan = (env: Environment): ResolvedWave[] =>
  wavesOf(env).map((w) => ({
    wave: w.wave,
    names: w.targets.map((t) => t.name),
    bakeSeconds: w.bakeSeconds,
    maxParallel: w.maxParallel,
    ...(w.pause ? { pause: true } : {}),
  }));

/**
 * How long a rollout holds its environment's lease: a wave may wait a day for a callback and bake; every
 * wave start renews it (a halted or waiting rollout renews it when it goes on), so another promotion into
 * the environment waits for this one instead of taking over mid-rollout.
 */
export const rolloutLockSeconds = (env: Pick<Environment, 'targets' | 'rollout' | 'bakeSeconds'>) =>
  86_400 + Math.max(0, ...wavesOf(env).map((w) => w.bakeSeconds)) + LOCK_SECONDS;
