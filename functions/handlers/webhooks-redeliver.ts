import { redeliverWebhook } from '#domain/webhooks/service';
import { webhookDepsFromEnv } from '../adapters/webhooks.ts';
import { httpHandler } from '../http/handler.ts';
import { registerWebhooks } from '../http/deps.ts';
import { deliveryParams } from '../http/webhook-params.ts';

registerWebhooks(() => webhookDepsFromEnv());

/** Sends a delivery again, with the same webhook-id, from the delivery function (202: it is under way). */
export const handler = httpHandler({ params: deliveryParams, status: 202 }, async ({ deps, ctx, params }) => redeliverWebhook(deps, ctx, params.id, params.delivery));
