import { ValidationFailed, type Issue } from '../kernel/errors.ts';
import { globMatch, globStars, MAX_GLOB_STARS } from '../kernel/glob.ts';
import { LABEL_SELECTOR, WAVE_SHARE } from '../kernel/target-schemas.ts';

export { WAVE_SHARE };

/**
 * Waves by share and by label selector, resolved into a plan: which target goes in which wave, in order.
 * Pure: the environment's targets and its wave specs in, the plan out (or a 400 naming the field and what to fix).
 *
 * - A target that names its `wave` is in that wave, as today.
 * - A wave spec with a `share` and/or a `selector` takes, in wave order, from the targets that name no wave and no
 *   earlier wave took (in declaration order): those whose label matches the selector (`region=eu-*`, a glob of
 *   domain/kernel/glob.ts, at most MAX_GLOB_STARS stars), as many as the share says: `1` (a count), `10%` (of the
 *   whole fleet, rounded down, so a canary is never larger than asked) or `rest` (all that are left). A selector
 *   without a share takes all it matches.
 * - Refused (400): a share that rounds to no target or a selector that matches none (an empty wave, named with why),
 *   a target no wave takes, and a first wave larger than the canary bound (CANARY_BOUND).
 */

/** The first wave holds at most 10% of the fleet or 100 targets, whichever is larger: a canary, not a big bang. */
export const canaryBound = (fleet: number): number => Math.max(100, Math.floor(fleet / 10));

export interface PlanTarget {
  name: string;
  labels?: Record<string, string>;
  /** the wave it names (absent: a wave by share or selector takes it) */
  wave?: number;
}

export interface WaveSpec {
  wave: number;
  share?: string;
  selector?: string;
}

/** How many targets a share takes from `left` candidates of a fleet of `fleet` (null: `rest`, all of them). */
export function shareCount(share: string, fleet: number): number | null {
  if (share === 'rest') return null;
  if (share.endsWith('%')) return Math.floor((fleet * Number(share.slice(0, -1))) / 100);
  return Number(share);
}

/**
 * The plan: per wave (ascending), its target names in order. `field` prefixes the paths of the issues
 * (`targets`, `rollout.waves.<i>`). Throws ValidationFailed with every issue found.
 */
export function resolveWavePlan(targets: readonly PlanTarget[], specs: readonly WaveSpec[], field = ''): { wave: number; names: string[] }[] {
  const at = (p: string) => (field ? `${field}.${p}` : p);
  const issues: Issue[] = [];
  const byWave = new Map<number, string[]>();
  const put = (wave: number, name: string) => byWave.set(wave, [...(byWave.get(wave) ?? []), name]);
  for (const t of targets) if (t.wave !== undefined) put(t.wave, t.name);
  const pool = targets.filter((t) => t.wave === undefined);
  const taken = new Set<string>();
  const drawn = specs
    .map((s, i) => ({ s, i }))
    .filter(({ s }) => s.share !== undefined || s.selector !== undefined)
    .sort((a, b) => a.s.wave - b.s.wave);
  for (const { s, i } of drawn) {
    let selector: RegExpExecArray | null = null;
    if (s.selector !== undefined) {
      selector = LABEL_SELECTOR.exec(s.selector);
      if (!selector) {
        issues.push({ path: at(`rollout.waves.${i}.selector`), message: 'must be key=glob, e.g. region=eu-*' });
        continue;
      }
      if (globStars(selector[2]!) > MAX_GLOB_STARS) {
        issues.push({ path: at(`rollout.waves.${i}.selector`), message: `at most ${MAX_GLOB_STARS} * in a selector` });
        continue;
      }
    }
    if (s.share !== undefined && !WAVE_SHARE.test(s.share)) {
      issues.push({ path: at(`rollout.waves.${i}.share`), message: 'must be a count (1), a percentage of the fleet (10%) or rest' });
      continue;
    }
    const candidates = pool.filter(
      (t) => !taken.has(t.name) && (!selector || (t.labels?.[selector[1]!] !== undefined && globMatch(t.labels[selector[1]!]!, selector[2]!))),
    );
    const want = s.share === undefined ? null : shareCount(s.share, targets.length);
    const names = (want === null ? candidates : candidates.slice(0, want)).map((t) => t.name);
    if (!names.length) {
      const why =
        want === 0
          ? `${s.share} of ${targets.length} targets rounds down to none: give a count (1) or a larger share`
          : selector && !pool.some((t) => t.labels?.[selector[1]!] !== undefined && globMatch(t.labels[selector[1]!]!, selector[2]!))
            ? `selector ${s.selector} matches no target: check the label name and value`
            : `no target is left for it (earlier waves took them all)`;
      issues.push({
        path: at(`rollout.waves.${i}.${want === 0 ? 'share' : s.selector !== undefined ? 'selector' : 'share'}`),
        message: `wave ${s.wave} would be empty: ${why}`,
      });
      continue;
    }
    for (const n of names) {
      taken.add(n);
      put(s.wave, n);
    }
  }
  const left = pool.filter((t) => !taken.has(t.name));
  if (left.length && !issues.length) {
    const i = targets.findIndex((t) => t.name === left[0]!.name);
    issues.push({
      path: at(`targets.${i}.wave`),
      message: `${left.length} target${left.length > 1 ? 's' : ''} (${left[0]!.name}${left.length > 1 ? ', …' : ''}) in no wave: give a wave, or add a wave with share rest`,
    });
  }
  const plan = [...byWave.entries()].sort((a, b) => a[0] - b[0]).map(([wave, names]) => ({ wave, names }));
  const first = plan[0];
  if (first && plan.length > 1 && first.names.length > canaryBound(targets.length)) {
    issues.push({
      path: at(`rollout.waves`),
      message: `the first wave (wave ${first.wave}) has ${first.names.length} targets, more than the canary bound of ${canaryBound(targets.length)} (10% of the fleet or 100, whichever is larger): make it smaller`,
    });
  }
  if (issues.length) throw new ValidationFailed(issues);
  return plan;
}
