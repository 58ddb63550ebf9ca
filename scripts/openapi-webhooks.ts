import type * as z from 'zod';
import { WEBHOOK_EVENT_TYPES, webhookPayloadSchema, WEBHOOK_EVENTS, WEBHOOK_PAYLOAD_VERSION } from '../domain/webhooks/model.ts';
import { RETRY } from '../domain/webhooks/deliveries.ts';

type Json = Record<string, unknown>;

/**
 * The OpenAPI document's `webhooks`: one entry per event type a subscription may receive, with the
 * payload's JSON Schema and the Standard Webhooks headers. The receiver answers 2xx to acknowledge.
 */
export function webhookPathItems(schemas: { of: (s: z.core.$ZodType, io?: 'input' | 'output') => Json }): Record<string, Json> {
  const h = (description: string) => ({ required: true, schema: { type: 'string' }, description });
  const out: Record<string, Json> = {};
  for (const type of WEBHOOK_EVENT_TYPES) {
    out[type] = {
      post: {
        operationId: `webhook${type
          .split(/[._]/)
          .map((p) => p[0]!.toUpperCase() + p.slice(1))
          .join('')}`,
        summary: `${type} (the bus event "${WEBHOOK_EVENTS[type]}"), payload version ${WEBHOOK_PAYLOAD_VERSION}`,
        description:
          'Sent to the subscription URL per the Standard Webhooks specification; verify with the standardwebhooks (or svix) library and the subscription secret. ' +
          `A non-2xx answer, no answer in 10 s or a refused connection is retried with exponential backoff and jitter (about ${RETRY.baseMs / 1000} s, ×${RETRY.factor} each time, at most ${RETRY.capMs / 3600_000} h apart) ` +
          `for up to ${RETRY.windowMs / 3600_000} h or ${RETRY.maxAttempts} attempts, with the same webhook-id; then the delivery is failed and the subscription flagged failing.`,
        tags: ['webhooks'],
        parameters: [
          { name: 'webhook-id', in: 'header', ...h('msg_…: unique per delivery, the same on every retry and redelivery (de-duplicate by it)') },
          { name: 'webhook-timestamp', in: 'header', ...h('Unix seconds of this attempt') },
          {
            name: 'webhook-signature',
            in: 'header',
            ...h('v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">, one per live secret, space-separated (two during a rotation overlap)'),
          },
        ],
        requestBody: { required: true, content: { 'application/json': { schema: schemas.of(webhookPayloadSchema(type), 'output') } } },
        responses: { '200': { description: 'Any 2xx acknowledges the delivery' } },
      },
    };
  }
  return out;
}
