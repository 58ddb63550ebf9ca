import { v5 as uuidv5 } from 'uuid';
import { digestOf } from '../kernel/canonical.ts';
import { AlreadyExists, EnvironmentNotFound, ItemNotFound, ValidationFailed, VersionConflict, type Issue } from '../kernel/errors.ts';
import type { Environment, Item, ItemKind, Page } from '../kernel/model.ts';
import type { Ctx, Deps } from '../kernel/deps.ts';
import { type BatchItems, type CreateItem, type UpdateItem } from '../kernel/schemas.ts';
import { checkFlagValue } from './effective.ts';
import { listPage, lookup, memoSource, type NodeSource, type StoredEntry } from './tree.ts';

import { commit, headWrite, type Change } from './commit.ts';

/** Namespace for item ids: an id is derived from kind and key, so it is stable and the same in every environment. */
const ITEM_ID_NAMESPACE = '5b0d3c8e-8f1a-4f5e-9a51-2f7c8d0e6b11';

export function itemId(kind: ItemKind, key: string): string {
  return uuidv5(`${kind}:${key}`, ITEM_ID_NAMESPACE);
}

export function itemView(kind: ItemKind, e: StoredEntry): Item {
  return { id: e.i, kind, key: e.k, value: e.v, description: e.d ?? '', version: e.n, updatedAt: e.at, updatedBy: e.by };
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
  await headWrite(deps, ctx, envName, async () => {
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
  return headWrite(deps, ctx, envName, async () => {
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
  return headWrite(deps, ctx, envName, async () => {
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
