import { deleteWebhook } from '#domain/webhooks/service';
import { webhookDepsFromEnv } from '../adapters/webhooks.ts';
import { httpHandler, WithHeaders } from '../http/handler.ts';
import { registerWebhooks } from '../http/deps.ts';
import { webhookParams } from '../http/webhook-params.ts';

registerWebhooks(() => webhookDepsFromEnv());

/** Removes a subscription and its signing secrets (pending retries then find it gone and stop). */
export const handler = httpHandler({ params: webhookParams, status: 204 }, async ({ deps, ctx, params }) => {
  await deleteWebhook(deps, ctx, params.id);
  return new WithHeaders(null, {}, 204);
});
