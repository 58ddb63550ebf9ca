import type { RestoredBy, Snapshot } from '../../kernel/model.ts';
import type { Deps, WriteOp, With } from '../../kernel/deps.ts';
import { isTerminal } from '../../kernel/lifecycle.ts';
import type { Promotion } from '../../kernel/promotion-model.ts';
import { ENGINE, moved, waitsToExecute } from '../aggregate.ts';
import { loadPromotion, promotionEvent, writePromotion } from '../write.ts';
import { tagOps } from '../../artifacts/tags.ts';
import { revertInGit, type GitPromotion, type Written } from '../deliver/git-delivery.ts';
import type { Next } from '../terms/deadlines.ts';
import { rollBackRollout, type RollbackCursor } from '../rollout/rollback.ts';
import { doraOps, finish, failureMetric } from '../run/end.ts';
import { releaseLease } from '../run/queue.ts';
import { delivered } from '../terms/stuck.ts';

/**
 * How a promotion's flow fails or expires: what it changed is put back (the target, its tags, its git
 * commit, every changed target of a rollout), then the record ends.
 */

/**
 * What the fail step answers the flow: `more` when a rollout's rollback put back one batch and changed targets remain
 * (MarkFailed runs again, its error this answer as `{ Payload }`: the `Error`/`Cause` here, the reason as the first run told it).
 */
export type FailOutcome = {
  next: Next;
  more: boolean;
  Error: string;
  Cause: string;
  /** where the rollback stands, handed back with the answer to the next run (rollout/rollback.ts) */
  cursor?: RollbackCursor;
};

export async function failStep(deps: With<'git' | 'registry' | 'scheduler' | 'workflow'>, tenant: string, id: string, caught: unknown): Promise<FailOutcome> {
  // A run after the first gets the answer of the one before it (the flow's MarkFailed keeps it as {Payload}): its reason.
  const payload = caught && typeof caught === 'object' ? (caught as { Payload?: unknown }).Payload : undefined;
  const error = payload && typeof payload === 'object' ? payload : caught;
  const out = await failOnce(deps, tenant, id, error);
  const message = out.reason ?? errorMessage(error);
  return {
    next: out.next,
    more: out.more ?? false,
    Error: out.more ? 'RollingBack' : 'Failed',
    Cause: JSON.stringify({ errorMessage: message }),
    ...(out.more && out.cursor ? { cursor: out.cursor } : {}),
  };
}

async function failOnce(
  deps: With<'git' | 'registry' | 'scheduler' | 'workflow'>,
  tenant: string,
  id: string,
  error: unknown,
): Promise<{ next: Next; more?: boolean; reason?: string; cursor?: RollbackCursor }> {
  const p = await loadPromotion(deps, tenant, id);
  const message = errorMessage(error);
  if (isTerminal(p.status)) return { next: 'done' };
  if (p.status !== 'EXECUTING') {
    await writePromotion(
      deps,
      tenant,
      id,
      async (cur) => {
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
        if (!waitsToExecute(cur) && cur.status !== 'AWAITING_APPROVAL') return null;
        // A pull-request delivery that waited in vain (closed, or not merged in time: AwaitMerge's timer) failed to execute too.
        if (cur.status !== 'AWAITING_APPROVAL' && (isExecutionFailure(error) || cur.pullRequest?.state === 'open')) {
          // The one-step execute failed before its transaction: the target is as it was; the promotion FAILED.
          const failed = moved(moved(cur, 'EXECUTING', ENGINE, deps.clock(), { taskToken: null }), 'FAILED', ENGINE, deps.clock(), {
            error: { code: 'EXECUTION_FAILED', message },
          });
          const failure = failureMetric(deps, cur, true);
          const dora = await doraOps(deps, cur, 'FAILED', [failure]);
          return {
            next: failed,
            action: 'promotion.fail',
            by: ENGINE,
            ops: [promotionEvent(deps, 'Promotion Failed', failed, { reason: message, dora: dora.detail }), failure, ...dora.ops],
            reason: message,
          };
        }
        const next = moved(cur, 'CANCELLED', ENGINE, deps.clock(), { taskToken: null, error: { code: 'NOT_EXECUTED', message } });
        return { next, action: 'promotion.cancel', by: ENGINE, ops: [promotionEvent(deps, 'Promotion Cancelled', next, { reason: message })], reason: message };
      },
      { read: p },
    );
    // An artifact's or a bundle's delivery held the lease while it tried (step/steps.ts executeStep): the next one goes on.
    if (delivered(p)) await releaseLease(deps, p, false);
    return { next: 'done' };
  }
  // A rollout through targets: every changed target back, in reverse wave order, a batch per run (rollout/rollback.ts).
  if (p.rollout) {
    const { more, reason, cursor } = await rollBackRollout(deps, p, message, error);
    return { next: 'done', more, reason, ...(cursor ? { cursor } : {}) };
  }
  if (!p.result) {
    await finish(deps, p, 'FAILED', 'FAILED', [], { code: 'EXECUTION_FAILED', message });
    return { next: 'done' };
  }
  const undo = await undoOps(deps, p, message);
  let resultPatch: Partial<NonNullable<Promotion['result']>> = {};
  let gitNote = '';
  // GitOps: the environment's git target gets the restored version too (Argo CD or Flux deploy from it); a bundle's
  // members that were put back, all in one commit.
  const restored: Written | null =
    undo.restored && p.subject.type === 'artifact' && undo.restored.version
      ? { type: 'artifact', name: p.subject.name, version: undo.restored.version, digest: undo.restored.digest }
      : undo.restored?.members?.length && p.subject.type === 'bundle'
        ? { type: 'bundle', name: p.subject.name, members: undo.restored.members }
        : null;
  if (restored) {
    const gitRevert = await revertInGit(deps, p as GitPromotion, restored, message);
    if (gitRevert) {
      resultPatch = { gitRevert };
      const was = p.subject.type === 'artifact' ? p.subject.version : p.subject.type === 'bundle' ? `${p.subject.name}@${p.subject.digest}` : '';
      gitNote = gitRevert.error
        ? `; the git target still names ${was}: ${gitRevert.error}`
        : gitRevert.members
          ? `; ${gitRevert.members.map((m) => `${m.file} (${m.artifact})`).join(', ')} on ${gitRevert.branch} set back in one commit`
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
async function undoOps(
  deps: Deps,
  p: Promotion,
  message: string,
): Promise<{ ops: WriteOp[]; restored: { version?: string; digest: string; members?: { name: string; version: string; digest: string }[] } | null }> {
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
  if (p.subject.type === 'bundle') return bundleUndo(deps, p, restoredBy, now);
  return (await configUndo(deps, p, restoredBy, now)) ?? { ops: [], restored: null };
}

/**
 * A bundle goes back as one unit: every member it moved to the version the target ran before (a member new to the
 * target stays: there was none to put back, and the reason says so) and its configuration part to the head before,
 * in one transaction; auto-promotion into the target is paused.
 */
async function bundleUndo(
  deps: Deps,
  p: Promotion,
  restoredBy: RestoredBy,
  now: string,
): Promise<{ ops: WriteOp[]; restored: { digest: string; members: { name: string; version: string; digest: string }[] } | null }> {
  const r = p.result!;
  const ops: WriteOp[] = [];
  const back: { name: string; version: string; digest: string }[] = [];
  for (const m of r.members ?? []) {
    const cur = await deps.store.getPointer(p.tenant, p.targetEnvironment, m.name);
    if (!cur || cur.promotionId !== p.id || !m.previous.version || !m.previous.digest) continue;
    ops.push(
      {
        kind: 'pointer',
        pointer: {
          ...cur,
          version: m.previous.version,
          digest: m.previous.digest,
          promotedAt: now,
          promotedBy: ENGINE.name,
          promotionId: null,
          version_: cur.version_ + 1,
          restoredBy,
          bundle: null,
        },
        expectedVersion: cur.version_,
      },
      tagOps({ name: m.name, version: m.previous.version, digest: m.previous.digest }, p.targetEnvironment, 'release', ENGINE.name, now)[1]!,
    );
    back.push({ name: m.name, version: m.previous.version, digest: m.previous.digest });
  }
  const config = r.snapshotSeq !== undefined ? await configUndo(deps, p, restoredBy, now) : null;
  if (config) ops.push(...config.ops);
  else {
    const env = await deps.store.getEnvironment(p.tenant, p.targetEnvironment);
    if (env)
      ops.push({
        kind: 'environment',
        env: { ...env, autoPromotionPaused: true, version: env.version + 1, updatedAt: now, updatedBy: ENGINE.name },
        expectedVersion: env.version,
      });
  }
  return { ops, restored: back.length || config ? { digest: r.previous.digest ?? p.releaseDigest, members: back } : null };
}

/** A config release's head (or a bundle's configuration part) put back to the snapshot before it; null when the head moved since. */
async function configUndo(deps: Deps, p: Promotion, restoredBy: RestoredBy, now: string): Promise<{ ops: WriteOp[]; restored: { digest: string } } | null> {
  const r = p.result!;
  const env = await deps.store.getEnvironment(p.tenant, p.targetEnvironment);
  const prev = await deps.store.getSnapshot(p.tenant, p.targetEnvironment, r.previous.seq!);
  if (!env || !prev || env.head.seq !== r.snapshotSeq) return null;
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
    if (waitsToExecute(p)) {
      const next = moved(p, 'CANCELLED', ENGINE, deps.clock(), { taskToken: null, error: { code: 'NOT_EXECUTED', message: reason } });
      return { next, action: 'promotion.cancel', by: ENGINE, ops: [promotionEvent(deps, 'Promotion Cancelled', next, { reason })], reason };
    }
    return null;
  });
  return { next: 'done' };
}

/**
 * A failure of the execute step itself (as Step Functions reports it), not of waiting for a decision: the step's own
 * refusal, a target that stayed busy, an outside host (a registry) that kept failing through the flow's retries.
 */
function isExecutionFailure(error: unknown): boolean {
  const name = error && typeof error === 'object' ? ((error as { Error?: unknown; name?: unknown }).Error ?? (error as { name?: unknown }).name) : undefined;
  return name === 'PromotionFailed' || name === 'TargetBusy' || name === 'Unavailable';
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
