import { webhookDeliveries, webhookDeliveryResponse, webhookResponse, webhooksList, webhookWithSecret } from '../responses/webhooks.ts';
import { v1, type Route } from './row.ts';

/**
 * Outbound webhooks (Standard Webhooks; domain/webhooks). A subscription never touches a promotion's
 * flow; the functions that hold its signing secrets (create, rotate, delete, redeliver) keep roles of
 * their own.
 */
export const WEBHOOK_ROUTES: Route[] = [
  {
    method: 'POST',
    path: `${v1}/webhooks`,
    handler: 'webhooks-create',
    auth: 'jwt',
    role: 'admin',
    summary: 'Subscribe a URL to events (tenant-wide or one environment); the answer shows the signing secret, once',
    response: { schema: webhookWithSecret },
    ownRole: true,
    startsFlows: false,
  },
  {
    method: 'GET',
    path: `${v1}/webhooks`,
    handler: 'webhooks-read',
    auth: 'jwt',
    role: 'viewer',
    summary: 'Webhook subscriptions with their health (secrets never shown)',
    response: { schema: webhooksList },
  },
  {
    method: 'GET',
    path: `${v1}/webhooks/{id}`,
    handler: 'webhooks-read',
    auth: 'jwt',
    role: 'viewer',
    summary: 'One webhook subscription (its secret never shown)',
    response: { schema: webhookResponse },
  },
  {
    method: 'PATCH',
    path: `${v1}/webhooks/{id}`,
    handler: 'webhooks-update',
    auth: 'jwt',
    role: 'admin',
    summary: 'Change a webhook subscription (optimistic locking)',
    response: { schema: webhookResponse },
    startsFlows: false,
  },
  {
    method: 'DELETE',
    path: `${v1}/webhooks/{id}`,
    handler: 'webhooks-delete',
    auth: 'jwt',
    role: 'admin',
    summary: 'Remove a webhook subscription and its secrets',
    status: 204,
    ownRole: true,
    startsFlows: false,
  },
  {
    method: 'POST',
    path: `${v1}/webhooks/{id}/rotate`,
    handler: 'webhooks-rotate',
    auth: 'jwt',
    role: 'admin',
    summary: 'New signing secret (shown once); the previous one keeps signing during the overlap',
    response: { schema: webhookWithSecret },
    ownRole: true,
    startsFlows: false,
  },
  {
    method: 'GET',
    path: `${v1}/webhooks/{id}/deliveries`,
    handler: 'webhooks-read',
    auth: 'jwt',
    role: 'viewer',
    summary: 'Delivery log: attempts, status codes, latency, next retry; newest first',
    response: { schema: webhookDeliveries, headers: { 'X-Next-Cursor': 'the cursor of the next page, when there is one' } },
  },
  {
    method: 'POST',
    path: `${v1}/webhooks/{id}/deliveries/{delivery}/redeliver`,
    handler: 'webhooks-redeliver',
    auth: 'jwt',
    role: 'deployer',
    summary: 'Send a delivery again (same webhook-id, a new round of retries)',
    response: { schema: webhookDeliveryResponse },
    ownRole: true,
    startsFlows: false,
  },
];
