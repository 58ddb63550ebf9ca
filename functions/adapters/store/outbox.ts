import { brotliDecompressSync } from 'node:zlib';
import type { WriteOp } from '#domain/ports';
import type { DomainEvent, OutboxOp } from '#domain/kernel/ports';
import { parseEventDetail } from '#domain/kernel/events';
import { keys, TABLE } from '../keys.ts';
import { kindsOf, none, one, type Area } from './area.ts';
import { compress, OUTBOX, type StoreBase, type TxItem } from './base.ts';

/**
 * The outbox attribute: the domain events of a change ride on the fact item its transaction writes
 * anyway (the audit entry, or evidence), as one brotli-compressed JSON array, instead of an item of
 * their own — a transaction pays 2 WRU per item, so each event cost 2 WRU before. The stream
 * consumer relays them from the inserted item (eventsOf); they are not part of the fact (strip
 * drops them, so the audit entry's hash is the entry's alone).
 */
export function outboxAttribute(events: DomainEvent[]): Record<string, Uint8Array> {
  if (!events.length) return {};
  for (const e of events) parseEventDetail(e.type, e.detail);
  return { [OUTBOX]: compress(JSON.stringify(events)) };
}

/** The events an inserted item carries: its outbox attribute, or the item itself when it is an outbox event of its own. */
export function eventsOf(item: Record<string, unknown>): DomainEvent[] {
  if (item.entity === 'Event')
    return [{ id: item.id as string, type: item.type as string, tenant: item.tenant as string, detail: item.detail as Record<string, unknown> }];
  const box = item[OUTBOX];
  return box instanceof Uint8Array ? (JSON.parse(brotliDecompressSync(box).toString('utf8')) as DomainEvent[]) : [];
}

/** The outbox's own items: an event as an item, only for a commit with no fact item to carry it; kept a week. */
export function outboxArea({ table }: StoreBase): Area<Record<never, never>, OutboxOp> {
  const eventItem = (event: DomainEvent, now = Date.now()): TxItem => {
    parseEventDetail(event.type, event.detail);
    return {
      Put: {
        TableName: table,
        Item: { ...keys.event(event.tenant, event.id), entity: 'Event', ...event, [TABLE.ttlAttribute]: Math.floor(now / 1000) + 7 * 86400 },
        ConditionExpression: 'attribute_not_exists(pk)',
      },
    };
  };
  return {
    port: {},
    writes: {
      kinds: kindsOf<OutboxOp>({ event: true }),
      items: (op, ctx) => (ctx.carried ? none() : one(eventItem(op.event), 'exists')),
    },
  };
}
