import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { DomainEvent } from '#domain/ports';

/**
 * Powertools for AWS Lambda: one JSON logger and one EMF metrics emitter for every
 * function (the local stack prints the same lines). Quiet under tests unless asked.
 */
const quiet = !!process.env.VITEST || process.env.STAGELINE_ACCESS_LOG === 'off';

/** Errors are always written; the per-request and per-step lines only when not quiet. */
export const logger = new Logger({ serviceName: 'stageline', logLevel: quiet ? 'ERROR' : 'INFO' });

/**
 * Runs one unit of background work (a flow step, a schedule firing) and writes one JSON line
 * about it: its correlation keys (tenant, promotion, execution, …), what it returned (`outcome`)
 * and how long it took; a failure is a warning with the error's name (the caller rethrows it:
 * the flow's own Retry/Catch decides what it means).
 */
export async function logged<T>(message: string, keys: Record<string, unknown>, run: () => Promise<T>, outcome: (result: T) => Record<string, unknown> = () => ({})): Promise<T> {
  const started = Date.now();
  try {
    const result = await run();
    logger.info(message, { ...keys, ...outcome(result), ms: Date.now() - started });
    return result;
  } catch (err) {
    logger.warn(`${message} failed`, { ...keys, error: (err as Error)?.name, reason: (err as Error)?.message, ms: Date.now() - started });
    throw err;
  }
}
export const metrics = new Metrics({ namespace: 'Stageline', serviceName: 'stageline' });

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
