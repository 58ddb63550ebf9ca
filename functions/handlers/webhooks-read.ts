import * as z from '#domain/kernel/zod';
import { getWebhook, listWebhooks } from '#domain/webhooks/subscriptions';
import { listWebhookDeliveries } from '#domain/webhooks/deliveries';
import { httpHandler, WithHeaders } from '../http/handler.ts';
import { deliveriesQuery, webhookParams } from '../http/webhook-params.ts';

const params = z.object({ id: z.optional(webhookParams.shape.id) });

const deliveries = (route: { path: string }) => route.path.endsWith('/deliveries');

/** Subscriptions (list, one) and a subscription's delivery log, newest first (paged: the only one of the three with a query). Secrets are never part of an answer. */
export const handler = httpHandler({ params, query: deliveriesQuery, queryOn: deliveries }, async ({ deps, ctx, params, query, route }) => {
  if (!params.id) return listWebhooks(deps, ctx);
  if (deliveries(route)) {
    const page = await listWebhookDeliveries(deps, ctx, params.id, query.limit, query.cursor);
    return new WithHeaders(page, page.cursor ? { 'x-next-cursor': page.cursor } : {});
  }
  return getWebhook(deps, ctx, params.id);
});
