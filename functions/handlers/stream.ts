import { AnchorerPool, anchorTick, consumeStreamBatch } from '#domain/audit/consumer';
import { attestEnded } from '#domain/promotion/run/attest';
import { eventMetrics } from '../adapters/metrics.ts';
import { streamBatch, type StreamRecord } from '../adapters/stream-records.ts';
import { anchorFromEnv } from '../adapters/kms-s3-anchor.ts';
import { rememberingAnchor } from '../adapters/remembering-anchor.ts';
import { registryOnFirstUse } from '../adapters/registry-on-first-use.ts';
import { compose } from '../http/deps.ts';
import { eventsFromEnv } from '../adapters/events.ts';
import { logger, withLambdaContext } from '../adapters/observability.ts';
import * as env from '../configuration.ts';

/**
 * This function's adapters: the store, the bus (it alone publishes: every other function writes
 * events to the outbox), the audit anchor and the registries (an artifact's attestation is attached
 * there); a warm consumer believes the heads it wrote itself and the roots it signed without a
 * key-service call (ChainAnchorer, remembering-anchor.ts).
 */
const wiring = compose({ anchor: () => rememberingAnchor(anchorFromEnv()), events: eventsFromEnv, registry: registryOnFirstUse });

/**
 * How often at most the consumer signs (one Merkle root for every chain that moved): seconds,
 * default 10 (STAGELINE_ANCHOR_INTERVAL_SECONDS; 0 signs after every batch, as before roots). The
 * newest link is signed at most this long after it is linked, while batches keep coming.
 */
export function anchorIntervalMs(): number {
  return env.STAGELINE_ANCHOR_INTERVAL_SECONDS() * 1000;
}

/** This container's anchoring (one anchorer per composition of adapters: domain/audit/consumer.ts). */
const anchorers = new AnchorerPool({
  intervalMs: anchorIntervalMs,
  // A timed anchor that failed keeps its heads: the next batch (or the next timer) anchors them.
  onError: (err) =>
    logger.error('audit anchor failed; its chains are anchored with the next one', { error: (err as Error)?.name, reason: (err as Error)?.message }),
});

/** Anchors every chain that moved, now, whatever the interval (the local stream's idle(), tests): one signature. */
export const anchorNow = () => {
  const d = wiring.deps();
  return anchorers.of(d).flush(d);
};

/** A consumer that stops (the local stack shutting down) signs what moved since its last anchor, and arms no timer after. */
export const stopAnchoring = () => anchorers.stopAll();

export { STREAM_FILTER, type StreamRecord } from '../adapters/stream-records.ts';

/** What the scheduled tick sends (an EventBridge rule's constant input): anchor what consumers left. */
export interface AnchorTick {
  anchorTick: true;
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
export const handler = withLambdaContext(async (event: { Records: StreamRecord[] } | AnchorTick) => {
  const d = wiring.deps();
  if ('anchorTick' in event) {
    const tick = await anchorTick(d, anchorers.of(d), anchorIntervalMs());
    for (const r of tick.refused)
      logger.error('audit chain not anchored: its head cannot be believed (run /audit/verify)', { tenant: r.tenant, reason: r.reason });
    return { ...tick, refused: tick.refused.length };
  }
  const batch = streamBatch(event.Records);
  const done = await consumeStreamBatch(d, anchorers.of(d), batch, eventMetrics);
  // Each promotion the batch ended gets its signed attestation, once, attached in its registries (domain/promotion/run/attest.ts).
  const attested = await attestEnded(d, batch.events, (t, id, reason) => logger.error('promotion not attested', { tenant: t, promotionId: id, reason }));
  return { ...done, attested };
});
