import { TargetBusy } from '../kernel/errors.ts';
import type { Snapshot } from '../kernel/model.ts';
import type { Deps, WriteOp, With } from '../ports.ts';
import { memoSource } from '../config/tree.ts';
import { isTerminal } from '../kernel/lifecycle.ts';
import type { Deployment, Promotion, RolloutState } from '../kernel/promotion-model.ts';
import { ENGINE, moved } from './aggregate.ts';
import { artifactOps, configOps, PromotionFailed, recordInRegistries } from './target-change.ts';
import { loadPromotion, promotionEvent, writePromotion } from './write.ts';
import { configChanges } from './release.ts';
import { deploymentOp, leadTimeDelta } from '../artifacts/deployments.ts';
import { tagOps } from '../artifacts/tags.ts';
import { revertInGit } from './git-delivery.ts';
import type { Next } from './deadlines.ts';
import { rollBackRollout } from './waves-rollback.ts';
import { wakeQueued } from './queue.ts';
import { auditEntry } from '../audit/audit.ts';

/** How a promotion's flow ends: completed now or after its bake, failed (the target put back), or expired. */

/**
 * The one-step execution (no bake time); false when the promotion is already mid-way through the baked path.
 * `read`: the promotion as the step read it just before; the first attempt starts from it (a stale one loses
 * the version condition and the next attempt reads again).
 */
export async function completeNow(deps: With<'git' | 'registry'>, tenant: string, id: string, read?: Promotion): Promise<boolean> {
  let putCurrent: Deployment | null = null;
  let origin: string | null = null;
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
      const built =
        cur.subject.type === 'artifact'
          ? await artifactOps(deps, executing as Promotion & { subject: { type: 'artifact' } })
          : await configOps(deps, executing as Promotion & { subject: { type: 'config' } });
      const withResult: Promotion = { ...executing, result: built.result };
      copied = ((built.result as { synced?: unknown[] }).synced?.length ?? 0) > 0;
      const { ops, deployed, origin: first } = await completionOps(deps, withResult, 'COMPLETED', 'DEPLOYED', built.ops);
      origin = first;
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
    // A config release keeps its first appearance along the line (as in finish below).
    if (origin) await deps.store.markFirstSeen(tenant, (putCurrent as Deployment).imageTag, origin);
    if (copied) await recordInRegistries(deps, tenant, id);
  }
  return handled;
}

/**
 * A wave of a rollout is complete (every target of it confirmed and baked: the flow's map over its targets
 * ended, and the next WaveStart or RolloutComplete runs): the rollout records it in `completedWaves` and
 * `Promotion Wave Completed` (with the wave's targets) is written with that promotion write, once.
 * Nothing when the wave is unknown or was announced already.
 */
export function waveCompletion(deps: Deps, cur: Promotion, wave: number | undefined, next?: string): { rollout: RolloutState; ops: WriteOp[] } | null {
  const r = cur.rollout;
  const w = r?.waves.find((x) => x.wave === wave);
  if (!r || !w || r.completedWaves?.includes(w.wave)) return null;
  const rollout: RolloutState = { ...r, completedWaves: [...(r.completedWaves ?? []), w.wave] };
  // `next`: why the next wave does not start now (a halt, a start window), the event's reason.
  return { rollout, ops: [promotionEvent(deps, 'Promotion Wave Completed', { ...cur, rollout }, { wave: w.wave, targets: w.targets, reason: next })] };
}

/**
 * The end of a rollout through targets (every wave confirmed and baked): the environment's head moves to
 * the release in one transaction (as a one-step execution moves it: pointer or head, snapshot, deployment
 * record, tags, git target and registries for an artifact), the promotion COMPLETED naming its targets.
 */
export async function completeRollout(deps: With<'git' | 'registry' | 'scheduler' | 'workflow'>, tenant: string, id: string, targets: string[]): Promise<void> {
  let putCurrent: Deployment | null = null;
  let copied = false;
  const { after, before } = await writePromotion(deps, tenant, id, async (cur) => {
    putCurrent = null;
    if (cur.status !== 'EXECUTING' || !cur.rollout) return null;
    const built =
      cur.subject.type === 'artifact'
        ? await artifactOps(deps, cur as Promotion & { subject: { type: 'artifact' } })
        : await configOps(deps, cur as Promotion & { subject: { type: 'config' } });
    const withResult: Promotion = { ...cur, result: built.result };
    copied = ((built.result as { synced?: unknown[] }).synced?.length ?? 0) > 0;
    const { ops, deployed } = await completionOps(deps, withResult, 'COMPLETED', 'DEPLOYED', built.ops);
    // The last wave is complete with the rollout (its event first, then the promotion's).
    const last = waveCompletion(deps, cur, cur.rollout.waves.at(-1)?.wave);
    const next = moved(withResult, 'COMPLETED', ENGINE, deps.clock(), {
      error: null,
      taskToken: null,
      rollout: { ...(last?.rollout ?? cur.rollout), waiting: null, outcome: 'COMPLETED' },
    });
    if (last) ops.push(...last.ops);
    ops.push(promotionEvent(deps, 'Promotion Completed', next, { targets }));
    putCurrent = deployed;
    return { next, action: 'promotion.complete', by: ENGINE, ops, reason: `every target runs it: ${targets.join(', ')}`.slice(0, 1000) };
  });
  if (putCurrent) await deps.store.putCurrent(tenant, putCurrent);
  await deps.store.releaseLock(tenant, before.targetEnvironment, id);
  await wakeQueued(deps, tenant, before.targetEnvironment);
  if (after && copied) await recordInRegistries(deps, tenant, id);
}

/** Post-condition: the target holds what was promoted. Then COMPLETED, deployment DEPLOYED, lock released. */
export async function verifyStep(deps: With<'registry' | 'scheduler' | 'workflow'>, tenant: string, id: string): Promise<{ next: Next }> {
  const p = await loadPromotion(deps, tenant, id);
  if (p.status !== 'EXECUTING') return { next: 'done' };
  if (!p.result) throw new PromotionFailed('nothing was executed');
  // Post-deploy checks: an alarm reported during the bake time fails the verification (and rolls back).
  const alarms = (await deps.store.listEvidence(tenant, [`promotion:${p.id}`])).filter((e) => e.type === 'alarm' && e.payload.state === 'ALARM');
  if (alarms.length) {
    throw new PromotionFailed(
      `post-deploy verification failed: alarm ${alarms.map((a) => `'${String(a.payload.name)}'${a.payload.reason ? ` (${String(a.payload.reason)})` : ''}`).join(', ')}`,
    );
  }
  if (p.subject.type === 'artifact') {
    const ptr = await deps.store.getPointer(tenant, p.targetEnvironment, p.subject.name);
    if (!ptr || ptr.digest !== p.subject.digest)
      throw new PromotionFailed(`'${p.targetEnvironment}' does not run ${p.subject.name}@${p.subject.version} after execution`);
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

const OUTCOME = {
  COMPLETED: { event: 'Promotion Completed', action: 'promotion.complete' },
  FAILED: { event: 'Promotion Failed', action: 'promotion.fail' },
  ROLLED_BACK: { event: 'Promotion Rolled Back', action: 'promotion.rollback.auto' },
} as const;

async function finish(
  deps: With<'registry' | 'scheduler' | 'workflow'>,
  p: Promotion,
  to: 'COMPLETED' | 'FAILED' | 'ROLLED_BACK',
  depStatus: Deployment['status'],
  extra: WriteOp[] = [],
  error?: { code: string; message: string },
  resultPatch: Partial<NonNullable<Promotion['result']>> = {},
) {
  let finished: Deployment | null = null;
  let origin: string | null = null;
  const { after } = await writePromotion(deps, p.tenant, p.id, async (cur) => {
    finished = null;
    if (cur.status !== 'EXECUTING') return null;
    const built = await completionOps(deps, cur, to, depStatus, extra);
    finished = built.deployed;
    origin = built.origin;
    const next = moved(cur, to, ENGINE, deps.clock(), {
      error: error ?? null,
      ...(cur.result && Object.keys(resultPatch).length ? { result: { ...cur.result, ...resultPatch } } : {}),
    });
    built.ops.push(promotionEvent(deps, OUTCOME[to].event, next, { reason: error?.message }));
    if (to !== 'COMPLETED') built.ops.push(failureMetric(deps, cur, !cur.result));
    return { next, action: OUTCOME[to].action, by: ENGINE, ops: built.ops, reason: error?.message };
  });
  if (after && finished) {
    await deps.store.putCurrent(p.tenant, finished);
    // A config release keeps its first appearance along the line: the next promotion's lead time counts from it.
    if (origin) await deps.store.markFirstSeen(p.tenant, (finished as Deployment).imageTag, origin);
  }
  await deps.store.releaseLock(p.tenant, p.targetEnvironment, p.id);
  await wakeQueued(deps, p.tenant, p.targetEnvironment);
  if (to === 'COMPLETED' && (p.result?.synced?.length ?? 0) > 0) await recordInRegistries(deps, p.tenant, p.id);
}

/**
 * What completing (or failing) an executed promotion writes besides the promotion: its deployment's
 * final status (from `extra` when it is written in the same transaction, else read back), lead-time
 * metrics, and for a completed rollback the deployment and promotion it replaced.
 */
async function completionOps(
  deps: Deps,
  cur: Promotion,
  to: 'COMPLETED' | 'FAILED' | 'ROLLED_BACK',
  depStatus: Deployment['status'],
  extra: WriteOp[],
): Promise<{ ops: WriteOp[]; deployed: Deployment | null; origin: string | null }> {
  const now = deps.clock().toISOString();
  const ops: WriteOp[] = [...extra];
  let finished: Deployment | null = null;
  let origin: string | null = null;
  if (!cur.result) return { ops, deployed: null, origin };
  const r = cur.result;
  const inBatch = ops.findIndex((o) => o.kind === 'deployment' && o.deployment.id === r.deploymentId);
  const dep =
    inBatch >= 0
      ? (ops[inBatch] as Extract<WriteOp, { kind: 'deployment' }>).deployment
      : await deps.store.getDeployment(cur.tenant, cur.targetEnvironment, r.deployedAt, r.deploymentId);
  if (dep) {
    finished = { ...dep, status: depStatus, completedAt: now };
    const op = deploymentOp(finished, inBatch >= 0 ? null : dep.status, now);
    if (inBatch >= 0) ops[inBatch] = op;
    else ops.push(op);
    // Lead time into this environment; a rollback returns to a release that already ran here, so it is no change to time.
    if (!cur.rollback) {
      origin = await configOrigin(deps, cur);
      const lead = await leadTimeDelta(deps, cur.tenant, finished, origin);
      if (lead) ops.push({ kind: 'metrics', delta: lead });
    }
  }
  if (to === 'COMPLETED' && cur.rollback) {
    // A completed rollback marks only what it put back, each once, with an audit entry for each promotion it marks.
    // A promotion's rollback (`of`) puts back every change of that promotion (its keys, or its artifact version):
    // that promotion and its deployment end ROLLED_BACK. The deployment the rollback replaced is marked too only
    // when it is that promotion's, or when this is an environment rollback (the whole environment goes back to an
    // earlier release, so every change of the replaced deployment is put back). Otherwise the replaced deployment
    // is superseded, as any deployment is by the next one: it stays DEPLOYED and its promotion COMPLETED (its
    // changes are still live, and it can still be rolled back itself).
    const undone = cur.rollback.of ? await deps.store.getPromotion(cur.tenant, cur.rollback.of) : null;
    const olds = new Map<string, { id: string; deployedAt: string }>();
    const ids = new Set<string>();
    if (undone?.result) {
      olds.set(undone.result.deploymentId, { id: undone.result.deploymentId, deployedAt: undone.result.deployedAt });
      ids.add(undone.id);
    }
    if (r.replaced && (!cur.rollback.of || r.replaced.id === undone?.result?.deploymentId)) {
      olds.set(r.replaced.id, r.replaced);
      if (r.replaced.promotionId) ids.add(r.replaced.promotionId);
    }
    ids.delete(cur.id);
    for (const o of olds.values()) {
      const old = await deps.store.getDeployment(cur.tenant, cur.targetEnvironment, o.deployedAt, o.id);
      if (old && old.status !== 'ROLLED_BACK') ops.push(deploymentOp({ ...old, status: 'ROLLED_BACK', completedAt: old.completedAt ?? now }, old.status, now));
    }
    for (const id of ids) {
      const original = id === undone?.id ? undone : await deps.store.getPromotion(cur.tenant, id);
      if (original && original.status === 'COMPLETED') {
        const marked = moved(original, 'ROLLED_BACK', ENGINE, deps.clock());
        ops.push({ kind: 'promotion', promotion: marked, expectedVersion: original.version });
        ops.push(auditOp(deps, original, marked, `put back by rollback ${cur.id}`));
      }
    }
  }
  return { ops, deployed: finished?.status === 'DEPLOYED' ? finished : null, origin };
}

/** The audit entry of a promotion the engine marks in another promotion's transaction (a rollback marking what it undid). */
function auditOp(deps: Deps, before: Promotion, after: Promotion, reason: string): WriteOp {
  const entry = auditEntry(
    before.tenant,
    {
      actor: ENGINE.id,
      actorName: ENGINE.name,
      action: 'promotion.rolled_back',
      entityType: 'promotion',
      entityId: before.id,
      reason,
      before: `${before.status}:${before.releaseDigest}`,
      after: `${after.status}:${after.releaseDigest}`,
    },
    deps.clock(),
  );
  return { kind: 'audit', entry };
}

/**
 * When a config release first appeared in the line: the first appearance its source snapshot carries
 * (it came by promotion), else when that snapshot was made. Null for an artifact (its version's own
 * first appearance is read by its tag).
 */
async function configOrigin(deps: Deps, p: Promotion): Promise<string | null> {
  if (p.subject.type !== 'config') return null;
  const { seq } = p.subject.sourceSnapshot;
  return (
    (await deps.store.firstSeen(p.tenant, `${p.sourceEnvironment}@${seq}`)) ??
    (await deps.store.getSnapshot(p.tenant, p.sourceEnvironment, seq))?.createdAt ??
    null
  );
}

/**
 * A change into the target that failed counts in its metrics (the change failure rate): an execution
 * that failed before it wrote a deployment record counts as a deployment too; one that did (then put
 * back, or rolled back by an alarm while baking) already counts as a deployment and a rollback.
 */
function failureMetric(deps: Deps, p: Promotion, unrecorded: boolean): WriteOp {
  return {
    kind: 'metrics',
    delta: { environment: p.targetEnvironment, day: deps.clock().toISOString().slice(0, 10), add: { failed: 1, ...(unrecorded ? { deployments: 1 } : {}) } },
  };
}

/**
 * A failed execute or verify. If the target was already changed, it is put back exactly as it was
 * (automatic rollback, one transaction) and the promotion ends ROLLED_BACK (event `Promotion Rolled
 * Back`): an artifact's restored version is committed to the environment's git target first, as a
 * promotion or a manual rollback would commit it. Otherwise (nothing changed, or nothing could be put
 * back) FAILED.
 */
export async function failStep(deps: With<'git' | 'registry' | 'scheduler' | 'workflow'>, tenant: string, id: string, error: unknown): Promise<{ next: Next }> {
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
          const next = moved(cur, 'VALIDATION_FAILED', ENGINE, deps.clock(), {
            taskToken: null,
            error: { code: 'GATES_ERROR', message: `the gates could not be evaluated: ${message}` },
          });
          return {
            next,
            action: 'promotion.gates',
            by: ENGINE,
            ops: [promotionEvent(deps, 'Promotion Failed', next, { reason: next.error!.message })],
            reason: next.error!.message,
          };
        }
        if (cur.status !== 'APPROVED' && cur.status !== 'SCHEDULED' && cur.status !== 'AWAITING_APPROVAL') return null;
        // A pull-request delivery that waited in vain (closed, or not merged in time: AwaitMerge's timer) failed to execute too.
        if (cur.status !== 'AWAITING_APPROVAL' && (isExecutionFailure(error) || cur.pullRequest?.state === 'open')) {
          // The one-step execute failed before its transaction: the target is as it was; the promotion FAILED.
          const failed = moved(moved(cur, 'EXECUTING', ENGINE, deps.clock(), { taskToken: null }), 'FAILED', ENGINE, deps.clock(), {
            error: { code: 'EXECUTION_FAILED', message },
          });
          return {
            next: failed,
            action: 'promotion.fail',
            by: ENGINE,
            ops: [promotionEvent(deps, 'Promotion Failed', failed, { reason: message }), failureMetric(deps, cur, true)],
            reason: message,
          };
        }
        const next = moved(cur, 'CANCELLED', ENGINE, deps.clock(), { taskToken: null, error: { code: 'NOT_EXECUTED', message } });
        return { next, action: 'promotion.cancel', by: ENGINE, ops: [promotionEvent(deps, 'Promotion Cancelled', next, { reason: message })], reason: message };
      },
      { read: p },
    );
    return { next: 'done' };
  }
  // A rollout through targets: every changed target back, in reverse wave order (waves-rollback.ts).
  if (p.rollout) {
    await rollBackRollout(deps, p, message);
    return { next: 'done' };
  }
  if (!p.result) {
    await finish(deps, p, 'FAILED', 'FAILED', [], { code: 'EXECUTION_FAILED', message });
    return { next: 'done' };
  }
  const undo = await undoOps(deps, p, message);
  let resultPatch: Partial<NonNullable<Promotion['result']>> = {};
  let gitNote = '';
  if (undo.restored && p.subject.type === 'artifact' && undo.restored.version) {
    // GitOps: the environment's git target gets the restored version too (Argo CD or Flux deploy from it).
    const gitRevert = await revertInGit(
      deps,
      p as Promotion & { subject: { type: 'artifact' } },
      { version: undo.restored.version, digest: undo.restored.digest },
      message,
    );
    if (gitRevert) {
      resultPatch = { gitRevert };
      gitNote = gitRevert.error
        ? `; the git target still names ${p.subject.version}: ${gitRevert.error}`
        : `; ${gitRevert.file} on ${gitRevert.branch} set back to ${gitRevert.value}`;
    }
  }
  const why = undo.restored
    ? `${message}; target rolled back automatically${gitNote} and auto-promotion into it paused`
    : `${message}; the target could not be put back (nothing ran there before, or it changed since) and auto-promotion into it is paused`;
  await finish(deps, p, undo.restored ? 'ROLLED_BACK' : 'FAILED', 'ROLLED_BACK', undo.ops, { code: 'EXECUTION_FAILED', message: why }, resultPatch);
  return { next: 'done' };
}

/** What puts the target back (and pauses auto-promotion into it); `restored`: what it is put back to, null when it cannot be. */
async function undoOps(deps: Deps, p: Promotion, message: string): Promise<{ ops: WriteOp[]; restored: { version?: string; digest: string } | null }> {
  const r = p.result!;
  const now = deps.clock().toISOString();
  // What it puts back says so: rolled back by this promotion's own failure (the alarm, or what failed).
  const restoredBy = { promotionId: p.id, reason: p.monitorAlarm ? `alarm ${p.monitorAlarm.name} (${p.monitorAlarm.reason})` : message };
  if (p.subject.type === 'artifact') {
    const cur = await deps.store.getPointer(p.tenant, p.targetEnvironment, p.subject.name);
    const env = await deps.store.getEnvironment(p.tenant, p.targetEnvironment);
    const pause: WriteOp[] = env
      ? [
          {
            kind: 'environment',
            env: { ...env, autoPromotionPaused: true, version: env.version + 1, updatedAt: now, updatedBy: ENGINE.name },
            expectedVersion: env.version,
          },
        ]
      : [];
    if (!cur || cur.promotionId !== p.id || !r.previous.version) return { ops: pause, restored: null };
    return {
      ops: [
        ...pause,
        {
          kind: 'pointer',
          pointer: {
            ...cur,
            version: r.previous.version,
            digest: r.previous.digest!,
            promotedAt: now,
            promotedBy: ENGINE.name,
            promotionId: null,
            version_: cur.version_ + 1,
            restoredBy,
          },
          expectedVersion: cur.version_,
        },
        // latest-<env> goes back too; the immutable <version>-<env> tag stays (it records that the version was there).
        tagOps({ name: p.subject.name, version: r.previous.version, digest: r.previous.digest! }, p.targetEnvironment, 'release', ENGINE.name, now)[1]!,
      ],
      restored: { version: r.previous.version, digest: r.previous.digest! },
    };
  }
  const env = await deps.store.getEnvironment(p.tenant, p.targetEnvironment);
  const prev = await deps.store.getSnapshot(p.tenant, p.targetEnvironment, r.previous.seq!);
  if (!env || !prev || env.head.seq !== r.snapshotSeq) return { ops: [], restored: null };
  const seq = env.head.seq + 1;
  const snapshot: Snapshot = {
    ...prev,
    seq,
    parentSeq: env.head.seq,
    createdAt: now,
    createdBy: ENGINE.name,
    change: { action: 'restore', keys: [], count: 0, restoredFrom: prev.seq },
    reason: `automatic rollback of ${p.id}`,
    restoredBy,
  };
  return {
    ops: [
      // Automatic rollback also pauses auto-promotion into the environment until someone resumes it.
      {
        kind: 'environment',
        env: {
          ...env,
          head: { seq, digest: prev.digest, roots: prev.roots },
          itemCount: prev.itemCount,
          autoPromotionPaused: true,
          version: env.version + 1,
          updatedAt: now,
          updatedBy: ENGINE.name,
        },
        expectedVersion: env.version,
      },
      { kind: 'snapshot', snapshot },
    ],
    restored: { digest: prev.digest },
  };
}

/** The approval or go window ran out (`reason`: who says so, e.g. the sweeper). */
export async function expireStep(deps: Deps, tenant: string, id: string, reason = 'not executed in time'): Promise<{ next: Next }> {
  await writePromotion(deps, tenant, id, (p) => {
    if (p.status === 'AWAITING_APPROVAL') {
      const next = moved(p, 'EXPIRED', ENGINE, deps.clock(), {
        taskToken: null,
        error: { code: 'APPROVAL_EXPIRED', message: `not approved within ${p.policy.approvalExpirySeconds} s` },
      });
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
  const name = error && typeof error === 'object' ? ((error as { Error?: unknown; name?: unknown }).Error ?? (error as { name?: unknown }).name) : undefined;
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
