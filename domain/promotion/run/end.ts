import type { Deps, WriteOp, With } from '../../kernel/deps.ts';
import type { Deployment, Promotion } from '../../kernel/promotion-model.ts';
import { ENGINE, moved } from '../aggregate.ts';
import { promotionEvent, writePromotion } from '../write.ts';
import { deploymentOp, leadTimeDelta } from '../../artifacts/deployments.ts';
import { wakeQueued } from './queue.ts';
import { auditEntry } from '../../audit/audit.ts';
import { doraDeltas, openFailureOf, OPEN_FAILURE_DAY } from '../../artifacts/dora.ts';

/**
 * How a promotion's record ends, whichever way: its status, its deployment, the audit entry and event,
 * the metrics, the lease released and the queue woken, in one transaction.
 */

const OUTCOME = {
  COMPLETED: { event: 'Promotion Completed', action: 'promotion.complete' },
  FAILED: { event: 'Promotion Failed', action: 'promotion.fail' },
  ROLLED_BACK: { event: 'Promotion Rolled Back', action: 'promotion.rollback.auto' },
} as const;

export async function finish(
  deps: With<'registry' | 'scheduler' | 'workflow'>,
  p: Promotion,
  to: 'COMPLETED' | 'FAILED' | 'ROLLED_BACK',
  depStatus: Deployment['status'],
  extra: WriteOp[] = [],
  error?: { code: string; message: string },
  resultPatch: Partial<NonNullable<Promotion['result']>> = {},
  opts: { refuse?: (cur: Promotion) => Error | null } = {},
) {
  let finished: Deployment | null = null;
  let origin: string | null = null;
  const { after } = await writePromotion(deps, p.tenant, p.id, async (cur) => {
    finished = null;
    if (cur.status !== 'EXECUTING') return null;
    // What the caller refuses to end on, read again on every attempt (Verify: a monitor's alarm recorded since it read the promotion).
    const refused = opts.refuse?.(cur);
    if (refused) throw refused;
    const built = await completionOps(deps, cur, to, depStatus, extra);
    finished = built.deployed;
    origin = built.origin;
    const next = moved(cur, to, ENGINE, deps.clock(), {
      error: error ?? null,
      ...(cur.result && Object.keys(resultPatch).length ? { result: { ...cur.result, ...resultPatch } } : {}),
    });
    if (to !== 'COMPLETED') built.ops.push(failureMetric(deps, cur, !cur.result));
    const dora = await doraOps(deps, cur, to, built.ops);
    built.ops.push(...dora.ops, promotionEvent(deps, OUTCOME[to].event, next, { reason: error?.message, dora: dora.detail }));
    return { next, action: OUTCOME[to].action, by: ENGINE, ops: built.ops, reason: error?.message };
  });
  if (after && finished) {
    await deps.store.putCurrent(p.tenant, finished);
    // A config release keeps its first appearance along the line: the next promotion's lead time counts from it.
    if (origin) await deps.store.markFirstSeen(p.tenant, (finished as Deployment).imageTag, origin);
  }
  await deps.store.releaseLock(p.tenant, p.targetEnvironment, p.id);
  await wakeQueued(deps, p.tenant, p.targetEnvironment);
}

/**
 * What completing (or failing) an executed promotion writes besides the promotion: its deployment's
 * final status (from `extra` when it is written in the same transaction, else read back), lead-time
 * metrics, and for a completed rollback the deployment and promotion it replaced.
 */
export async function completionOps(
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
export function failureMetric(deps: Deps, p: Promotion, unrecorded: boolean): WriteOp {
  return {
    kind: 'metrics',
    delta: {
      environment: p.targetEnvironment,
      day: deps.clock().toISOString().slice(0, 10),
      add: { failed: 1, ...(unrecorded ? { deployments: 1, changeFailed: 1 } : {}) },
    },
  };
}

/** What a promotion's end adds to its environment's DORA metrics (the event's `dora`, CloudWatch's figures). */
export type DoraDetail = { deployed: number; changeFailed: number; rework: number; recoverySeconds?: number; leadTimeSeconds?: number };

/**
 * DORA's counters of a promotion's end (domain/artifacts/dora.ts), written in its transaction beside `ops`
 * (what the end writes already): the recovery and rework of the day, and the environment's open failure
 * (opened by a failure, closed by the next success). Read again on every attempt of the transaction. The
 * detail sums what the end adds to the environment's own counters, for the event (and the EMF figures).
 */
export async function doraOps(
  deps: Deps,
  cur: Promotion,
  to: 'COMPLETED' | 'FAILED' | 'ROLLED_BACK',
  ops: WriteOp[],
): Promise<{ ops: WriteOp[]; detail: DoraDetail }> {
  const env = cur.targetEnvironment;
  const open = openFailureOf((await deps.store.getMetrics(cur.tenant, env, OPEN_FAILURE_DAY, OPEN_FAILURE_DAY))[0]?.counters);
  // A rollback of a promotion that had completed recovers from when that promotion went live.
  let undoneLiveAt: string | null = null;
  if (to === 'COMPLETED' && cur.rollback?.of && !open) {
    const undone = await deps.store.getPromotion(cur.tenant, cur.rollback.of);
    undoneLiveAt = undone?.transitions.findLast((t) => t.status === 'COMPLETED')?.at ?? null;
  }
  const { figures, deltas } = doraDeltas({ environment: env, outcome: to, rollback: !!cur.rollback, at: deps.clock(), undoneLiveAt }, open);
  const add: Record<string, number> = {};
  for (const op of ops) {
    const d = op.kind === 'metrics' ? op.delta : op.kind === 'deployment' ? op.metrics : null;
    if (!d || d.target || d.environment !== env) continue;
    for (const [k, v] of Object.entries(d.add)) add[k] = (add[k] ?? 0) + v;
  }
  const detail: DoraDetail = {
    deployed: Math.min(1, Math.max(0, add.deployments ?? 0)),
    changeFailed: Math.min(1, Math.max(0, add.changeFailed ?? 0)),
    rework: figures.rework ?? 0,
    ...(figures.recoveryCount ? { recoverySeconds: Math.round((figures.recoveryMs ?? 0) / 1000) } : {}),
    ...(add.leadCount ? { leadTimeSeconds: Math.round((add.leadMs ?? 0) / add.leadCount / 1000) } : {}),
  };
  return { ops: deltas.map((delta) => ({ kind: 'metrics' as const, delta })), detail };
}

/**
 * A failed execute or verify. If the target was already changed, it is put back exactly as it was
 * (automatic rollback, one transaction) and the promotion ends ROLLED_BACK (event `Promotion Rolled
 * Back`): an artifact's restored version is committed to the environment's git target first, as a
 * promotion or a manual rollback would commit it. Otherwise (nothing changed, or nothing could be put
 * back) FAILED.
 */
