import { entryRef, type StoredEntry } from '../../../domain/audit/audit.ts';
import { parseEventDetail } from '../../../domain/kernel/events.ts';
import type { AuditEntry, ChainHead, ChainLink, Page } from '../../../domain/kernel/model.ts';
import { WriteConflict } from '../../../domain/kernel/retry.ts';
import type { AuditQuery } from '../../../domain/kernel/schemas.ts';
import type { AuditOp, AuditStorePort, UnanchoredMark } from '../../../domain/audit/ports.ts';
import type { DomainEvent } from '../../../domain/kernel/ports.ts';
import { GSI_ACTOR, GSI_ENTITY, indexAttributes, keys } from '../../../functions/adapters/keys.ts';
import { openAuditEntry } from '../../../functions/adapters/store/audit.ts';
import { strip } from '../../../functions/adapters/store/base.ts';
import type { MemoryState, Writers } from './area.ts';
import { create, less, type Item, type MemoryTable, type PageQuery, type Write } from './table.ts';

/** What an audit entry's key already says (openAuditEntry restores it from the key, as the DynamoDB store does). */
const withoutKeyFields = ({ tenant: _t, at: _a, id: _i, ...rest }: AuditEntry) => rest;

/** An audit entry's item: a fact, written once with the change it records (events that ride on it are checked, then kept in the outbox). */
export function auditItem(entry: AuditEntry): Item {
  return {
    ...keys.auditEntry(entry.tenant, entryRef(entry)),
    entity: 'AuditEntry',
    ...indexAttributes.auditEntry(entry),
    ...withoutKeyFields(entry),
  };
}

export function auditWrite(entry: AuditEntry, events: DomainEvent[] = []): Write {
  for (const e of events) parseEventDetail(e.type, e.detail);
  return create(auditItem(entry), 'exists');
}

/** The audit trail: entries (written by every commit) and the hash chain the stream consumer links them into. */
export function auditArea({ table }: MemoryState) {
  const linkItems = (tenant: string, l: ChainLink): Item[] => [
    { ...keys.chainLink(tenant, l.seq), entity: 'ChainLink', ...l },
    { ...keys.chainMarker(tenant, l.entry), entity: 'ChainMarker', seq: l.seq },
  ];

  const port: AuditStorePort = {
    async queryAudit(tenant: string, q: AuditQuery): Promise<Page<AuditEntry>> {
      const from = q.from ? new Date(q.from).toISOString() : '0';
      const to = q.to ? `${new Date(q.to).toISOString()}#\uffff` : '~';
      const main = { partition: keys.auditEntries(tenant).pk, range: { from: `E#${from}`, to: `E#${to}` } };
      let query: Omit<PageQuery, 'forward'>;
      const filters: ((i: Item) => boolean)[] = [];
      if (q.entityType) {
        if (q.entityId === undefined) {
          // Without an id, entity type alone filters the tenant's entries (after the limit, as a FilterExpression).
          query = main;
          filters.push((i) => i.entityType === q.entityType);
        } else {
          query = { index: GSI_ENTITY, partition: keys.auditByEntity(tenant, q.entityType, q.entityId), range: { from, to } };
        }
      } else if (q.actor) {
        query = { index: GSI_ACTOR, partition: keys.auditByActor(tenant, q.actor), range: { from, to } };
      } else {
        query = main;
      }
      if (q.actor && q.entityType) filters.push((i) => i.actorName === q.actor);
      const page = table.page(tenant, { ...query, forward: false, limit: q.limit, filter: (i) => filters.every((f) => f(i)) }, q.cursor);
      return { items: page.items.map(openAuditEntry), nextCursor: page.nextCursor };
    },

    async readChainLinks(tenant: string, limit: number, cursor?: string, fromSeq?: number): Promise<Page<ChainLink>> {
      const k = keys.chainLinks(tenant);
      const range = fromSeq ? { from: keys.chainLink(tenant, fromSeq).sk, to: `${k.skPrefix}~` } : { prefix: k.skPrefix };
      const page = table.page(tenant, { partition: k.pk, range, forward: true, limit }, cursor);
      return { items: page.items.map((i) => strip<ChainLink>(i)!), nextCursor: page.nextCursor };
    },

    async getAuditEntries(tenant: string, refs: string[]): Promise<Map<string, StoredEntry>> {
      const out = new Map<string, StoredEntry>();
      for (const r of new Set(refs)) {
        const item = table.get(keys.auditEntry(tenant, r));
        if (!item) continue;
        const entry = openAuditEntry(item);
        const moved = Object.entries(indexAttributes.auditEntry(entry)).find(([k, v]) => item[k] !== v);
        const ref = String(item.sk).slice(2);
        const keyMismatch = ref !== entryRef(entry) ? 'its key does not match its time and id' : undefined;
        out.set(ref, { entry, indexMismatch: keyMismatch ?? (moved ? `${moved[0]} is '${String(item[moved[0]])}'` : undefined) });
      }
      return out;
    },

    async auditRefs(tenant: string, limit: number, cursor?: string): Promise<Page<string>> {
      const k = keys.auditEntries(tenant);
      const page = table.page(tenant, { partition: k.pk, range: { prefix: k.skPrefix }, forward: true, limit }, cursor);
      return { items: page.items.map((i) => String(i.sk).slice(2)), nextCursor: page.nextCursor };
    },

    async chainHead(tenant: string): Promise<ChainHead | null> {
      const item = table.get(keys.chainHead(tenant));
      if (!item) return null;
      const head: ChainHead = { seq: item.seq as number, hash: item.hash as string, at: item.at as string };
      return Array.isArray(item.pending) ? { ...head, pending: item.pending as ChainLink[] } : head;
    },

    async linkState(tenant: string, refs: string[], pending: ChainLink[] = []): Promise<{ linked: Set<string>; unwritten: ChainLink[] }> {
      const marked = (ref: string) => table.get(keys.chainMarker(tenant, ref)) !== undefined;
      const linked = new Set(refs.filter(marked));
      const unwritten = pending.filter((l) => {
        const link = table.get(keys.chainLink(tenant, l.seq));
        // A different link at that seq is never overwritten: verify reports it.
        if (link && link.hash !== l.hash) return false;
        return !link || !marked(l.entry);
      });
      return { linked, unwritten };
    },

    async writeLinks(tenant: string, links: ChainLink[]): Promise<void> {
      for (const l of links) for (const item of linkItems(tenant, l)) table.put(item);
    },

    async appendLinks(tenant: string, previous: ChainHead | null, next: ChainHead, links: ChainLink[]): Promise<void> {
      // The head first, carrying its links (conditioned on the head read), then the links and their markers.
      const moved = table.write({
        key: keys.chainHead(tenant),
        when: (cur) => (previous ? cur?.seq === previous.seq && cur.hash === previous.hash : cur === undefined),
        to: { ...keys.chainHead(tenant), entity: 'ChainHead', seq: next.seq, hash: next.hash, at: next.at, pending: links },
        reason: 'chain',
      });
      if (!moved) throw new WriteConflict('chain');
      await this.writeLinks(tenant, links);
    },

    async markUnanchored(tenant: string, seq: number, at: string): Promise<void> {
      table.write({
        key: keys.anchorPending(tenant),
        when: (cur) => cur === undefined || less(cur.seq, seq),
        to: { ...keys.anchorPending(tenant), entity: 'AnchorPending', tenant, seq, at },
        reason: 'unknown',
      });
    },

    async unanchored(limit: number): Promise<UnanchoredMark[]> {
      const all = table.query(keys.anchorPendingAll.pk, { prefix: keys.anchorPendingAll.skPrefix });
      return all.slice(0, limit).map((i) => ({ tenant: i.tenant as string, seq: i.seq as number, at: i.at as string }));
    },

    async clearUnanchored(tenant: string, seq: number): Promise<void> {
      table.write({ key: keys.anchorPending(tenant), when: (cur) => less(cur?.seq, seq, true), to: null, reason: 'unknown' });
    },
  };

  const writes: Writers<AuditOp> = { audit: (op, ctx) => [auditWrite(op.entry, ctx.events)] };
  return { port, writes };
}

/** Test access to a chain as the table holds it (tests that tamper with the chain, as someone with table access could). */
export function chainItems(table: MemoryTable) {
  return {
    setHead: (tenant: string, head: ChainHead) => table.put({ ...keys.chainHead(tenant), entity: 'ChainHead', ...head }),
    link: (tenant: string, seq: number) => strip<ChainLink>(table.get(keys.chainLink(tenant, seq))),
    setLink: (tenant: string, link: ChainLink) => table.put({ ...keys.chainLink(tenant, link.seq), entity: 'ChainLink', ...link }),
    marks: (): UnanchoredMark[] =>
      table
        .query(keys.anchorPendingAll.pk, { prefix: keys.anchorPendingAll.skPrefix })
        .map((i) => ({ tenant: i.tenant as string, seq: i.seq as number, at: i.at as string })),
  };
}
