import * as z from '#domain/kernel/zod';
import { parseEventDetail, PROMOTION_END_EVENTS } from '#domain/kernel/events';
import { WEBHOOK_BUS_TYPES } from '#domain/webhooks/model';
import { attemptDelivery, dispatchWebhooks } from '#domain/webhooks/deliveries';
import { webhookDepsFromEnv } from '../adapters/webhooks.ts';
import { standardWebhookSender } from '../adapters/webhook-sender.ts';
import { logged, withLambdaContext } from '../adapters/observability.ts';
import { compose } from '../http/deps.ts';
import { secretsFromEnv } from '../adapters/secrets.ts';
import { deploymentHostsOnFirstUse } from '../adapters/deployment-hosts-on-first-use.ts';

/**
 * This function's own ARN (unqualified), from its invocation: its retries are scheduled to itself, and
 * the stack cannot give a function its own ARN without a cycle.
 */
let ownArn: string | undefined;

/**
 * This function's adapters: the store and the webhook adapters, with the sender (it alone sends deliveries); made on
 * first use, inside an invocation. With the tenant's secrets and a GitHub App's calls: a promotion's end answers the
 * pipeline runs waiting on it (deployment gates), the other delivery of a promotion's events to the outside.
 */
const wiring = compose({
  webhooks: () => webhookDepsFromEnv({ sender: standardWebhookSender(), targetArn: ownArn }),
  secrets: secretsFromEnv,
  deploymentHosts: deploymentHostsOnFirstUse,
});
const deps = wiring.deps;

const busEvent = z.object({ 'detail-type': z.enum(WEBHOOK_BUS_TYPES as [string, ...string[]]), detail: z.record(z.string(), z.unknown()) });
const retry = z.object({
  tenant: z.string().check(z.minLength(1)),
  webhookDelivery: z.object({ subscription: z.string().check(z.minLength(1)), id: z.string().check(z.minLength(1)), trigger: z.enum(['retry', 'redeliver']) }),
});

/**
 * The delivery function: target of the webhooks bus rule (each relayed domain event: one delivery per
 * matching subscription, first attempt at once) and of its own one-time schedules (retries with
 * backoff, redeliveries). See domain/webhooks/deliveries.ts.
 */
export const handler = withLambdaContext(async (event: unknown, context?: { invokedFunctionArn?: string }) => {
  ownArn ??= context?.invokedFunctionArn?.split(':').slice(0, 7).join(':');
  const scheduled = retry.safeParse(event);
  if (scheduled.success) {
    const { tenant, webhookDelivery: w } = scheduled.data;
    return logged('webhook attempt', { tenant, delivery: w.id, trigger: w.trigger }, () => attemptDelivery(deps(), tenant, w.subscription, w.id, w.trigger));
  }
  const e = busEvent.parse(event);
  const detail = parseEventDetail(e['detail-type'], e.detail);
  const tenant = String(detail.tenant);
  const eventId = typeof detail.eventId === 'string' ? detail.eventId : '';
  if (!eventId) throw new Error('the event carries no eventId (it must come through the outbox relay)');
  // The pipeline runs waiting on an ended promotion are answered first; a failure is thrown after the deliveries
  // (dispatch is once per event and subscription, so the bus's retry sends nothing twice) and answers on the retry.
  // (Loaded on a promotion's end only: the other events answer no run.)
  const answered = PROMOTION_END_EVENTS.includes(e['detail-type'])
    ? await import('#domain/promotion/deliver/pipeline-answer')
        .then(({ answerDeploymentRuns }) => answerDeploymentRuns(deps(), tenant, String(detail.promotionId)))
        .then(
          (n) => ({ n, err: null }),
          (err: unknown) => ({ n: 0, err }),
        )
    : null;
  const dispatched = await dispatchWebhooks(deps(), { id: eventId, type: e['detail-type'], tenant, detail });
  if (answered?.err) throw answered.err;
  return dispatched;
});
