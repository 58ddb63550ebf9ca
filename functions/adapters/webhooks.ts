import type { WebhookDeps, WebhookSender } from '#domain/webhooks/ports';
import type { Scheduler } from '#domain/kernel/ports';
import { SecretsManagerWebhookSecrets } from './webhook-secrets.ts';

/**
 * The webhook adapters on AWS: signing secrets in Secrets Manager; retries and redeliveries as
 * EventBridge Scheduler one-time schedules that invoke the delivery function (WEBHOOK_TARGET_ARN;
 * the delivery function takes its own ARN from its invocation). The local stack wires its own.
 * Only the delivery function sends, so only its entry gives a sender (webhook-sender.ts): the
 * functions that manage subscriptions do not carry the signing library.
 */
export function webhookDepsFromEnv(opts: { sender?: WebhookSender } = {}, env: NodeJS.ProcessEnv = process.env): WebhookDeps {
  return {
    secrets: new SecretsManagerWebhookSecrets(),
    ...(opts.sender ? { sender: opts.sender } : {}),
    // Loaded on first use: only a retry or a redelivery needs the Scheduler client.
    scheduler: {
      async scheduleOnce(name, at, payload) {
        return (await scheduler(env)).scheduleOnce(name, at, payload);
      },
      async cancel(name) {
        return (await scheduler(env)).cancel(name);
      },
    },
  };
}

let made: Promise<Scheduler> | undefined;
function scheduler(env: NodeJS.ProcessEnv): Promise<Scheduler> {
  if (!env.WEBHOOK_TARGET_ARN || !env.SCHEDULER_ROLE_ARN)
    throw new Error('WEBHOOK_TARGET_ARN and SCHEDULER_ROLE_ARN must be set to schedule webhook deliveries');
  made ??= make(env);
  return made;
}

async function make(env: NodeJS.ProcessEnv): Promise<Scheduler> {
  const [{ SchedulerClient }, { EventBridgeScheduler }, { traced }] = await Promise.all([
    import('@aws-sdk/client-scheduler'),
    import('./scheduler.ts'),
    import('./tracing.ts'),
  ]);
  return new EventBridgeScheduler(
    traced(new SchedulerClient({})),
    env.WEBHOOK_TARGET_ARN!,
    env.SCHEDULER_ROLE_ARN!,
    env.SCHEDULE_DLQ_ARN,
    env.SCHEDULE_GROUP || undefined,
  );
}
