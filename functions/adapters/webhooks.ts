import type { WebhookDeps, WebhookSender } from '#domain/webhooks/ports';
import type { Scheduler } from '#domain/kernel/ports';
import * as env from '../configuration.ts';
import { SecretsManagerWebhookSecrets } from './webhook-secrets.ts';

/**
 * The webhook adapters on AWS: signing secrets in Secrets Manager; retries and redeliveries as
 * EventBridge Scheduler one-time schedules that invoke the delivery function (WEBHOOK_TARGET_ARN;
 * the delivery function passes its own ARN, `targetArn`, which its invocation gives it). The local
 * stack wires its own. Only the delivery function sends, so only its entry gives a sender
 * (webhook-sender.ts): the functions that manage subscriptions do not carry the signing library.
 * `source`: a test's values instead of the environment.
 */
export function webhookDepsFromEnv(opts: { sender?: WebhookSender; targetArn?: string; source?: env.Source } = {}): WebhookDeps {
  return {
    secrets: new SecretsManagerWebhookSecrets(),
    ...(opts.sender ? { sender: opts.sender } : {}),
    // Loaded on first use: only a retry or a redelivery needs the Scheduler client.
    scheduler: {
      async scheduleOnce(name, at, payload) {
        return (await scheduler(opts)).scheduleOnce(name, at, payload);
      },
      async scheduleRecurring(name, schedule, payload) {
        return (await scheduler(opts)).scheduleRecurring(name, schedule, payload);
      },
      async cancel(name) {
        return (await scheduler(opts)).cancel(name);
      },
    },
  };
}

let made: Promise<Scheduler> | undefined;
function scheduler({ targetArn, source }: { targetArn?: string; source?: env.Source }): Promise<Scheduler> {
  const target = targetArn ?? env.WEBHOOK_TARGET_ARN(source);
  const role = env.SCHEDULER_ROLE_ARN(source);
  if (!target || !role) throw new Error('WEBHOOK_TARGET_ARN and SCHEDULER_ROLE_ARN must be set to schedule webhook deliveries');
  made ??= make(target, role, source);
  return made;
}

async function make(target: string, role: string, source: env.Source | undefined): Promise<Scheduler> {
  const [{ SchedulerClient }, { EventBridgeScheduler }, { traced }] = await Promise.all([
    import('@aws-sdk/client-scheduler'),
    import('./scheduler.ts'),
    import('./tracing.ts'),
  ]);
  return new EventBridgeScheduler(traced(new SchedulerClient({})), target, role, env.SCHEDULE_DLQ_ARN(source), env.SCHEDULE_GROUP(source));
}
