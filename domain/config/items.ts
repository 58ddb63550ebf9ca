import { v5 as uuidv5 } from 'uuid';
import { auditEntry } from '../audit/audit.ts';
import { digestOf } from '../kernel/canonical.ts';
import { AlreadyExists, EnvironmentNotFound, ItemNotFound, OutOfTime, ValidationFailed, VersionConflict, type Issue } from '../kernel/errors.ts';
import type { Environment, Item, ItemKind, Page, Roots, Snapshot } from '../kernel/model.ts';
import type { Ctx, Deps } from '../ports.ts';
import type { DomainEvent } from '../kernel/ports.ts';
import { newEvent } from '../kernel/events.ts';
import { breakGlass, isProtected, requestedBreakGlass, type BreakGlassUse } from '../freeze/break-glass.ts';
import { guardFreeze } from '../freeze/windows.ts';
import { lineOf } from '../kernel/line.ts';
import { retryOnConflict, serialised } from '../kernel/retry.ts';
import { MAX_BATCH_ITEMS, type BatchItems, type CreateItem, type UpdateItem } from '../kernel/schemas.ts';
import { checkFlagValue } from './effective.ts';
import { applyChanges, listPage, lookup, memoSource, NodeSink, type NodeSource, type StoredEntry } from './tree.ts';

/** Namespace for item ids: an id is derived from kind and key, so it is stable and the same in every environment. */
const ITEM_ID_NAMESPACE = '5b0d3c8e-8f1a-4f5e-9a51-2f7c8d0e6b11';

export function itemId(kind: ItemKind, key: string): string {
  return uuidv5(`${kind}:${key}`, ITEM_ID_NAMESPACE);
}

export function rootsDigest(roots: Roots): string {
  return digestOf({ config: roots.config.c, flag: roots.flag.c });
}

export function itemView(kind: ItemKind, e: StoredEntry): Item {
  return { id: e.i, kind, key: e.k, value: e.v, description: e.d ?? '', version: e.n, updatedAt: e.at, updatedBy: e.by };
}

type Change = { kind: ItemKind; key: string; entry: StoredEntry | null };

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

interface CommitPlan {
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
async function commit(deps: Deps, ctx: Ctx, env: Environment, source: NodeSource, plan: CommitPlan): Promise<Environment> {
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
  if (!isProtected(env, await lineFor(deps, ctx, env.tenant))) return null;
  return breakGlass(
    ctx,
    'protected-environment',
    action,
    `'${env.name}' is a protected environment: it changes only through a promotion or a rollback`,
    deps.clock(),
  );
}

/** A write that moves an environment's head: queued per environment in this process, retried on conflict with others. */
function headWrite<T>(deps: Deps, tenant: string, env: string, step: () => Promise<T>): Promise<T> {
  return serialised(`${tenant}/${env}`, () => retryOnConflict(deps.tunables, step));
}

/** The line of environments, read once per request: retries of a write re-read only the environment itself. */
const lines = new WeakMap<Ctx, Promise<Environment[]>>();
function lineFor(deps: Deps, ctx: Ctx, tenant: string): Promise<Environment[]> {
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

async function loadEnv(deps: Deps, tenant: string, name: string): Promise<Environment> {
  const env = await deps.store.getEnvironment(tenant, name);
  if (!env) throw new EnvironmentNotFound(name);
  return env;
}

async function resolveId(deps: Deps, ctx: Ctx, kind: ItemKind, env: string, id: string): Promise<string> {
  const ref = await deps.store.getItemId(ctx.principal.tenant, id);
  if (!ref || ref.kind !== kind) throw new ItemNotFound(kind, id, env);
  return ref.key;
}

function entry(key: string, kind: ItemKind, value: unknown, description: string | undefined, n: number, at: string, by: string): StoredEntry {
  // A flag may hold a fractional rollout instead of one value (domain/config/effective.ts): checked as it is written.
  if (kind === 'flag') checkFlagValue(value);
  return { k: key, i: itemId(kind, key), v: value, ...(description ? { d: description } : {}), n, at, by };
}

export async function createItem(deps: Deps, ctx: Ctx, kind: ItemKind, envName: string, input: CreateItem): Promise<Item> {
  const { tenant, name: by } = ctx.principal;
  let created!: StoredEntry;
  // Trie nodes are immutable: a retry re-reads only the environment head and the nodes it has not seen.
  const source = memoSource(deps.store.nodes(tenant));
  await headWrite(deps, tenant, envName, async () => {
    const env = await loadEnv(deps, tenant, envName);
    const existing = (await lookup(source, env.head.roots[kind], [input.key])).get(input.key);
    if (existing) {
      throw new AlreadyExists(`${kind} '${input.key}' already exists in '${envName}' (id ${existing.i}); change it with PUT`, { id: existing.i });
    }
    created = entry(input.key, kind, input.value, input.description, 1, deps.clock().toISOString(), by);
    await commit(deps, ctx, env, source, {
      changes: [{ kind, key: input.key, entry: created }],
      action: 'set',
      auditAction: `${kind}.create`,
      entityType: kind,
      entityId: `${envName}/${input.key}`,
      reason: input.reason,
    });
  });
  return itemView(kind, created);
}

export async function getItem(deps: Deps, ctx: Ctx, kind: ItemKind, envName: string, id: string): Promise<Item> {
  const { tenant } = ctx.principal;
  const [env, key] = await Promise.all([loadEnv(deps, tenant, envName), resolveId(deps, ctx, kind, envName, id)]);
  const found = (await lookup(deps.store.nodes(tenant), env.head.roots[kind], [key])).get(key);
  if (!found) throw new ItemNotFound(kind, id, envName);
  return itemView(kind, found);
}

/**
 * Changes one existing item: resolves its id, then (retried on a lost head) reads the environment and
 * the item, checks the version the caller read, and runs `change` with them.
 */
async function changeItem<T>(
  deps: Deps,
  ctx: Ctx,
  kind: ItemKind,
  envName: string,
  id: string,
  version: number | undefined,
  change: (env: Environment, source: NodeSource, key: string, current: StoredEntry) => Promise<T>,
): Promise<T> {
  const { tenant } = ctx.principal;
  const key = await resolveId(deps, ctx, kind, envName, id);
  // Trie nodes are immutable: a retry re-reads only the environment head and the nodes it has not seen.
  const source = memoSource(deps.store.nodes(tenant));
  return headWrite(deps, tenant, envName, async () => {
    const env = await loadEnv(deps, tenant, envName);
    const current = (await lookup(source, env.head.roots[kind], [key])).get(key);
    if (!current) throw new ItemNotFound(kind, id, envName);
    if (version !== undefined && version !== current.n) {
      throw new VersionConflict(`${kind} '${key}' is at version ${current.n}, not ${version}; read it again`, { currentVersion: current.n });
    }
    return change(env, source, key, current);
  });
}

export async function updateItem(deps: Deps, ctx: Ctx, kind: ItemKind, envName: string, id: string, input: UpdateItem): Promise<Item> {
  return changeItem(deps, ctx, kind, envName, id, input.version, async (env, source, key, current) => {
    const description = input.description ?? current.d;
    if (digestOf(current.v) === digestOf(input.value) && description === current.d) return itemView(kind, current);
    const next = entry(key, kind, input.value, description, current.n + 1, deps.clock().toISOString(), ctx.principal.name);
    await commit(deps, ctx, env, source, {
      changes: [{ kind, key, entry: next }],
      action: 'set',
      auditAction: `${kind}.update`,
      entityType: kind,
      entityId: `${envName}/${key}`,
      reason: input.reason,
    });
    return itemView(kind, next);
  });
}

export async function deleteItem(
  deps: Deps,
  ctx: Ctx,
  kind: ItemKind,
  envName: string,
  id: string,
  opts: { version?: number; reason?: string },
): Promise<void> {
  await changeItem(deps, ctx, kind, envName, id, opts.version, (env, source, key) =>
    commit(deps, ctx, env, source, {
      changes: [{ kind, key, entry: null }],
      action: 'delete',
      auditAction: `${kind}.delete`,
      entityType: kind,
      entityId: `${envName}/${key}`,
      reason: opts.reason,
    }),
  );
}

export async function listItems(deps: Deps, ctx: Ctx, kind: ItemKind, envName: string, limit: number, cursor?: string): Promise<Page<Item>> {
  if (cursor !== undefined && !/^[0-9a-f]{64}$/.test(cursor)) {
    throw new ValidationFailed([{ path: 'query.cursor', message: 'is not a cursor this API returned' }]);
  }
  const env = await loadEnv(deps, ctx.principal.tenant, envName);
  const page = await listPage(deps.store.nodes(ctx.principal.tenant), env.head.roots[kind], limit, cursor);
  return { items: page.entries.map((e) => itemView(kind, e)), nextCursor: page.next };
}

export interface BatchResult {
  environment: string;
  snapshot: { seq: number; digest: string };
  created: number;
  updated: number;
  deleted: number;
  unchanged: number;
  notFound: number;
}

/** Sets and deletes many items as one snapshot (one atomic head move). */
export async function batchItems(deps: Deps, ctx: Ctx, envName: string, input: BatchItems): Promise<BatchResult> {
  const { tenant, name: by } = ctx.principal;
  // Each key once per batch, across set and delete; an issue names the entry as the request has it (set.2, delete.0).
  const seen = new Set<string>();
  const dupes: Issue[] = [];
  for (const [field, list] of [
    ['set', input.set],
    ['delete', input.delete],
  ] as const) {
    list.forEach(({ kind, key }, i) => {
      const id = `${kind}:${key}`;
      if (seen.has(id)) dupes.push({ path: `${field}.${i}`, message: `${kind} '${key}' is already in this batch: set or delete each key once` });
      seen.add(id);
    });
  }
  if (dupes.length) throw new ValidationFailed(dupes);
  // Trie nodes are immutable: a retry re-reads only the environment head and the nodes it has not seen.
  const source = memoSource(deps.store.nodes(tenant));
  return headWrite(deps, tenant, envName, async () => {
    const env = await loadEnv(deps, tenant, envName);
    const now = deps.clock().toISOString();
    const result: BatchResult = {
      environment: envName,
      snapshot: { seq: env.head.seq, digest: env.head.digest },
      created: 0,
      updated: 0,
      deleted: 0,
      unchanged: 0,
      notFound: 0,
    };
    const changes: Change[] = [];
    for (const kind of ['config', 'flag'] as const) {
      const sets = input.set.filter((s) => s.kind === kind);
      const dels = input.delete.filter((d) => d.kind === kind);
      const existing = await lookup(source, env.head.roots[kind], [...sets.map((s) => s.key), ...dels.map((d) => d.key)]);
      for (const s of sets) {
        const cur = existing.get(s.key);
        const description = s.description ?? cur?.d;
        if (cur && digestOf(cur.v) === digestOf(s.value) && cur.d === description) {
          result.unchanged++;
          continue;
        }
        cur ? result.updated++ : result.created++;
        changes.push({ kind, key: s.key, entry: entry(s.key, kind, s.value, description, (cur?.n ?? 0) + 1, now, by) });
      }
      for (const d of dels) {
        if (!existing.has(d.key)) result.notFound++;
        else {
          result.deleted++;
          changes.push({ kind, key: d.key, entry: null });
        }
      }
    }
    if (changes.length === 0) return result;
    const next = await commit(deps, ctx, env, source, {
      changes,
      action: 'batch',
      auditAction: 'items.batch',
      entityType: 'snapshot',
      entityId: envName,
      reason: input.reason,
    });
    return { ...result, snapshot: { seq: next.head.seq, digest: next.head.digest } };
  });
}
