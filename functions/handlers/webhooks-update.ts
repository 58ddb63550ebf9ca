import { updateWebhook, webhookUpdateBody } from '#domain/webhooks/subscriptions';
import { httpHandler } from '../http/handler.ts';
import { webhookParams } from '../http/webhook-params.ts';

/** Changes a subscription (URL, events, environment, description, enabled) under optimistic locking. */
export const handler = httpHandler(
  { readOnly: ['id', 'health', 'secrets', 'createdAt', 'createdBy', 'updatedAt', 'updatedBy'], params: webhookParams, body: webhookUpdateBody },
  async ({ deps, ctx, params, body }) => updateWebhook(deps, ctx, params.id, body, { allowLoopback: deps.tunables.allowLoopbackOutbound }),
);
