import { createWebhook, webhookCreateBody } from '#domain/webhooks/subscriptions';
import { webhookDepsFromEnv } from '../adapters/webhooks.ts';
import { httpHandler } from '../http/handler.ts';
import { compose } from '../http/deps.ts';

/** This function's adapters: the store and the webhook adapters (signing secrets, sender, retry schedules). */
const wiring = compose({ webhooks: () => webhookDepsFromEnv() });

/** Creates a subscription; the answer carries its signing secret, the only time it is shown. */
export const handler = httpHandler({ wiring, body: webhookCreateBody, status: 201, showsSecret: true }, async ({ deps, ctx, body }) =>
  createWebhook(deps, ctx, body, { allowLoopback: deps.tunables.allowLoopbackOutbound }),
);
