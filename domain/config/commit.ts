import { auditEntry } from '../audit/audit.ts';
import { digestOf } from '../kernel/canonical.ts';
import { OutOfTime } from '../kernel/errors.ts';
import type { Environment, ItemKind, Roots, Snapshot } from '../kernel/model.ts';
import type { Ctx, Deps } from '../kernel/deps.ts';
import type { DomainEvent } from '../kernel/ports.ts';
import { newEvent } from '../kernel/events.ts';
import { breakGlass, isProtected, requestedBreakGlass } from '../freeze/break-glass.ts';
import type { BreakGlassUse } from '../kernel/model.ts';
import { guardFreeze } from '../freeze/windows.ts';
import { lineOf } from '../kernel/line.ts';
import { retryOnConflict, serialised } from '../kernel/retry.ts';
import { MAX_BATCH_ITEMS } from '../kernel/schemas.ts';
import { applyChanges, NodeSink, type NodeSource, type StoredEntry } from './tree.ts';

/**
 * How an environment's configuration changes: every write of configs and flags (items.ts, batches,
 * rollbacks of a snapshot) moves the environment's head to a new snapshot through `commit`, guarded by
 * protection, freeze windows and break-glass, one head write at a time per environment.
 */
export function rootsDigest(roots: Roots): string {
  return digestOf({ config: roots.config.c, flag: roots.flag.c });
}

export type Change = { kind: ItemKind; key: string; entry: StoredEntry | null };

/**
 * The next snapshot of an environment for new roots, and the environment
 * pointing at it (version bumped): what every head move writes together.
 */
export function advanceHead(
  env: Environment,
  roots: Roots,
  by: string,
  now: string,
  change: Snapshot['change'],
  reason?: string,
): { snapshot: Snapshot; env: Environment } {
  const seq = env.head.seq + 1;
  const digest = rootsDigest(roots);
  const itemCount = roots.config.n + roots.flag.n;
  const snapshot: Snapshot = { environment: env.name, seq, digest, roots, parentSeq: env.head.seq, itemCount, createdAt: now, createdBy: by, change, reason };
  return { snapshot, env: { ...env, head: { seq, digest, roots }, itemCount, version: env.version + 1, updatedAt: now, updatedBy: by } };
}

export interface CommitPlan {
  changes: Change[];
  action: Snapshot['change']['action'];
  auditAction: string;
  entityType: 'config' | 'flag' | 'snapshot';
  entityId: string;
  reason?: string;
}

/**
 * Writes a new snapshot of an environment: new trie nodes first (content
 * addressed, so harmless if the commit then loses), then one transaction that
 * moves the environment head (conditioned on its version), records the snapshot
 * and appends the audit entry.
 */
export async function commit(deps: Deps, ctx: Ctx, env: Environment, source: NodeSource, plan: CommitPlan): Promise<Environment> {
  const { tenant, id: actor, name: actorName } = ctx.principal;
  const glass = await guardProtected(deps, ctx, env, plan.auditAction);
  const sink = new NodeSink();
  const roots: Roots = { ...env.head.roots };
  for (const kind of ['config', 'flag'] as const) {
    const mine = plan.changes.filter((c) => c.kind === kind);
    if (mine.length) roots[kind] = await applyChanges(source, roots[kind], new Map(mine.map((c) => [c.key, c.entry])), sink);
  }
  const now = deps.clock().toISOString();
  const { snapshot, env: next } = advanceHead(
    env,
    roots,
    actorName,
    now,
    { action: plan.action, keys: plan.changes.slice(0, 20).map((c) => `${c.kind}:${c.key}`), count: plan.changes.length },
    glass ? `break-glass: ${glass.reason}${plan.reason ? ` (${plan.reason})` : ''}` : plan.reason,
  );
  if (glass) next.lastBreakGlass = glass;
  const digest = snapshot.digest;
  await deps.store.putNodes(tenant, sink.nodes);
  const newIds = plan.changes.filter((c) => c.entry && c.entry.n === 1).map((c) => ({ id: c.entry!.i, kind: c.kind, key: c.key }));
  if (newIds.length) await deps.store.putItemIds(tenant, newIds);
  const audit = auditEntry(
    tenant,
    {
      actor,
      actorName,
      action: glass ? `breakglass.${plan.auditAction}` : plan.auditAction,
      entityType: plan.entityType,
      entityId: plan.entityId,
      reason: glass ? `break-glass: ${glass.reason}` : plan.reason,
      before: env.head.digest,
      after: digest,
      requestId: ctx.requestId,
    },
    deps.clock(),
  );
  // The point of no return: commit only with time left to answer. A request cut off after it
  // committed would be reported as failed although it was saved; before, nothing is saved.
  if (ctx.timeLeft && ctx.timeLeft() < COMMIT_RESERVE_MS) {
    throw new OutOfTime(
      `This write ran out of time before it was saved: nothing changed. Send fewer items per request (a batch holds at most ${MAX_BATCH_ITEMS}) and retry`,
    );
  }
  await deps.store.commitSnapshot(next, env, snapshot, audit, glass ? [breakGlassEvent(tenant, env.name, glass)] : []);
  return next;
}

/**
 * A direct write (not a promotion or rollback) to an environment. A freeze window over it stops the
 * write (domain/freeze/windows.ts); a protected environment (flagged, or the last of the line) changes only
 * through a promotion or a rollback. Either passes only as an admin break-glass with a reason
 * (domain/freeze/break-glass.ts); one break-glass covers both.
 */
/** What a commit keeps in hand to write the snapshot and answer: it does not start with less time left. */
export const COMMIT_RESERVE_MS = 3000;

export async function guardProtected(deps: Deps, ctx: Ctx, env: Environment, action: string): Promise<BreakGlassUse | null> {
  // Asked to break glass: admins only, whether or not this environment is protected (one answer everywhere).
  requestedBreakGlass(ctx, 'protected-environment', action, deps.clock());
  const frozen = await guardFreeze(deps, ctx, env.name, action);
  if (frozen) return frozen;
  // Setting a new environment up is not an incident: its first content, from the operator's setup code.
  if (ctx.setup && env.head.seq === (env.firstSeq ?? 0)) return null;
  if (!isProtected(env, await lineFor(deps, ctx, env.tenant))) return null;
  return breakGlass(
    ctx,
    'protected-environment',
    action,
    `'${env.name}' is a protected environment: it changes only through a promotion or a rollback`,
    deps.clock(),
  );
}

/** What a queued write keeps in hand once its turn comes (reads, the trie, the commit, the answer): it waits no longer than its time less this. */
export const WRITE_RESERVE_MS = 8000;

/**
 * A write that moves an environment's head: queued per environment in this process, retried on conflict with others.
 * A request that would still be waiting when too little of its time is left gives up in the queue (503 with
 * Retry-After, nothing changed) rather than be cut off by its deadline with its outcome unknown.
 */
export function headWrite<T>(deps: Deps, ctx: Ctx, env: string, step: () => Promise<T>): Promise<T> {
  const budget = ctx.timeLeft ? ctx.timeLeft() - WRITE_RESERVE_MS : undefined;
  return serialised(`${ctx.principal.tenant}/${env}`, () => retryOnConflict(deps.tunables, step), budget);
}

/** The line of environments, read once per request: retries of a write re-read only the environment itself. */
const lines = new WeakMap<Ctx, Promise<Environment[]>>();

export function lineFor(deps: Deps, ctx: Ctx, tenant: string): Promise<Environment[]> {
  let line = lines.get(ctx);
  if (!line) {
    line = deps.store.listEnvironments(tenant).then(lineOf);
    lines.set(ctx, line);
  }
  return line;
}

/** Tells notifications (and operators) that glass was broken: an outbox event committed with the change. */
export function breakGlassEvent(tenant: string, environment: string, glass: BreakGlassUse, promotionId?: string): DomainEvent {
  return newEvent('Break Glass Used', tenant, {
    tenant,
    environment,
    guard: glass.guard,
    action: glass.action,
    actor: glass.by,
    reason: glass.reason,
    ...(promotionId ? { promotionId } : {}),
    at: glass.at,
  });
}
