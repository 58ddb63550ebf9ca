import { Frozen, TargetBusy } from '../errors.ts';
import { activeWindowOf, nextAllowedOf } from '../freeze.ts';
import type { Environment, Snapshot } from '../model.ts';
import type { Deps, WriteOp } from '../ports.ts';
import { freezeOverridden } from '../break-glass.ts';
import { memoSource } from '../tree.ts';
import { isTerminal } from './lifecycle.ts';
import { GO_WAIT_SECONDS } from './policy.ts';
import type { Deployment, Promotion } from './model.ts';
import { approvalDeadline, LOCK_SECONDS } from './deadlines.ts';
import { afterApproval, ENGINE, moved, patched } from './aggregate.ts';
import { artifactOps, configOps, PromotionFailed, recordInRegistries } from './delivery.ts';
import { currentPolicy } from './flow.ts';
import { freezeGate, runGates } from './run-gates.ts';
import { scheduleName } from './schedule.ts';
import { loadPromotion, promotionEvent, writePromotion } from './write.ts';
import { configChanges } from './release.ts';
import { deploymentOp, leadTimeDelta } from '../deployments.ts';
import { tagOps } from '../tags.ts';
import { monitorsBlock, type AlarmState, type MonitorAlarm } from '../monitors.ts';

export { ENGINE, PromotionFailed, runGates };

/**
 * The tasks of statemachines/promotion.asl.json. Each is idempotent, keyed by
 * promotion id and the status it finds: re-running a whole execution (after a
 * restart, or a Step Functions retry) converges instead of doing work twice.
 */

export type Next = 'await-approval' | 'await-go' | 'execute' | 'done';

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

function timeouts(p: Promotion, now: Date) {
  const deadline = approvalDeadline(p);
  const approvalTimeoutSeconds = deadline ? Math.max(1, Math.ceil((deadline.getTime() - now.getTime()) / 1000)) : p.policy.approvalExpirySeconds;
  const goTimeoutSeconds = p.scheduledAt ? Math.max(60, Math.ceil((new Date(p.scheduledAt).getTime() - now.getTime()) / 1000) + 3600) : GO_WAIT_SECONDS;
  return { approvalTimeoutSeconds, goTimeoutSeconds };
}

export async function gatesStep(deps: Deps, tenant: string, id: string) {
  // The target is read once per step: the gates need it, and so does the answer (its bake time).
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
    const [gated, frozen] = await Promise.all([runGates(deps, p, target(p.targetEnvironment)), freezeGate(deps, p)]);
    const gates = [...gated, ...frozen];
    const blocked = gates.filter((g) => g.blocking && g.verdict === 'FAIL');
    const to = blocked.length ? 'VALIDATION_FAILED' : p.policy.requiresApproval ? 'AWAITING_APPROVAL' : 'APPROVED';
    const next = moved(p, to, ENGINE, deps.clock(), {
      gates,
      error: blocked.length ? { code: 'GATES_FAILED', message: blocked.map((g) => `${g.gate}: ${g.reason}`).join('; ') } : null,
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
  return { next: nextFor(p), ...timeouts(p, deps.clock()), bakeSeconds: (await target(p.targetEnvironment))?.bakeSeconds ?? 0 };
}

/** Stores the task token, unless the decision already happened (then answers the token itself). */
export async function awaitStep(deps: Deps, tenant: string, id: string, token: string, kind: 'approval' | 'go'): Promise<void> {
  // Storing the token is bookkeeping (no audit entry): the flow's own record of where it waits.
  const { before: p, after } = await writePromotion(deps, tenant, id, (p) => {
    const waiting = kind === 'approval' ? p.status === 'AWAITING_APPROVAL' : p.status === 'APPROVED' || p.status === 'SCHEDULED';
    return waiting ? { next: { ...p, taskToken: token }, action: null, by: ENGINE } : null;
  });
  if (after) return;
  if (p.status === 'APPROVED' || p.status === 'SCHEDULED' || p.status === 'EXECUTING' || p.status === 'COMPLETED') {
    await deps.workflow.sendTaskSuccess(token, { next: p.status === 'APPROVED' && kind === 'approval' ? afterApproval(p) : 'execute' });
  } else {
    await deps.workflow.sendTaskFailure(token, p.status === 'REJECTED' ? 'Rejected' : 'Cancelled', `promotion is ${p.status}`);
  }
}

/**
 * Changes the target. With a bake time (`bake`), it takes the target's lease, moves to EXECUTING
 * and records the result; Bake and Verify complete it. Without one, a single transaction changes
 * the target and completes the promotion (deployment DEPLOYED, promotion COMPLETED, event): no
 * lease, because the conditional write of the target's head/pointer is the lock, and no separate
 * verify, because the transaction is all or nothing.
 */
export async function executeStep(deps: Deps, tenant: string, id: string, bake = true): Promise<{ next: Next }> {
  const { held, read } = await freezeHold(deps, tenant, id);
  if (held) return held;
  await monitorCheck(deps, read);
  if (!bake) {
    const done = await completeNow(deps, tenant, id, read);
    if (done) return { next: 'done' };
  }
  const p = await loadPromotion(deps, tenant, id);
  if (p.status === 'EXECUTING' && p.result) return { next: 'execute' };
  if (p.status !== 'APPROVED' && p.status !== 'SCHEDULED' && p.status !== 'EXECUTING') return { next: 'done' };
  if (!(await deps.store.acquireLock(tenant, p.targetEnvironment, p.id, deps.clock(), LOCK_SECONDS))) {
    throw new TargetBusy(`another promotion is executing into '${p.targetEnvironment}'`);
  }
  if (p.status !== 'EXECUTING') {
    await writePromotion(deps, tenant, id, (cur) =>
      cur.status === 'EXECUTING' ? null : { next: moved(cur, 'EXECUTING', ENGINE, deps.clock(), { taskToken: null }), action: 'promotion.execute.start', by: ENGINE },
    );
  }
  await writePromotion(deps, tenant, id, async (cur) => {
    if (cur.status !== 'EXECUTING' || cur.result) return null;
    const ops = cur.subject.type === 'artifact' ? await artifactOps(deps, cur as Promotion & { subject: { type: 'artifact' } }) : await configOps(deps, cur as Promotion & { subject: { type: 'config' } });
    // One transaction: pointer/head + snapshot + deployment record + promotion + audit. A failure leaves the target as it was.
    return { next: patched(cur, deps.clock(), { result: ops.result }), action: 'promotion.execute', by: ENGINE, ops: ops.ops };
  });
  return { next: 'execute' };
}

/**
 * The target's monitors (domain/monitors.ts) before anything changes: one alarm in ALARM blocks the
 * execution, and so does a check that cannot be made (fail closed). A rollback is not held back by
 * the alarms it may be answering.
 */
async function monitorCheck(deps: Deps, p: Promotion): Promise<void> {
  if (p.rollback || (p.status !== 'APPROVED' && p.status !== 'SCHEDULED')) return;
  const target = await deps.store.getEnvironment(p.tenant, p.targetEnvironment);
  const arns = target?.monitors ?? [];
  if (!arns.length) return;
  let states: AlarmState[];
  try {
    if (!deps.alarms) throw new Error('this function has no alarm reader');
    states = await deps.alarms.states(arns);
  } catch (err) {
    throw new PromotionFailed(`the monitors of '${p.targetEnvironment}' could not be checked, so nothing was executed (fail closed): ${(err as Error).message}`);
  }
  const why = monitorsBlock(arns, states);
  if (why) throw new PromotionFailed(`'${p.targetEnvironment}' is not healthy: ${why}; nothing was executed`);
}

/**
 * A monitored alarm went to ALARM while the promotion bakes: the alarm is recorded on the promotion
 * (decision record, audit trail) and the promotion fails through the failed-execution path, which
 * puts the target back and pauses auto-promotion into it (and notifies, through its event).
 * False when the promotion is not baking (not executing, or nothing executed yet).
 */
export async function alarmRollback(deps: Deps, tenant: string, id: string, alarm: MonitorAlarm): Promise<boolean> {
  const p = await loadPromotion(deps, tenant, id);
  if (p.status !== 'EXECUTING' || !p.result) return false;
  const what = `monitor '${alarm.name}' went to ALARM at ${alarm.at}${alarm.reason ? ` (${alarm.reason})` : ''}`;
  const { before, after } = await writePromotion(
    deps,
    tenant,
    id,
    (cur) => (cur.status !== 'EXECUTING' || !cur.result || cur.monitorAlarm ? null : { next: patched(cur, deps.clock(), { monitorAlarm: alarm }), action: 'promotion.alarm', by: ENGINE, reason: what }),
    { read: p },
  );
  // Recorded now, or by an earlier delivery of the same alarm.
  if (!after && !(before.status === 'EXECUTING' && before.result && before.monitorAlarm)) return false;
  await failStep(deps, tenant, id, new PromotionFailed(`post-deploy verification failed: ${what}`));
  return true;
}

/**
 * A freeze window over the target when it is time to execute (domain/freeze.ts). A promotion that
 * asked to wait is held: SCHEDULED to the first free time, a schedule resumes it, and the step
 * throws `Frozen`, which the flow catches into its go task. Otherwise it is cancelled, naming the
 * window. An admin's break-glass on the promotion (freezeOverride) lets it through.
 */
async function freezeHold(deps: Deps, tenant: string, id: string): Promise<{ held: { next: Next } | null; read: Promotion }> {
  // Both at once: the windows are needed whenever the promotion is about to execute, the common case.
  const [p, windows] = await Promise.all([loadPromotion(deps, tenant, id), deps.store.listFreezeWindows(tenant)]);
  if ((p.status !== 'APPROVED' && p.status !== 'SCHEDULED') || freezeOverridden(p)) return { held: null, read: p };
  const now = deps.clock();
  const open = await activeWindowOf(windows, p.targetEnvironment, now);
  if (!open) return { held: null, read: p };
  const what = `'${p.targetEnvironment}' is frozen by window ${open.window.id} (${open.window.reason}) until ${open.end.toISOString()}`;
  if (p.whenFrozen === 'wait') {
    const until = await nextAllowedOf(windows, p.targetEnvironment, now);
    const heldBy = { window: open.window.id, reason: open.window.reason, until: until.toISOString() };
    await writePromotion(
      deps,
      tenant,
      id,
      (cur) => {
        if (cur.status !== 'APPROVED' && cur.status !== 'SCHEDULED') return null;
        const patch = { scheduledAt: heldBy.until, taskToken: null, heldBy };
        const next = cur.status === 'APPROVED' ? moved(cur, 'SCHEDULED', ENGINE, now, patch) : patched(cur, now, patch);
        return { next, action: 'promotion.hold', by: ENGINE, reason: `${what}; it resumes then` };
      },
      { read: p },
    );
    await deps.scheduler.scheduleOnce(scheduleName(p), until, { tenant, promotionId: id });
    throw new Frozen(`${what}: held until ${heldBy.until}`);
  }
  await writePromotion(
    deps,
    tenant,
    id,
    (cur) => {
      if (cur.status !== 'APPROVED' && cur.status !== 'SCHEDULED') return null;
      const message = `${what}; request it again after the window (or with "whenFrozen": "wait"), or an admin may break glass`;
      const next = moved(cur, 'CANCELLED', ENGINE, now, { taskToken: null, error: { code: 'FROZEN', message } });
      return { next, action: 'promotion.cancel', by: ENGINE, ops: [promotionEvent(deps, 'Promotion Cancelled', next, { reason: message })], reason: message };
    },
    { read: p },
  );
  return { held: { next: 'done' }, read: p };
}

/**
 * The one-step execution (no bake time); false when the promotion is already mid-way through the baked path.
 * `read`: the promotion as the step read it just before; the first attempt starts from it (a stale one loses
 * the version condition and the next attempt reads again).
 */
async function completeNow(deps: Deps, tenant: string, id: string, read?: Promotion): Promise<boolean> {
  let putCurrent: Deployment | null = null;
  // Copied into the target's registries: the audit record is attached there too (no extra reads otherwise).
  let copied = false;
  const { before } = await writePromotion(
    deps,
    tenant,
    id,
    async (cur) => {
    putCurrent = null;
    if (cur.status !== 'APPROVED' && cur.status !== 'SCHEDULED') return null;
    const executing = moved(cur, 'EXECUTING', ENGINE, deps.clock(), { taskToken: null });
    const built = cur.subject.type === 'artifact' ? await artifactOps(deps, executing as Promotion & { subject: { type: 'artifact' } }) : await configOps(deps, executing as Promotion & { subject: { type: 'config' } });
    const withResult: Promotion = { ...executing, result: built.result };
    copied = ((built.result as { synced?: unknown[] }).synced?.length ?? 0) > 0;
    const { ops, deployed } = await completionOps(deps, withResult, 'COMPLETED', 'DEPLOYED', built.ops);
    const next = moved(withResult, 'COMPLETED', ENGINE, deps.clock(), { error: null });
    ops.push(promotionEvent(deps, 'Promotion Completed', next));
    putCurrent = deployed;
    return { next, action: 'promotion.complete', by: ENGINE, ops };
    },
    { read },
  );
  const handled = before.status !== 'EXECUTING';
  if (putCurrent) {
    await deps.store.putCurrent(tenant, putCurrent);
    if (copied) await recordInRegistries(deps, tenant, id);
  }
  return handled;
}

/** Post-condition: the target holds what was promoted. Then COMPLETED, deployment DEPLOYED, lock released. */
export async function verifyStep(deps: Deps, tenant: string, id: string): Promise<{ next: Next }> {
  const p = await loadPromotion(deps, tenant, id);
  if (p.status !== 'EXECUTING') return { next: 'done' };
  if (!p.result) throw new PromotionFailed('nothing was executed');
  // Post-deploy checks: an alarm reported during the bake time fails the verification (and rolls back).
  const alarms = (await deps.store.listEvidence(tenant, [`promotion:${p.id}`])).filter((e) => e.type === 'alarm' && e.payload.state === 'ALARM');
  if (alarms.length) {
    throw new PromotionFailed(`post-deploy verification failed: alarm ${alarms.map((a) => `'${String(a.payload.name)}'${a.payload.reason ? ` (${String(a.payload.reason)})` : ''}`).join(', ')}`);
  }
  if (p.subject.type === 'artifact') {
    const ptr = await deps.store.getPointer(tenant, p.targetEnvironment, p.subject.name);
    if (!ptr || ptr.digest !== p.subject.digest) throw new PromotionFailed(`'${p.targetEnvironment}' does not run ${p.subject.name}@${p.subject.version} after execution`);
  } else {
    const snap = await deps.store.getSnapshot(tenant, p.targetEnvironment, p.result.snapshotSeq!);
    const source = await deps.store.getSnapshot(tenant, p.sourceEnvironment, p.subject.sourceSnapshot.seq);
    if (!snap || !source) throw new PromotionFailed('snapshots missing after execution');
    const { changes } = await configChanges(memoSource(deps.store.nodes(tenant)), snap.roots, source.roots, p.subject);
    if (changes.length) throw new PromotionFailed(`${changes.length} keys differ from the source after execution`);
  }
  await finish(deps, p, 'COMPLETED', 'DEPLOYED');
  return { next: 'done' };
}

async function finish(deps: Deps, p: Promotion, to: 'COMPLETED' | 'FAILED', depStatus: Deployment['status'], extra: WriteOp[] = [], error?: { code: string; message: string }) {
  let finished: Deployment | null = null;
  const { after } = await writePromotion(deps, p.tenant, p.id, async (cur) => {
    finished = null;
    if (cur.status !== 'EXECUTING') return null;
    const built = await completionOps(deps, cur, to, depStatus, extra);
    finished = built.deployed;
    const next = moved(cur, to, ENGINE, deps.clock(), { error: error ?? null });
    built.ops.push(promotionEvent(deps, to === 'COMPLETED' ? 'Promotion Completed' : 'Promotion Failed', next, { reason: error?.message }));
    return { next, action: to === 'COMPLETED' ? 'promotion.complete' : 'promotion.fail', by: ENGINE, ops: built.ops, reason: error?.message };
  });
  if (after && finished) await deps.store.putCurrent(p.tenant, finished);
  await deps.store.releaseLock(p.tenant, p.targetEnvironment, p.id);
  if (to === 'COMPLETED' && (p.result?.synced?.length ?? 0) > 0) await recordInRegistries(deps, p.tenant, p.id);
}

/**
 * What completing (or failing) an executed promotion writes besides the promotion: its deployment's
 * final status (from `extra` when it is written in the same transaction, else read back), lead-time
 * metrics, and for a completed rollback the deployment and promotion it replaced.
 */
async function completionOps(deps: Deps, cur: Promotion, to: 'COMPLETED' | 'FAILED', depStatus: Deployment['status'], extra: WriteOp[]): Promise<{ ops: WriteOp[]; deployed: Deployment | null }> {
  const now = deps.clock().toISOString();
  const ops: WriteOp[] = [...extra];
  let finished: Deployment | null = null;
  if (!cur.result) return { ops, deployed: null };
  const r = cur.result;
  const inBatch = ops.findIndex((o) => o.kind === 'deployment' && o.deployment.id === r.deploymentId);
  const dep = inBatch >= 0 ? (ops[inBatch] as Extract<WriteOp, { kind: 'deployment' }>).deployment : await deps.store.getDeployment(cur.tenant, cur.targetEnvironment, r.deployedAt, r.deploymentId);
  if (dep) {
    finished = { ...dep, status: depStatus, completedAt: now };
    const op = deploymentOp(finished, inBatch >= 0 ? null : dep.status, now);
    if (inBatch >= 0) ops[inBatch] = op;
    else ops.push(op);
    const lead = await leadTimeDelta(deps, cur.tenant, finished);
    if (lead) ops.push({ kind: 'metrics', delta: lead });
  }
  const replaced = r.replaced;
  if (to === 'COMPLETED' && cur.rollback && replaced) {
    // A completed rollback marks what it replaced: the deployment, and the promotion that brought it.
    const old = await deps.store.getDeployment(cur.tenant, cur.targetEnvironment, replaced.deployedAt, replaced.id);
    if (old && old.status !== 'ROLLED_BACK') ops.push(deploymentOp({ ...old, status: 'ROLLED_BACK', completedAt: old.completedAt ?? now }, old.status, now));
    const original = replaced.promotionId ? await deps.store.getPromotion(cur.tenant, replaced.promotionId) : null;
    if (original && original.status === 'COMPLETED' && original.id !== cur.id) {
      ops.push({ kind: 'promotion', promotion: moved(original, 'ROLLED_BACK', ENGINE, deps.clock()), expectedVersion: original.version });
    }
  }
  return { ops, deployed: finished?.status === 'DEPLOYED' ? finished : null };
}

/**
 * A failed execute or verify. If the target was already changed, it is put
 * back exactly as it was (automatic rollback, one transaction); then FAILED.
 */
export async function failStep(deps: Deps, tenant: string, id: string, error: unknown): Promise<{ next: Next }> {
  const p = await loadPromotion(deps, tenant, id);
  const message = errorMessage(error);
  if (isTerminal(p.status)) return { next: 'done' };
  if (p.status !== 'EXECUTING') {
    await writePromotion(
      deps,
      tenant,
      id,
      (cur) => {
        // Gates that could not be evaluated fail closed; the promotion can be validated again.
        if (cur.status === 'PENDING' || cur.status === 'VALIDATING') {
          const next = moved(cur, 'VALIDATION_FAILED', ENGINE, deps.clock(), { taskToken: null, error: { code: 'GATES_ERROR', message: `the gates could not be evaluated: ${message}` } });
          return { next, action: 'promotion.gates', by: ENGINE, ops: [promotionEvent(deps, 'Promotion Failed', next, { reason: next.error!.message })], reason: next.error!.message };
        }
        if (cur.status !== 'APPROVED' && cur.status !== 'SCHEDULED' && cur.status !== 'AWAITING_APPROVAL') return null;
        if (cur.status !== 'AWAITING_APPROVAL' && isExecutionFailure(error)) {
          // The one-step execute failed before its transaction: the target is as it was; the promotion FAILED.
          const failed = moved(moved(cur, 'EXECUTING', ENGINE, deps.clock(), { taskToken: null }), 'FAILED', ENGINE, deps.clock(), { error: { code: 'EXECUTION_FAILED', message } });
          return { next: failed, action: 'promotion.fail', by: ENGINE, ops: [promotionEvent(deps, 'Promotion Failed', failed, { reason: message })], reason: message };
        }
        const next = moved(cur, 'CANCELLED', ENGINE, deps.clock(), { taskToken: null, error: { code: 'NOT_EXECUTED', message } });
        return { next, action: 'promotion.cancel', by: ENGINE, ops: [promotionEvent(deps, 'Promotion Cancelled', next, { reason: message })], reason: message };
      },
      { read: p },
    );
    return { next: 'done' };
  }
  const undo = p.result ? await undoOps(deps, p) : [];
  await finish(deps, p, 'FAILED', p.result ? 'ROLLED_BACK' : 'FAILED', undo, { code: 'EXECUTION_FAILED', message: p.result ? `${message}; target rolled back automatically and auto-promotion into it paused` : message });
  return { next: 'done' };
}

async function undoOps(deps: Deps, p: Promotion): Promise<WriteOp[]> {
  const r = p.result!;
  const now = deps.clock().toISOString();
  if (p.subject.type === 'artifact') {
    const cur = await deps.store.getPointer(p.tenant, p.targetEnvironment, p.subject.name);
    const env = await deps.store.getEnvironment(p.tenant, p.targetEnvironment);
    const pause: WriteOp[] = env ? [{ kind: 'environment', env: { ...env, autoPromotionPaused: true, version: env.version + 1, updatedAt: now, updatedBy: ENGINE.name }, expectedVersion: env.version }] : [];
    if (!cur || cur.promotionId !== p.id || !r.previous.version) return pause;
    return [
      ...pause,
      { kind: 'pointer', pointer: { ...cur, version: r.previous.version, digest: r.previous.digest!, promotedAt: now, promotedBy: ENGINE.name, promotionId: null, version_: cur.version_ + 1 }, expectedVersion: cur.version_ },
      // latest-<env> goes back too; the immutable <version>-<env> tag stays (it records that the version was there).
      tagOps({ name: p.subject.name, version: r.previous.version, digest: r.previous.digest! }, p.targetEnvironment, 'release', ENGINE.name, now)[1]!,
    ];
  }
  const env = await deps.store.getEnvironment(p.tenant, p.targetEnvironment);
  const prev = await deps.store.getSnapshot(p.tenant, p.targetEnvironment, r.previous.seq!);
  if (!env || !prev || env.head.seq !== r.snapshotSeq) return [];
  const seq = env.head.seq + 1;
  const snapshot: Snapshot = { ...prev, seq, parentSeq: env.head.seq, createdAt: now, createdBy: ENGINE.name, change: { action: 'restore', keys: [], count: 0, restoredFrom: prev.seq }, reason: `automatic rollback of ${p.id}` };
  return [
    // Automatic rollback also pauses auto-promotion into the environment until someone resumes it.
    { kind: 'environment', env: { ...env, head: { seq, digest: prev.digest, roots: prev.roots }, itemCount: prev.itemCount, autoPromotionPaused: true, version: env.version + 1, updatedAt: now, updatedBy: ENGINE.name }, expectedVersion: env.version },
    { kind: 'snapshot', snapshot },
  ];
}

/** The approval or go window ran out (`reason`: who says so, e.g. the sweeper). */
export async function expireStep(deps: Deps, tenant: string, id: string, reason = 'not executed in time'): Promise<{ next: Next }> {
  await writePromotion(deps, tenant, id, (p) => {
    if (p.status === 'AWAITING_APPROVAL') {
      const next = moved(p, 'EXPIRED', ENGINE, deps.clock(), { taskToken: null, error: { code: 'APPROVAL_EXPIRED', message: `not approved within ${p.policy.approvalExpirySeconds} s` } });
      return { next, action: 'promotion.expire', by: ENGINE, ops: [promotionEvent(deps, 'Promotion Expired', next)] };
    }
    if (p.status === 'APPROVED' || p.status === 'SCHEDULED') {
      const next = moved(p, 'CANCELLED', ENGINE, deps.clock(), { taskToken: null, error: { code: 'NOT_EXECUTED', message: reason } });
      return { next, action: 'promotion.cancel', by: ENGINE, ops: [promotionEvent(deps, 'Promotion Cancelled', next, { reason })], reason };
    }
    return null;
  });
  return { next: 'done' };
}

/** A failure of the execute step itself (as Step Functions reports it), not of waiting for a decision. */
function isExecutionFailure(error: unknown): boolean {
  const name = error && typeof error === 'object' ? (error as { Error?: unknown; name?: unknown }).Error ?? (error as { name?: unknown }).name : undefined;
  return name === 'PromotionFailed' || name === 'TargetBusy';
}

function errorMessage(error: unknown): string {
  if (error && typeof error === 'object') {
    const e = error as { Cause?: unknown; Error?: unknown; message?: unknown };
    if (typeof e.Cause === 'string') {
      try {
        const c = JSON.parse(e.Cause) as { errorMessage?: string };
        if (c.errorMessage) return c.errorMessage;
      } catch {
        return e.Cause.slice(0, 500);
      }
    }
    if (typeof e.message === 'string') return e.message;
    if (typeof e.Error === 'string') return e.Error;
  }
  return 'execution failed';
}
