import type { NodeRef } from '../kernel/model.ts';
import { canonicalJson, sha256Hex } from '../kernel/canonical.ts';

/**
 * A content-addressed hash trie (HAMT) holding one kind of item (configs or
 * flags) of an environment snapshot.
 *
 * - Entries are placed by sha256(key), one hex nibble per level (16-way).
 * - A subtree with at most LEAF_MAX entries is a leaf; otherwise a branch.
 *   The shape is therefore a pure function of the set: the same set gives the
 *   same root whatever the order of insertion.
 * - Every node is stored once under the sha256 of its canonical JSON (its
 *   address), so snapshots share every unchanged node. Changing k keys writes
 *   O(k · depth) nodes; diffing two snapshots descends only where child
 *   content digests differ, so it reads O(k · depth) nodes.
 * - Each reference carries two digests: `a`, the storage address (covers the
 *   item metadata too), and `c`, the content digest, which covers only keys
 *   and values. Diffs and release digests use `c`, so two environments with the
 *   same keys and values have the same digest even if edited by different people.
 */
export const LEAF_MAX = 64;
/**
 * A leaf also splits when its keys and values pass this many bytes, so a node
 * stays well under DynamoDB's 400 KB item limit (values are at most 8 KB,
 * metadata is small). Only content counts, so the shape depends on content alone.
 */
export const LEAF_MAX_CONTENT_BYTES = 192 * 1024;
export const FANOUT = 16;

/** An item as stored in a leaf (short names keep nodes small). */
export interface StoredEntry {
  /** key */
  k: string;
  /** stable id */
  i: string;
  /** JSON value */
  v: unknown;
  /** description */
  d?: string;
  /** item version (optimistic locking) */
  n: number;
  /** updated at (ISO-8601) */
  at: string;
  /** updated by */
  by: string;
}

export interface LeafNode {
  t: 'L';
  e: StoredEntry[];
}
export interface BranchNode {
  t: 'B';
  c: (NodeRef | null)[];
}
export type TreeNode = LeafNode | BranchNode;

export type { NodeRef };

/** Where nodes are read from (a port: DynamoDB in production). */
export interface NodeSource {
  getNodes(addresses: string[]): Promise<Map<string, TreeNode>>;
}

const EMPTY_LEAF: LeafNode = { t: 'L', e: [] };
export const EMPTY_REF: NodeRef = refOf(EMPTY_LEAF);

export function keyHash(key: string): string {
  return sha256Hex(key);
}

function nibble(hash: string, depth: number): number {
  return parseInt(hash[depth] ?? '0', 16);
}

function contentDigest(node: TreeNode): string {
  if (node.t === 'L') return sha256Hex(canonicalJson(node.e.map((e) => [e.k, e.v])));
  return sha256Hex(canonicalJson(node.c.map((r) => (r ? r.c : null))));
}

function countOf(node: TreeNode): number {
  return node.t === 'L' ? node.e.length : node.c.reduce((s, r) => s + (r ? r.n : 0), 0);
}

export function refOf(node: TreeNode): NodeRef {
  return { a: sha256Hex(canonicalJson(node)), c: contentDigest(node), n: countOf(node) };
}

/** Collects the nodes an operation creates; the caller persists them before pointing at the new root. */
export class NodeSink {
  readonly nodes = new Map<string, TreeNode>();
  put(node: TreeNode): NodeRef {
    const ref = refOf(node);
    if (ref.n > 0) this.nodes.set(ref.a, node);
    return ref;
  }
}

/** Wraps a source so one operation never reads the same node twice. */
export function memoSource(source: NodeSource): NodeSource {
  const cache = new Map<string, TreeNode>();
  return {
    async getNodes(addresses) {
      const missing = [...new Set(addresses.filter((a) => !cache.has(a)))];
      if (missing.length > 0) for (const [a, n] of await source.getNodes(missing)) cache.set(a, n);
      const out = new Map<string, TreeNode>();
      for (const a of addresses) {
        const n = cache.get(a);
        if (!n) throw new Error(`tree node ${a} is missing`);
        out.set(a, n);
      }
      return out;
    },
  };
}

async function load(source: NodeSource, ref: NodeRef): Promise<TreeNode> {
  if (ref.n === 0) return EMPTY_LEAF;
  const node = (await source.getNodes([ref.a])).get(ref.a);
  if (!node) throw new Error(`tree node ${ref.a} is missing`);
  return node;
}

function sortEntries(entries: StoredEntry[]): StoredEntry[] {
  return entries
    .map((e) => [keyHash(e.k), e] as const)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([, e]) => e);
}

function contentBytes(entries: StoredEntry[]): number {
  let total = 0;
  for (const e of entries) total += e.k.length + canonicalJson(e.v).length;
  return total;
}

/** Whether a set of entries fits in one leaf (the rule that makes the shape canonical). */
function fitsLeaf(entries: StoredEntry[]): boolean {
  return entries.length <= LEAF_MAX && contentBytes(entries) <= LEAF_MAX_CONTENT_BYTES;
}

/** Builds the canonical subtree for a set of entries at a depth. */
function build(entries: StoredEntry[], depth: number, sink: NodeSink): NodeRef {
  if (fitsLeaf(entries) || depth >= 64) return sink.put({ t: 'L', e: sortEntries(entries) });
  const buckets: StoredEntry[][] = Array.from({ length: FANOUT }, () => []);
  for (const e of entries) buckets[nibble(keyHash(e.k), depth)]!.push(e);
  return sink.put({ t: 'B', c: buckets.map((b) => (b.length ? build(b, depth + 1, sink) : null)) });
}

/** Every entry of a subtree (used where the subtree is small, or the whole set is wanted). */
export async function collect(source: NodeSource, ref: NodeRef): Promise<StoredEntry[]> {
  const node = await load(source, ref);
  if (node.t === 'L') return node.e;
  const children = node.c.filter((r): r is NodeRef => r !== null);
  await source.getNodes(children.filter((r) => r.n > 0).map((r) => r.a));
  return (await Promise.all(children.map((r) => collect(source, r)))).flat();
}

/** Looks up entries by key. */
export async function lookup(source: NodeSource, root: NodeRef, keys: string[]): Promise<Map<string, StoredEntry>> {
  const found = new Map<string, StoredEntry>();
  await Promise.all(
    keys.map(async (key) => {
      const h = keyHash(key);
      let ref: NodeRef | null = root;
      for (let depth = 0; ref && ref.n > 0; depth++) {
        const node: TreeNode = await load(source, ref);
        if (node.t === 'L') {
          const e = node.e.find((x) => x.k === key);
          if (e) found.set(key, e);
          return;
        }
        ref = node.c[nibble(h, depth)] ?? null;
      }
    }),
  );
  return found;
}

/**
 * Applies changes (key → new entry, or null to delete) and returns the new
 * root. Only the nodes on the changed paths are read and rewritten.
 */
export async function applyChanges(source: NodeSource, root: NodeRef, changes: Map<string, StoredEntry | null>, sink: NodeSink): Promise<NodeRef> {
  const withHash = [...changes].map(([k, e]) => ({ k, h: keyHash(k), e }));
  return apply(source, root, withHash, 0, sink);
}

type Change = { k: string; h: string; e: StoredEntry | null };

async function apply(source: NodeSource, ref: NodeRef, changes: Change[], depth: number, sink: NodeSink): Promise<NodeRef> {
  if (changes.length === 0) return ref;
  const node = await load(source, ref);
  if (node.t === 'L') {
    const byKey = new Map(node.e.map((e) => [e.k, e]));
    for (const c of changes) {
      if (c.e) byKey.set(c.k, c.e);
      else byKey.delete(c.k);
    }
    return build([...byKey.values()], depth, sink);
  }
  const groups: Change[][] = Array.from({ length: FANOUT }, () => []);
  for (const c of changes) groups[nibble(c.h, depth)]!.push(c);
  const children = await Promise.all(node.c.map((child, i) => apply(source, child ?? EMPTY_REF, groups[i]!, depth + 1, sink)));
  const total = children.reduce((s, r) => s + r.n, 0);
  if (total <= LEAF_MAX) {
    // The subtree may have shrunk to leaf size: collapse it so the shape stays canonical.
    const entries = (await Promise.all(children.map((r) => collectWith(source, sink, r)))).flat();
    if (fitsLeaf(entries)) return sink.put({ t: 'L', e: sortEntries(entries) });
  }
  return sink.put({ t: 'B', c: children.map((r) => (r.n > 0 ? r : null)) });
}

/** Collects a subtree whose nodes may be freshly created (still in the sink). */
async function collectWith(source: NodeSource, sink: NodeSink, ref: NodeRef): Promise<StoredEntry[]> {
  const fresh = sink.nodes.get(ref.a);
  if (!fresh) return collect(source, ref);
  if (fresh.t === 'L') return fresh.e;
  return (await Promise.all(fresh.c.filter((r): r is NodeRef => r !== null).map((r) => collectWith(source, sink, r)))).flat();
}

export interface TreeDiff {
  /** only in `to` */
  added: StoredEntry[];
  /** only in `from` */
  removed: StoredEntry[];
  modified: { from: StoredEntry; to: StoredEntry }[];
  unchanged: number;
}

/**
 * Content diff from one tree to another. Subtrees with equal content digests
 * are skipped unread; the rest is walked level by level, with one batched read
 * per level, so the cost grows with the number of differing keys (times the
 * depth), not with the size of the sets.
 */
export async function diffTrees(source: NodeSource, from: NodeRef, to: NodeRef): Promise<TreeDiff> {
  const out: TreeDiff = { added: [], removed: [], modified: [], unchanged: 0 };
  let level: [NodeRef, NodeRef][] = [[from, to]];
  while (level.length > 0) {
    const next: [NodeRef, NodeRef][] = [];
    const small: [NodeRef, NodeRef][] = [];
    const pending: [NodeRef, NodeRef][] = [];
    for (const [a, b] of level) {
      if (a.c === b.c) out.unchanged += a.n;
      else if (a.n === 0) out.added.push(...(await collect(source, b)));
      else if (b.n === 0) out.removed.push(...(await collect(source, a)));
      else pending.push([a, b]);
    }
    const nodes = await source.getNodes(pending.flatMap(([a, b]) => [a.a, b.a]));
    for (const [a, b] of pending) {
      const na = nodes.get(a.a)!;
      const nb = nodes.get(b.a)!;
      if (na.t === 'B' && nb.t === 'B') {
        na.c.forEach((x, i) => next.push([x ?? EMPTY_REF, nb.c[i] ?? EMPTY_REF]));
      } else small.push([a, b]);
    }
    // A leaf on one side: that subtree is small, so compare entry maps directly.
    for (const [a, b] of small) compareEntries(await collect(source, a), await collect(source, b), out);
    level = next;
  }
  return out;
}

function compareEntries(ea: StoredEntry[], eb: StoredEntry[], out: TreeDiff): void {
  const mb = new Map(eb.map((e) => [e.k, e]));
  for (const e of ea) {
    const other = mb.get(e.k);
    if (!other) out.removed.push(e);
    else {
      if (canonicalJson(e.v) === canonicalJson(other.v)) out.unchanged++;
      else out.modified.push({ from: e, to: other });
      mb.delete(e.k);
    }
  }
  out.added.push(...mb.values());
}

/** One page of entries in trie order, after the key hash `after`. */
export async function listPage(source: NodeSource, root: NodeRef, limit: number, after?: string): Promise<{ entries: StoredEntry[]; next?: string }> {
  const entries: StoredEntry[] = [];
  await walk(source, root, 0, after, limit + 1, entries);
  const page = entries.slice(0, limit);
  return { entries: page, next: entries.length > limit ? keyHash(page[page.length - 1]!.k) : undefined };
}

async function walk(source: NodeSource, ref: NodeRef, depth: number, after: string | undefined, want: number, out: StoredEntry[]): Promise<void> {
  if (ref.n === 0 || out.length >= want) return;
  const node = await load(source, ref);
  if (node.t === 'L') {
    for (const e of node.e) {
      if (out.length >= want) return;
      if (after === undefined || keyHash(e.k) > after) out.push(e);
    }
    return;
  }
  const start = after === undefined ? 0 : nibble(after, depth);
  for (let i = start; i < FANOUT && out.length < want; i++) {
    const child = node.c[i];
    if (child) await walk(source, child, depth + 1, i === start ? after : undefined, want, out);
  }
}
