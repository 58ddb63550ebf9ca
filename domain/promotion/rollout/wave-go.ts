import { rolloutOf, targetsOf } from '../../config/targets.ts';
import type { Environment } from '../../kernel/model.ts';
import type { Promotion, RolloutState } from '../../kernel/promotion-model.ts';
import type { With } from '../../kernel/deps.ts';
import { planNames, waveSize } from './stored-plan.ts';

/**
 * Which waves run as a child execution (statemachines/wave.asl.json), and how a wave goes on once it may start.
 * Kept apart from the rest of the rollout so the paths that answer a parked wave (resume, a start window's schedule)
 * carry only this.
 */

/**
 * A wave of more targets than this runs as a child execution, in batches of {@link WAVE_BATCH} targets per task; a
 * smaller one stays on the inline path (WaveTargets: a few transitions per target, the one-target promotion's 3
 * transitions and its cost unchanged). The inline path's history grows with its targets (about 11 events per target
 * without polls): 25 targets stay far below the 25,000-event limit.
 */
export const INLINE_WAVE_TARGETS = 25;
/** Targets one task of a child wave execution applies or reads (one Lambda invocation). */
export const WAVE_BATCH = 100;

/**
 * Whether a wave runs as a child execution: more than {@link INLINE_WAVE_TARGETS} targets, every one confirmed
 * immediately and without analyses (a callback, a polled confirmation or an analysis keeps a token or a measuring
 * loop per target: such waves stay inline).
 */
export function runsAsChild(env: Pick<Environment, 'targets' | 'rollout' | 'analysis'>, w: RolloutState['waves'][number], names: readonly string[]): boolean {
  if (waveSize(w) <= INLINE_WAVE_TARGETS) return false;
  if (env.analysis?.length || rolloutOf(env).waves.find((x) => x.wave === w.wave)?.analysis?.length) return false;
  const byName = new Map(targetsOf(env).map((t) => [t.name, t]));
  return names.every((name) => {
    const t = byName.get(name);
    return (t?.confirm.mode ?? 'immediate') === 'immediate' && !t?.analysis?.length;
  });
}

/**
 * The one way a wave goes on once it may start (WaveStart, a resume, a start window's schedule): a wave the plan runs
 * inline has the parked WaveStart token answered; a wave of many targets ({@link runsAsChild}) has its child
 * execution started with that token instead, and the child answers it when it ends (rollout/wave-run.ts).
 */
export async function goOn(deps: With<'workflow'>, p: Promotion, wave: number, token: string): Promise<void> {
  const w = p.rollout?.waves.find((x) => x.wave === wave);
  const env = w && waveSize(w) > INLINE_WAVE_TARGETS ? await deps.store.getEnvironment(p.tenant, p.targetEnvironment) : null;
  if (!w || !env || !runsAsChild(env, w, await planNames(deps.store, p, wave))) {
    await deps.workflow.sendTaskSuccess(token, { wave });
    return;
  }
  await deps.workflow.startWave({ tenant: p.tenant, promotionId: p.id, wave, bakeSeconds: w.bakeSeconds, parentToken: token });
}
