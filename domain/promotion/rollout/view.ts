import type { Promotion } from '../../kernel/promotion-model.ts';
import type { Deps } from '../../kernel/deps.ts';

/** The per-target view of a rollout (promotion detail, decision record): each target's state, confirmation, bake window and alarm. */
export async function rolloutView(deps: Deps, p: Promotion) {
  if (!p.rollout) return null;
  const items = new Map((await deps.store.listRolloutTargets(p.tenant, p.id)).map((t) => [t.name, t]));
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
      targets: w.targets.map((name) => {
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
              }
            : null,
          bake: t?.bake ?? null,
          alarm: t?.alarm ?? null,
          error: t?.error ?? null,
          rolledBackAt: t?.rolledBackAt ?? null,
          ...(t?.git ? { git: withoutNull(t.git) } : {}),
          ...(t?.registry ? { registry: withoutNull(t.registry) } : {}),
        };
      }),
    })),
  };
}

/** A delivery record as the API shows it: a revert only once there is one. */
function withoutNull<T extends { revert?: unknown }>(d: T): T {
  const { revert, ...rest } = d;
  return (revert ? { ...rest, revert } : rest) as T;
}
