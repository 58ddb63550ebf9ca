import { configSubject } from '../../config/targets.ts';
import type { InstanceSeen } from '../../config/ports.ts';
import type { Environment } from '../../kernel/model.ts';
import type { FleetConvergence, Promotion, RolloutTarget } from '../../kernel/promotion-model.ts';
import type { FleetConfirmation } from '../../kernel/target-schemas.ts';
import type { Deps } from '../../kernel/deps.ts';
import { PromotionFailed } from '../deliver/target-change.ts';

/**
 * Confirmation mode `fleet`: a target is confirmed when its applications say they took the release. Instances
 * identify themselves where they read (domain/config/instances.ts) and are recorded when what they read changes;
 * here one poll counts them. Counted are the instances seen from `windowSeconds` before the target changed on
 * (the fleet as it was when the change was made, and every instance since: one that took the release stays
 * counted however long the confirmation takes, one that vanished after the change keeps counting against it).
 * Confirmed when at least `minInstances` are counted and `minShare` of them run the release.
 *
 * Instances per target are capped (the tunable `fleetMaxInstances`, STAGELINE_FLEET_MAX_INSTANCES, 1,000 by
 * default): a poll reads at most that many (the first by instance id) and counts the rest without reading them,
 * up to OVER_COUNTED more; those over the cap are not counted, and that is said (`fleet.over` and `cap`, and the
 * detail: `2 instances over the cap (1000) were not counted`), never dropped silently. Only a credential bound to
 * the target reports its instances (domain/config/instances.ts), so the cap bounds what the target's own
 * applications report, not what any reader could.
 */

/** How many instances over the cap a poll counts at most (a count reads keys only, in pages); beyond it the detail says "at least". */
export const OVER_COUNTED = 100_000;

/** What identifies the release on an instance: the config snapshot digest it read, or the artifact it says it runs. */
interface Release {
  label: string;
  took: (i: InstanceSeen) => boolean;
}

async function releaseOf(deps: Deps, p: Promotion, env: Environment, name: string): Promise<Release> {
  if (p.subject.type === 'artifact') {
    const { name: artifact, version, digest } = p.subject;
    const says = new Set([`${artifact}@${version}`, ...(digest ? [`${artifact}@${digest}`] : [])]);
    return { label: version, took: (i) => i.artifact !== undefined && says.has(i.artifact) };
  }
  if (p.subject.type === 'bundle') {
    // An instance runs one member: it took the release when it says it runs that member's version of the bundle.
    const says = new Set(p.subject.members.flatMap((m) => [`${m.name}@${m.version}`, `${m.name}@${m.digest}`]));
    return { label: `${p.subject.name}@${p.subject.digest.slice(7, 19)}`, took: (i) => i.artifact !== undefined && says.has(i.artifact) };
  }
  const head = await deps.store.getTargetHead(p.tenant, env.name, name, configSubject);
  if (!head?.snapshot || head.promotionId !== p.id) throw new PromotionFailed(`target '${name}' no longer runs this promotion's release`);
  const digest = head.snapshot.digest;
  return { label: `${env.name}@${head.snapshot.seq}`, took: (i) => i.version === digest };
}

/** The share as a person reads it: whole percent, rounded down (9/10 is 90 %, 899/1000 is 89 %). */
const percent = (share: number) => Math.floor(share * 100 + 1e-9);

/**
 * One count of a fleet target's instances: whether it converged, the detail (`9/10 instances (90 %) run
 * demo@4`), the message a rollback gives past the deadline, and the counts (the rollout view shows them).
 */
export async function fleetConfirm(
  deps: Deps,
  p: Promotion,
  env: Environment,
  name: string,
  confirm: FleetConfirmation,
  item: RolloutTarget,
  now: Date,
): Promise<{ confirmed: boolean; detail: string; late: string; fleet: FleetConvergence }> {
  const release = await releaseOf(deps, p, env, name);
  const applied = new Date(item.appliedAt ?? now.toISOString()).getTime();
  const since = Math.min(applied, now.getTime()) - confirm.windowSeconds * 1000;
  const cap = deps.tunables.fleetMaxInstances;
  const all = await deps.store.listInstances(p.tenant, env.name, name, cap);
  // The cap reached: how many more the target holds (counted, not read), said rather than dropped.
  const over = all.length >= cap ? (await deps.store.countInstances(p.tenant, env.name, name, cap + OVER_COUNTED)) - cap : 0;
  const counted = all.filter((i) => new Date(i.at).getTime() >= since);
  const took = counted.filter(release.took).length;
  const seen = counted.length;
  const share = seen ? took / seen : 0;
  const confirmed = seen >= confirm.minInstances && took >= confirm.minShare * seen - 1e-9;
  const fleet = { seen, took, share: Math.round(share * 10_000) / 10_000, minShare: confirm.minShare, ...(over > 0 ? { over, cap } : {}) };
  const overText =
    over > 0
      ? `; ${over >= OVER_COUNTED ? 'at least ' : ''}${over} instance${over === 1 ? '' : 's'} over the cap (${cap}) ${over === 1 ? 'was' : 'were'} not counted`
      : '';
  const detail = `${took}/${seen} instances (${percent(share)} %) run ${release.label}${seen < confirm.minInstances ? `; at least ${confirm.minInstances} must be seen` : ''}${overText}`;
  return { confirmed, detail, late: `${took}/${seen} instances took ${release.label} by ${item.confirm?.deadline ?? 'the deadline'}${overText}`, fleet };
}
