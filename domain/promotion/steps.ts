import { randomUUID } from 'node:crypto';
import { DomainError, Frozen, TargetBusy } from '../errors.ts';
import { activeWindowOf, nextAllowedOf } from '../freeze.ts';
import { advanceHead } from '../items.ts';
import type { Environment, Roots, Snapshot } from '../model.ts';
import type { Deps, RegistryTag, WriteOp } from '../ports.ts';
import { retryOnConflict } from '../retry.ts';
import { freezeOverridden } from '../break-glass.ts';
import { applyChanges, memoSource, NodeSink } from '../tree.ts';
import { evaluateGates, type WebhookOutcome } from './gates.ts';
import { isTerminal } from './lifecycle.ts';
import { contentChoosers, evidenceAccepted, GO_WAIT_SECONDS } from './policy.ts';
import type { ArtifactVersion, Deployment, GateResult, Promotion } from './model.ts';
import { approvalDeadline, LOCK_SECONDS } from './deadlines.ts';
import { currentPolicy, ENGINE, evidenceOwners, loadPromotion, moved, promotionEvent, savePromotion, scheduleName } from './service.ts';

export { ENGINE };
import { configChanges } from './release.ts';
import { deploymentOp, leadTimeDelta } from '../deployments.ts';
import { assertTagsFree, registryTagsOf, repositoryOf, tagOps } from '../tags.ts';
import { seedRecord } from '../audit-export.ts';
import { deliverToGit } from '../gitops/deliver.ts';
import { monitorsBlock, type AlarmState, type MonitorAlarm } from '../monitors.ts';

/**
 * The tasks of statemachines/promotion.asl.json. Each is idempotent, keyed by
 * promotion id and the status it finds: re-running a whole execution (after a
 * restart, or a Step Functions retry) converges instead of doing work twice.
 */

export type Next = 'await-approval' | 'await-go' | 'execute' | 'done';

/** A business failure: the flow catches it and marks the promotion FAILED. */
export class PromotionFailed extends DomainError {
  readonly code = 'PROMOTION_FAILED';
  override readonly name = 'PromotionFailed';
}

function afterApproval(p: Promotion): Next {
  return p.trigger === 'on_approval' ? 'execute' : 'await-go';
}

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
  const p = await retryOnConflict(async () => {
    const read = await loadPromotion(deps, tenant, id);
    let p = read;
    if (p.status === 'PENDING') {
      // The policy is resolved when validation starts (a rule tightened since the request applies).
      // VALIDATING is recorded in the same write as the verdict: one write for the whole step.
      p = moved(p, 'VALIDATING', ENGINE, deps.clock(), await currentPolicy(deps, p));
    }
    if (p.status !== 'VALIDATING') return p;
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
    await savePromotion(deps, ENGINE, { ...next, version: read.version + 1 }, read, 'promotion.gates', events);
    return next;
  });
  return { next: nextFor(p), ...timeouts(p, deps.clock()), bakeSeconds: (await target(p.targetEnvironment))?.bakeSeconds ?? 0 };
}

/** When validation finds the target frozen: a non-blocking result naming the window (execution waits or fails then). */
async function freezeGate(deps: Deps, p: Promotion): Promise<GateResult[]> {
  const open = await activeWindowOf(await deps.store.listFreezeWindows(p.tenant), p.targetEnvironment, deps.clock());
  if (!open) return [];
  const then = freezeOverridden(p) ? `overridden by ${p.freezeOverride!.by} (break-glass: ${p.freezeOverride!.reason})` : p.whenFrozen === 'wait' ? 'execution waits for its end' : 'execution is refused while it lasts (whenFrozen: fail)';
  return [{ gate: 'freeze_window', verdict: 'WARN', blocking: false, reason: `'${p.targetEnvironment}' is frozen by ${open.window.id} (${open.window.reason}) until ${open.end.toISOString()}: ${then}`, evidenceRefs: [] }];
}

/** Evaluates every gate of the target for a promotion's release (fixed order; webhooks fail closed). `targetRead`: the target, when the caller reads it already. */
export async function runGates(deps: Deps, p: Promotion, targetRead?: Promise<Environment | null>): Promise<GateResult[]> {
  // Independent reads at once: the target, the release as published, the evidence (what a rollback does not need is not read).
  const [target, released, evidenceFound] = await Promise.all([
    targetRead ?? deps.store.getEnvironment(p.tenant, p.targetEnvironment),
    verifyRelease(deps, p),
    p.rollback ? Promise.resolve([]) : deps.store.listEvidence(p.tenant, evidenceOwners(p)),
  ]);
  const violations = [...(target ? [] : [`target environment '${p.targetEnvironment}' no longer exists`]), ...released];
  if (p.rollback) {
    // A rollback returns to a release that already ran here: its gate is the impact analysis.
    const { impact, override } = p.rollback;
    return [
      { gate: 'policy_compliance', verdict: violations.length ? 'FAIL' : 'PASS', blocking: true, reason: violations.join('; ') || 'release digest verified', evidenceRefs: [] },
      {
        gate: 'rollback_impact',
        verdict: impact.recommendation === 'SAFE' ? 'PASS' : impact.recommendation === 'BLOCKED' && !override ? 'FAIL' : 'WARN',
        blocking: true,
        reason: `${impact.recommendation}${impact.reasons.length ? `: ${impact.reasons.join('; ')}` : ''}${override ? ` (overridden by ${override.by}: ${override.reason})` : ''}`,
        evidenceRefs: [],
      },
    ];
  }
  // Only evidence from sources the policy accepts counts (e.g. a machine principal, not the requester).
  const evidence = evidenceFound.filter((e) => evidenceAccepted(e, p.policy, contentChoosers(p)));
  const hooks = target?.webhookGates ?? [];
  const outcomes: WebhookOutcome[] = await Promise.all(
    hooks.map((h) =>
      deps.gates.call(h, { promotionId: p.id, tenant: p.tenant, sourceEnvironment: p.sourceEnvironment, targetEnvironment: p.targetEnvironment, subject: p.subject, releaseDigest: p.releaseDigest, evidence }),
    ),
  );
  const configured = target?.gates ?? { policy_compliance: true, tests: false, security_scan: false, cost_analysis: false, performance_baseline: false };
  return evaluateGates(configured, evidence, { violations }, outcomes, new Set(hooks.filter((h) => h.blocking).map((h) => h.name)));
}

/** policy_compliance's own checks: the release still is exactly what was requested. */
async function verifyRelease(deps: Deps, p: Promotion): Promise<string[]> {
  const out: string[] = [];
  if (p.subject.type === 'artifact') {
    const v = await deps.store.getArtifactVersion(p.tenant, p.subject.name, p.subject.version);
    if (!v || v.digest !== p.subject.digest) out.push('artifact digest does not match the published version');
  } else {
    const s = await deps.store.getSnapshot(p.tenant, p.sourceEnvironment, p.subject.sourceSnapshot.seq);
    if (!s || s.digest !== p.subject.sourceSnapshot.digest) out.push('source snapshot digest does not match');
  }
  return out;
}

/** Stores the task token, unless the decision already happened (then answers the token itself). */
export async function awaitStep(deps: Deps, tenant: string, id: string, token: string, kind: 'approval' | 'go'): Promise<void> {
  await retryOnConflict(async () => {
    const p = await loadPromotion(deps, tenant, id);
    const waiting = kind === 'approval' ? p.status === 'AWAITING_APPROVAL' : p.status === 'APPROVED' || p.status === 'SCHEDULED';
    if (waiting) {
      await deps.store.commit(tenant, [{ kind: 'promotion', promotion: { ...p, taskToken: token, version: p.version + 1 }, expectedVersion: p.version }]);
      return;
    }
    if (p.status === 'APPROVED' || p.status === 'SCHEDULED' || p.status === 'EXECUTING' || p.status === 'COMPLETED') {
      await deps.workflow.sendTaskSuccess(token, { next: p.status === 'APPROVED' && kind === 'approval' ? afterApproval(p) : 'execute' });
    } else {
      await deps.workflow.sendTaskFailure(token, p.status === 'REJECTED' ? 'Rejected' : 'Cancelled', `promotion is ${p.status}`);
    }
  });
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
  let p = await loadPromotion(deps, tenant, id);
  if (p.status === 'EXECUTING' && p.result) return { next: 'execute' };
  if (p.status !== 'APPROVED' && p.status !== 'SCHEDULED' && p.status !== 'EXECUTING') return { next: 'done' };
  if (!(await deps.store.acquireLock(tenant, p.targetEnvironment, p.id, deps.clock(), LOCK_SECONDS))) {
    throw new TargetBusy(`another promotion is executing into '${p.targetEnvironment}'`);
  }
  if (p.status !== 'EXECUTING') {
    p = await retryOnConflict(async () => {
      const cur = await loadPromotion(deps, tenant, id);
      if (cur.status === 'EXECUTING') return cur;
      const next = moved(cur, 'EXECUTING', ENGINE, deps.clock(), { taskToken: null });
      await savePromotion(deps, ENGINE, next, cur, 'promotion.execute.start');
      return next;
    });
  }
  await retryOnConflict(async () => {
    const cur = await loadPromotion(deps, tenant, id);
    if (cur.status !== 'EXECUTING' || cur.result) return;
    const ops = cur.subject.type === 'artifact' ? await artifactOps(deps, cur as Promotion & { subject: { type: 'artifact' } }) : await configOps(deps, cur as Promotion & { subject: { type: 'config' } });
    const next: Promotion = { ...cur, result: ops.result, version: cur.version + 1, updatedAt: deps.clock().toISOString() };
    // One transaction: pointer/head + snapshot + deployment record + promotion + audit. A failure leaves the target as it was.
    await savePromotion(deps, ENGINE, next, cur, 'promotion.execute', ops.ops);
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
  const recorded = await retryOnConflict(async () => {
    const cur = await loadPromotion(deps, tenant, id);
    if (cur.status !== 'EXECUTING' || !cur.result) return false;
    if (cur.monitorAlarm) return true;
    await savePromotion(deps, ENGINE, { ...cur, monitorAlarm: alarm, version: cur.version + 1, updatedAt: deps.clock().toISOString() }, cur, 'promotion.alarm', [], what);
    return true;
  });
  if (!recorded) return false;
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
    await retryOnConflict(async () => {
      const cur = await loadPromotion(deps, tenant, id);
      if (cur.status !== 'APPROVED' && cur.status !== 'SCHEDULED') return;
      const patch = { scheduledAt: heldBy.until, taskToken: null, heldBy };
      const next = cur.status === 'APPROVED' ? moved(cur, 'SCHEDULED', ENGINE, now, patch) : { ...cur, ...patch, version: cur.version + 1, updatedAt: now.toISOString() };
      await savePromotion(deps, ENGINE, next, cur, 'promotion.hold', [], `${what}; it resumes then`);
    });
    await deps.scheduler.scheduleOnce(scheduleName(p), until, { tenant, promotionId: id });
    throw new Frozen(`${what}: held until ${heldBy.until}`);
  }
  await retryOnConflict(async () => {
    const cur = await loadPromotion(deps, tenant, id);
    if (cur.status !== 'APPROVED' && cur.status !== 'SCHEDULED') return;
    const message = `${what}; request it again after the window (or with "whenFrozen": "wait"), or an admin may break glass`;
    const next = moved(cur, 'CANCELLED', ENGINE, now, { taskToken: null, error: { code: 'FROZEN', message } });
    await savePromotion(deps, ENGINE, next, cur, 'promotion.cancel', [promotionEvent(deps, 'Promotion Cancelled', next, { reason: message })], message);
  });
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
  let first = read;
  const handled = await retryOnConflict(async () => {
    const cur = first ?? (await loadPromotion(deps, tenant, id));
    first = undefined;
    if (cur.status === 'EXECUTING') return false;
    if (cur.status !== 'APPROVED' && cur.status !== 'SCHEDULED') return true;
    const executing = moved(cur, 'EXECUTING', ENGINE, deps.clock(), { taskToken: null });
    const built = cur.subject.type === 'artifact' ? await artifactOps(deps, executing as Promotion & { subject: { type: 'artifact' } }) : await configOps(deps, executing as Promotion & { subject: { type: 'config' } });
    const withResult: Promotion = { ...executing, result: built.result };
    copied = ((built.result as { synced?: unknown[] }).synced?.length ?? 0) > 0;
    const { ops, deployed } = await completionOps(deps, withResult, 'COMPLETED', 'DEPLOYED', built.ops);
    const next = moved(withResult, 'COMPLETED', ENGINE, deps.clock(), { error: null });
    ops.push(promotionEvent(deps, 'Promotion Completed', next));
    await savePromotion(deps, ENGINE, { ...next, version: cur.version + 1 }, cur, 'promotion.complete', ops);
    putCurrent = deployed;
    return true;
  });
  if (putCurrent) {
    await deps.store.putCurrent(tenant, putCurrent);
    if (copied) await recordInRegistries(deps, tenant, id);
  }
  return handled;
}

/** The artifact's audit record (seed 003), in the registries of the target too. */
export const AUDIT_RECORD_TYPE = 'application/vnd.stageline.promotion.v1+json';

/**
 * After a promotion of an artifact completes: its audit record (seed 003's shape) is attached to the
 * promoted digest in every registry of the target, as an OCI referrer. The promotion has committed;
 * where attaching fails, the promotion says so (`result.recorded`) and stays COMPLETED.
 */
async function recordInRegistries(deps: Deps, tenant: string, id: string): Promise<void> {
  const p = await loadPromotion(deps, tenant, id);
  if (p.status !== 'COMPLETED' || p.subject.type !== 'artifact' || !p.result || p.result.recorded) return;
  const target = await deps.store.getEnvironment(tenant, p.targetEnvironment);
  if (!target?.registries?.length) return;
  const version = await deps.store.getArtifactVersion(tenant, p.subject.name, p.subject.version);
  const repository = typeof version?.metadata?.repository === 'string' ? version.metadata.repository : p.subject.name;
  const document = { ...seedRecord(p)!, digest: p.subject.digest, completed_at: p.completedAt, release_digest: p.releaseDigest };
  let recorded: { registry: string; digest: string | null; reason?: string }[];
  try {
    recorded = await deps.registry.attach({ tenant, repository, digest: p.subject.digest, targets: target.registries, artifactType: AUDIT_RECORD_TYPE, document });
  } catch (err) {
    recorded = target.registries.map((r) => ({ registry: r.name, digest: null, reason: (err as Error).message }));
  }
  await retryOnConflict(async () => {
    const cur = await loadPromotion(deps, tenant, id);
    if (!cur.result || cur.result.recorded) return;
    const next: Promotion = { ...cur, result: { ...cur.result, recorded }, version: cur.version + 1, updatedAt: deps.clock().toISOString() };
    await savePromotion(deps, ENGINE, next, cur, 'promotion.record', [], recorded.map((r) => `${r.registry}: ${r.digest ?? r.reason}`).join('; '));
  });
}

function deployment(p: Promotion, imageTag: string, gitCommit: string, digest: string, now: string, id = randomUUID(), gitBranch = ''): Deployment {
  return {
    id,
    environment: p.targetEnvironment,
    imageTag,
    gitCommit,
    gitBranch,
    ...(p.subject.type === 'artifact' ? { artifact: p.subject.name } : {}),
    // Seed 002: execute "creates a deployment on the target gateway".
    ...(p.targetGateway ? { gateway: p.targetGateway } : {}),
    status: 'PENDING',
    deployedAt: now,
    completedAt: null,
    promotionId: p.id,
    digest,
    deployedBy: p.requestedBy.name,
  };
}

async function configOps(deps: Deps, p: Promotion & { subject: { type: 'config' } }) {
  const target = await deps.store.getEnvironment(p.tenant, p.targetEnvironment);
  if (!target) throw new PromotionFailed(`target environment '${p.targetEnvironment}' no longer exists`);
  const snap = await deps.store.getSnapshot(p.tenant, p.sourceEnvironment, p.subject.sourceSnapshot.seq);
  if (!snap) throw new PromotionFailed('source snapshot is gone');
  const source = memoSource(deps.store.nodes(p.tenant));
  const { changes } = await configChanges(source, target.head.roots, snap.roots, p.subject);
  const sink = new NodeSink();
  const roots: Roots = { ...target.head.roots };
  for (const kind of ['config', 'flag'] as const) {
    const mine = changes.filter((c) => c.kind === kind);
    if (mine.length) roots[kind] = await applyChanges(source, roots[kind], new Map(mine.map((c) => [c.key, c.entry])), sink);
  }
  await deps.store.putNodes(p.tenant, sink.nodes);
  const now = deps.clock().toISOString();
  const { snapshot, env } = advanceHead(
    target,
    roots,
    p.requestedBy.name,
    now,
    { action: 'batch', keys: changes.slice(0, 20).map((c) => `${c.kind}:${c.key}`), count: changes.length },
    `promotion ${p.id} from ${p.sourceEnvironment}@${p.subject.sourceSnapshot.seq}`,
  );
  const { seq, digest } = snapshot;
  const dep = deployment(p, `${target.name}@${seq}`, '', digest, now);
  const ops: WriteOp[] = [
    { kind: 'environment', env, expectedVersion: target.version },
    { kind: 'snapshot', snapshot },
    deploymentOp(dep, null, now),
  ];
  const current = await deps.store.getCurrent(p.tenant, target.name);
  const replaced = current && current.imageTag === `${target.name}@${target.head.seq}` ? { id: current.id, deployedAt: current.deployedAt, promotionId: current.promotionId } : null;
  return { ops, result: { snapshotSeq: seq, digest, deploymentId: dep.id, deployedAt: now, previous: { seq: target.head.seq, digest: target.head.digest }, replaced } };
}

async function artifactOps(deps: Deps, p: Promotion & { subject: { type: 'artifact' } }) {
  const cur = await deps.store.getPointer(p.tenant, p.targetEnvironment, p.subject.name);
  const version = await deps.store.getArtifactVersion(p.tenant, p.subject.name, p.subject.version);
  if (!version || version.digest !== p.subject.digest) throw new PromotionFailed('artifact digest changed since the promotion was requested');
  const now = deps.clock().toISOString();
  const tags = tagOps(version, p.targetEnvironment, p.rollback ? 'rollback' : 'release', p.requestedBy.name, now);
  await assertTagsFree(deps, p.tenant, tags).catch((err: Error) => {
    throw new PromotionFailed(err.message);
  });
  // The same tags in every registry of the target (seed 003: "Creates v1.2.3-staging, updates latest-staging").
  const synced = await syncRegistries(deps, p as Promotion & { subject: { type: 'artifact' } }, version, registryTagsOf(tags));
  // GitOps (domain/gitops): the version committed to the target's git target, if it names one; idempotent when run again.
  const git = await deliverToGit(deps, p).catch((err: Error) => {
    throw new PromotionFailed(`git delivery failed: ${err.message}`);
  });
  const dep = deployment(p, p.subject.version, version.sourceCommit, p.subject.digest, now, randomUUID(), typeof version.metadata.gitBranch === 'string' ? version.metadata.gitBranch : '');
  const ops: WriteOp[] = [
    ...tags,
    {
      kind: 'pointer',
      pointer: { environment: p.targetEnvironment, name: p.subject.name, version: p.subject.version, digest: p.subject.digest, promotedAt: now, promotedBy: p.requestedBy.name, promotionId: p.id, version_: (cur?.version_ ?? 0) + 1, deploymentId: dep.id, deployedAt: now },
      expectedVersion: cur ? cur.version_ : null,
    },
    deploymentOp(dep, null, now),
  ];
  const replaced = cur?.deploymentId && cur.deployedAt ? { id: cur.deploymentId, deployedAt: cur.deployedAt, promotionId: cur.promotionId } : null;
  return { ops, result: { digest: p.subject.digest, deploymentId: dep.id, deployedAt: now, previous: { version: cur?.version, digest: cur?.digest ?? null }, replaced, synced, ...(git ? { git } : {}) } };
}

/**
 * Cross-registry promotion: copy the artifact by digest from the source
 * environment's first registry to every registry of the target and verify
 * the digest on each (digest_match). Any failure fails the promotion closed:
 * this runs before the transaction, so the target stays as it was.
 */
async function syncRegistries(deps: Deps, p: Promotion & { subject: { type: 'artifact' } }, version: ArtifactVersion, tags: RegistryTag[]) {
  const [source, target] = await Promise.all([deps.store.getEnvironment(p.tenant, p.sourceEnvironment), deps.store.getEnvironment(p.tenant, p.targetEnvironment)]);
  const from = source?.registries?.[0];
  // Every registry of the target, the source's own included: it gets the target's tags (its blobs are there already).
  const to = target?.registries ?? [];
  const signed = target?.verification === 'signature_match';
  if (to.length === 0 && !signed) return [];
  if (!from) throw new PromotionFailed(`'${p.sourceEnvironment}' has no registry to copy ${p.subject.name}@${p.subject.version} from${signed ? ` (and '${p.targetEnvironment}' requires signature_match: the signature is read there)` : ''}`);
  const repository = repositoryOf(version);
  // signature_match: the artifact's Sigstore signature must verify with the target's key before anything is copied
  // or tagged (fail closed); the copy takes it along (with every other referrer of the digest).
  let signature: string | undefined;
  if (signed) {
    const v = await deps.registry.verifySignature({ tenant: p.tenant, repository, digest: p.subject.digest, source: from, publicKey: target.signingKey ?? '' });
    if (!v.ok) throw new PromotionFailed(`signature_match: ${v.reason ?? 'the signature does not verify'}`);
    signature = v.bundle;
  }
  if (to.length === 0) return [];
  let results;
  try {
    results = await deps.registry.sync({ tenant: p.tenant, repository, digest: p.subject.digest, source: from, targets: to, tags });
  } catch (err) {
    throw new PromotionFailed(`cross-registry sync failed at the source: ${(err as Error).message}`);
  }
  const failed = results.filter((r) => !r.ok);
  if (failed.length) throw new PromotionFailed(`cross-registry sync failed: ${failed.map((f) => f.reason ?? f.registry).join('; ')}`);
  return results.map((r) => ({ registry: r.registry, digest: r.digest, bytesCopied: r.bytesCopied, ...(r.tags ? { tags: r.tags } : {}), ...(r.attached ? { attached: r.attached } : {}), ...(signature ? { signature } : {}) }));
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
  await retryOnConflict(async () => {
    const cur = await loadPromotion(deps, p.tenant, p.id);
    if (cur.status !== 'EXECUTING') return;
    const { ops, deployed: finished } = await completionOps(deps, cur, to, depStatus, extra);
    const next = moved(cur, to, ENGINE, deps.clock(), { error: error ?? null });
    ops.push(promotionEvent(deps, to === 'COMPLETED' ? 'Promotion Completed' : 'Promotion Failed', next, { reason: error?.message }));
    await savePromotion(deps, ENGINE, next, cur, to === 'COMPLETED' ? 'promotion.complete' : 'promotion.fail', ops, error?.message);
    if (finished) await deps.store.putCurrent(p.tenant, finished);
  });
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
    await retryOnConflict(async () => {
      const cur = await loadPromotion(deps, tenant, id);
      // Gates that could not be evaluated fail closed; the promotion can be validated again.
      if (cur.status === 'PENDING' || cur.status === 'VALIDATING') {
        const next = moved(cur, 'VALIDATION_FAILED', ENGINE, deps.clock(), { taskToken: null, error: { code: 'GATES_ERROR', message: `the gates could not be evaluated: ${message}` } });
        await savePromotion(deps, ENGINE, next, cur, 'promotion.gates', [promotionEvent(deps, 'Promotion Failed', next, { reason: next.error!.message })], next.error!.message);
        return;
      }
      if (cur.status !== 'APPROVED' && cur.status !== 'SCHEDULED' && cur.status !== 'AWAITING_APPROVAL') return;
      if (cur.status !== 'AWAITING_APPROVAL' && isExecutionFailure(error)) {
        // The one-step execute failed before its transaction: the target is as it was; the promotion FAILED.
        const failed = moved(moved(cur, 'EXECUTING', ENGINE, deps.clock(), { taskToken: null }), 'FAILED', ENGINE, deps.clock(), { error: { code: 'EXECUTION_FAILED', message } });
        await savePromotion(deps, ENGINE, { ...failed, version: cur.version + 1 }, cur, 'promotion.fail', [promotionEvent(deps, 'Promotion Failed', failed, { reason: message })], message);
        return;
      }
      const next = moved(cur, 'CANCELLED', ENGINE, deps.clock(), { taskToken: null, error: { code: 'NOT_EXECUTED', message } });
      await savePromotion(deps, ENGINE, next, cur, 'promotion.cancel', [promotionEvent(deps, 'Promotion Cancelled', next, { reason: message })], message);
    });
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
  await retryOnConflict(async () => {
    const p = await loadPromotion(deps, tenant, id);
    if (p.status === 'AWAITING_APPROVAL') {
      const next = moved(p, 'EXPIRED', ENGINE, deps.clock(), { taskToken: null, error: { code: 'APPROVAL_EXPIRED', message: `not approved within ${p.policy.approvalExpirySeconds} s` } });
      await savePromotion(deps, ENGINE, next, p, 'promotion.expire', [promotionEvent(deps, 'Promotion Expired', next)]);
    } else if (p.status === 'APPROVED' || p.status === 'SCHEDULED') {
      const next = moved(p, 'CANCELLED', ENGINE, deps.clock(), { taskToken: null, error: { code: 'NOT_EXECUTED', message: reason } });
      await savePromotion(deps, ENGINE, next, p, 'promotion.cancel', [promotionEvent(deps, 'Promotion Cancelled', next, { reason })], reason);
    }
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
