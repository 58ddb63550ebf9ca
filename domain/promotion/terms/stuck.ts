import { createHash } from 'node:crypto';
import type { Deps, Ports } from '../../kernel/deps.ts';
import type { Promotion } from '../../kernel/promotion-model.ts';
import type { Tunables } from '../../kernel/tunables.ts';
import { GO_WAIT_SECONDS } from './policy.ts';
import { approvalDeadline, LOCK_SECONDS, PULL_REQUEST_WAIT_SECONDS, STEP_SECONDS, validationDeadline } from './deadlines.ts';
import { waitsToExecute } from '../aggregate.ts';

/**
 * The sweeper: nothing stays stuck. Every promotion carries one deadline schedule (made when it
 * is requested). When it fires, a promotion that reached a final state is left alone; one that is
 * still waiting within its state's own deadline is swept again at that deadline; one past it (its
 * flow is gone: a lost execution, an outcome that could not be recorded) is failed with a reason,
 * through the same steps the flow itself would have run. No index and no scan: the schedule knows
 * the promotion, so the sweeper stays inside one tenant.
 */

const plus = (iso: string | Date, seconds: number) => new Date(new Date(iso).getTime() + seconds * 1000);

/** How the sweep's question to a stuck rollout's flow begins (its `stopping` reason). */
export const NO_PROGRESS = 'no progress since';

/** When the sweep asked a rollout's flow to end it (its stop decision is the sweep's), or null. */
export const askedBySweep = (p: Promotion): string | null => (p.rollout?.stopping?.reason.startsWith(NO_PROGRESS) ? p.rollout.stopping.at : null);

/**
 * When a promotion in its current status is stuck: the time its own flow should have moved it by,
 * plus the grace (`sweepGraceSeconds` of the deps' tunables: how long past a state's own deadline the
 * flow is given before the sweeper acts; its timeouts normally fire first). Null for final statuses.
 */
export function stuckAfter(p: Promotion, bakeSeconds: number, tunables: Pick<Tunables, 'sweepGraceSeconds' | 'pendingExpiryHours'>): Date | null {
  const grace = tunables.sweepGraceSeconds;
  // Waiting for its pull request's merge (AwaitMerge): the flow's own timer is the wait.
  if (waitsToExecute(p) && p.pullRequest?.state === 'open') return plus(p.pullRequest.openedAt, PULL_REQUEST_WAIT_SECONDS + grace);
  switch (p.status) {
    case 'PENDING':
      // Requested with autoStart: the flow evaluates the gates at once. Otherwise it waits for `validate`.
      return p.flowStartedAt ? plus(p.flowStartedAt, grace) : validationDeadline(p, tunables);
    case 'VALIDATION_FAILED':
      return validationDeadline(p, tunables);
    case 'VALIDATING':
      return plus(p.updatedAt, grace);
    case 'AWAITING_APPROVAL':
      return plus(approvalDeadline(p) ?? plus(p.updatedAt, p.policy.approvalExpirySeconds), grace);
    case 'APPROVED':
      // Executed at once: by its step's try, which for a delivered release (artifact, bundle) may take the step's whole time.
      if (p.trigger === 'on_approval') return plus(p.updatedAt, (delivered(p) ? STEP_SECONDS : 0) + grace);
      return plus(p.updatedAt, GO_WAIT_SECONDS + grace);
    case 'SCHEDULED':
      return plus(p.scheduledAt ?? p.updatedAt, 3600 + grace);
    case 'EXECUTING':
      // A rollout through targets (waves.ts) writes the promotion when each wave starts: a wave may wait for a
      // callback (up to a day) and bake; a halt waits for its resume as long as the flow's wave task (30 days);
      // outside the start windows it waits until one opens.
      if (p.rollout) {
        // A wave started and not handed on to its flow (a resume whose answer was lost): due a grace after.
        if (p.rollout.handOn && p.taskToken && !p.rollout.stopping) return plus(p.updatedAt, grace);
        // Asked by the sweep to end: its flow has two graces to do it (its MarkFailed), then the sweep ends it itself.
        const asked = askedBySweep(p);
        if (asked) return plus(asked, 2 * grace);
        if (p.rollout.halted) return plus(p.updatedAt, 30 * 86_400 + grace);
        if (p.rollout.waiting) return plus(p.rollout.waiting.until, LOCK_SECONDS + grace);
        const bake = Math.max(0, ...p.rollout.waves.map((w) => w.bakeSeconds));
        return plus(p.updatedAt, 86_400 + bake + LOCK_SECONDS + grace);
      }
      return plus(p.updatedAt, bakeSeconds + LOCK_SECONDS + grace);
    default:
      return null;
  }
}

/** A release whose execution reaches outside hosts (registries, git) before its transaction. */
export const delivered = (p: Promotion) => p.subject.type === 'artifact' || p.subject.type === 'bundle';

/**
 * One schedule name per promotion and deadline: a sweep that re-arms from inside its own firing
 * makes a new schedule rather than updating the one that is firing (which the scheduler deletes
 * when it completes).
 */
export const sweepName = (p: Pick<Promotion, 'tenant' | 'id'>, at: Date) =>
  `stageline-swp-${createHash('sha256').update(`${p.tenant}\u0000${p.id}`).digest('hex').slice(0, 24)}-${Math.floor(at.getTime() / 1000).toString(36)}`;

/** Arms a promotion's deadline schedule. */
export function armSweep(deps: Pick<Ports, 'scheduler'>, p: Pick<Promotion, 'tenant' | 'id'>, at: Date): Promise<void> {
  // Called as deps.scheduler.scheduleOnce: the stack reads port calls in this form from each bundle (infra/adapters.ts).
  return deps.scheduler.scheduleOnce(sweepName(p, at), at, { tenant: p.tenant, sweep: p.id });
}
