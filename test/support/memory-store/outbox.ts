import { parseEventDetail } from '../../../domain/kernel/events.ts';
import type { OutboxOp } from '../../../domain/kernel/ports.ts';
import { keys, TABLE } from '../../../functions/adapters/keys.ts';
import type { Writers } from './area.ts';
import { create } from './table.ts';

/**
 * The outbox: a commit's events ride on its fact item (the audit entry, or evidence) and are kept in
 * the store's outbox list; a commit with no fact item writes each event as an item of its own (kept a
 * week), so the same event id twice is refused as the DynamoDB store refuses it.
 */
export const outboxWrites: Writers<OutboxOp> = {
  event: (op, ctx) => {
    parseEventDetail(op.event.type, op.event.detail);
    if (ctx.carried) return [];
    const expires = Math.floor(Date.now() / 1000) + 7 * 86400;
    return [create({ ...keys.event(op.event.tenant, op.event.id), entity: 'Event', ...op.event, [TABLE.ttlAttribute]: expires }, 'exists')];
  },
};
