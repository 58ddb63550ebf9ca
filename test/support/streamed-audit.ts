import { auditEntry, entryHash, entryRef, linkHash } from '../../domain/audit/audit.ts';
import type { StreamedAuditEntry } from '../../domain/audit/stream-ports.ts';

/**
 * A run of a tenant's audit chain as the stream ships it (domain/audit/stream-ports.ts): real entries,
 * linked by the chain's own hashes, seq `from`, `from + 1`, …; `reason` (optional) pads an entry, to reach a size.
 */
export function streamedChain(
  tenant: string,
  count: number,
  o: { from?: number; at?: Date; reason?: (i: number) => string | undefined } = {},
): StreamedAuditEntry[] {
  const from = o.from ?? 1;
  const at = o.at ?? new Date('2026-11-27T10:00:00.000Z');
  let prevHash = from === 1 ? '0'.repeat(64) : `prev-of-${from}`;
  const out: StreamedAuditEntry[] = [];
  for (let i = 0; i < count; i++) {
    const reason = o.reason?.(i);
    const entry = auditEntry(
      tenant,
      {
        actor: 'u-1',
        actorName: 'Ada',
        action: 'promotion.requested',
        entityType: 'promotion',
        entityId: `p-${from + i}`,
        before: null,
        after: `sha256:${String(i).padStart(64, '0')}`,
        ...(reason ? { reason } : {}),
      },
      new Date(at.getTime() + i * 1000),
    );
    const seq = from + i;
    const eh = entryHash(entry);
    const hash = linkHash({ seq, entry: entryRef(entry), entryHash: eh, prevHash });
    out.push({ tenant, seq, hash, prevHash, entryHash: eh, entry, link: { linkedAt: entry.at } });
    prevHash = hash;
  }
  return out;
}
