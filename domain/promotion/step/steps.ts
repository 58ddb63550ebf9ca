import { attestationsMissing } from '../../attestation/require.ts';
import { gatesBlocking } from '../../kernel/display.ts';
import { hasTargets } from '../../config/targets.ts';
import type { Environment } from '../../kernel/model.ts';
import type { Deps, With } from '../../kernel/deps.ts';
import { heldByChange, type Promotion } from '../../kernel/promotion-model.ts';
import { flowDecision, LOCK_SECONDS, type Next } from '../terms/deadlines.ts';
import { delivered } from '../terms/stuck.ts';
import { afterApproval, ENGINE, moved, patched, waitsToExecute } from '../aggregate.ts';
import { PromotionFailed, releaseOps } from '../deliver/target-change.ts';
import { currentPolicy } from '../run/flow.ts';
import { freezeGate, runGates } from '../request/run-gates.ts';
import { loadPromotion, promotionEvent, writePromotion } from '../write.ts';

import { completeNow, markAtWork } from '../run/complete.ts';
import { freezeHold } from '../run/freeze-hold.ts';
import { holdsBeforeExecute } from '../run/before-execute.ts';
import { soakOfTarget } from '../run/soak.ts';
import { withChanges } from '../run/with-changes.ts';
import { monitorCheck } from '../rollout/monitor-watch.ts';
import { notQueued, queueBehind, releaseLease } from '../run/queue.ts';

export { ENGINE, PromotionFailed, runGates };

/**
 * The tasks of statemachines/promotion.asl.json. Each is idempotent, keyed by
 * promotion id and the status it finds: re-running a whole execution (after a
 * restart, or a Step Functions retry) converges instead of doing work twice.
 * Here: gates, the approval/go waits and execution; how a flow ends is in complete.ts, fail.ts and end.ts, the
 * freeze-window hold in freeze-hold.ts, the monitors in ../rollout/monitor-watch.ts.
 */

function nextFor(p: Promotion): Next {
  switch (p.status) {
    case 'AWAITING_APPROVAL':
      return 'await-approval';
    case 'APPROVED':
      return afterApproval(p);
    case 'SCHEDULED':
      return 'await-go';
    case 'EXECUTING':
      return 'execute';
    default:
      return 'done';
  }
}

/**
 * Runs the gates (for a rollback: its impact analysis) once: PENDING → VALIDATING → AWAITING_APPROVAL,
 * APPROVED or VALIDATION_FAILED. A promotion that now waits for approvers keeps the flow's task token
 * in the same write (`stored`), so the approval that decides finds it at once.
 */
async function gatesStep(
  deps: With<'gates' | 'metrics' | 'anchor'>,
  tenant: string,
  id: string,
  token: string,
): Promise<{ next: Next; stored: boolean; changeControlled: boolean }> {
  // The target is read once per step: the gates need it, and so does the record (its bake time).
  let targetRead: Promise<Environment | null> | undefined;
  const target = (env: string) => (targetRead ??= deps.store.getEnvironment(tenant, env));
  const { before, after } = await writePromotion(deps, tenant, id, async (read) => {
    let p = read;
    if (p.status === 'PENDING') {
      // The policy is resolved when validation starts (a rule tightened since the request applies).
      // VALIDATING is recorded in the same write as the verdict: one write for the whole step.
      p = moved(p, 'VALIDATING', ENGINE, deps.clock(), await currentPolicy(deps, p));
    }
    if (p.status !== 'VALIDATING') return null;
    const [gated, frozen, measured] = await Promise.all([
      runGates(deps, p, target(p.targetEnvironment), (q, from) => attestationsMissing(deps, q, from)),
      freezeGate(deps, p),
      // Measuring the source first (preAnalysis) is loaded on first use: most environments attach none.
      target(p.targetEnvironment).then(async (env) =>
        env?.preAnalysis?.length ? (await import('../request/pre-analysis.ts')).preAnalysisGate(deps, p, env) : [],
      ),
    ]);
    const gates = [...gated, ...measured, ...frozen];
    const blocked = gates.filter((g) => g.blocking && g.verdict === 'FAIL');
    const to = blocked.length ? 'VALIDATION_FAILED' : p.policy.requiresApproval ? 'AWAITING_APPROVAL' : 'APPROVED';
    const next = moved(p, to, ENGINE, deps.clock(), {
      gates,
      error: blocked.length ? { code: 'GATES_FAILED', message: gatesBlocking(blocked) } : null,
      // The bake time the decision carries to the flow (flowDecision), read with the gates.
      bakeSeconds: (await target(p.targetEnvironment))?.bakeSeconds ?? 0,
      // The target's soak (the policy carries the rule's, which overrides it): the execution waits for it (soak-hold.ts).
      ...soakOfTarget(await target(p.targetEnvironment)),
      // An environment with targets: execution rolls out through its waves (the plan is made when it starts).
      ...(hasTargets((await target(p.targetEnvironment)) ?? {}) ? { rollout: { waves: [], wave: 0 } } : {}),
      // Change control: its request is opened and waited for when it is about to execute (domain/promotion/run/change-hold.ts).
      ...((await target(p.targetEnvironment))?.changeControl ? { changeControlled: true } : {}),
      ...(to === 'AWAITING_APPROVAL' ? { taskToken: token } : {}),
    });
    const events =
      to === 'VALIDATION_FAILED'
        ? [promotionEvent(deps, 'Promotion Failed', next, { reason: next.error!.message })]
        : to === 'AWAITING_APPROVAL'
          ? [promotionEvent(deps, 'Approval Required', next, { approvalsNeeded: p.policy.requiredApprovers, approverGroups: p.policy.approverGroups })]
          : [];
    return { next, action: 'promotion.gates', by: ENGINE, ops: events };
  });
  const p = after ?? before;
  return { next: nextFor(p), stored: !!after && p.status === 'AWAITING_APPROVAL', changeControlled: !!p.changeControlled };
}

/**
 * The flow's first task (a task-token wait): runs the gates, then, when the promotion waits for
 * approvers, keeps the token for the approve/reject/cancel API to answer; otherwise answers it at
 * once with the decision (execute, wait for the go signal, or nothing to do). One state instead of
 * a gates task, a router and an approval wait: an approved promotion takes three transitions
 * (this, Route, Execute) where it took five.
 */
export async function decideStep(
  deps: With<'gates' | 'workflow' | 'metrics' | 'anchor'> & Partial<With<'changes' | 'scheduler'>>,
  tenant: string,
  id: string,
  token: string,
): Promise<{ next: Next }> {
  const g = await gatesStep(deps, tenant, id, token);
  // Change control: the request is opened as soon as the gates passed, so the change board and the approvers decide side by side.
  if (g.changeControlled && g.next !== 'done') await (await import('../run/change-hold.ts')).openChange(withChanges(deps), tenant, id);
  if (g.stored) return { next: g.next };
  if (g.next === 'await-approval') {
    // The gates ran before (a re-run execution): store this execution's token.
    const { before: p, after } = await writePromotion(deps, tenant, id, (cur) =>
      cur.status === 'AWAITING_APPROVAL' ? { next: { ...cur, taskToken: token }, action: null, by: ENGINE } : null,
    );
    if (after) return { next: g.next };
    // Decided meanwhile (approved, rejected or cancelled between the gates and storing the token): answer it now.
    await answer(deps, p, token);
    return { next: nextFor(p) };
  }
  await answer(deps, await loadPromotion(deps, tenant, id), token);
  return { next: g.next };
}

/** Answers a flow's token with where the promotion stands: a decision to route on, or Rejected/Cancelled. */
async function answer(deps: With<'workflow'>, p: Promotion, token: string): Promise<void> {
  if (p.status === 'REJECTED' || p.status === 'CANCELLED') {
    await deps.workflow.sendTaskFailure(token, p.status === 'REJECTED' ? 'Rejected' : 'Cancelled', `promotion is ${p.status}`);
    return;
  }
  const next = nextFor(p);
  await deps.workflow.sendTaskSuccess(token, { ...flowDecision(p, next === 'await-approval' ? 'done' : next, deps.clock()) });
}

/** The go wait (manual or scheduled trigger, or a freeze hold): stores the task token, unless the go already came (then answers the token itself). */
export async function awaitGoStep(deps: With<'workflow'>, tenant: string, id: string, token: string): Promise<void> {
  // Storing the token is bookkeeping (no audit entry): the flow's own record of where it waits.
  const { before: p, after } = await writePromotion(deps, tenant, id, (p) =>
    waitsToExecute(p) ? { next: { ...p, taskToken: token }, action: null, by: ENGINE } : null,
  );
  if (after) {
    // Its time came before its token was stored: a schedule that fired while the flow was on its way here found no
    // token and, retried, gave up. Nothing would wake it: it goes now (executing looks at every hold again). A hold
    // for a change request is looked at by its schedule alone (fire.ts), never skipped.
    const now = deps.clock();
    if (after.status === 'SCHEDULED' && after.scheduledAt && Date.parse(after.scheduledAt) <= now.getTime() && !heldByChange(after.heldBy))
      await deps.workflow.sendTaskSuccess(token, { ...flowDecision(after, 'execute', now) });
    return;
  }
  if (p.status === 'EXECUTING' || p.status === 'COMPLETED') {
    await deps.workflow.sendTaskSuccess(token, { ...flowDecision(p, 'execute', deps.clock()) });
  } else {
    await deps.workflow.sendTaskFailure(token, p.status === 'REJECTED' ? 'Rejected' : 'Cancelled', `promotion is ${p.status}`);
  }
}

/**
 * Changes the target. With a bake time (`bake`), it takes the target's lease, moves to EXECUTING
 * and records the result; Bake and Verify complete it. Without one, a single transaction changes
 * the target and completes the promotion (deployment DEPLOYED, promotion COMPLETED, event), with no
 * separate verify, because the transaction is all or nothing. A configuration's one step takes no
 * lease: its transaction is conditioned on nobody else holding it, and it waits (held or retried)
 * while another promotion executes there. An artifact's or a bundle's delivers before that
 * transaction (registry copies, a git commit), so it holds the lease while it delivers.
 */
export async function executeStep(
  deps: With<'alarms' | 'git' | 'registry' | 'scheduler' | 'workflow'> & Partial<With<'changes' | 'ciRuns'>>,
  tenant: string,
  id: string,
  bake = true,
): Promise<{ next: Next }> {
  const { held, read: unfrozen } = await freezeHold(deps, tenant, id);
  if (held) return held;
  // The soak, the allowed hours, the CI gate and the change request (run/before-execute.ts).
  const { read } = await holdsBeforeExecute(deps, unfrozen);
  if (!read) return { next: 'done' };
  await monitorCheck(deps, read);
  const delivers = delivered(read);
  // What an outside host receives before the status moves (a pull request, registry copies, a git commit): at work first.
  const atWork = delivers ? await markAtWork(deps, read) : read;
  // A git target in pull-request mode: the delivery waits for the merge (AwaitingMerge parks the flow in AwaitMerge).
  // Loaded on first use, by artifact promotions only (a config or flag release is never a pull request).
  if (delivers) await (await import('../deliver/pull-request.ts')).pullRequestGate(deps, atWork);
  // Its registry copies and git commit change the environment before its transaction: no other promotion executes there meanwhile.
  if (delivers && !(await deps.store.acquireLock(tenant, read.targetEnvironment, id, deps.clock(), LOCK_SECONDS))) await queueBehind(deps, atWork);
  if (!bake) {
    const done = await completeNow(deps, tenant, id, atWork);
    if (done === 'busy') await queueBehind(deps, atWork);
    if (done) {
      if (delivers) await releaseLease(deps, read, true);
      if (read.changeControlled) await (await import('../run/change-hold.ts')).closeChange(withChanges(deps), tenant, id);
      return { next: 'done' };
    }
  }
  const p = await loadPromotion(deps, tenant, id);
  if (p.status === 'EXECUTING' && p.result) return { next: 'execute' };
  if (!waitsToExecute(p) && p.status !== 'EXECUTING') return { next: 'done' };
  // Another promotion holds the lease: wait behind it (held, when it is long) or retry (TargetBusy). A delivery took it above.
  if (!delivers && !(await deps.store.acquireLock(tenant, p.targetEnvironment, p.id, deps.clock(), LOCK_SECONDS))) await queueBehind(deps, p);
  if (p.status !== 'EXECUTING') {
    await writePromotion(deps, tenant, id, (cur) =>
      cur.status === 'EXECUTING'
        ? null
        : { next: moved(cur, 'EXECUTING', ENGINE, deps.clock(), { taskToken: null, ...notQueued(cur) }), action: 'promotion.execute.start', by: ENGINE },
    );
  }
  await writePromotion(deps, tenant, id, async (cur) => {
    if (cur.status !== 'EXECUTING' || cur.result) return null;
    const ops = await releaseOps(deps, cur);
    // One transaction: pointer/head + snapshot + deployment record + promotion + audit. A failure leaves the target as it was.
    return { next: patched(cur, deps.clock(), { result: ops.result }), action: 'promotion.execute', by: ENGINE, ops: ops.ops };
  });
  return { next: 'execute' };
}
