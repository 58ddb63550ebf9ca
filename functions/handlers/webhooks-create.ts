import { createWebhook, webhookCreateBody } from '#domain/webhooks/service';
import { loopbackAllowed } from '../adapters/outbound.ts';
import { webhookDepsFromEnv } from '../adapters/webhooks.ts';
import { httpHandler } from '../http/handler.ts';
import { registerWebhooks } from '../http/deps.ts';

registerWebhooks(() => webhookDepsFromEnv());

/** Creates a subscription; the answer carries its signing secret, the only time it is shown. */
export const handler = httpHandler({ body: webhookCreateBody, status: 201 }, async ({ deps, ctx, body }) => createWebhook(deps, ctx, body, { allowLoopback: loopbackAllowed() }));
