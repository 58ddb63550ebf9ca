import { canonicalJson, sha256Hex } from './canonical.ts';
import type { AuditEntry, AuditHead } from './model.ts';

export const GENESIS_HASH = '0'.repeat(64);

export type AuditDraft = Omit<AuditEntry, 'seq' | 'at' | 'prevHash' | 'hash' | 'tenant'>;

export function hashEntry(entry: Omit<AuditEntry, 'hash'>): string {
  return sha256Hex(canonicalJson(entry));
}

/**
 * Links a draft to the chain. Time never goes backwards along the chain, so
 * sequence order and time order agree (range queries rely on it).
 */
export function chainEntry(tenant: string, head: AuditHead | null, draft: AuditDraft, now: Date): AuditEntry {
  const nowIso = now.toISOString();
  const at = head && head.at > nowIso ? head.at : nowIso;
  const body = { ...draft, tenant, seq: (head?.seq ?? 0) + 1, at, prevHash: head?.hash ?? GENESIS_HASH };
  return { ...body, hash: hashEntry(body) };
}

export interface ChainCheck {
  ok: boolean;
  checked: number;
  head: { seq: number; hash: string } | null;
  firstBroken?: { seq: number; reason: string };
}

/** Walks entries in sequence order and reports the first link that does not hold. */
export function verifyChain(entries: Iterable<AuditEntry>, start: { seq: number; hash: string } | null = null): ChainCheck {
  let prev = start;
  let checked = 0;
  for (const e of entries) {
    const expectedSeq = (prev?.seq ?? 0) + 1;
    const { hash, ...body } = e;
    let reason: string | undefined;
    if (e.seq !== expectedSeq) reason = `expected entry ${expectedSeq}, found ${e.seq} (an entry is missing or out of order)`;
    else if (e.prevHash !== (prev?.hash ?? GENESIS_HASH)) reason = 'prevHash does not match the previous entry';
    else if (hashEntry(body) !== hash) reason = 'entry content does not match its hash (it was altered)';
    if (reason) return { ok: false, checked, head: prev, firstBroken: { seq: expectedSeq === e.seq ? e.seq : expectedSeq, reason } };
    prev = { seq: e.seq, hash: e.hash };
    checked++;
  }
  return { ok: true, checked, head: prev };
}
