import { createHash, createPublicKey, randomBytes, verify as verifySignature, type KeyObject } from 'node:crypto';
import { canonicalJson, sha256Hex } from '../kernel/canonical.ts';
import type { AnchorPublicKey, AuditEntry, ChainHead, ChainLink, Checkpoint, SignedRoot } from '../kernel/model.ts';
import { isHash, leafHash, rootFromPath } from './merkle.ts';

/**
 * The audit trail in two layers:
 *
 * 1. Every change writes an AuditEntry — a fact with a unique, time-ordered id —
 *    in the same transaction as the change. No tenant-wide item is touched, so
 *    writers to different environments never contend.
 * 2. One consumer of the table's stream (functions/handlers/stream.ts) links
 *    entries into a hash chain (ChainLink: seq, the entry's content hash, the
 *    previous link's hash) and, at most once per anchor interval, signs ONE
 *    Merkle root over the heads of every chain that moved (rootMessage,
 *    domain/audit/merkle.ts, anchor.ts) and writes each chain's checkpoint —
 *    its seq and hash, the signed root, its inclusion proof — outside the table
 *    (AuditAnchor: a KMS ECC_NIST_P256 key + S3 Object Lock on AWS, a key file +
 *    append-only file locally). It alone may sign; anyone holding the public key
 *    can verify (an auditor, offline).
 *    An append writes the head first — conditioned on the head it read, so of
 *    two racing appends one wins and the other re-reads — carrying the new
 *    links (`pending`), then the links and their markers with plain writes.
 *    Until they are in the table the head's pending links are part of the
 *    chain (pendingLinks, withPending); the next append writes any missing.
 *
 * `/audit/verify` walks the links, re-hashes every entry, compares the chain
 * with every checkpoint and reports entries not linked yet as pending.
 */
export const GENESIS_HASH = '0'.repeat(64);

export type AuditDraft = Omit<AuditEntry, 'id' | 'at' | 'tenant'>;

/** A new audit fact; `id` = time + randomness, so ids sort by time and never collide. */
export function auditEntry(tenant: string, draft: AuditDraft, now: Date): AuditEntry {
  const at = now.toISOString();
  return { ...draft, tenant, at, id: `${at.replace(/[-:.TZ]/g, '')}-${randomBytes(6).toString('hex')}` };
}

/** How a link names its entry (the entry's sort key without its prefix). */
export const entryRef = (e: Pick<AuditEntry, 'at' | 'id'>) => `${e.at}#${e.id}`;

export function entryHash(e: AuditEntry): string {
  return sha256Hex(canonicalJson(e));
}

export function linkHash(l: Omit<ChainLink, 'hash' | 'linkedAt'>): string {
  return sha256Hex(canonicalJson({ seq: l.seq, entry: l.entry, entryHash: l.entryHash, prevHash: l.prevHash }));
}

/** Links entries after `head`, in the order given. */
export function linkEntries(
  head: Pick<ChainHead, 'seq' | 'hash'> | null,
  entries: AuditEntry[],
  now: Date,
): { links: ChainLink[]; head: { seq: number; hash: string } } {
  let seq = head?.seq ?? 0;
  let prevHash = head?.hash ?? GENESIS_HASH;
  const links: ChainLink[] = [];
  for (const e of entries) {
    seq++;
    const body = { seq, entry: entryRef(e), entryHash: entryHash(e), prevHash };
    const link: ChainLink = { ...body, hash: linkHash(body), linkedAt: now.toISOString() };
    links.push(link);
    prevHash = link.hash;
  }
  return { links, head: { seq, hash: prevHash } };
}

/**
 * The head's pending links, when they hold: consecutive, each re-hashing to its hash and following
 * the previous one, the last at the head's seq and hash. [] without any; null when they do not
 * hold (the head was altered: its links are not believed).
 */
export function pendingLinks(head: ChainHead | null): ChainLink[] | null {
  const pending = head?.pending ?? [];
  if (!head || !pending.length) return [];
  for (const [i, l] of pending.entries()) {
    const prev = pending[i - 1];
    if (linkHash(l) !== l.hash || (prev && (l.seq !== prev.seq + 1 || l.prevHash !== prev.hash))) return null;
  }
  const last = pending.at(-1)!;
  return last.seq === head.seq && last.hash === head.hash ? pending : null;
}

/**
 * Merges the head's pending links into the links read from the table, a page at a time in sequence
 * order: a pending link fills the place of one not written yet (a link in the table wins: verify
 * checks it). `rest()` gives the pending links after the last one read.
 */
export function withPending(pending: ChainLink[]) {
  let next = 0;
  let last = 0;
  return {
    page(stored: ChainLink[]): ChainLink[] {
      const out: ChainLink[] = [];
      for (const l of stored) {
        // Stryker disable next-line EqualityOperator: a pending link at l's own seq left for later is never output (its seq is not above `last` from then on)
        for (; next < pending.length && pending[next]!.seq <= l.seq; next++) {
          const p = pending[next]!;
          // Stryker disable next-line ConditionalExpression,EqualityOperator: with links read in seq order, a pending link still unread is always above `last`
          if (p.seq < l.seq && p.seq > last) out.push(p);
        }
        out.push(l);
        last = l.seq;
      }
      return out;
    },
    rest(): ChainLink[] {
      // Stryker disable next-line MethodExpression,ConditionalExpression,EqualityOperator: the links from `next` on are exactly those above `last` (each page consumed every pending link up to it), so either half alone gives the same list
      const out = pending.slice(next).filter((p) => p.seq > last);
      next = pending.length;
      return out;
    },
  };
}

/**
 * The bytes of a chain's leaf in the tree of an anchor (hashed as leafHash: 0x00 ‖ these bytes).
 * seq is decimal and hash 64 hex characters, so the encoding read from its end is unambiguous
 * whatever the tenant's name holds; the label keeps a leaf from passing for any other message.
 */
export function chainLeaf(c: Pick<Checkpoint, 'tenant' | 'seq' | 'hash'>): string {
  return `stageline-audit-leaf:v3\n${c.tenant}\n${c.seq}\n${c.hash}`;
}

export const chainLeafHash = (c: Pick<Checkpoint, 'tenant' | 'seq' | 'hash'>) => leafHash(chainLeaf(c));

/** The exact bytes a root's signature covers (ECDSA P-256 with SHA-256 over these bytes): one signature for every chain anchored in the interval. */
export function rootMessage(r: Pick<SignedRoot, 'root' | 'size' | 'at'>): string {
  return `stageline-audit-root:v3\n${r.root}\n${r.size}\n${r.at}`;
}

/**
 * How every signature of the audit trail is made and checked, for an auditor to re-implement it:
 * what GET /audit/public-key answers as `signedMessage` and an export's header as `signing` (a
 * verifier refuses an export whose rule differs).
 */
export const CHECKPOINT_MESSAGE =
  'v3: ECDSA P-256 with SHA-256 (DER signature, base64url) over the UTF-8 bytes of "stageline-audit-root:v3\\n<root hex>\\n<tree size>\\n<at>"; ' +
  'root = RFC 6962 Merkle tree hash (SHA-256) of the chain heads anchored together, ordered by tenant: ' +
  'leaf = SHA-256(0x00 ‖ UTF-8 "stageline-audit-leaf:v3\\n<tenant>\\n<seq>\\n<hash>"), node = SHA-256(0x01 ‖ left ‖ right), ' +
  'the left subtree holding the largest power of two of leaves smaller than the size; ' +
  'a checkpoint is (tenant, seq, hash) with its leaf index and audit path (sibling hashes from the leaf up), verified as in RFC 9162 2.1.3.2 to lead to the signed root.';

/** A public key (PEM or DER SubjectPublicKeyInfo) as the checkpoint verifier takes it: P-256 only. */
export function checkpointPublicKey(key: string | Buffer | KeyObject): KeyObject {
  const k = typeof key === 'object' && 'asymmetricKeyType' in key ? key : createPublicKey(Buffer.isBuffer(key) ? { key, format: 'der', type: 'spki' } : key);
  // Stryker disable next-line ConditionalExpression,BlockStatement: a key object with an asymmetric type is public or private, and createPublicKey gives a public one (a secret key is refused by it), so the block is never entered
  if (k.type !== 'public' && k.type !== 'private') {
    // Stryker disable next-line StringLiteral,CallExpression: never reached (see above)
    throw new Error('not a public key');
  }
  const pub = k.type === 'private' ? createPublicKey(k) : k;
  // Stryker disable next-line OptionalChaining,ConditionalExpression: every asymmetric key has its details, and no key but an EC one names the curve prime256v1, so the curve test alone decides (a P-384 key is refused: audit-guards test)
  if (pub.asymmetricKeyType !== 'ec' || pub.asymmetricKeyDetails?.namedCurve !== 'prime256v1')
    throw new Error('the audit checkpoint key is an ECDSA P-256 public key');
  return pub;
}

/** The key as the API serves it and an auditor pins it: PEM, and `sha256:` of its DER SubjectPublicKeyInfo. */
export function describePublicKey(key: string | Buffer | KeyObject): AnchorPublicKey {
  const pub = checkpointPublicKey(key);
  const der = pub.export({ type: 'spki', format: 'der' });
  return {
    algorithm: 'ECDSA_SHA_256',
    curve: 'P-256',
    keyId: `sha256:${createHash('sha256').update(der).digest('hex')}`,
    publicKeyPem: String(pub.export({ type: 'spki', format: 'pem' })),
  };
}

const SIG = /^[A-Za-z0-9_-]{16,200}$/;

function signed(key: KeyObject, message: string, sig: unknown): boolean {
  // Stryker disable next-line ConditionalExpression: a value that is not a string never verifies (what passes SIG as text is not a signature's bytes, or throws); padded or non-base64url text is refused: audit-guards test
  if (typeof sig !== 'string' || !SIG.test(sig)) return false;
  try {
    return verifySignature('sha256', Buffer.from(message), { key, dsaEncoding: 'der' }, Buffer.from(sig, 'base64url'));
  } catch {
    return false;
  }
}

/** Whether the root's signature holds (and the root is a hash, its size a count, its time a time). Pure. */
export function rootSignatureValid(key: KeyObject, r: SignedRoot): boolean {
  return (
    isHash(r.root) &&
    Number.isSafeInteger(r.size) &&
    r.size >= 1 &&
    typeof r.at === 'string' &&
    !Number.isNaN(Date.parse(r.at)) &&
    signed(key, rootMessage(r), r.sig)
  );
}

/**
 * Why a checkpoint's proof does not put its (tenant, seq, hash) in its root, or null when it
 * does. The leaf is computed from the checkpoint's own tenant, seq and hash: another chain's proof
 * (another tenant's, or this one's at another link) leads elsewhere.
 */
export function proofProblem(c: Pick<Checkpoint, 'tenant' | 'seq' | 'hash' | 'proof'>): string | null {
  const p = c.proof;
  if (!p || typeof p !== 'object') return 'no inclusion proof';
  if (!isHash(p.root)) return 'its root is not a hash';
  // A place is an index in [0, size): so the size is at least 1.
  if (!Number.isSafeInteger(p.size) || !Number.isSafeInteger(p.index) || p.index < 0 || p.index >= p.size)
    return `leaf ${JSON.stringify(p.index)} of ${JSON.stringify(p.size)} is no place in a tree`;
  if (!Array.isArray(p.path) || !p.path.every(isHash)) return 'its audit path is not a list of hashes';
  if (typeof c.tenant !== 'string' || !Number.isSafeInteger(c.seq) || !isHash(c.hash)) return 'its tenant, seq or hash is malformed';
  const reached = rootFromPath(p.index, p.size, chainLeafHash(c), p.path);
  return reached === p.root ? null : 'its inclusion proof does not lead to its signed root (the proof belongs to another chain, link or tree, or was altered)';
}

/**
 * Whether a checkpoint holds with the public key alone: its proof leads from its own leaf to its
 * root and the root's signature holds. One without a proof never does. Pure: no service.
 */
export function checkpointValid(key: KeyObject, c: Pick<Checkpoint, 'tenant' | 'seq' | 'hash' | 'at' | 'sig' | 'proof'>): boolean {
  return proofProblem(c) === null && rootSignatureValid(key, { root: c.proof.root, size: c.proof.size, at: c.at, sig: c.sig });
}

/** What an anchor's `verify` checks: a signed root, or a checkpoint under one. */
export function signatureValid(key: KeyObject, s: SignedRoot | Pick<Checkpoint, 'tenant' | 'seq' | 'hash' | 'at' | 'sig' | 'proof'>): boolean {
  return 'root' in s ? rootSignatureValid(key, s) : checkpointValid(key, s);
}

export interface ChainCheck {
  ok: boolean;
  checked: number;
  head: { seq: number; hash: string } | null;
  firstBroken?: { seq: number; reason: string };
}

/** What a store hands back for a link's entry: the entry, and whether its index attributes still match its content. */
export interface StoredEntry {
  entry: AuditEntry;
  /** set when an index attribute (entity, actor, time) no longer matches the entry: it would be hidden from filtered queries */
  indexMismatch?: string;
}

/**
 * Walks links in sequence order and reports the first that does not hold:
 * a gap, a wrong previous hash, a link whose own hash was not recomputed, an
 * entry that is gone, altered, or re-indexed to hide from filtered queries.
 */
export function verifyChain(links: Iterable<ChainLink>, entries: Map<string, StoredEntry>, start: { seq: number; hash: string } | null = null): ChainCheck {
  let prev = start;
  let checked = 0;
  for (const l of links) {
    const expectedSeq = (prev?.seq ?? 0) + 1;
    const stored = entries.get(l.entry);
    let reason: string | undefined;
    if (l.seq !== expectedSeq) reason = `expected link ${expectedSeq}, found ${l.seq} (a link is missing or out of order)`;
    else if (l.prevHash !== (prev?.hash ?? GENESIS_HASH)) reason = 'prevHash does not match the previous link';
    else if (linkHash(l) !== l.hash) reason = 'link content does not match its hash (it was altered)';
    else if (!stored) reason = `entry ${l.entry} was removed`;
    else if (entryHash(stored.entry) !== l.entryHash) reason = `entry ${l.entry} does not match its hash (it was altered)`;
    else if (stored.indexMismatch) reason = `entry ${l.entry} was re-indexed (${stored.indexMismatch}): filtered queries would not find it`;
    if (reason) return { ok: false, checked, head: prev, firstBroken: { seq: expectedSeq, reason } };
    prev = { seq: l.seq, hash: l.hash };
    checked++;
  }
  return { ok: true, checked, head: prev };
}

export interface CheckpointCheck {
  ok: boolean;
  /** signed checkpoints found outside the table */
  count: number;
  /** the newest genuine one the chain was compared with */
  latestSeq: number;
  /** checkpoints whose signature does not verify (forged; ignored) */
  forged: number;
  firstBroken?: { seq: number; reason: string };
}

/**
 * Compares the chain with the signed checkpoints. `hashAt` has the chain's
 * hash at each checkpointed seq (absent when the chain is shorter). Every
 * checkpoint's signature is checked (with the public key: no service call), so
 * a forged checkpoint is never believed.
 */
export async function checkCheckpoints(
  checkpoints: Checkpoint[],
  hashAt: Map<number, string>,
  chainLength: number,
  sigValid: (c: Checkpoint) => Promise<boolean>,
): Promise<CheckpointCheck> {
  const sorted = [...checkpoints].sort((a, b) => a.seq - b.seq);
  let forged = 0;
  let agreed = 0;
  let latestSeq = 0;
  for (const c of sorted) {
    if (!(await sigValid(c))) {
      forged++;
      continue;
    }
    latestSeq = c.seq;
    if (hashAt.get(c.seq) === c.hash) {
      agreed = c.seq;
      continue;
    }
    const firstBroken =
      c.seq > chainLength
        ? { seq: chainLength + 1, reason: `a signed checkpoint of ${c.at} covers ${c.seq} entries but the chain has ${chainLength}: entries were cut off` }
        : {
            seq: agreed + 1,
            reason: `the chain at ${c.seq} disagrees with the signed checkpoint of ${c.at}: it was rewritten between entries ${agreed + 1} and ${c.seq}`,
          };
    return { ok: false, count: sorted.length, latestSeq, forged, firstBroken };
  }
  return { ok: true, count: sorted.length, latestSeq, forged };
}
