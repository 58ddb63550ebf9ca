import { join } from 'node:path';
import type { WebhookDeps } from '#domain/webhooks/ports';
import { EVENT_SOURCE } from '../domain/kernel/events.ts';
import { WEBHOOK_BUS_TYPES } from '../domain/webhooks/model.ts';
import { documentClient } from '../functions/adapters/dynamo-store.ts';
import { SealedWebhookSecrets } from './webhook-secrets.ts';
import { standardWebhookSender } from '../functions/adapters/webhook-sender.ts';
import { handler as webhookDeliver } from '../functions/handlers/webhook-deliver.ts';
import type { LocalEventBus } from './event-bus.ts';
import { LOCAL_REGION, localCredentials } from './dynamodb.ts';
import { LocalScheduler } from './scheduler.ts';
import * as env from '../functions/configuration.ts';

/**
 * Outbound webhooks under npm start and in the tests: the delivery function behind the same bus rule
 * as on AWS; its retries and redeliveries on a scheduler of their own (EventBridge Scheduler
 * invoking the delivery function on AWS); signing secrets sealed in the table with the local secrets
 * key, the stand-in for Secrets Manager. Deliveries really go out (loopback allowed locally).
 */
export function localWebhooks(opts: {
  bus: LocalEventBus;
  endpoint: string;
  tableName: string;
  dataDir?: string;
  journalFile?: string;
  retryBaseMs?: number;
}): { deps: WebhookDeps; scheduler: LocalScheduler } {
  const scheduler = new LocalScheduler({
    fire: (payload) => webhookDeliver(payload),
    file: opts.journalFile
      ? opts.journalFile.replace(/\.json$/, '') + '.webhooks.json'
      : opts.dataDir
        ? join(opts.dataDir, 'webhook-schedules.json')
        : undefined,
  });
  opts.bus.addRule({ source: [EVENT_SOURCE], 'detail-type': [...WEBHOOK_BUS_TYPES] }, async (e) => {
    await webhookDeliver(e);
  });
  const db = documentClient({ endpoint: opts.endpoint, region: LOCAL_REGION, credentials: localCredentials });
  const retryBaseMs = opts.retryBaseMs ?? env.STAGELINE_WEBHOOK_RETRY_BASE_MS();
  return {
    deps: { secrets: new SealedWebhookSecrets(db, opts.tableName), sender: standardWebhookSender(), scheduler, ...(retryBaseMs ? { retryBaseMs } : {}) },
    scheduler,
  };
}
