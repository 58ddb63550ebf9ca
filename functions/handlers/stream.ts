import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { linkAuditEntries } from '#domain/audit/log';
import type { AuditEntry } from '#domain/kernel/model';
import type { DomainEvent } from '#domain/ports';
import { eventsOf, openAuditEntry } from '../adapters/dynamo-store.ts';
import { eventMetrics } from '../adapters/metrics.ts';
import { anchorFromEnv } from '../adapters/kms-s3-anchor.ts';
import { rememberingAnchor } from '../adapters/remembering-anchor.ts';
import { compose } from '../http/deps.ts';
import { eventsFromEnv } from '../adapters/events.ts';

/**
 * This function's adapters: the store, the bus (it alone publishes: every other function writes
 * events to the outbox) and the audit anchor; a warm consumer verifies the head it wrote itself
 * without a key-service call (remembering-anchor.ts).
 */
const wiring = compose({ anchor: () => rememberingAnchor(anchorFromEnv()), events: eventsFromEnv });

/**
 * The one consumer of the table's stream (DynamoDB Streams on AWS, DynamoDB
 * Local's own stream locally). It sees only inserted audit entries, evidence and
 * outbox events (STREAM_FILTER, the event source mapping's filter in CDK and the
 * local poller's), and:
 * - takes the events a change wrote: the outbox attribute of its fact item (the
 *   audit entry, or evidence), or an event item of its own (eventsOf);
 * - relays outbox events to the bus (each carries its stable id: at-least-once
 *   delivery, consumers de-duplicate), so an event is published if and only if
 *   its change committed, however the writer crashed afterwards;
 * - links audit entries into each tenant's hash chain and signs a checkpoint
 *   outside the table (domain/audit/log.ts) — off the write path, so writers
 *   never contend on a tenant-wide item.
 * A failure throws: the batch is retried (split in halves on AWS) and what still
 * fails lands in the consumer's DLQ.
 */
export const STREAM_FILTER = { eventName: ['INSERT'], entity: ['AuditEntry', 'Evidence', 'Event'] } as const;

export interface StreamRecord {
  eventName?: string;
  dynamodb?: { NewImage?: Record<string, unknown> };
}

export const handler = async (event: { Records: StreamRecord[] }) => {
  const d = wiring.deps();
  const audit = new Map<string, AuditEntry[]>();
  const events: DomainEvent[] = [];
  for (const r of event.Records) {
    if (r.eventName !== 'INSERT' || !r.dynamodb?.NewImage) continue;
    const item = unmarshall(r.dynamodb.NewImage as Record<string, AttributeValue>);
    events.push(...eventsOf(item));
    if (item.entity === 'AuditEntry') {
      const e = openAuditEntry(item);
      audit.set(e.tenant, [...(audit.get(e.tenant) ?? []), e]);
    }
  }
  // Events first: a notification never waits on the audit chain.
  if (events.length) {
    await d.events.publish(events);
    eventMetrics(events);
  }
  let linked = 0;
  for (const [tenant, entries] of audit) linked += (await linkAuditEntries(d, tenant, entries)).linked;
  return { relayed: events.length, linked };
};
