import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { Deps, Events, Scheduler, Workflow } from '#domain/ports';
import { DynamoStore, documentClient } from '../adapters/dynamo-store.ts';
import { EventBridgeEvents } from '../adapters/events.ts';
import { sfnWorkflowFromEnv } from '../adapters/sfn-workflow.ts';
import { HttpGateProvider } from '../adapters/webhook-gates.ts';
import { ConfiguredRegistrySync } from '../adapters/registry-credentials.ts';
import { schedulerFromEnv } from '../adapters/scheduler.ts';

let cached: Deps | undefined;

/** Builds an adapter on first use: read-only functions never construct (or need config for) it. */
function lazy<T extends object>(make: () => T): T {
  let inst: T | undefined;
  return new Proxy({} as T, {
    get: (_t, prop) => {
      inst ??= make();
      const v = (inst as Record<string | symbol, unknown>)[prop];
      return typeof v === 'function' ? v.bind(inst) : v;
    },
  });
}

/**
 * Production wiring, built on first use and reused across invocations.
 * DYNAMODB_ENDPOINT points at DynamoDB Local when running locally (the local
 * stack also swaps in its own workflow runner and event bus via resetDeps).
 */
export function deps(): Deps {
  if (!cached) {
    const table = process.env.TABLE_NAME;
    if (!table) throw new Error('TABLE_NAME is not set');
    const endpoint = process.env.DYNAMODB_ENDPOINT;
    const db = documentClient(
      endpoint
        ? { endpoint, region: process.env.AWS_REGION ?? 'local', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }
        : {},
    );
    cached = {
      store: new DynamoStore(db, table),
      clock: () => new Date(),
      workflow: lazy<Workflow>(() => sfnWorkflowFromEnv()),
      events: lazy<Events>(() => {
        const bus = process.env.EVENT_BUS_NAME;
        if (!bus) throw new Error('EVENT_BUS_NAME is not set');
        return new EventBridgeEvents(new EventBridgeClient({}), bus);
      }),
      gates: new HttpGateProvider(),
      registry: new ConfiguredRegistrySync(),
      scheduler: lazy<Scheduler>(() => schedulerFromEnv()),
    };
  }
  return cached;
}

/** Lets the local stack and tests point handlers at another table or swap adapters. */
export function resetDeps(next?: Deps): void {
  cached = next;
}
