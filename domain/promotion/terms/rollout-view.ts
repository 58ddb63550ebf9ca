import type { Promotion, TargetAnalysisRun } from '../../kernel/promotion-model.ts';
import type { Deps } from '../../kernel/deps.ts';
import { registriesOf } from '../../kernel/rollout-model.ts';
import { allPlanNames, INLINE_PLAN_NAMES, planNames, planSize, waveSize } from './stored-plan.ts';
import type { RolloutTarget, TargetState } from '../../kernel/rollout-model.ts';
import type { Ctx } from '../../kernel/deps.ts';
import { ValidationFailed } from '../../kernel/errors.ts';
import type { RolloutQuery } from '../../kernel/target-schemas.ts';
import { loadPromotion } from '../write.ts';

/** The per-target view of a rollout (promotion detail, decision record): each target's state, confirmation, bake window and alarm. */
export async function rolloutView(deps: Deps, p: Promotion) {
  if (!p.rollout) return null;
  const [listed, names] = await Promise.all([deps.store.listRolloutTargets(p.tenant, p.id), allPlanNames(deps.store, p)]);
  const items = new Map(listed.map((t) => [t.name, t]));
  // A paged plan (more than INLINE_PLAN_NAMES targets): per wave its count, its counts per state and a page of rows
  // (those changing or failed first), so the detail and the decision record stay bounded at 10,000 targets; the
  // rest is paged by GET /promotions/{id}/rollout.
  const paged = planSize(p.rollout.waves) > INLINE_PLAN_NAMES;
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
    // The whole rollout's counts, whatever the rows list: what a page says of its outcome is counted here, never from rows.
    totals: {
      targets: planSize(p.rollout.waves),
      changed: listed.filter((t) => t.appliedAt).length,
      putBack: listed.filter((t) => t.rolledBackAt).length,
    },
    waves: p.rollout.waves.map((w) => ({
      wave: w.wave,
      bakeSeconds: w.bakeSeconds,
      maxParallel: w.maxParallel,
      ...(paged ? { count: waveSize(w), states: stateCounts(names.get(w.wave) ?? [], items) } : {}),
      targets: (paged ? pageOfRows(names.get(w.wave) ?? [], items, VIEW_ROWS) : (names.get(w.wave) ?? [])).map((name) =>
        targetRow(name, items.get(name), phase),
      ),
    })),
  };
}

/** Rows per wave in the detail and the decision record of a paged plan. */
export const VIEW_ROWS = 20;

/** How many of a wave's targets are in each state (a target with no item yet: PENDING). */
const stateCounts = (names: readonly string[], items: ReadonlyMap<string, RolloutTarget>): Partial<Record<TargetState, number>> => {
  const out: Partial<Record<TargetState, number>> = {};
  for (const n of names) {
    const s = items.get(n)?.state ?? 'PENDING';
    out[s] = (out[s] ?? 0) + 1;
  }
  return out;
};

/** At most `n` of a wave's names: those not PENDING and not DONE first (what a person looks for), then in plan order. */
const pageOfRows = (names: readonly string[], items: ReadonlyMap<string, RolloutTarget>, n: number): string[] => {
  const quiet = (name: string) => {
    const s = items.get(name)?.state ?? 'PENDING';
    return s === 'PENDING' || s === 'DONE';
  };
  return [...names.filter((x) => !quiet(x)), ...names.filter(quiet)].slice(0, n);
};

/** One target's row in a rollout view. */
function targetRow(name: string, t: RolloutTarget | undefined, phase: string) {
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
}

/**
 * GET /promotions/{id}/rollout: one wave of a rollout a page at a time (`wave`: the one running, else the first),
 * filtered by state, with the wave's count and counts per state. The cursor names the plan and the position after the
 * page's last target: a cursor of another promotion or wave is refused (400).
 */
export async function rolloutPage(deps: Deps, ctx: Ctx, id: string, query: RolloutQuery) {
  const p = await loadPromotion(deps, ctx.principal.tenant, id);
  // A promotion that does not roll out through targets (not yet, or none), or a wave it does not have: an empty page.
  const rollout = p.rollout ?? { waves: [], wave: 0 };
  const wave = query.wave ?? (rollout.wave || rollout.waves[0]?.wave || 1);
  const w = rollout.waves.find((x) => x.wave === wave);
  const [names, listed] = w ? await Promise.all([planNames(deps.store, p, wave), deps.store.listRolloutTargets(p.tenant, p.id)]) : [[], []];
  const items = new Map(listed.map((t) => [t.name, t]));
  const matching = query.state ? names.filter((n) => (items.get(n)?.state ?? 'PENDING') === query.state) : names;
  const tag = `${p.id}.${wave}.${query.state ?? ''}`;
  let from = 0;
  if (query.cursor !== undefined) {
    const m = /^(.+)\.([0-9]{1,5})$/.exec(Buffer.from(query.cursor, 'base64url').toString('utf8'));
    if (!m || m[1] !== tag || Number(m[2]) > matching.length)
      throw new ValidationFailed([
        { path: 'query.cursor', message: 'is not a cursor this listing returned for this promotion, wave and state: start again without it' },
      ]);
    from = Number(m[2]);
  }
  const page = matching.slice(from, from + query.limit);
  const next = from + page.length;
  const phase = p.status;
  return {
    promotionId: p.id,
    wave,
    waves: rollout.waves.map((x) => ({ wave: x.wave, count: waveSize(x) })),
    count: w ? waveSize(w) : 0,
    states: stateCounts(names, items),
    total: matching.length,
    targets: page.map((name) => targetRow(name, items.get(name), phase)),
    ...(next < matching.length ? { nextCursor: Buffer.from(`${tag}.${next}`).toString('base64url') } : {}),
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
