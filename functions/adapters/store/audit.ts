import { DeleteCommand, GetCommand, PutCommand, type QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import { WriteConflict } from '#domain/kernel/retry';
import type { AuditEntry, ChainHead, ChainLink, Page } from '#domain/kernel/model';
import { entryRef, type StoredEntry } from '#domain/audit/audit';
import type { AuditOp, AuditStorePort, UnanchoredMark } from '#domain/audit/ports';
import type { DomainEvent } from '#domain/kernel/ports';
import type { AuditQuery } from '#domain/kernel/schemas';
import { GSI_ACTOR, GSI_ENTITY, indexAttributes, keys, type Key } from '../keys.ts';
import { kindsOf, type Area } from './area.ts';
import { strip, type StoreBase, type TxItem } from './base.ts';
import { outboxAttribute } from './outbox.ts';

/** What an audit entry's key already says (openAuditEntry restores it). */
const withoutKeyFields = ({ tenant: _t, at: _a, id: _i, ...rest }: AuditEntry) => rest;

/**
 * An audit entry's item, written by every change with it (a fact; the stream consumer links it into
 * the chain later). It carries the index attributes derived from its content (verify compares them)
 * and the change's events (the outbox attribute).
 */
export function auditItems(table: string, entry: AuditEntry, events: DomainEvent[] = []): TxItem[] {
  return [
    {
      Put: {
        TableName: table,
        Item: {
          ...keys.auditEntry(entry.tenant, entryRef(entry)),
          entity: 'AuditEntry',
          ...indexAttributes.auditEntry(entry),
          ...withoutKeyFields(entry),
          ...outboxAttribute(events),
        },
        ConditionExpression: 'attribute_not_exists(pk)',
      },
    },
  ];
}

/**
 * An audit entry back from its item. The item does not repeat its tenant, time and id: its key holds
 * them (`T#<tenant>#AUDIT`, `E#<at>#<id>`), which keeps every entry (and the events riding on it)
 * under 1 KB. Items written with them are read as written.
 */
export function openAuditEntry(item: Record<string, unknown>): AuditEntry {
  const ref = String(item.sk).slice(2);
  const cut = ref.lastIndexOf('#');
  const pk = String(item.pk);
  const fromKey = { tenant: pk.slice(2, pk.lastIndexOf('#AUDIT')), at: ref.slice(0, cut), id: ref.slice(cut + 1) };
  return { ...fromKey, ...strip<Partial<AuditEntry>>(item)! } as AuditEntry;
}

function mainAuditQuery(tenant: string, from: string, to: string, names: Record<string, string>, values: Record<string, unknown>) {
  Object.assign(values, { ':pk': keys.auditEntries(tenant).pk, ':from': `E#${from}`, ':to': `E#${to}` });
  return { KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to', ExpressionAttributeNames: names, ExpressionAttributeValues: values };
}

/** The audit trail: entries (written by every commit) and the hash chain the stream consumer links them into. */
export function auditArea(base: StoreBase): Area<AuditStorePort, AuditOp> {
  const { db, table } = base;
  const port: AuditStorePort = {
    async queryAudit(tenant: string, q: AuditQuery): Promise<Page<AuditEntry>> {
      const from = q.from ? new Date(q.from).toISOString() : '0';
      // Inclusive: an entry at exactly `to` sorts after `<to>` (its sort key is `<at>#<id>`), so the bound takes every id of that instant.
      const to = q.to ? `${new Date(q.to).toISOString()}#\uffff` : '~';
      const names: Record<string, string> = {};
      const values: Record<string, unknown> = {};
      let input: Omit<QueryCommandInput, 'TableName'>;
      if (q.entityType) {
        const filterById = q.entityId === undefined;
        // Without an id, entity type alone filters the tenant's chain (bounded by the page limit).
        input = filterById
          ? mainAuditQuery(tenant, from, to, names, values)
          : {
              IndexName: GSI_ENTITY.name,
              KeyConditionExpression: '#ipk = :ipk AND #isk BETWEEN :from AND :to',
              ExpressionAttributeNames: Object.assign(names, { '#ipk': GSI_ENTITY.partitionKey, '#isk': GSI_ENTITY.sortKey }),
              ExpressionAttributeValues: Object.assign(values, {
                ':ipk': keys.auditByEntity(tenant, q.entityType, q.entityId!),
                ':from': from,
                ':to': to,
              }),
            };
        if (filterById) {
          names['#et'] = 'entityType';
          values[':et'] = q.entityType;
          input.FilterExpression = '#et = :et';
        }
      } else if (q.actor) {
        input = {
          IndexName: GSI_ACTOR.name,
          KeyConditionExpression: '#ipk = :ipk AND #isk BETWEEN :from AND :to',
          ExpressionAttributeNames: Object.assign(names, { '#ipk': GSI_ACTOR.partitionKey, '#isk': GSI_ACTOR.sortKey }),
          ExpressionAttributeValues: Object.assign(values, { ':ipk': keys.auditByActor(tenant, q.actor), ':from': from, ':to': to }),
        };
      } else {
        input = mainAuditQuery(tenant, from, to, names, values);
      }
      if (q.actor && q.entityType) {
        names['#actor'] = 'actorName';
        values[':actor'] = q.actor;
        input.FilterExpression = [input.FilterExpression, '#actor = :actor'].filter(Boolean).join(' AND ');
      }
      const page = await base.page<Record<string, unknown>>(tenant, { ...input, ScanIndexForward: false, Limit: q.limit }, q.cursor, { raw: true });
      return { items: page.items.map(openAuditEntry), nextCursor: page.nextCursor };
    },

    // ---- the chain (stream consumer writes, verify reads)
    async readChainLinks(tenant: string, limit: number, cursor?: string, fromSeq?: number): Promise<Page<ChainLink>> {
      const k = keys.chainLinks(tenant);
      return base.page(
        tenant,
        {
          KeyConditionExpression: fromSeq ? 'pk = :pk AND sk BETWEEN :from AND :to' : 'pk = :pk AND begins_with(sk, :p)',
          ExpressionAttributeValues: fromSeq
            ? { ':pk': k.pk, ':from': keys.chainLink(tenant, fromSeq).sk, ':to': `${k.skPrefix}~` }
            : { ':pk': k.pk, ':p': k.skPrefix },
          ScanIndexForward: true,
          Limit: limit,
          ConsistentRead: true,
        },
        cursor,
      );
    },

    async getAuditEntries(tenant: string, refs: string[]): Promise<Map<string, StoredEntry>> {
      const out = new Map<string, StoredEntry>();
      const items = await base.batchGet([...new Set(refs)].map((r) => keys.auditEntry(tenant, r)));
      for (const item of items) {
        const entry = openAuditEntry(item);
        const expected = indexAttributes.auditEntry(entry);
        const moved = Object.entries(expected).find(([k, v]) => item[k] !== v);
        const ref = String(item.sk).slice(2);
        const keyMismatch = ref !== entryRef(entry) ? 'its key does not match its time and id' : undefined;
        out.set(ref, { entry, indexMismatch: keyMismatch ?? (moved ? `${moved[0]} is '${String(item[moved[0]])}'` : undefined) });
      }
      return out;
    },

    async auditRefs(tenant: string, limit: number, cursor?: string): Promise<Page<string>> {
      const k = keys.auditEntries(tenant);
      const page = await base.page<{ sk?: string }>(
        tenant,
        {
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :p)',
          ExpressionAttributeValues: { ':pk': k.pk, ':p': k.skPrefix },
          ExpressionAttributeNames: { '#pk': 'pk', '#sk': 'sk' },
          ProjectionExpression: '#pk, #sk',
          Limit: limit,
        },
        cursor,
        { raw: true },
      );
      return { items: page.items.map((i) => String(i.sk).slice(2)), nextCursor: page.nextCursor };
    },

    async chainHead(tenant: string): Promise<ChainHead | null> {
      const r = await db.send(new GetCommand({ TableName: table, Key: keys.chainHead(tenant), ConsistentRead: true }));
      if (!r.Item) return null;
      const head: ChainHead = { seq: r.Item.seq as number, hash: r.Item.hash as string, at: r.Item.at as string };
      return Array.isArray(r.Item.pending) ? { ...head, pending: r.Item.pending as ChainLink[] } : head;
    },

    async linkState(tenant: string, refs: string[], pending: ChainLink[] = []): Promise<{ linked: Set<string>; unwritten: ChainLink[] }> {
      // One read: the markers of the entries, and the links and markers of the head's pending links.
      const wanted = new Map<string, Key>();
      for (const k of [...refs, ...pending.map((l) => l.entry)].map((r) => keys.chainMarker(tenant, r))) wanted.set(k.sk, k);
      for (const l of pending) wanted.set(keys.chainLink(tenant, l.seq).sk, keys.chainLink(tenant, l.seq));
      const found = new Map((await base.batchGet([...wanted.values()])).map((i) => [String(i.sk), i]));
      const linked = new Set(refs.filter((r) => found.has(keys.chainMarker(tenant, r).sk)));
      const unwritten = pending.filter((l) => {
        const link = found.get(keys.chainLink(tenant, l.seq).sk);
        // A different link at that seq is never overwritten: verify reports it.
        if (link && link.hash !== l.hash) return false;
        return !link || !found.has(keys.chainMarker(tenant, l.entry).sk);
      });
      return { linked, unwritten };
    },

    async writeLinks(tenant: string, links: ChainLink[]): Promise<void> {
      await base.batchPut(
        links.flatMap((l) => [
          { ...keys.chainLink(tenant, l.seq), entity: 'ChainLink', ...l },
          { ...keys.chainMarker(tenant, l.entry), entity: 'ChainMarker', seq: l.seq },
        ]),
      );
    },

    async appendLinks(tenant: string, previous: ChainHead | null, next: ChainHead, links: ChainLink[]): Promise<void> {
      // The head first, carrying its links: once it is written they are part of the chain (readers take
      // them from the head until they are in the table), so the links and markers need no transaction.
      const moved = await base.conditional(
        new PutCommand({
          TableName: table,
          Item: { ...keys.chainHead(tenant), entity: 'ChainHead', seq: next.seq, hash: next.hash, at: next.at, pending: links },
          ...(previous
            ? {
                ConditionExpression: '#seq = :seq AND #hash = :hash',
                ExpressionAttributeNames: { '#seq': 'seq', '#hash': 'hash' },
                ExpressionAttributeValues: { ':seq': previous.seq, ':hash': previous.hash },
              }
            : { ConditionExpression: 'attribute_not_exists(pk)' }),
        }),
      );
      if (!moved) throw new WriteConflict('chain');
      await this.writeLinks(tenant, links);
    },

    async markUnanchored(tenant: string, seq: number, at: string): Promise<void> {
      await base.conditional(
        new PutCommand({
          TableName: table,
          Item: { ...keys.anchorPending(tenant), entity: 'AnchorPending', tenant, seq, at },
          ConditionExpression: 'attribute_not_exists(pk) OR #seq < :seq',
          ExpressionAttributeNames: { '#seq': 'seq' },
          ExpressionAttributeValues: { ':seq': seq },
        }),
      );
    },

    async unanchored(limit: number): Promise<UnanchoredMark[]> {
      const all = await base.queryAll<UnanchoredMark>(keys.anchorPendingAll.pk, keys.anchorPendingAll.skPrefix, true);
      return all.slice(0, limit).map((i) => ({ tenant: i.tenant, seq: i.seq, at: i.at }));
    },

    async clearUnanchored(tenant: string, seq: number): Promise<void> {
      await base.conditional(
        new DeleteCommand({
          TableName: table,
          Key: keys.anchorPending(tenant),
          ConditionExpression: '#seq <= :seq',
          ExpressionAttributeNames: { '#seq': 'seq' },
          ExpressionAttributeValues: { ':seq': seq },
        }),
      );
    },
  };
  return {
    port,
    writes: {
      kinds: kindsOf<AuditOp>({ audit: true }),
      // The entry is the commit's first fact item: the commit's events ride on it.
      carriers: ['audit'],
      items: (op, ctx) => ({ items: auditItems(table, op.entry, ctx.events), reasons: ['exists'] }),
    },
  };
}
