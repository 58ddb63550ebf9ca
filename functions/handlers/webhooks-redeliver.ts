import { redeliverWebhook } from '#domain/webhooks/deliveries';
import { webhookDepsFromEnv } from '../adapters/webhooks.ts';
import { httpHandler } from '../http/handler.ts';
import { compose } from '../http/deps.ts';
import { deliveryParams } from '../http/webhook-params.ts';

/** This function's adapters: the store and the webhook adapters (signing secrets, sender, retry schedules). */
const wiring = compose({ webhooks: () => webhookDepsFromEnv() });

/** Sends a delivery again, with the same webhook-id, from the delivery function (202: it is under way). */
export const handler = httpHandler({ wiring, params: deliveryParams, status: 202 }, async ({ deps, ctx, params }) =>
  redeliverWebhook(deps, ctx, params.id, params.delivery),
);
