import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { anchorLeftTails, linkAuditEntries } from '#domain/audit/log';
import { ChainAnchorer } from '#domain/audit/anchor';
import type { AuditEntry } from '#domain/kernel/model';
import type { DomainEvent } from '#domain/kernel/ports';
import { eventsOf, openAuditEntry } from '../adapters/dynamo-store.ts';
import { eventMetrics } from '../adapters/metrics.ts';
import { anchorFromEnv } from '../adapters/kms-s3-anchor.ts';
import { rememberingAnchor } from '../adapters/remembering-anchor.ts';
import { compose } from '../http/deps.ts';
import { eventsFromEnv } from '../adapters/events.ts';
import { logger } from '../adapters/observability.ts';
import * as env from '../configuration.ts';

/**
 * This function's adapters: the store, the bus (it alone publishes: every other function writes
 * events to the outbox) and the audit anchor; a warm consumer believes the heads it wrote itself
 * and the roots it signed without a key-service call (ChainAnchorer, remembering-anchor.ts).
 */
const wiring = compose({ anchor: () => rememberingAnchor(anchorFromEnv()), events: eventsFromEnv });

/**
 * How often at most the consumer signs (one Merkle root for every chain that moved): seconds,
 * default 10 (STAGELINE_ANCHOR_INTERVAL_SECONDS; 0 signs after every batch, as before roots). The
 * newest link is signed at most this long after it is linked, while batches keep coming.
 */
export function anchorIntervalMs(): number {
  return env.STAGELINE_ANCHOR_INTERVAL_SECONDS() * 1000;
}

/**
 * This container's anchoring (domain/audit/anchor.ts): the heads that moved since its last anchor,
 * and when that was. One per deps: a process whose adapters are composed again (a local stack
 * started anew, a test's) starts afresh, never anchoring one table's heads with another's anchor.
 */
const anchorers = new Map<object, ChainAnchorer>();
function anchorerOf(d: object): ChainAnchorer {
  let a = anchorers.get(d);
  if (!a) {
    a = new ChainAnchorer({
      intervalMs: anchorIntervalMs,
      // A timed anchor that failed keeps its heads: the next batch (or the next timer) anchors them.
      onError: (err) =>
        logger.error('audit anchor failed; its chains are anchored with the next one', { error: (err as Error)?.name, reason: (err as Error)?.message }),
    });
    anchorers.set(d, a);
  }
  return a;
}

/** Anchors every chain that moved, now, whatever the interval (the local stream's idle(), tests): one signature. */
export const anchorNow = () => {
  const d = wiring.deps();
  return anchorerOf(d).flush(d as Parameters<ChainAnchorer['flush']>[0]);
};

/**
 * A consumer that stops (the local stack shutting down) signs what moved since its last anchor, so
 * no tail is left unsigned, and arms no timer after: every anchorer of this process, each with the
 * adapters it anchored with.
 */
export async function stopAnchoring(): Promise<void> {
  const all = [...anchorers];
  anchorers.clear();
  for (const [d, a] of all) await a.stop(d as Parameters<ChainAnchorer['flush']>[0]);
}

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
 * - links audit entries into each tenant's hash chain (domain/audit/log.ts) —
 *   off the write path, so writers never contend on a tenant-wide item — and,
 *   at most once per anchor interval, signs one Merkle root over every chain
 *   that moved and appends each chain's checkpoint with its inclusion proof
 *   outside the table (domain/audit/anchor.ts).
 * A failure throws: the batch is retried (split in halves on AWS) and what still
 * fails lands in the consumer's DLQ.
 */
export const STREAM_FILTER = { eventName: ['INSERT'], entity: ['AuditEntry', 'Evidence', 'Event'] } as const;

export interface StreamRecord {
  eventName?: string;
  dynamodb?: { NewImage?: Record<string, unknown> };
}

/** What the scheduled tick sends (an EventBridge rule's constant input): anchor what consumers left. */
export interface AnchorTick {
  anchorTick: true;
}

export const handler = async (event: { Records: StreamRecord[] } | AnchorTick) => {
  const d = wiring.deps();
  if ('anchorTick' in event) {
    // This container's own heads first (it may be the consumer that left them), then every chain a consumer marked as
    // left an interval ago or more: a frozen or gone consumer's tail is signed within the interval and a tick.
    const own = await anchorerOf(d).flush(d);
    const tails = await anchorLeftTails(d, new Date(d.clock().getTime() - anchorIntervalMs()));
    for (const r of tails.refused)
      logger.error('audit chain not anchored: its head cannot be believed (run /audit/verify)', { tenant: r.tenant, reason: r.reason });
    return { anchored: (own?.checkpoints.length ?? 0) + tails.anchored, covered: tails.covered, refused: tails.refused.length };
  }
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
  const anchorer = anchorerOf(d);
  for (const [tenant, entries] of audit) linked += (await linkAuditEntries(d, tenant, entries, anchorer)).linked;
  // One signature for every chain that moved, now if the last one is an interval old, else at the interval's end.
  const anchored = await anchorer.settle(d);
  return { relayed: events.length, linked, anchored: anchored?.checkpoints.length ?? 0 };
};
