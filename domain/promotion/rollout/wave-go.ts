import { rolloutOf, targetsOf, waveCompare } from '../../config/targets.ts';
import type { Environment } from '../../kernel/model.ts';
import type { Promotion, RolloutState } from '../../kernel/promotion-model.ts';
import type { With } from '../../kernel/deps.ts';
import { isPolled } from '../../kernel/target-schemas.ts';
import { planNames, waveSize } from '../terms/stored-plan.ts';

/**
 * Which waves run as a child execution (statemachines/wave.asl.json), and how a wave goes on once it may start.
 * Kept apart from the rest of the rollout so the paths that answer a parked wave (resume, a start window's schedule)
 * carry only this.
 */

/**
 * A wave of more targets than this runs as a child execution, in batches of {@link WAVE_BATCH} targets per task; a
 * smaller one of immediate (or callback) targets without analyses stays on the inline path (WaveTargets: a few
 * transitions per target, the one-target promotion's 3 transitions and its cost unchanged). The inline path's history
 * grows with its targets only (about 11 events per target, a callback's wait one task): 25 targets stay far below the
 * 25,000-event limit. Whatever polls or measures runs as a child, whose loops are bounded (wave-loop.ts).
 */
export const INLINE_WAVE_TARGETS = 25;
/** Targets one task of a child wave execution applies, polls, measures or reads (one Lambda invocation). */
export const WAVE_BATCH = 100;

/**
 * Whether a wave runs as a child execution (statemachines/wave.asl.json): more than {@link INLINE_WAVE_TARGETS}
 * targets, whatever their confirmation; or, whatever its size, any target of it polled (health, argocd, flux, fleet),
 * or measured by an analysis (the environment's, its wave's, its own, a comparison) in a wave without a callback
 * target. No inline path polls; the one inline measuring loop left is a small wave's with a callback target (at most
 * 25 targets, its deployer's confirmation a task token of its own), which the model-based test of the inline flow
 * (test/unit/rollout-model.test.ts) still drives.
 */
export function runsAsChild(env: Pick<Environment, 'targets' | 'rollout' | 'analysis'>, w: RolloutState['waves'][number], names: readonly string[]): boolean {
  if (waveSize(w) > INLINE_WAVE_TARGETS) return true;
  const byName = new Map(targetsOf(env).map((t) => [t.name, t]));
  const mine = names.map((name) => byName.get(name)).filter((t) => !!t);
  if (mine.some((t) => isPolled(t.confirm))) return true;
  if (mine.some((t) => t.confirm.mode === 'callback')) return false;
  const measured = env.analysis?.length || rolloutOf(env).waves.find((x) => x.wave === w.wave)?.analysis?.length || waveCompare(env, w.wave);
  return !!measured || mine.some((t) => !!t.analysis?.length);
}

/**
 * The one way a wave goes on once it may start (WaveStart, a resume, a start window's schedule): a wave the plan runs
 * inline has the parked WaveStart token answered; a wave run as a child ({@link runsAsChild}) has its child
 * execution started with that token instead, and the child answers it when it ends (rollout/wave-run.ts).
 */
export async function goOn(deps: With<'workflow'>, p: Promotion, wave: number, token: string): Promise<void> {
  const w = p.rollout?.waves.find((x) => x.wave === wave);
  const env = w ? await deps.store.getEnvironment(p.tenant, p.targetEnvironment) : null;
  if (!w || !env || !runsAsChild(env, w, await planNames(deps.store, p, wave))) {
    await deps.workflow.sendTaskSuccess(token, { wave });
    return;
  }
  await deps.workflow.startWave({ tenant: p.tenant, promotionId: p.id, wave, bakeSeconds: w.bakeSeconds, parentToken: token });
}
