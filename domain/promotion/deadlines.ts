import type { Promotion } from '../kernel/promotion-model.ts';
import { pendingExpirySeconds } from './policy.ts';

/** How long an execution holds its target's lock: a step that finds it taken waits; one past it may take over. */
export const LOCK_SECONDS = 15 * 60;

/** The deadlines a waiting promotion carries: pure functions of its record (read by the flow, the sweeper, status and notifications). */

/** When a promotion that waits for `validate` (PENDING or VALIDATION_FAILED) expires. */
export function validationDeadline(p: Promotion): Date {
  return new Date(new Date(p.requestedAt).getTime() + pendingExpirySeconds() * 1000);
}

/** When an approval wait ends: the approval window from the last time the promotion entered AWAITING_APPROVAL. */
export function approvalDeadline(p: Promotion): Date | null {
  const entered = [...p.transitions].reverse().find((t) => t.status === 'AWAITING_APPROVAL');
  return entered ? new Date(new Date(entered.at).getTime() + p.policy.approvalExpirySeconds * 1000) : null;
}
