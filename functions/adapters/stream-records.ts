import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import type { AuditEntry } from '#domain/kernel/model';
import type { DomainEvent } from '#domain/kernel/ports';
import { eventsOf, openAuditEntry } from './dynamo-store.ts';

/** The records the stream consumer sees: inserted audit entries, evidence and outbox events (the event source mapping's filter in CDK and the local poller's). */
export const STREAM_FILTER = { eventName: ['INSERT'], entity: ['AuditEntry', 'Evidence', 'Event'] } as const;

/** A record of the table's stream (DynamoDB Streams on AWS, DynamoDB Local's own stream locally). */
export interface StreamRecord {
  eventName?: string;
  dynamodb?: { NewImage?: Record<string, unknown> };
}

/**
 * What a batch of stream records carries for the consumer, in record order: the events its changes
 * wrote (the outbox attribute of a fact item — an audit entry, evidence — or an event item of its
 * own: eventsOf) and the audit entries inserted.
 */
export function streamBatch(records: StreamRecord[]): { events: DomainEvent[]; entries: AuditEntry[] } {
  const events: DomainEvent[] = [];
  const entries: AuditEntry[] = [];
  for (const r of records) {
    if (r.eventName !== 'INSERT' || !r.dynamodb?.NewImage) continue;
    const item = unmarshall(r.dynamodb.NewImage as Record<string, AttributeValue>);
    events.push(...eventsOf(item));
    if (item.entity === 'AuditEntry') entries.push(openAuditEntry(item));
  }
  return { events, entries };
}
