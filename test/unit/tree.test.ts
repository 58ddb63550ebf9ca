import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyDiff, diffRoots } from '../../domain/config/snapshots.ts';
import {
  applyChanges,
  diffTrees,
  EMPTY_REF,
  LEAF_MAX,
  listPage,
  lookup,
  NodeSink,
  type NodeRef,
  type NodeSource,
  type StoredEntry,
  type TreeNode,
} from '../../domain/config/tree.ts';

/** A node store for tests that also counts reads. */
class MapSource implements NodeSource {
  readonly nodes = new Map<string, TreeNode>();
  reads = 0;
  async getNodes(addresses: string[]) {
    this.reads += addresses.length;
    return new Map(addresses.map((a) => [a, this.nodes.get(a)!] as const));
  }
  async apply(root: NodeRef, changes: [string, StoredEntry | null][]): Promise<NodeRef> {
    const sink = new NodeSink();
    const ref = await applyChanges(this, root, new Map(changes), sink);
    for (const [a, n] of sink.nodes) this.nodes.set(a, n);
    return ref;
  }
}

const entry = (k: string, v: unknown, by = 'tester'): StoredEntry => ({ k, i: `id-${k}`, v, n: 1, at: '2026-01-01T00:00:00.000Z', by });
const keyArb = fc.stringMatching(/^[a-z][a-z0-9.]{0,12}$/);
const valueArb = fc.oneof(fc.integer(), fc.string({ maxLength: 8 }), fc.boolean(), fc.constant(null), fc.array(fc.integer(), { maxLength: 3 }));
const setArb = fc.dictionary(keyArb, valueArb, { maxKeys: 150 });

async function build(src: MapSource, set: Record<string, unknown>, order: string[], batches: number) {
  let root = EMPTY_REF;
  const size = Math.max(1, Math.ceil(order.length / batches));
  for (let i = 0; i < order.length; i += size) {
    root = await src.apply(
      root,
      order.slice(i, i + size).map((k) => [k, entry(k, set[k])]),
    );
  }
  return root;
}

describe('snapshot trie', () => {
  it('gives the same digest for the same set whatever the insertion order and batching', async () => {
    await fc.assert(
      fc.asyncProperty(setArb, fc.integer({ min: 1, max: 7 }), fc.integer({ min: 0, max: 1000 }), async (set, batches, seed) => {
        const keys = Object.keys(set);
        const shuffled = [...keys].sort((a, b) => ((a.length * 31 + seed) % 7) - ((b.length * 31 + seed) % 7) || (a < b ? 1 : -1));
        const src = new MapSource();
        const a = await build(src, set, keys, 1);
        const b = await build(src, set, shuffled, batches);
        expect(b).toEqual(a);
      }),
      { numRuns: 60 },
    );
  });

  it('returns to the canonical shape after deletions (same root as building the smaller set directly)', async () => {
    await fc.assert(
      fc.asyncProperty(setArb, fc.func(fc.boolean()), async (set, keep) => {
        const src = new MapSource();
        const keys = Object.keys(set);
        const full = await build(src, set, keys, 3);
        const kept = keys.filter((k) => keep(k));
        const shrunk = await src.apply(
          full,
          keys.filter((k) => !kept.includes(k)).map((k) => [k, null]),
        );
        const direct = await build(src, set, kept, 1);
        expect(shrunk).toEqual(direct);
        expect(shrunk.n).toBe(kept.length);
      }),
      { numRuns: 60 },
    );
  });

  it('content digest ignores metadata; address does not', async () => {
    const src = new MapSource();
    const a = await src.apply(EMPTY_REF, [['k', entry('k', 1, 'alice')]]);
    const b = await src.apply(EMPTY_REF, [['k', entry('k', 1, 'bob')]]);
    expect(a.c).toBe(b.c);
    expect(a.a).not.toBe(b.a);
  });

  it('applying diff(a, b) to a gives b', async () => {
    await fc.assert(
      fc.asyncProperty(setArb, setArb, async (sa, sb) => {
        const src = new MapSource();
        const ra = { config: await build(src, sa, Object.keys(sa), 2), flag: EMPTY_REF };
        const rb = { config: await build(src, sb, Object.keys(sb), 2), flag: EMPTY_REF };
        const d = await diffRoots(src, ra, rb);
        const base = new Map(Object.entries(sa).map(([k, v]) => [`config:${k}`, v]));
        const expected = new Map(Object.entries(sb).map(([k, v]) => [`config:${k}`, v]));
        const result = applyDiff(base, d);
        expect(Object.fromEntries([...result].sort())).toEqual(Object.fromEntries([...expected].sort()));
        const common = Object.keys(sa).filter((k) => k in sb && JSON.stringify(sa[k]) === JSON.stringify(sb[k])).length;
        expect(d.unchanged).toBe(common);
      }),
      { numRuns: 80 },
    );
  });

  it('diffs two 5,000-key sets that differ in 5 keys by reading a small fraction of the nodes', async () => {
    const src = new MapSource();
    const set = Object.fromEntries(Array.from({ length: 5000 }, (_, i) => [`key.${i}`, i]));
    const a = await build(src, set, Object.keys(set), 1);
    const b = await src.apply(
      a,
      [0, 999, 2000, 3001, 4999].map((i) => [`key.${i}`, entry(`key.${i}`, -i - 1)]),
    );
    src.reads = 0;
    const d = await diffTrees(src, a, b);
    expect(d.modified.map((m) => m.to.k).sort()).toEqual(['key.0', 'key.2000', 'key.3001', 'key.4999', 'key.999']);
    expect(d.unchanged).toBe(4995);
    expect(src.nodes.size).toBeGreaterThan(5000 / LEAF_MAX);
    expect(src.reads).toBeLessThan(60);
  });

  it('pages through every entry exactly once', async () => {
    await fc.assert(
      fc.asyncProperty(setArb, fc.integer({ min: 1, max: 40 }), async (set, limit) => {
        const src = new MapSource();
        const root = await build(src, set, Object.keys(set), 1);
        const seen: string[] = [];
        let cursor: string | undefined;
        do {
          const page = await listPage(src, root, limit, cursor);
          expect(page.entries.length).toBeLessThanOrEqual(limit);
          seen.push(...page.entries.map((e) => e.k));
          cursor = page.next;
        } while (cursor);
        expect(seen.sort()).toEqual(Object.keys(set).sort());
      }),
      { numRuns: 40 },
    );
  });

  it('looks entries up by key', async () => {
    const src = new MapSource();
    const set = Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`k${i}`, i]));
    const root = await build(src, set, Object.keys(set), 4);
    const found = await lookup(src, root, ['k7', 'k299', 'missing']);
    expect(found.get('k7')?.v).toBe(7);
    expect(found.get('k299')?.v).toBe(299);
    expect(found.has('missing')).toBe(false);
  });
});
