import { wavesOf } from '../../config/targets.ts';
import type { Environment } from '../../kernel/model.ts';
import { isPolled, type Target } from '../../kernel/target-schemas.ts';
import type { Deps } from '../../kernel/deps.ts';
import { PromotionNotFound } from '../../kernel/errors.ts';
import { planNames, type ResolvedWave } from '../terms/stored-plan.ts';

export { INLINE_PLAN_NAMES, planNames, planWaveOf, waveSize } from '../terms/stored-plan.ts';
import { LOCK_SECONDS } from '../terms/deadlines.ts';

/**
 * Waves: executing a promotion into an environment with targets (domain/config/targets.ts). The flow
 * (statemachines/promotion.asl.json: Rollout → Waves (a Map, one wave at a time) → per wave WaveStart,
 * then WaveTargets (a Map over the wave's targets, at most maxParallel at once) → per target
 * TargetApply, TargetBake, TargetBaked → RolloutComplete) passes ids only; what each target did is its
 * RolloutTarget item. A target's change is its own head (TargetHead); the environment's head moves
 * only when every target has the release (RolloutComplete). A failure anywhere rolls every changed
 * target back (rollout/rollback.ts, through the fail step).
 *
 * This file: the plan's small helpers (the reader of a wave's names, confirmation times, the lease); the rollout started is begin.ts.
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
