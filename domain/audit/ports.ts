import type { AuditQuery } from '../kernel/schemas.ts';
import type { AnchorPublicKey, AuditEntry, ChainHead, ChainLink, Checkpoint, Page, SignedRoot, SignedStatement } from '../kernel/model.ts';
import type { StoredEntry } from './audit.ts';
import type { AuditDestination, AuditSenders, ShipCursor, StoredDestination } from './stream.ts';

/** The audit trail: entries (every commit writes one) and the hash chain the stream consumer links them into. */
export type AuditOp = { kind: 'audit'; entry: AuditEntry };

export interface AuditStorePort {
  queryAudit(tenant: string, query: AuditQuery): Promise<Page<AuditEntry>>;
  // ---- the audit chain (written by the stream consumer alone, see domain/audit/audit.ts)
  /** Links in sequence order, a page at a time (from link `fromSeq` on, when given). */
  readChainLinks(tenant: string, limit: number, cursor?: string, fromSeq?: number): Promise<Page<ChainLink>>;
  /** Entries by reference, each with a check of its index attributes against its content. */
  getAuditEntries(tenant: string, refs: string[]): Promise<Map<string, StoredEntry>>;
  /** References of every entry, in time order, a page at a time. */
  auditRefs(tenant: string, limit: number, cursor?: string): Promise<Page<string>>;
  /** The head, with the links of its append (`pending`) that may not be in the table yet. */
  chainHead(tenant: string): Promise<ChainHead | null>;
  /**
   * In one read: which of these entries are linked already (their marker is written), and which of
   * the head's pending links are not fully written yet (the link or its marker missing).
   */
  linkState(tenant: string, refs: string[], pending?: ChainLink[]): Promise<{ linked: Set<string>; unwritten: ChainLink[] }>;
  /** Writes links and their markers (plain puts: writing a link again writes the same content). */
  writeLinks(tenant: string, links: ChainLink[]): Promise<void>;
  /**
   * Moves the head, carrying the new links as pending, conditioned on the head read (WriteConflict
   * 'chain' otherwise); then writes the links and their markers.
   */
  appendLinks(tenant: string, previous: ChainHead | null, next: ChainHead, links: ChainLink[]): Promise<void>;
  /**
   * The anchor's durable to-do list, outside any tenant (the stream consumer alone touches it): a chain
   * the consumer linked and left for the interval's end is marked (once per chain and interval; a
   * newer mark never gives way to an older one), so a tick anchors it even when the consumer that
   * linked it is frozen or gone (domain/audit/log.ts anchorLeftTails).
   */
  markUnanchored(tenant: string, seq: number, at: string): Promise<void>;
  /** The marks, oldest chains first is not promised: at most `limit`. */
  unanchored(limit: number): Promise<UnanchoredMark[]>;
  /** Removes the mark once a signed checkpoint covers link `seq` (a newer mark stays). */
  clearUnanchored(tenant: string, seq: number): Promise<void>;
}

/**
 * The audit stream's destinations (domain/audit/stream.ts): each an item of its settings and sealed secrets, and an
 * item of its cursor (where shipping stands), so a settings write never moves the cursor and a shipper never
 * rewrites the settings.
 */
export interface AuditStreamRepo {
  listAuditDestinations(tenant: string): Promise<StoredDestination[]>;
  getAuditDestination(tenant: string, name: string): Promise<StoredDestination | null>;
  /** Writes the settings (conditioned on the version read; null: created), with its first cursor when created, and the audit entry: one transaction. */
  putAuditDestination(destination: AuditDestination, expectedVersion: number | null, cursor: ShipCursor | null, audit: AuditEntry): Promise<void>;
  deleteAuditDestination(destination: AuditDestination, audit: AuditEntry): Promise<void>;
  /** Writes the cursor if its rev is still `expectedRev` (with the audit entry, in one transaction, when given); false when it moved on. */
  moveAuditCursor(cursor: ShipCursor, expectedRev: number, audit?: AuditEntry): Promise<boolean>;
  /** Marks the tenant's stream as left behind (a destination that has not taken the chain's head), since `at`: the drain's to-do list. */
  markShipBacklog(tenant: string, at: string): Promise<void>;
  /** The tenants marked as left behind, at most `limit`. */
  shipBacklogs(limit: number): Promise<ShipBacklog[]>;
  /** Removes the tenant's mark if it is still the one marked at `at` (a newer mark stays). */
  clearShipBacklog(tenant: string, at: string): Promise<void>;
}

/** A tenant whose audit stream a shipper left behind, and since when it was marked. */
export interface ShipBacklog {
  tenant: string;
  at: string;
}

/** A chain left for the next anchor: its tenant, the link it had reached, and since when. */
export interface UnanchoredMark {
  tenant: string;
  seq: number;
  at: string;
}

/**
 * Signed checkpoints of the audit chain, kept outside the table: a KMS ECC_NIST_P256
 * key (Sign) + S3 Object Lock on AWS, a key file + append-only file locally. Only the
 * stream consumer may `sign` (a root: once per anchor interval, domain/audit/anchor.ts) and
 * `append` (each chain's checkpoint with its inclusion proof, under its tenant, so a tenant's
 * verify and export list only its own); verifiers `list`, and `verify` with the public key alone
 * (`publicKey`: what an auditor pins to verify an export offline).
 */
export interface AuditAnchor {
  /** the signature (ECDSA P-256 / SHA-256, DER, base64url) of rootMessage(root) */
  sign(root: SignedStatement): Promise<string>;
  /**
   * The signature (ECDSA P-256 / SHA-256, DER bytes) of a promotion's attestation (domain/attestation/, over its
   * DSSE PAE) with the TENANT's own attestation key, never the deployment's: that one signs only the Merkle
   * anchor over every chain (`sign`). The tenant's key is made on first use (a KMS key per tenant on AWS, a
   * key file per tenant locally). The stream consumer alone calls it, as it alone calls `sign`.
   */
  signBytes(tenant: string, message: Uint8Array): Promise<Uint8Array>;
  /**
   * The public half of the tenant's attestation key (what its attestations verify with; its keyId is the
   * envelopes' keyid), or null when the tenant has none yet (nothing attested). `create`: make it when there
   * is none (the signer, before its first signature).
   */
  tenantKey(tenant: string, create?: boolean): Promise<AnchorPublicKey | null>;
  append(checkpoint: Checkpoint): Promise<void>;
  /** the tenant's checkpoints (those at `fromSeq` or later when given: the anchor may return more), by seq */
  list(tenant: string, fromSeq?: number): Promise<Checkpoint[]>;
  /** a root's signature; a checkpoint's: its inclusion proof leads from its own leaf to its root, and the root's signature holds (never without a proof) */
  verify(signed: SignedRoot | Pick<Checkpoint, 'tenant' | 'seq' | 'hash' | 'at' | 'sig' | 'proof'>): Promise<boolean>;
  /** the deployment's key: it signs the Merkle anchor over every chain, and nothing else */
  publicKey(): Promise<AnchorPublicKey>;
}

/** The audit context's part of what a use case is given (domain/kernel/deps.ts): the chain in the store; the anchor that signs its checkpoints. */
declare module '../kernel/deps.ts' {
  interface Store extends AuditStorePort, AuditStreamRepo {}
  interface WriteOps {
    audit: AuditOp;
  }
  interface Ports {
    anchor: AuditAnchor;
    /** opens a destination's sender (functions/adapters/siem/senders.ts): the audit stream's shipper alone composes it */
    auditSenders: AuditSenders;
  }
}
