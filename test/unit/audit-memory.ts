import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { auditEntry, entryRef, messageOf, signatureValid, describePublicKey, type AuditDraft, type StoredEntry } from '../../domain/audit/audit.ts';
import type { AuditEntry, ChainHead, ChainLink, Checkpoint } from '../../domain/kernel/model.ts';
import { WriteConflict } from '../../domain/kernel/retry.ts';
import type { Deps } from '../../domain/ports.ts';
import type { AuditAnchor } from '../../domain/audit/ports.ts';

/**
 * The audit trail's ports in memory, for pure tests of linking, anchoring, verify and export: the
 * chain part of the store (head, links, markers, entries) and an anchor signing with a P-256 key
 * generated here, counting what the key service and the bucket would bill.
 */
export function memoryAudit(now: () => Date = () => new Date()) {
  const heads = new Map<string, ChainHead>();
  const links = new Map<string, Map<number, ChainLink>>();
  const markers = new Map<string, Set<string>>();
  const entries = new Map<string, Map<string, AuditEntry>>();
  const records: Checkpoint[] = [];
  /** the anchor's to-do list (AnchorPending), by tenant */
  const pendingMarks = new Map<string, { tenant: string; seq: number; at: string }>();
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const calls = { sign: 0, append: 0, list: 0 };
  const of = <T>(m: Map<string, T>, t: string, make: () => T) => m.get(t) ?? (m.set(t, make()), m.get(t)!);

  const anchor: AuditAnchor = {
    async sign(s) {
      calls.sign++;
      return sign('sha256', Buffer.from(messageOf(s)), { key: privateKey, dsaEncoding: 'der' }).toString('base64url');
    },
    async append(c) {
      calls.append++;
      records.push(structuredClone(c));
    },
    async list(tenant, fromSeq = 1) {
      calls.list++;
      return records.filter((c) => c.tenant === tenant && c.seq >= fromSeq).map((c) => structuredClone(c));
    },
    async verify(c) {
      return signatureValid(publicKey, c);
    },
    async publicKey() {
      return describePublicKey(publicKey);
    },
  };

  const store = {
    async chainHead(tenant: string) {
      const h = heads.get(tenant);
      return h ? structuredClone(h) : null;
    },
    async readChainLinks(tenant: string, limit: number, cursor?: string, fromSeq?: number) {
      const all = [...(links.get(tenant)?.values() ?? [])]
        .sort((a, b) => a.seq - b.seq)
        .filter((l) => l.seq >= Math.max(fromSeq ?? 1, cursor ? Number(cursor) : 0));
      const items = all.slice(0, limit);
      return { items: structuredClone(items), nextCursor: all.length > limit ? String(items.at(-1)!.seq + 1) : undefined };
    },
    async getAuditEntries(tenant: string, refs: string[]) {
      const out = new Map<string, StoredEntry>();
      for (const r of refs) {
        const e = entries.get(tenant)?.get(r);
        if (e) out.set(r, { entry: structuredClone(e) });
      }
      return out;
    },
    async auditRefs(tenant: string) {
      return { items: [...(entries.get(tenant)?.keys() ?? [])].sort() };
    },
    async linkState(tenant: string, refs: string[], pending: ChainLink[] = []) {
      const m = markers.get(tenant) ?? new Set();
      const l = links.get(tenant) ?? new Map();
      return { linked: new Set(refs.filter((r) => m.has(r))), unwritten: pending.filter((p) => !l.has(p.seq) || !m.has(p.entry)) };
    },
    async writeLinks(tenant: string, ls: ChainLink[]) {
      for (const l of ls) {
        of(links, tenant, () => new Map()).set(l.seq, structuredClone(l));
        of(markers, tenant, () => new Set()).add(l.entry);
      }
    },
    async markUnanchored(tenant: string, seq: number, at: string) {
      const m = pendingMarks.get(tenant);
      if (!m || m.seq < seq) pendingMarks.set(tenant, { tenant, seq, at });
    },
    async unanchored(limit: number) {
      return [...pendingMarks.values()].slice(0, limit).map((m) => ({ ...m }));
    },
    async clearUnanchored(tenant: string, seq: number) {
      if ((pendingMarks.get(tenant)?.seq ?? Infinity) <= seq) pendingMarks.delete(tenant);
    },
    async appendLinks(tenant: string, previous: ChainHead | null, next: ChainHead, ls: ChainLink[]) {
      const h = heads.get(tenant) ?? null;
      if ((previous?.seq ?? null) !== (h?.seq ?? null) || previous?.hash !== h?.hash) throw new WriteConflict('chain');
      heads.set(tenant, { ...structuredClone(next), pending: structuredClone(ls) });
      await store.writeLinks(tenant, ls);
    },
  };

  const deps = { store, anchor, clock: now } as unknown as Deps;
  let n = 0;
  /** Writes `count` entries of the tenant (as a change would), returning them in order. */
  const write = (tenant: string, count = 1): AuditEntry[] =>
    Array.from({ length: count }, () => {
      const draft: AuditDraft = {
        actor: 'u1',
        actorName: 'user@x.test',
        action: 'config.update',
        entityType: 'config',
        entityId: `dev/k${n}`,
        before: null,
        after: `sha256:${n++}`,
      };
      const e = auditEntry(tenant, draft, new Date(Date.parse('2030-01-01T00:00:00.000Z') + n * 1000));
      of(entries, tenant, () => new Map()).set(entryRef(e), e);
      return e;
    });
  return { deps, anchor, store, calls, records, heads, links, pendingMarks, write, publicKey: publicKey as KeyObject, privateKey };
}
