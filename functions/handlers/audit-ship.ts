import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { drainAuditBacklogs, shipAuditStream, type ShipOptions } from '#domain/audit/stream';
import { auditSenders } from '../adapters/siem/senders.ts';
import { sleep } from '../adapters/outbound.ts';
import type { StreamRecord } from '../adapters/stream-records.ts';
import { compose } from '../http/deps.ts';
import { logger, withLambdaContext } from '../adapters/observability.ts';
import { auditStreamLag } from '../adapters/metrics.ts';
import * as env from '../configuration.ts';

/** This function's adapters: the store and the senders (it alone opens the destinations' sealed secrets). */
const wiring = compose({ auditSenders });

/**
 * The records the shipper sees (its event source mapping's filter in CDK and the local poller's): the chain head's
 * writes. Each names a tenant whose chain moved; the shipper never reads the audit entries' records themselves.
 */
export const SHIP_FILTER = { eventName: ['INSERT', 'MODIFY'], entity: ['ChainHead'] } as const;

/**
 * How often the shipper drains the backlogs shippers left (domain/audit/stream.ts drainAuditBacklogs): the stack's
 * schedule on AWS (infra/audit-stream.ts), the local audit poller's timer in `npm start` (local/stack.ts). Under the
 * lag alarm's 5-minute period, so each period of a backlog has a drain's lag in it and the alarm stays on.
 */
export const AUDIT_DRAIN_MINUTES = 2;

/** The scheduled invocation: drain every backlog a shipper left (no stream records). */
export interface DrainEvent {
  drain: true;
}

/** The tenants whose chain head moved in a batch of records, once each, in the order they came. */
export function movedTenants(records: StreamRecord[]): string[] {
  const out = new Set<string>();
  for (const r of records) {
    if (!r.dynamodb?.NewImage) continue;
    const item = unmarshall(r.dynamodb.NewImage as Record<string, AttributeValue>);
    if (item.entity !== 'ChainHead') continue;
    const pk = String(item.pk);
    // T#<tenant>#CHAIN
    if (pk.startsWith('T#') && pk.endsWith('#CHAIN')) out.add(pk.slice(2, -'#CHAIN'.length));
  }
  return [...out];
}

/** Three tries of a batch, the waits doubling from STAGELINE_AUDIT_STREAM_RETRY_MS. */
export function shipOptions(): ShipOptions {
  const first = env.STAGELINE_AUDIT_STREAM_RETRY_MS();
  return { tries: 3, wait: async (attempt) => void (await sleep(first * 2 ** (attempt - 2))) };
}

/**
 * The audit stream's shipper (domain/audit/stream.ts), a function of its own fed by the table's stream (the chain
 * head's moves), so a slow or down SIEM never delays the consumer that links and anchors. Per tenant whose chain moved:
 * each active destination gets what it has not taken, in seq order. A destination's failure never fails the batch
 * (its cursor stays, its lag and error show, and the tenant is marked left behind: the next move or the drain, every
 * AUDIT_DRAIN_MINUTES, tries again); only the store failing does (retried). `{ drain: true }`: the drain alone.
 */
export const handler = withLambdaContext(async (event: { Records: StreamRecord[] } | DrainEvent) => {
  const d = wiring.deps();
  if ('drain' in event) {
    const drain = await drainAuditBacklogs(d, shipOptions());
    // Reported on every drain, 0 when nothing was left: the lag alarm reads the stream's lag while a backlog lasts.
    auditStreamLag(drain.lagSeconds);
    if (drain.deadLettered) logger.warn('audit stream: a drained batch was refused and dead-lettered; the destination stops until a replay');
    return drain;
  }
  const totals = { tenants: 0, shipped: 0, unavailable: 0, deadLettered: 0 };
  for (const tenant of movedTenants(event.Records)) {
    const run = await shipAuditStream(d, tenant, shipOptions());
    totals.tenants++;
    totals.shipped += run.shipped;
    totals.unavailable += run.unavailable;
    totals.deadLettered += run.deadLettered;
    auditStreamLag(run.lagSeconds);
    if (run.deadLettered) logger.warn('audit stream: a batch was refused and dead-lettered; the destination stops until a replay', { tenant });
  }
  return totals;
});
