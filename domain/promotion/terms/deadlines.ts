import type { Promotion } from '../../kernel/promotion-model.ts';
import type { Tunables } from '../../kernel/tunables.ts';
import { GO_WAIT_SECONDS, pendingExpirySeconds } from './policy.ts';

/** How long the flow waits for a pull request's merge (AwaitMerge's TimeoutSeconds in statemachines/promotion.asl.json); then the promotion fails. */
export const PULL_REQUEST_WAIT_SECONDS = 7 * 24 * 3600;

/**
 * The longest one try of a flow's task may run: the promotion step function's time-out (functions/http/routes.ts).
 * An artifact's or a bundle's execution reaches outside hosts in one try (registry copies with their own retries, a git
 * clone and push), so the sweep gives an approved one this long before its grace: a try still at work is never taken for
 * a flow gone. On AWS the grace alone (15 minutes) is longer; a run that shrinks the grace (the chaos run's 10 s) is not.
 */
export const STEP_SECONDS = 360;

/** How long an execution holds its target's lock: a step that finds it taken waits; one past it may take over. */
export const LOCK_SECONDS = 15 * 60;

/** The deadlines a waiting promotion carries: pure functions of its record (read by the flow, the sweeper, status and notifications). */

/** When a promotion that waits for `validate` (PENDING or VALIDATION_FAILED) expires (`tunables`: the deps'). */
export function validationDeadline(p: Promotion, tunables: Pick<Tunables, 'pendingExpiryHours'>): Date {
  return new Date(new Date(p.requestedAt).getTime() + pendingExpirySeconds(tunables) * 1000);
}

/**
 * When an approval wait ends: the approval window counted from the last time validation started
 * (the flow's Decide task runs the gates and then waits for approvers under one timer, which starts
 * with the task: statemachines/promotion.asl.json). A promotion that waits for approval always passed
 * through VALIDATING just before, so the window includes the gates' few seconds.
 */
export function approvalDeadline(p: Promotion): Date | null {
  const from = [...p.transitions].reverse();
  const waits = from.findIndex((t) => t.status === 'AWAITING_APPROVAL');
  if (waits < 0) return null;
  const started = from.slice(waits).find((t) => t.status === 'VALIDATING') ?? from[waits]!;
  return new Date(new Date(started.at).getTime() + p.policy.approvalExpirySeconds * 1000);
}

/**
 * Slack between the flow's timer and the approval deadline: the timer starts when the Decide task is
 * entered, the deadline when the step reads the clock (an invocation, perhaps a cold start, later), so
 * the timer runs this much longer than the window and never ends a wait before its deadline. Approving
 * past the deadline is refused by the API (approve.ts) either way.
 */
export const APPROVAL_TIMER_SLACK_SECONDS = 10;

/** How long the flow's Decide task may wait (TimeoutSecondsPath $.approvalTimeoutSeconds). */
export const approvalTimerSeconds = (approvalExpirySeconds: number) => approvalExpirySeconds + APPROVAL_TIMER_SLACK_SECONDS;

/** Where a promotion's flow goes after a step (each step of statemachines/promotion.asl.json answers one). */
export type Next = 'await-approval' | 'await-go' | 'execute' | 'done';

/** What the flow routes on after a decision: where to go, how long to bake, how long a go wait may take. */
export interface FlowDecision {
  next: 'await-go' | 'execute' | 'done';
  bakeSeconds: number;
  goTimeoutSeconds: number;
  /** the target environment has targets: execution rolls out through its waves (present only then) */
  waves?: true;
}

/**
 * The one shape every sender of a decision uses (the decide step itself, approve, execute, a fired
 * schedule): the state machine reads the bake time and the go wait from it, since no gates state
 * runs before (statemachines/promotion.asl.json).
 */
export function flowDecision(p: Promotion, next: FlowDecision['next'], now: Date): FlowDecision {
  const goTimeoutSeconds = p.scheduledAt ? Math.max(60, Math.ceil((new Date(p.scheduledAt).getTime() - now.getTime()) / 1000) + 3600) : GO_WAIT_SECONDS;
  return { next, bakeSeconds: p.bakeSeconds ?? 0, goTimeoutSeconds, ...(p.rollout ? { waves: true as const } : {}) };
}
