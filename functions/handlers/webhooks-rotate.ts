import { rotateWebhookSecret, webhookRotateBody } from '#domain/webhooks/subscriptions';
import { webhookDepsFromEnv } from '../adapters/webhooks.ts';
import { httpHandler } from '../http/handler.ts';
import { compose } from '../http/deps.ts';
import { webhookParams } from '../http/webhook-params.ts';

/** This function's adapters: the store and the webhook adapters (signing secrets, sender, retry schedules). */
const wiring = compose({ webhooks: () => webhookDepsFromEnv() });

/** A new signing secret (shown once); the previous one keeps signing during the overlap. */
export const handler = httpHandler({ wiring, params: webhookParams, body: webhookRotateBody, showsSecret: true }, async ({ deps, ctx, params, body }) =>
  rotateWebhookSecret(deps, ctx, params.id, body),
);
