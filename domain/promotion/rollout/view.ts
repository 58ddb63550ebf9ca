import type { Promotion, TargetAnalysisRun } from '../../kernel/promotion-model.ts';
import type { Deps } from '../../kernel/deps.ts';
import { registriesOf } from '../../kernel/rollout-model.ts';
import { allPlanNames } from './stored-plan.ts';

/** The per-target view of a rollout (promotion detail, decision record): each target's state, confirmation, bake window and alarm. */
export async function rolloutView(deps: Deps, p: Promotion) {
  if (!p.rollout) return null;
  const [listed, names] = await Promise.all([deps.store.listRolloutTargets(p.tenant, p.id), allPlanNames(deps.store, p)]);
  const items = new Map(listed.map((t) => [t.name, t]));
  const phase = ['COMPLETED', 'ROLLED_BACK', 'FAILED'].includes(p.status)
    ? p.status
    : p.rollout.halted
      ? 'HALTED'
      : p.rollout.waiting
        ? 'WAITING'
        : p.status === 'EXECUTING'
          ? 'ROLLING_OUT'
          : 'NOT_STARTED';
  return {
    phase,
    wave: p.rollout.wave,
    halted: p.rollout.halted ?? null,
    waiting: p.rollout.waiting ?? null,
    waves: p.rollout.waves.map((w) => ({
      wave: w.wave,
      bakeSeconds: w.bakeSeconds,
      maxParallel: w.maxParallel,
      targets: (names.get(w.wave) ?? []).map((name) => {
        const t = items.get(name);
        return {
          name,
          state: t?.state ?? 'PENDING',
          appliedAt: t?.appliedAt ?? null,
          confirmation: t?.confirm
            ? {
                mode: t.confirm.mode,
                deadline: t.confirm.deadline ?? null,
                at: t.confirm.at ?? null,
                by: t.confirm.by ?? null,
                ...(t.confirm.detail ? { detail: t.confirm.detail } : {}),
                // A fleet target: its instances' convergence at the last poll (none before the first).
                ...(t.confirm.mode === 'fleet' ? { fleet: t.confirm.fleet ?? null } : {}),
              }
            : null,
          bake: t?.bake ?? null,
          alarm: t?.alarm ?? null,
          error: t?.error ?? null,
          rolledBackAt: t?.rolledBackAt ?? null,
          ...(t?.analysis?.length ? { analysis: t.analysis.map((r) => analysisRow(r, phase)) } : {}),
          ...(t?.git ? { git: withoutNull(t.git) } : {}),
          ...(t?.registry ? { registry: withoutNull(t.registry) } : {}),
          ...(t && registriesOf(t).length ? { registries: registriesOf(t).map(withoutNull) } : {}),
        };
      }),
    })),
  };
}

/** An analysis as the API shows it: no template snapshot, no raw samples (their counts are in the comparison). */
export const analysisRow = (r: TargetAnalysisRun, rollout: string) => {
  // A run still measuring when the rollout ended (another target failed, a rollback) measures no more.
  const stopped = r.phase === 'Running' && ['COMPLETED', 'ROLLED_BACK', 'FAILED'].includes(rollout);
  return {
    template: r.template,
    scope: r.scope,
    // A run the rollout's end stopped says so in its phase: 'Running' on an ended rollout read as "still measuring".
    phase: stopped ? ('Stopped' as const) : r.phase,
    measurements: r.measurements,
    dropped: r.dropped ?? 0,
    nextAt: r.phase === 'Running' && !stopped ? (r.nextAt ?? null) : null,
    message: stopped ? 'stopped: the rollout ended before this analysis had its answer' : (r.message ?? null),
    thresholds: r.thresholds ?? null,
    ...(r.controls ? { controls: r.controls } : {}),
    ...(r.comparison ? { comparison: r.comparison } : {}),
  };
};

/** A delivery record as the API shows it: a revert only once there is one. */
function withoutNull<T extends { revert?: unknown }>(d: T): T {
  const { revert, ...rest } = d;
  return (revert ? { ...rest, revert } : rest) as T;
}
