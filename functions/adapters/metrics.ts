import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { DomainEvent } from '#domain/kernel/ports';

/**
 * Powertools EMF metrics (CloudWatch picks the documents up from stdout). A module of its own: the
 * relay (stream), the notifier and the schedule runner load it with their code; the HTTP middleware
 * loads it on first use, when a request lost a write race (functions/http/handler.ts).
 */
export const metrics = new Metrics({ namespace: 'Stageline', serviceName: 'stageline' });

/**
 * DORA's figures of a promotion's end (the event's `dora`, domain/promotion/run/end.ts doraOps), in a
 * namespace of their own with the dimensions tenant and environment: their cardinality is the tenants'
 * environments (bounded by each tenant's quota), never a promotion, version or target. CloudWatch's sums
 * over a period give the five: DoraDeployments (frequency), DoraChangeFailures / DoraDeployments (change
 * fail rate), DoraRework / DoraDeployments (rework rate), DoraRecoveryTime and DoraLeadTime (their average).
 */
export const doraMetrics = new Metrics({ namespace: 'Stageline/DORA', serviceName: 'stageline' });
const ENDINGS: Record<string, true> = { 'Promotion Completed': true, 'Promotion Failed': true, 'Promotion Rolled Back': true };

function emitDora(tenant: string, environment: string, dora: Record<string, unknown>): void {
  const put = (name: string, unit: (typeof MetricUnit)[keyof typeof MetricUnit], value: unknown, always = false) => {
    if (typeof value !== 'number' || !Number.isFinite(value) || (value <= 0 && !always)) return;
    const m = doraMetrics.singleMetric();
    m.addDimensions({ tenant, environment });
    m.addMetric(name, unit, value);
  };
  put('DoraDeployments', MetricUnit.Count, dora.deployed);
  put('DoraChangeFailures', MetricUnit.Count, dora.changeFailed);
  put('DoraRework', MetricUnit.Count, dora.rework);
  put('DoraRecoveryTime', MetricUnit.Seconds, dora.recoverySeconds, true);
  put('DoraLeadTime', MetricUnit.Seconds, dora.leadTimeSeconds, true);
}

/** What each relayed domain event counts as (CloudWatch metrics from the outbox: nothing on the write path). */
const COUNTED: Record<string, string> = {
  'Promotion Requested': 'PromotionsRequested',
  'Promotion Completed': 'PromotionsCompleted',
  'Promotion Failed': 'PromotionsFailed',
  'Promotion Rejected': 'PromotionsRejected',
  'Promotion Expired': 'PromotionsExpired',
  'Promotion Cancelled': 'PromotionsCancelled',
  'Promotion Rolled Back': 'PromotionsRolledBack',
  'Approval Required': 'ApprovalsRequested',
  'Promotion Approved': 'PromotionsApproved',
  'Break Glass Used': 'BreakGlassUsed',
};

/**
 * Emits the metrics of a batch of relayed events, per target environment: promotions by
 * outcome, gate failures (a failure while validating), approvals requested and given, break-glass.
 * Returns the EMF documents it wrote (for tests); they go to stdout, where CloudWatch picks them up.
 */
export function eventMetrics(events: DomainEvent[]): number {
  let n = 0;
  for (const e of events) {
    const name = COUNTED[e.type];
    if (!name) continue;
    const environment = String(e.detail.targetEnvironment ?? e.detail.environment ?? 'unknown');
    // A single metric is written as soon as it is added, with the dimensions set before it.
    const count = (metric: string) => {
      const m = metrics.singleMetric();
      m.addDimension('environment', environment);
      m.addMetric(metric, MetricUnit.Count, 1);
    };
    count(name);
    if (ENDINGS[e.type] && e.detail.dora && typeof e.detail.dora === 'object') emitDora(e.tenant, environment, e.detail.dora as Record<string, unknown>);
    if (e.type === 'Promotion Failed' && e.detail.status === 'VALIDATION_FAILED') count('GateFailures');
    if (e.type === 'Promotion Approved' && typeof e.detail.approvalWaitSeconds === 'number') {
      const m = metrics.singleMetric();
      m.addDimension('environment', environment);
      m.addMetric('ApprovalWaitSeconds', MetricUnit.Seconds, e.detail.approvalWaitSeconds);
    }
    n++;
  }
  return n;
}

/** A notification that could not be delivered (the notifier records it on the promotion too). */
export function notificationFailures(count: number): void {
  if (!count) return;
  const m = metrics.singleMetric();
  m.addMetric('NotificationFailures', MetricUnit.Count, count);
}

/** A promotion the sweeper found stuck past its deadline and failed (its flow was gone). */
export function sweptPromotions(): void {
  const m = metrics.singleMetric();
  m.addMetric('PromotionsSwept', MetricUnit.Count, 1);
}

/** Lost races of a request's conditional writes (retried), and writes that gave up (409 + Retry-After). */
export function writeConflicts(retries: number, givenUp: number): void {
  if (!retries && !givenUp) return;
  const m = metrics.singleMetric();
  m.addMetric('WriteConflicts', MetricUnit.Count, retries);
  m.addMetric('WritesGivenUp', MetricUnit.Count, givenUp);
}

/** How long the oldest audit entry a SIEM destination has not taken has waited (the audit stream shipper, per tenant it shipped): StreamLagAlarm reads its maximum. */
export function auditStreamLag(seconds: number): void {
  const m = metrics.singleMetric();
  m.addMetric('AuditStreamLag', MetricUnit.Milliseconds, seconds * 1000);
}
