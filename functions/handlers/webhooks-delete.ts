import { deleteWebhook } from '#domain/webhooks/subscriptions';
import { webhookDepsFromEnv } from '../adapters/webhooks.ts';
import { httpHandler, WithHeaders } from '../http/handler.ts';
import { compose } from '../http/deps.ts';
import { webhookParams } from '../http/webhook-params.ts';

/** This function's adapters: the store and the webhook adapters (signing secrets, sender, retry schedules). */
const wiring = compose({ webhooks: () => webhookDepsFromEnv() });

/** Removes a subscription and its signing secrets (pending retries then find it gone and stop). */
export const handler = httpHandler({ wiring, params: webhookParams, status: 204 }, async ({ deps, ctx, params }) => {
  await deleteWebhook(deps, ctx, params.id);
  return new WithHeaders(null, {}, 204);
});
