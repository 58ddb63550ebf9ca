import * as z from '../kernel/zod.ts';
import {
  artifactEventDetail,
  breakGlassEventDetail,
  deploymentEventDetail,
  evidenceEventDetail,
  freezeEventDetail,
  promotionEventDetail,
  targetAppliedEventDetail,
} from '../kernel/events.ts';

/**
 * Outbound webhooks (Standard Webhooks): what a subscriber receives. Each domain event of the
 * outbox maps to one webhook event type; the payload is `{ type, version, timestamp, tenant, data }`
 * with `data` the event's detail. `version` changes only with an incompatible payload.
 */
export const WEBHOOK_PAYLOAD_VERSION = 1;

export const WEBHOOK_EVENTS = {
  'promotion.requested': 'Promotion Requested',
  'promotion.approval_required': 'Approval Required',
  'promotion.approval_reminder': 'Approval Reminder',
  'promotion.approved': 'Promotion Approved',
  'promotion.rejected': 'Promotion Rejected',
  'promotion.completed': 'Promotion Completed',
  'promotion.failed': 'Promotion Failed',
  'promotion.cancelled': 'Promotion Cancelled',
  'promotion.expired': 'Promotion Expired',
  'promotion.rolled_back': 'Promotion Rolled Back',
  'promotion.wave_started': 'Promotion Wave Started',
  'promotion.wave_completed': 'Promotion Wave Completed',
  'promotion.target_applied': 'Promotion Target Applied',
  'promotion.analysis_decided': 'Promotion Analysis Decided',
  'promotion.attested': 'Promotion Attested',
  'break_glass.used': 'Break Glass Used',
  'evidence.added': 'Evidence Added',
  'deployment.recorded': 'Deployment Recorded',
  'artifact.published': 'Artifact Published',
  'freeze.started': 'Freeze Started',
  'freeze.ended': 'Freeze Ended',
} as const;
export type WebhookEventType = keyof typeof WEBHOOK_EVENTS;
export const WEBHOOK_EVENT_TYPES = Object.keys(WEBHOOK_EVENTS) as WebhookEventType[];
/** The bus detail-types the delivery function subscribes to (its bus rule, in CDK and locally). */
export const WEBHOOK_BUS_TYPES = Object.values(WEBHOOK_EVENTS);

export const webhookTypeOf = (busType: string): WebhookEventType | undefined =>
  (Object.entries(WEBHOOK_EVENTS) as [WebhookEventType, string][]).find(([, b]) => b === busType)?.[0];

/** The JSON Schema of each event's payload (the OpenAPI document's `webhooks`). */
export function webhookPayloadSchema(type: WebhookEventType): z.ZodMiniType {
  const bus = WEBHOOK_EVENTS[type];
  const data: z.ZodMiniObject =
    (
      {
        'Break Glass Used': breakGlassEventDetail(),
        'Evidence Added': evidenceEventDetail(),
        'Deployment Recorded': deploymentEventDetail(),
        'Artifact Published': artifactEventDetail(),
        'Freeze Started': freezeEventDetail(),
        'Freeze Ended': freezeEventDetail(),
        'Promotion Target Applied': targetAppliedEventDetail(),
      } as Partial<Record<string, z.ZodMiniObject>>
    )[bus] ?? promotionEventDetail();
  return z.strictObject({
    type: z.literal(type),
    version: z.literal(WEBHOOK_PAYLOAD_VERSION),
    timestamp: z.string().check(z.describe('when the event happened (ISO 8601, UTC)')),
    tenant: z.string(),
    eventId: z.string().check(z.describe('the domain event id (the same on every delivery of it)')),
    data,
  });
}

export interface WebhookSubscription {
  tenant: string;
  id: string;
  url: string;
  events: WebhookEventType[];
  /** null: every environment of the tenant; else only events of this environment (its target, or where it happened) */
  environment: string | null;
  description: string;
  enabled: boolean;
  /** the signing secrets' ids and dates (the values are in the secret store, never here) */
  secrets: { id: string; createdAt: string; expiresAt: string | null }[];
  /** flagged `failing` when a delivery failed after every retry; the next success clears it */
  health: { status: 'ok' | 'failing'; consecutiveFailures: number; lastFailureAt: string | null; reason: string | null };
  version: number;
  createdAt: string;
  createdBy: string;
  updatedAt: string;
  updatedBy: string;
}

export interface WebhookAttempt {
  at: string;
  trigger: 'event' | 'retry' | 'redeliver';
  statusCode: number | null;
  ms: number;
  /** at most 200 characters of the answer (long tokens redacted), or why there was none */
  excerpt?: string;
}

export interface WebhookDelivery {
  tenant: string;
  subscription: string;
  /** the `webhook-id` header: the same on every attempt and redelivery */
  id: string;
  eventId: string;
  eventType: WebhookEventType;
  /** the signed body, exactly as sent */
  payload: string;
  status: 'pending' | 'delivered' | 'failed';
  attempts: WebhookAttempt[];
  /** when this round of attempts began (a redeliver starts a new one) */
  roundStartedAt: string | null;
  nextAttemptAt: string | null;
  createdAt: string;
  /** optimistic lock of the delivery item */
  rev: number;
}
