import { createHash } from 'node:crypto';
import type { Store } from '../../kernel/deps.ts';
import { ValidationFailed } from '../../kernel/errors.ts';
import type { Promotion } from '../../kernel/promotion-model.ts';
import type { PlannedWave } from '../../kernel/rollout-model.ts';
import type { PlanPage } from '../ports.ts';

/**
 * The stored plan of a rollout: when a promotion starts rolling out, its waves are resolved once (which
 * target in which wave, in order) and kept, so a change of the environment's targets during the rollout changes
 * nothing of it. A small plan (at most INLINE_PLAN_NAMES names in all: one target, a few regions) keeps its names on
 * the promotion item, as before, so a promotion through a few targets costs what it cost. A larger one keeps per wave
 * only its count and the number of its pages on the promotion item (a 10,000-target plan stays a few hundred bytes
 * there) and its names in PlanPage items of their own, PLAN_PAGE_NAMES names a page (≤ 5,000 names of ≤ 40
 * characters: about 210 KB, under the 400 KB item), written in batches of 25 before the promotion names them.
 *
 * Everything that needs a wave's names reads them here (planNames, waveTargets in plan.ts), never off the item.
 */

/** The largest plan (names in all) whose names stay on the promotion item. */
export const INLINE_PLAN_NAMES = 100;
/** Names per page of a stored plan. */
export const PLAN_PAGE_NAMES = 5000;

/** A wave as resolved at the start: its names in order, bake, parallelism and pause. */
export interface ResolvedWave {
  wave: number;
  names: string[];
  bakeSeconds: number;
  maxParallel: number;
  pause?: boolean;
}

/**
 * The plan as the promotion item keeps it and the pages to write first (none for a small plan). The pages are keyed by
 * `id`, a digest of the plan itself: a start retried over the same targets writes the same items again, and one that
 * raced a change of the targets writes other keys, never pages under a plan the promotion already names.
 */
export function storedPlan(waves: readonly ResolvedWave[]): { id: string | null; waves: PlannedWave[]; pages: PlanPage[] } {
  const total = waves.reduce((n, w) => n + w.names.length, 0);
  const rest = (w: ResolvedWave) => ({ bakeSeconds: w.bakeSeconds, maxParallel: w.maxParallel, ...(w.pause ? { pause: true } : {}) });
  if (total <= INLINE_PLAN_NAMES) return { id: null, waves: waves.map((w) => ({ wave: w.wave, targets: [...w.names], ...rest(w) })), pages: [] };
  const id = createHash('sha256')
    .update(JSON.stringify(waves.map((w) => [w.wave, w.names])))
    .digest('hex')
    .slice(0, 12);
  const pages: PlanPage[] = [];
  const planned = waves.map((w) => {
    const n = Math.max(1, Math.ceil(w.names.length / PLAN_PAGE_NAMES));
    for (let page = 0; page < n; page++)
      pages.push({ plan: id, wave: w.wave, page, names: w.names.slice(page * PLAN_PAGE_NAMES, (page + 1) * PLAN_PAGE_NAMES) });
    return { wave: w.wave, count: w.names.length, pages: n, ...rest(w) };
  });
  return { id, waves: planned, pages };
}

/** How many targets a planned wave has. */
export const waveSize = (w: PlannedWave): number => w.targets?.length ?? w.count ?? 0;

/** How many targets a plan has in all. */
export const planSize = (waves: readonly PlannedWave[]): number => waves.reduce((n, w) => n + waveSize(w), 0);

/** A wave's target names in order, from the promotion already read (its item, or its pages). A wave it has not: 400 naming `wave`. */
export async function planNames(store: Pick<Store, 'getPlanPages'>, p: Promotion, wave: number): Promise<string[]> {
  const w = p.rollout?.waves.find((x) => x.wave === wave);
  if (!w)
    throw new ValidationFailed([
      { path: 'wave', message: `promotion ${p.id} has no wave ${wave} (waves: ${(p.rollout?.waves ?? []).map((x) => x.wave).join(', ') || 'none'})` },
    ]);
  if (w.targets) return [...w.targets];
  return store.getPlanPages(p.tenant, p.id, p.rollout!.plan ?? '', w.wave, w.pages ?? 0);
}

/** Every wave's names, by wave (a whole plan: what a rollback or a view of all of it reads; at most the plan's pages). */
export async function allPlanNames(store: Pick<Store, 'getPlanPages'>, p: Promotion): Promise<Map<number, string[]>> {
  const waves = p.rollout?.waves ?? [];
  const names = await Promise.all(waves.map((w) => planNames(store, p, w.wave)));
  return new Map(waves.map((w, i) => [w.wave, names[i]!]));
}

/** The wave a target is planned in (undefined: the plan does not have it), reading pages only when the plan is paged. */
export async function planWaveOf(store: Pick<Store, 'getPlanPages'>, p: Promotion, name: string): Promise<number | undefined> {
  for (const w of p.rollout?.waves ?? []) {
    if (w.targets ? w.targets.includes(name) : (await planNames(store, p, w.wave)).includes(name)) return w.wave;
  }
  return undefined;
}
