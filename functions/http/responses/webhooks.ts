import * as z from '#domain/kernel/zod';
import { stampFields, time } from './common.ts';
import { WEBHOOK_EVENT_TYPES } from '#domain/webhooks/model';

/** What the /webhooks routes answer. */
const eventType = /* @__PURE__ */ z.enum(WEBHOOK_EVENT_TYPES as [string, ...string[]]);

export const webhookResponse = /* @__PURE__ */ z.schema(() =>
  z
    .strictObject({
      id: z.string(),
      url: z.string(),
      events: z.array(eventType),
      environment: z.nullable(z.string()),
      description: z.string(),
      enabled: z.boolean(),
      secrets: z
        .array(z.strictObject({ id: z.string(), createdAt: time, expiresAt: z.nullable(time) }))
        .check(z.describe('the signing secrets’ ids and dates (values are never shown again)')),
      health: z
        .strictObject({
          status: z.enum(['ok', 'failing']),
          consecutiveFailures: z.number().check(z.int()),
          lastFailureAt: z.nullable(time),
          reason: z.nullable(z.string()),
        })
        .check(z.describe('failing: a delivery failed after every retry (cleared by the next success)')),
      ...stampFields,
    })
    .check(z.meta({ id: 'WebhookSubscription' })),
);

export const webhookWithSecret = /* @__PURE__ */ z.schema(() =>
  z.strictObject(
    z.extend(webhookResponse, { secret: z.string().check(z.regex(/^whsec_/), z.describe('the signing secret (whsec_…): shown in this answer only')) }).shape,
  ),
);

export const webhooksList = /* @__PURE__ */ z.schema(() => z.strictObject({ items: z.array(webhookResponse) }));

export const webhookDeliveryResponse = /* @__PURE__ */ z.schema(() =>
  z
    .strictObject({
      id: z.string().check(z.describe('the webhook-id header: the same on every attempt')),
      subscription: z.string(),
      eventId: z.string(),
      eventType,
      payload: z.unknown().check(z.describe('the body as sent (see the webhooks section)')),
      status: z.enum(['pending', 'delivered', 'failed']),
      attempts: z.array(
        z.strictObject({
          at: time,
          trigger: z.enum(['event', 'retry', 'redeliver']),
          statusCode: z.nullable(z.number().check(z.int())).check(z.describe('null: no HTTP answer')),
          ms: z.number(),
          excerpt: z.optional(z.string()).check(z.describe('at most 200 characters of the answer, long tokens redacted; or why there was none')),
        }),
      ),
      roundStartedAt: z.nullable(time),
      nextAttemptAt: z.nullable(time),
      createdAt: time,
    })
    .check(z.meta({ id: 'WebhookDelivery' })),
);

export const webhookDeliveries = /* @__PURE__ */ z.schema(() => z.strictObject({ items: z.array(webhookDeliveryResponse), cursor: z.nullable(z.string()) }));
