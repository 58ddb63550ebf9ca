import { auditEntry } from '../audit/audit.ts';
import { breakGlassEvent, guardProtected } from './commit.ts';
import { canonicalJson } from '../kernel/canonical.ts';
import { EnvironmentNotFound, RuleViolation, SnapshotNotFound, ValidationFailed } from '../kernel/errors.ts';
import type { Environment, ItemKind, Page, Roots, Snapshot } from '../kernel/model.ts';
import type { Ctx, Deps } from '../kernel/deps.ts';
import { retryOnConflict } from '../kernel/retry.ts';
import { lineOf } from '../kernel/line.ts';
import { predecessorsOf } from './graph.ts';
import { diffTrees, memoSource, type NodeSource, type StoredEntry } from './tree.ts';

export function snapshotView(s: Snapshot) {
  const { roots, ...rest } = s;
  return { ...rest, id: `${s.environment}@${s.seq}`, configCount: roots.config.n, flagCount: roots.flag.n };
}

export async function listSnapshots(deps: Deps, ctx: Ctx, env: string, limit: number, cursor?: string): Promise<Page<Snapshot>> {
  const e = await deps.store.getEnvironment(ctx.principal.tenant, env);
  if (!e) throw new EnvironmentNotFound(env);
  const page = await deps.store.listSnapshots(ctx.principal.tenant, env, limit, cursor);
  // Newest first: once a snapshot of an earlier incarnation shows up, the rest are older still.
  const items = page.items.filter((s) => ownSnapshot(e, s.seq));
  return { items, nextCursor: items.length < page.items.length ? undefined : page.nextCursor };
}

/** Whether a snapshot seq belongs to this incarnation of the environment (a reused name hides the old ones). */
export function ownSnapshot(env: Environment, seq: number): boolean {
  return seq >= (env.firstSeq ?? 0);
}

export async function getSnapshot(deps: Deps, ctx: Ctx, env: string, seq: number): Promise<Snapshot> {
  const [s, e] = await Promise.all([deps.store.getSnapshot(ctx.principal.tenant, env, seq), deps.store.getEnvironment(ctx.principal.tenant, env)]);
  if (!e) throw new EnvironmentNotFound(env);
  if (!s || !ownSnapshot(e, seq)) throw new SnapshotNotFound(env, seq);
  return s;
}

/**
 * Points an environment back at an earlier snapshot: one conditional write of
 * the environment head (plus the new snapshot record and the audit entry in
 * the same transaction). No item is copied: the trie nodes are shared.
 */
export async function restoreSnapshot(deps: Deps, ctx: Ctx, env: string, seq: number, reason: string): Promise<Environment> {
  const { tenant, id: actor, name: actorName } = ctx.principal;
  const target = await getSnapshot(deps, ctx, env, seq);
  return retryOnConflict(deps.tunables, async () => {
    const current = await deps.store.getEnvironment(tenant, env);
    if (!current) throw new EnvironmentNotFound(env);
    // Pointing a protected environment at another snapshot is a direct write like any other.
    const glass = await guardProtected(deps, ctx, current, 'snapshot.restore');
    const now = deps.clock().toISOString();
    const next: Environment = {
      ...current,
      ...(glass ? { lastBreakGlass: glass } : {}),
      head: { seq: current.head.seq + 1, digest: target.digest, roots: target.roots },
      itemCount: target.itemCount,
      version: current.version + 1,
      updatedAt: now,
      updatedBy: actorName,
    };
    const snapshot: Snapshot = {
      environment: env,
      seq: next.head.seq,
      digest: target.digest,
      roots: target.roots,
      parentSeq: current.head.seq,
      itemCount: target.itemCount,
      createdAt: now,
      createdBy: actorName,
      change: { action: 'restore', keys: [], count: 0, restoredFrom: seq },
      reason,
    };
    const audit = auditEntry(
      tenant,
      {
        actor,
        actorName,
        action: glass ? 'breakglass.snapshot.restore' : 'snapshot.restore',
        entityType: 'snapshot',
        entityId: `${env}@${seq}`,
        reason: glass ? `break-glass: ${glass.reason} (${reason})` : reason,
        before: current.head.digest,
        after: target.digest,
        requestId: ctx.requestId,
      },
      deps.clock(),
    );
    await deps.store.commitSnapshot(next, current, snapshot, audit, glass ? [breakGlassEvent(tenant, env, glass)] : []);
    return next;
  });
}

export interface KeyedValue {
  kind: ItemKind;
  key: string;
  value: unknown;
}

/** A content diff between two config sets, in the shape of the environment diff API. */
export interface SetDiff {
  added: KeyedValue[];
  modified: { kind: ItemKind; key: string; fromValue: unknown; toValue: unknown }[];
  removed: KeyedValue[];
  unchanged: number;
}

const byKindKey = (a: { kind: string; key: string }, b: { kind: string; key: string }) =>
  a.kind === b.kind ? (a.key < b.key ? -1 : a.key > b.key ? 1 : 0) : a.kind < b.kind ? -1 : 1;

/** Diff from one pair of roots to another; reads only the nodes under differing digests. */
export async function diffRoots(source: NodeSource, from: Roots, to: Roots): Promise<SetDiff> {
  const out: SetDiff = { added: [], modified: [], removed: [], unchanged: 0 };
  for (const kind of ['config', 'flag'] as const) {
    const d = await diffTrees(source, from[kind], to[kind]);
    const kv = (e: StoredEntry) => ({ kind, key: e.k, value: e.v });
    out.added.push(...d.added.map(kv));
    out.removed.push(...d.removed.map(kv));
    out.modified.push(...d.modified.map((m) => ({ kind, key: m.to.k, fromValue: m.from.v, toValue: m.to.v })));
    out.unchanged += d.unchanged;
  }
  out.added.sort(byKindKey);
  out.removed.sort(byKindKey);
  out.modified.sort(byKindKey);
  return out;
}

/**
 * Environment diff: what promoting `source` onto `target` would
 * change. `added` are keys only in source, `removed` only in target.
 */
export async function diffEnvironments(deps: Deps, ctx: Ctx, source: string, target: string) {
  const { tenant } = ctx.principal;
  const [s, t] = await Promise.all([deps.store.getEnvironment(tenant, source), deps.store.getEnvironment(tenant, target)]);
  if (!s) throw new EnvironmentNotFound(source);
  if (!t) throw new EnvironmentNotFound(target);
  const d = await diffRoots(memoSource(deps.store.nodes(tenant)), t.head.roots, s.head.roots);
  return {
    sourceEnvironment: source,
    targetEnvironment: target,
    sourceSnapshot: { seq: s.head.seq, digest: s.head.digest },
    targetSnapshot: { seq: t.head.seq, digest: t.head.digest },
    added: d.added,
    modified: d.modified.map((m) => ({ kind: m.kind, key: m.key, sourceValue: m.toValue, targetValue: m.fromValue })),
    removed: d.removed,
    unchanged: d.unchanged,
  };
}

/**
 * An environment against the environments it comes after (domain/config/graph.ts predecessorsOf: its
 * `after`, or the one before it by position): one diff per predecessor, each what promoting it onto
 * this environment would change; `against` keeps the one it names (a predecessor, else 400). A join
 * so shows what each branch would bring; the first environment of the line has none.
 */
export async function diffPredecessors(deps: Deps, ctx: Ctx, name: string, against?: string) {
  const line = lineOf(await deps.store.listEnvironments(ctx.principal.tenant));
  const env = line.find((e) => e.name === name);
  if (!env) throw new EnvironmentNotFound(name);
  const after = predecessorsOf(env, line);
  // A well-formed name that is not one of its predecessors: the line refuses it (422), as a promotion from there is refused.
  if (against !== undefined && !after.includes(against)) {
    throw new RuleViolation(
      after.length
        ? `'${name}' comes after ${after.map((a) => `'${a}'`).join(' and ')}, not '${against}': diff against one of them`
        : `'${name}' is the first environment of the line: it comes after none`,
    );
  }
  const diffs = await Promise.all((against ? [against] : after).map((source) => diffEnvironments(deps, ctx, source, name)));
  return { environment: name, after, afterMode: env.afterMode ?? 'all', diffs };
}

export function parseSnapshotRef(ref: string): { environment: string; seq: number } {
  const at = ref.lastIndexOf('@');
  const seq = Number(ref.slice(at + 1));
  if (at < 1 || !Number.isInteger(seq)) throw new ValidationFailed([{ path: 'ref', message: `'${ref}' is not <environment>@<seq>` }]);
  return { environment: ref.slice(0, at), seq };
}

/** Diff between any two snapshots (of one environment or of two). */
export async function diffSnapshots(deps: Deps, ctx: Ctx, fromRef: string, toRef: string) {
  const a = parseSnapshotRef(fromRef);
  const b = parseSnapshotRef(toRef);
  const [from, to] = await Promise.all([getSnapshot(deps, ctx, a.environment, a.seq), getSnapshot(deps, ctx, b.environment, b.seq)]);
  const d = await diffRoots(memoSource(deps.store.nodes(ctx.principal.tenant)), from.roots, to.roots);
  return { from: { id: fromRef, digest: from.digest }, to: { id: toRef, digest: to.digest }, ...d };
}

/** Applies a diff to a plain key→value map (used by tests and dry-runs to show the result). */
export function applyDiff(base: Map<string, unknown>, d: SetDiff): Map<string, unknown> {
  const out = new Map(base);
  for (const a of d.added) out.set(`${a.kind}:${a.key}`, a.value);
  for (const m of d.modified) out.set(`${m.kind}:${m.key}`, m.toValue);
  for (const r of d.removed) out.delete(`${r.kind}:${r.key}`);
  return out;
}

export const sameValue = (a: unknown, b: unknown) => canonicalJson(a) === canonicalJson(b);
