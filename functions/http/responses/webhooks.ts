import * as z from 'zod';
import { stampFields, time } from './common.ts';
import { WEBHOOK_EVENT_TYPES } from '#domain/webhooks/model';

/** What the /webhooks routes answer. */
const eventType = /* @__PURE__ */ z.enum(WEBHOOK_EVENT_TYPES as [string, ...string[]]);

export const webhookResponse = /* @__PURE__ */ z
  .object({
    id: z.string(),
    url: z.string(),
    events: z.array(eventType),
    environment: z.string().nullable(),
    description: z.string(),
    enabled: z.boolean(),
    secrets: z.array(z.object({ id: z.string(), createdAt: time, expiresAt: time.nullable() }).strict()).describe('the signing secrets’ ids and dates (values are never shown again)'),
    health: z
      .object({ status: z.enum(['ok', 'failing']), consecutiveFailures: z.number().int(), lastFailureAt: time.nullable(), reason: z.string().nullable() })
      .strict()
      .describe('failing: a delivery failed after every retry (cleared by the next success)'),
    ...stampFields,
  })
  .strict()
  .meta({ id: 'WebhookSubscription' });

export const webhookWithSecret = /* @__PURE__ */ webhookResponse.extend({ secret: z.string().regex(/^whsec_/).describe('the signing secret (whsec_…): shown in this answer only') }).strict();

export const webhooksList = /* @__PURE__ */ z.object({ items: z.array(webhookResponse) }).strict();

export const webhookDeliveryResponse = /* @__PURE__ */ z
  .object({
    id: z.string().describe('the webhook-id header: the same on every attempt'),
    subscription: z.string(),
    eventId: z.string(),
    eventType,
    payload: z.unknown().describe('the body as sent (see the webhooks section)'),
    status: z.enum(['pending', 'delivered', 'failed']),
    attempts: z.array(
      z
        .object({
          at: time,
          trigger: z.enum(['event', 'retry', 'redeliver']),
          statusCode: z.number().int().nullable().describe('null: no HTTP answer'),
          ms: z.number(),
          excerpt: z.string().optional().describe('at most 200 characters of the answer, long tokens redacted; or why there was none'),
        })
        .strict(),
    ),
    roundStartedAt: time.nullable(),
    nextAttemptAt: time.nullable(),
    createdAt: time,
  })
  .strict()
  .meta({ id: 'WebhookDelivery' });

export const webhookDeliveries = /* @__PURE__ */ z.object({ items: z.array(webhookDeliveryResponse), cursor: z.string().nullable() }).strict();

export const WEBHOOK_RESPONSES: Record<string, z.ZodType> = {
  'webhooks-create': webhookWithSecret,
  'webhooks-rotate': webhookWithSecret,
  'webhooks-update': webhookResponse,
  'webhooks-list': webhooksList,
  webhook: webhookResponse,
  'webhooks-read': webhookResponse,
  'webhook-deliveries': webhookDeliveries,
  'webhooks-redeliver': webhookDeliveryResponse,
};
