import type { PromotionDetail } from './answers.ts';
import { seconds, when } from './output.ts';

/** A rollout through an environment's targets, as the CLI says it (promotions show, --wait, watch). */
type Rollout = NonNullable<PromotionDetail['rollout']>;
type TargetRow = Rollout['waves'][number]['targets'][number];

export const secondsLeft = (iso: string | null | undefined, extra = 0) =>
  iso ? Math.max(0, Math.round((new Date(iso).getTime() + extra * 1000 - Date.now()) / 1000)) : null;

/** What a target waiting for its confirmation waits for, by mode. */
const WAITS_FOR = new Map([
  ['health', 'health URL'],
  ['argocd', 'Argo CD application (Synced at the delivered commit, Healthy)'],
  ['flux', 'Flux Kustomization (Ready at the delivered commit)'],
]);

/** One target as the CLI says it: its state, a confirmation's deadline, a bake's countdown, an alarm. */
function targetText(t: TargetRow, bakeSeconds: number): string {
  if (t.state === 'CONFIRMING')
    return `${t.name} waits for its ${WAITS_FOR.get(t.confirmation?.mode ?? '') ?? 'deployer'}${t.confirmation?.deadline ? ` (${seconds(secondsLeft(t.confirmation.deadline) ?? 0)} left)` : ''}`;
  if (t.state === 'BAKING' && (t.confirmation?.mode === 'argocd' || t.confirmation?.mode === 'flux'))
    return `${t.name} baking (${seconds(secondsLeft(t.confirmation?.at ?? t.appliedAt, bakeSeconds) ?? 0)} left; ${t.confirmation.detail ?? t.confirmation.mode})`;
  if (t.state === 'BAKING') return `${t.name} baking (${seconds(secondsLeft(t.confirmation?.at ?? t.appliedAt, bakeSeconds) ?? 0)} left)`;
  if (t.alarm) return `${t.name} ${t.state.toLowerCase()}: alarm ${t.alarm.name}`;
  return `${t.name} ${t.state.toLowerCase().replace('_', ' ')}`;
}

/**
 * What was delivered for a target (a git target file per target, a registry per target): its commit, short, and
 * its tag; after a rollback, what they went back to (or that they did not).
 */
export function deliveryText(t: Pick<TargetRow, 'git' | 'registry'>): string {
  const parts: string[] = [];
  if (t.git) {
    const back = t.git.revert ? (t.git.revert.commit ? `, reverted ${t.git.revert.commit.slice(0, 7)}` : ', not reverted') : '';
    parts.push(`git ${t.git.commit ? t.git.commit.slice(0, 7) : 'none'}${t.git.changed ? '' : ' (unchanged)'}${back}`);
  }
  if (t.registry) {
    const back = t.registry.revert ? (t.registry.revert.digest ? `, back to ${t.registry.revert.digest.slice(7, 19)}` : ', left as it is') : '';
    parts.push(`${t.registry.registry}:${t.registry.tag}${back}`);
  }
  return parts.length ? ` [${parts.join('; ')}]` : '';
}

/** A rollout wave by wave, target by target (promotions show, --wait at the end). */
export function rolloutLines(r: Rollout): string[] {
  return [
    `rollout: ${r.phase.toLowerCase().replace('_', ' ')}${r.halted ? ` by ${r.halted.by}: ${r.halted.reason}` : ''}${r.waiting ? `: ${r.waiting.reason} until ${when(r.waiting.until)}` : ''}`,
    ...r.waves.map(
      (w) => `wave ${w.wave} (bake ${seconds(w.bakeSeconds)}): ${w.targets.map((t) => `${targetText(t, w.bakeSeconds)}${deliveryText(t)}`).join(', ')}`,
    ),
  ];
}

/** The --wait line of a rollout: the wave running and each of its targets, or why it waits. */
export function rolloutStep(id: string, r: Rollout): string {
  if (r.halted) return `halted by ${r.halted.by} before wave ${r.wave + 1} (${r.halted.reason}); to go on: stageline resume ${id}`;
  if (r.waiting) return `${r.waiting.reason}, until ${when(r.waiting.until)}`;
  const w = r.waves.find((x) => x.wave === r.wave);
  if (!w) return 'rolling out';
  const callback = w.targets.find((t) => t.state === 'CONFIRMING' && t.confirmation?.mode === 'callback');
  return `wave ${w.wave} of ${r.waves.length}: ${w.targets.map((t) => targetText(t, w.bakeSeconds)).join(', ')}${callback ? ` (stageline confirm ${id} ${callback.name})` : ''}`;
}
