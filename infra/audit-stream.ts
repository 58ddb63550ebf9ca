import * as lambda from 'aws-cdk-lib/aws-lambda';
import { DynamoEventSource, SqsDlq } from 'aws-cdk-lib/aws-lambda-event-sources';
import { Duration } from 'aws-cdk-lib';
import { AUDIT_DRAIN_MINUTES, SHIP_FILTER } from '../functions/handlers/audit-ship.ts';
import type { DataStore } from './store.ts';
import type { DomainEvents } from './events.ts';

/**
 * The audit stream's shipper (functions/handlers/audit-ship.ts): a second event source mapping of the table's stream,
 * taking the chain head's writes alone (SHIP_FILTER, as the local poller applies it), so a slow or down SIEM never
 * delays the stream consumer that links and anchors. A destination's failure never fails a batch (its cursor stays,
 * the next move tries again); a batch that still fails (the store) goes to its own dead-letter queue, alarmed as every
 * queue is. Its iterator age joins the stream consumer's in StreamLagAlarm (infra/alarms.ts). A rule drains, every
 * AUDIT_DRAIN_MINUTES, what a destination's outage left.
 */
export function auditShipper(store: DataStore, events: DomainEvents, shipFn: lambda.Function): void {
  const dlq = events.deadLetters('AuditShipDlq', 'the on-failure destination of the audit stream shipper');
  shipFn.addEventSource(
    new DynamoEventSource(store.table, {
      startingPosition: lambda.StartingPosition.TRIM_HORIZON,
      batchSize: 100,
      maxBatchingWindow: Duration.seconds(1),
      bisectBatchOnError: true,
      retryAttempts: 5,
      maxRecordAge: Duration.hours(24),
      onFailure: new SqsDlq(dlq),
      filters: [
        lambda.FilterCriteria.filter({
          eventName: lambda.FilterRule.or(...SHIP_FILTER.eventName),
          dynamodb: { NewImage: { entity: { S: lambda.FilterRule.or(...SHIP_FILTER.entity) } } },
        }),
      ],
    }),
  );
  // The drain: every few minutes the shipper ships what it left behind (a destination down, then back), so a quiet
  // tenant's backlog is delivered with no new audit entry and its lag keeps being reported while it lasts
  // (domain/audit/stream.ts drainAuditBacklogs). An asynchronous invocation: its failures go to the shared on-failure
  // destination (the next drain tries again anyway).
  events.every(AUDIT_DRAIN_MINUTES, 'AuditStreamDrain', "The audit stream's drain: ships the backlogs the shipper left (a destination's outage)", shipFn, {
    drain: true,
  });
  events.onAsyncFailure(
    shipFn,
    0,
    Duration.minutes(AUDIT_DRAIN_MINUTES),
    'the AuditStreamDrain rule every few minutes (its table batches come through the stream event source mapping, whose failures go to AuditShipDlq)',
  );
}
