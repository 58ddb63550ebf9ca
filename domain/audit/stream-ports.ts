import type { AuditEntry, ChainLink } from '../kernel/model.ts';

/**
 * The audit stream into a tenant's SIEM (issue "Where the enterprise already works", part 3): every
 * audit entry, with its place in the tenant's hash chain, shipped in chain order to each destination
 * the tenant set, at least once. The domain (domain/audit/stream.ts) keeps a cursor per destination
 * and hands batches to a sender; senders (functions/adapters/siem/<kind>.ts) speak one product's
 * published ingestion API and hold no state of their own.
 */

/** The destinations Stageline ships to. */
export const AUDIT_DESTINATION_KINDS = ['splunk', 'datadog', 'otlp', 's3'] as const;
export type AuditDestinationKind = (typeof AUDIT_DESTINATION_KINDS)[number];

/** One audit entry as shipped: the entry (already as /audit shows it: nothing secret) and its chain link. */
export interface StreamedAuditEntry {
  tenant: string;
  /** the entry's sequence number in the tenant's chain (1, 2, …: no gaps) */
  seq: number;
  /** the chain hash after this entry, and the one before it */
  hash: string;
  prevHash: string;
  entryHash: string;
  entry: AuditEntry;
  link: Pick<ChainLink, 'linkedAt'>;
}

/** One destination's sender, opened with the destination's settings and its (opened) credential. */
export interface AuditSender {
  readonly kind: AuditDestinationKind;
  /**
   * Ships a batch (in seq order; at most a few hundred entries) and resolves once the destination has
   * taken all of it (Splunk HEC: acknowledged when the token asks for acknowledgement). Throws
   * `AuditSendUnavailable` for a transient answer (429, 5xx, a time-out: retried from the same
   * entry), `AuditSendRefused` for an answer a retry cannot change (401/403, a 400 naming a field).
   */
  send(batch: readonly StreamedAuditEntry[]): Promise<void>;
}

/** A transient answer: the batch is sent again later, from its first entry. */
export class AuditSendUnavailable extends Error {
  override readonly name = 'AuditSendUnavailable';
}

/** An answer a retry cannot change: the batch goes to the dead-letter record, said plainly. */
export class AuditSendRefused extends Error {
  override readonly name = 'AuditSendRefused';
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}
