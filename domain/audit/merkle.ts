import { createHash } from 'node:crypto';

/**
 * The Merkle tree that lets one signature anchor many chains (as Certificate Transparency and
 * Sigstore Rekor anchor many entries): RFC 6962 §2.1 (RFC 9162 §2.1) with SHA-256, exactly, so an
 * auditor can use any implementation of it.
 *
 * - A leaf hash is SHA-256(0x00 ‖ leaf bytes), an interior node SHA-256(0x01 ‖ left ‖ right): the
 *   prefixes keep a node from ever passing for a leaf (a second-preimage of the tree's shape).
 * - The tree over n leaves splits at k, the largest power of two smaller than n: the left subtree
 *   holds leaves [0, k), the right [k, n). A single leaf is its own root.
 * - An inclusion proof (audit path) of leaf m is the sibling hashes from the leaf up to the root
 *   (PATH(m, D[n]) of RFC 6962 §2.1.1); `rootFromPath` is the verification of RFC 9162 §2.1.3.2.
 *
 * Hashes are lowercase hex (64 characters) here, as everywhere in the audit trail.
 */
export const LEAF_PREFIX = 0x00;
export const NODE_PREFIX = 0x01;

const HEX64 = /^[0-9a-f]{64}$/;
export const isHash = (v: unknown): v is string => typeof v === 'string' && HEX64.test(v);

export function leafHash(leaf: string | Buffer): string {
  return createHash('sha256').update(Buffer.of(LEAF_PREFIX)).update(leaf).digest('hex');
}

export function nodeHash(left: string, right: string): string {
  return createHash('sha256').update(Buffer.of(NODE_PREFIX)).update(Buffer.from(left, 'hex')).update(Buffer.from(right, 'hex')).digest('hex');
}

/** k of RFC 6962: the largest power of two smaller than n (n ≥ 2). */
function split(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** MTH(D[n]) over leaf hashes (n ≥ 1: an empty tree anchors nothing and is never signed). */
export function merkleRoot(leaves: readonly string[]): string {
  if (!leaves.length) throw new Error('a Merkle tree needs at least one leaf');
  if (leaves.length === 1) return leaves[0]!;
  const k = split(leaves.length);
  return nodeHash(merkleRoot(leaves.slice(0, k)), merkleRoot(leaves.slice(k)));
}

/** PATH(m, D[n]): the audit path of leaf `index`, from its sibling up. */
export function inclusionPath(leaves: readonly string[], index: number): string[] {
  if (!Number.isSafeInteger(index) || index < 0 || index >= leaves.length) throw new Error(`no leaf ${index} in a tree of ${leaves.length}`);
  if (leaves.length === 1) return [];
  const k = split(leaves.length);
  return index < k
    ? [...inclusionPath(leaves.slice(0, k), index), merkleRoot(leaves.slice(k))]
    : [...inclusionPath(leaves.slice(k), index - k), merkleRoot(leaves.slice(0, k))];
}

/** The root and every leaf's audit path in one pass (O(n log n)): what the anchor stores per chain. */
export function merkleTree(leaves: readonly string[]): { root: string; paths: string[][] } {
  if (!leaves.length) throw new Error('a Merkle tree needs at least one leaf');
  if (leaves.length === 1) return { root: leaves[0]!, paths: [[]] };
  const k = split(leaves.length);
  const left = merkleTree(leaves.slice(0, k));
  const right = merkleTree(leaves.slice(k));
  return { root: nodeHash(left.root, right.root), paths: [...left.paths.map((p) => [...p, right.root]), ...right.paths.map((p) => [...p, left.root])] };
}

/**
 * The root an audit path leads to from leaf `index` of a tree of `size` leaves (RFC 9162
 * §2.1.3.2), or null when the path cannot belong to such a tree (index out of range, a path too
 * short or too long, a sibling that is not a hash). The caller compares the result with the root
 * it was told: equal means the leaf is in that tree, at that index.
 */
export function rootFromPath(index: number, size: number, leaf: string, path: readonly unknown[]): string | null {
  if (!Number.isSafeInteger(size) || size < 1 || !Number.isSafeInteger(index) || index < 0 || index >= size || !isHash(leaf) || !Array.isArray(path))
    return null;
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const p of path) {
    if (!isHash(p) || sn === 0) return null;
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r);
      while (fn % 2 === 0 && fn !== 0) {
        fn = Math.floor(fn / 2);
        sn = Math.floor(sn / 2);
      }
    } else r = nodeHash(r, p);
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 ? r : null;
}
