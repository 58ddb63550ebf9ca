import * as lambda from 'aws-cdk-lib/aws-lambda';
import { DynamoEventSource, SqsDlq } from 'aws-cdk-lib/aws-lambda-event-sources';
import { Duration } from 'aws-cdk-lib';
import { SHIP_FILTER } from '../functions/handlers/audit-ship.ts';
import type { DataStore } from './store.ts';
import type { DomainEvents } from './events.ts';
import { noFunctionDlq } from './acknowledgements.ts';

/**
 * The audit stream's shipper (functions/handlers/audit-ship.ts): a second event source mapping of the table's stream,
 * taking the chain head's writes alone (SHIP_FILTER, as the local poller applies it), so a slow or down SIEM never
 * delays the stream consumer that links and anchors. A destination's failure never fails a batch (its cursor stays,
 * the next move tries again); a batch that still fails (the store) goes to its own dead-letter queue, alarmed as every
 * queue is. Its iterator age joins the stream consumer's in StreamLagAlarm (infra/alarms.ts).
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
  noFunctionDlq(
    shipFn,
    "Invoked only by its event source mapping of the table's stream (never asynchronously): a batch that still fails after the mapping's retries goes to the mapping's on-failure destination (AuditShipDlq), which records the batch's shard and sequence range; a function DLQ would never receive anything.",
  );
}
