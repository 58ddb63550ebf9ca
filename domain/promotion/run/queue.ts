import { Frozen, TargetBusy } from '../../kernel/errors.ts';
import { heldByPromotion, type Promotion, type PromotionHold } from '../../kernel/promotion-model.ts';
import type { Deps, With } from '../../kernel/deps.ts';
import { isTerminal } from '../../kernel/lifecycle.ts';
import { flowDecision } from '../terms/deadlines.ts';
import { scheduleName } from './schedule-name.ts';
import { writeHold } from './hold.ts';
import { waitsToExecute } from '../aggregate.ts';
import { delivered } from '../terms/stuck.ts';

/**
 * The queue of an environment (concurrency `queue`, the default): one promotion executes into it at a
 * time, holding its lease (`acquireLock`); another one approved meanwhile waits its turn.
 *
 * - A holder that takes long — a rollout through targets and waves, an execution that bakes, or an
 *   artifact's or a bundle's one step delivering (registry copies, a git commit) — **holds** the waiting promotion the way a freeze window holds one that asked
 *   to wait: SCHEDULED, `heldBy` naming the holder and what it does, a one-time schedule that re-checks,
 *   and `Frozen` thrown, which the flow catches into its go wait (AwaitGo).
 * - Short contention (a lease whose holder has finished but not released it yet, or a holder without a
 *   bake) keeps the flow's bounded TargetBusy retry.
 * - When a holder releases the lease (completed, failed, rolled back), `wakeQueued` wakes the first
 *   promotion held behind it at once; the others re-check on their schedule (and hold again behind it).
 */

/**
 * How long a held promotion waits before it checks the lease again by itself. The holder's end wakes
 * it at once, so this only bounds the wait when that wake is missed (a lease that ran out instead of
 * being released, a holder's function that died after releasing it, the active-promotions index lagging
 * behind the hold). Each re-check costs 3 state transitions (Route, the execution step that holds it again,
 * AwaitGo: measured in test/integration/queue.test.ts) and two writes of the promotion item (the hold, the
 * parked token), so a day-long rollout costs a queued promotion about 144 re-checks, some 430 transitions
 * (about a cent); one minute would cost ten times that to recover sooner from a case that should not happen.
 */
export const QUEUE_RECHECK_SECONDS = 600;

/**
 * The lease of `p`'s environment is held by another promotion: hold `p` behind it (throws `Frozen`) when
 * that one is a long execution, else `TargetBusy` (the flow's bounded retry).
 */
export async function queueBehind(deps: With<'scheduler'>, p: Promotion): Promise<never> {
  const busy = new TargetBusy(`another promotion is executing into '${p.targetEnvironment}'`);
  const now = deps.clock();
  const holder = await longHolder(deps, p, now);
  if (!holder || !waitsToExecute(p)) throw busy;
  const until = new Date(now.getTime() + QUEUE_RECHECK_SECONDS * 1000).toISOString();
  const heldBy: PromotionHold = { promotion: holder.id, reason: describeHolder(holder), until };
  // A re-check that finds the same holder is not news: the hold's text (the wave it is at) and the time move, no audit entry.
  await writeHold(deps, p, now, heldBy, {
    action: 'promotion.hold',
    reason: `${heldBy.reason}; it goes on when that one ends`,
    sameHold: (cur) => heldByPromotion(cur.heldBy) && cur.heldBy.promotion === holder.id,
  });
  await deps.scheduler.scheduleOnce(scheduleName(p), new Date(until), { tenant: p.tenant, promotionId: p.id });
  // The holder may have ended between the lease this promotion could not take and the hold just written:
  // its wake (after it released the lease) did not see this one held. Then the re-check is now.
  const lease = await deps.store.getLock(p.tenant, p.targetEnvironment);
  if (lease?.holder !== holder.id) await deps.scheduler.scheduleOnce(scheduleName(p), now, { tenant: p.tenant, promotionId: p.id });
  throw new Frozen(heldBy.reason);
}

/** Executing now, it waits behind no one: a hold behind another promotion is cleared (a freeze window's hold stays, as it always has). */
export const notQueued = (p: Promotion): { heldBy?: null } => (heldByPromotion(p.heldBy) ? { heldBy: null } : {});

/**
 * The promotion holding `p`'s environment's lease, when it is another one and long: EXECUTING a rollout or a bake, or delivering.
 * A lease whose holder has ended (its flow stopped between its end and the release, or it was cancelled while it
 * delivered) is released here for it: the next try takes it instead of waiting for it to run out.
 */
async function longHolder(deps: With<'scheduler'>, p: Promotion, now: Date): Promise<Promotion | null> {
  const lease = await deps.store.getLock(p.tenant, p.targetEnvironment);
  if (!lease || lease.holder === p.id || lease.leaseUntil * 1000 < now.getTime()) return null;
  const holder = await deps.store.getPromotion(p.tenant, lease.holder);
  if (holder && isTerminal(holder.status)) await deps.store.releaseLock(p.tenant, p.targetEnvironment, holder.id);
  if (holder && delivering(holder)) return holder;
  if (!holder || holder.status !== 'EXECUTING') return null;
  return holder.rollout || (holder.bakeSeconds ?? 0) > 0 ? holder : null;
}

/**
 * An artifact's or a bundle's one step, holding the lease while it delivers (step/steps.ts executeStep): its registry
 * copies and git commit, tried again while a host fails for a moment, may take minutes.
 */
const delivering = (holder: Promotion) => waitsToExecute(holder) && delivered(holder);

/** Another promotion holds `p`'s environment's lease at `now` (taken, and not run out). */
export async function leasedToAnother(deps: Deps, p: Promotion, now: Date): Promise<boolean> {
  const lease = await deps.store.getLock(p.tenant, p.targetEnvironment);
  return !!lease && lease.holder !== p.id && lease.leaseUntil * 1000 >= now.getTime();
}

/** What a held promotion waits for, as people read it: "waits for promotion X, rolling out into production (wave 2 of 3)". */
export function describeHolder(holder: Promotion): string {
  const env = holder.targetEnvironment;
  const r = holder.rollout;
  if (r && r.waves.length) {
    const at = `wave ${Math.max(1, r.wave)} of ${r.waves.length}`;
    const state = r.halted ? `halted in ${at}` : r.waiting ? `${at}, waiting for a start window` : at;
    return `waits for promotion ${holder.id}, rolling out into ${env} (${state})`;
  }
  if (delivering(holder)) return `waits for promotion ${holder.id}, delivering ${holder.subject.type === 'bundle' ? 'a bundle' : 'an artifact'} into ${env}`;
  return `waits for promotion ${holder.id}, executing into ${env} (baking ${holder.bakeSeconds ?? 0} s)`;
}

/**
 * The lease of `env` was just released (or is free): the first promotion held behind another one goes on
 * now — its parked go task answered when the flow is there (`workflow`), else its schedule moved to now.
 * It takes the lease; the others held re-check on their schedule. First come, first served: by request time.
 */
export async function wakeQueued(deps: With<'scheduler' | 'workflow'>, tenant: string, env: string): Promise<void> {
  try {
    await wakeFirst(deps, tenant, env);
  } catch {
    // The lease is released and the holder's outcome written: a failed wake must not fail that. The
    // held promotion's own re-check (QUEUE_RECHECK_SECONDS) takes it from here.
  }
}

async function wakeFirst(deps: With<'scheduler' | 'workflow'>, tenant: string, env: string): Promise<void> {
  const active = await deps.store.activePromotions(tenant, env);
  const first = active
    .filter((p) => p.status === 'SCHEDULED' && heldByPromotion(p.heldBy))
    .sort((a, b) => a.requestedAt.localeCompare(b.requestedAt) || a.id.localeCompare(b.id))[0];
  if (!first) return;
  // Parked at its go task: answered as its schedule would answer it (domain/promotion/run/schedule.ts fireSchedule).
  if (first.taskToken) {
    const sent = await deps.workflow.sendTaskSuccess(first.taskToken, { ...flowDecision(first, 'execute', deps.clock()) }).then(
      () => true,
      () => false,
    );
    if (sent) return;
  }
  await deps.scheduler.scheduleOnce(scheduleName(first), deps.clock(), { tenant, promotionId: first.id });
}

/** A promotion held behind another one was cancelled: if the lease is free now (it may have been the one woken), the next one goes on. */
export async function wakeAfterCancel(deps: With<'scheduler' | 'workflow'>, p: Promotion): Promise<void> {
  if (p.status !== 'SCHEDULED' || !heldByPromotion(p.heldBy)) return;
  const lease = await deps.store.getLock(p.tenant, p.targetEnvironment);
  if (!lease || lease.leaseUntil * 1000 < deps.clock().getTime()) await wakeQueued(deps, p.tenant, p.targetEnvironment);
}

/**
 * `p` is done with what it did under its environment's lease: released (when it is still `p`'s) and the first promotion
 * held behind it woken. `held`: whether `p` knows it holds it; when it does not (a failure may have come before it took
 * it), the lease is read first and nobody is woken when it was not `p`'s.
 */
export async function releaseLease(deps: With<'scheduler' | 'workflow'>, p: Promotion, held: boolean): Promise<void> {
  if (!held && (await deps.store.getLock(p.tenant, p.targetEnvironment))?.holder !== p.id) return;
  await deps.store.releaseLock(p.tenant, p.targetEnvironment, p.id);
  await wakeQueued(deps, p.tenant, p.targetEnvironment);
}
