export type IdempotencyClaim = { state: 'new' } | { state: 'replay'; statusCode: number; body: string } | { state: 'in-progress' } | { state: 'mismatch' };

/** The outbox: an event committed with the change, relayed to the bus by the stream consumer (it rides on the commit's fact item when there is one). */
export type OutboxOp = { kind: 'event'; event: DomainEvent };

/**
 * Idempotency records (per tenant and key): claim before running a request, complete with the
 * response, release if it failed with a 5xx; and once-only claims of background work.
 */
export interface IdempotencyStorePort {
  /** `leaseSeconds`: how long an IN_PROGRESS claim holds (the function's timeout); after it a crashed request's key is free again. */
  claimIdempotency(tenant: string, key: string, requestHash: string, now: Date, ttlSeconds: number, leaseSeconds: number): Promise<IdempotencyClaim>;
  completeIdempotency(tenant: string, key: string, requestHash: string, response: { statusCode: number; body: string }): Promise<void>;
  releaseIdempotency(tenant: string, key: string): Promise<void>;
  /** At-least-once delivery, once-only effect: true the first time (tenant, scope, id) is claimed. */
  claimOnce(tenant: string, scope: string, id: string, ttlSeconds: number): Promise<boolean>;
  /** Gives a claim back (the work failed and should run again on redelivery). */
  releaseOnce(tenant: string, scope: string, id: string): Promise<void>;
}

/**
 * What a tenant secret is for. A secret is stored under its purpose, so a reference of one kind never
 * reads a secret of another (a git target naming the Slack webhook's secret would push it to a
 * repository of the caller's choosing): a git target's push token, the Slack incoming webhook, a
 * webhook gate's HMAC key, a metrics provider's keys and tokens (analysis templates: `metrics`), the bearer token
 * (and CA) a target's GitOps confirmation reads Argo CD or the Kubernetes API with (gitops-health), a change-control
 * rule's credential for its change management tool (change-credential: the JSON PUT …/change-control takes as `credentials`).
 */
export type SecretPurpose =
  | 'git-token'
  | 'slack-webhook'
  | 'gate-key'
  | 'github-token'
  | 'gitlab-token'
  | 'git-webhook'
  | 'github-app-key'
  | 'metrics'
  | 'gitops-health'
  | 'idp-client-secret'
  | 'change-credential';

/**
 * Secrets named in documents (`${NAME}`) and git targets: Secrets Manager `stageline/<tenant>/<purpose>/<NAME>`
 * on AWS, `STAGELINE_SECRET_<TENANT>__<PURPOSE>__<NAME>` locally (per tenant and purpose, as on AWS).
 */
export interface SecretResolver {
  /**
   * The value, or null when the tenant has no such secret for this purpose. A Slack webhook (a URL the
   * service will call) passes the outbound guard where it is read; keys are returned as they are.
   */
  resolve(tenant: string, name: string, purpose: SecretPurpose): Promise<string | null>;
}

/** What an auto-promotion check is about: the source's config set, an artifact's version, or a bundle (by digest) that arrived there. */
export interface AutoCheckInput {
  sourceEnvironment: string;
  artifact?: string;
  version?: string;
  bundle?: string;
  bundleDigest?: string;
}

/** What a schedule carries: a promotion to resume, or an auto-promotion check whose time-based condition comes due. */
export type SchedulePayload =
  | { tenant: string; promotionId: string }
  | { tenant: string; autoCheck: AutoCheckInput }
  | { tenant: string; expireWaiting: string }
  /** the promotion's deadline: the sweeper fails it with a reason if its flow is gone (domain/promotion/sweep/sweep.ts) */
  | { tenant: string; sweep: string }
  /** the bounded poll of a promotion's pull request, the fallback to the host's webhook (domain/promotion/deliver/pull-request.ts) */
  | { tenant: string; pullRequestPoll: string }
  /** a reminder to the approvers before the approval window closes */
  | { tenant: string; remind: string }
  /** an outbound webhook delivery to attempt (fires the delivery function, domain/webhooks) */
  | { tenant: string; webhookDelivery: { subscription: string; id: string; trigger: 'retry' | 'redeliver' } }
  /** a freeze window's next edge: Freeze Started / Freeze Ended (domain/freeze/windows.ts) */
  | { tenant: string; freezeEdge: { window: string; edge: 'started' | 'ended'; at: string } }
  /** a recurring promotion's calendar fired (domain/promotion/request/recurring.ts) */
  | { tenant: string; recurring: string };

/** A schedule that fires on a calendar: a 5-field cron expression read in an IANA time zone; disabled, it keeps its calendar and fires nothing. */
export interface RecurringSchedule {
  cron: string;
  timeZone: string;
  enabled: boolean;
}

/** Schedules (EventBridge Scheduler on AWS, a local timer store locally): one-time ones that fire a promotion's execution, and calendars (recurring promotions). */
export interface Scheduler {
  /** Creates or replaces the schedule `name` to fire at `at` with `payload`. */
  scheduleOnce(name: string, at: Date, payload: SchedulePayload): Promise<void>;
  /** Creates or replaces the schedule `name` to fire on a calendar (each time, with `payload`) until it is cancelled. */
  scheduleRecurring(name: string, schedule: RecurringSchedule, payload: SchedulePayload): Promise<void>;
  /** Removes it; a schedule that is gone (fired or never made) is fine. */
  cancel(name: string): Promise<void>;
}

/** A domain event (EventBridge detail-type + detail); `id` is stable across redeliveries, so consumers de-duplicate by it. */
export interface DomainEvent {
  id: string;
  type: string;
  tenant: string;
  detail: Record<string, unknown>;
}

export interface Events {
  publish(events: DomainEvent[]): Promise<void>;
}
