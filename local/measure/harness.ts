import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { AuditAnchor } from '#domain/audit/ports';
import { DynamoStore, documentClient } from '../../functions/adapters/dynamo-store.ts';
import { OciRegistrySync } from '../../functions/adapters/oci/sync.ts';
import { rememberingAnchor } from '../../functions/adapters/remembering-anchor.ts';
import { ChangeToolsAdapter } from '../../functions/adapters/change/providers.ts';
import { HttpGateProvider } from '../../functions/adapters/webhook-gates.ts';
import { handler as alarmState } from '../../functions/handlers/alarm-state.ts';
import { handler as promotionStep } from '../../functions/handlers/promotion-step.ts';
import { handler as streamHandler } from '../../functions/handlers/stream.ts';
import { CiRunCalls } from '../../functions/adapters/ci-runs.ts';
import { resetDeps, tunables, type AllDeps } from '../../functions/http/deps.ts';
import { LOCAL_AWS_EVENTS, LocalAlarms } from '../alarms.ts';
import { ensureTable, LOCAL_REGION, localCredentials } from '../dynamodb.ts';
import { LocalEventBus } from '../event-bus.ts';
import { FileAnchor } from '../file-anchor.ts';
import { LocalStreamPoller } from '../stream.ts';
import { LocalWorkflow } from '../workflow.ts';
import { newInvocation, Attribution, type Invocation } from './attribution.ts';
import { probeLocalCapacity } from './capacity.ts';
import { RequestCounter } from './counter.ts';
import { unusedPorts } from './store-only.ts';

/**
 * The measuring harness (`npm run bench` and the tests that check its counts): the real API and
 * step handlers, the real state machine (statemachines/promotion.asl.json) on a LocalWorkflow whose
 * tasks call the promotion-step handler in this process, and the table's stream consumer, on one
 * table of a DynamoDB Local. Every DynamoDB request is counted (RequestCounter) and attributed to
 * the Lambda invocation that sent it (Attribution); the audit anchor's calls are counted too.
 */

/** What the audit anchor did, as the key service and the checkpoint bucket would bill it (KMS Sign, S3 PUT; a signature is verified with the public key, no request). */
export interface AnchorCalls {
  sign: number;
  /** KMS Sign calls for attestations (one per promotion that ended) */
  signBytes: number;
  verify: number;
  append: number;
}
function countAnchor(a: AuditAnchor, calls: AnchorCalls): AuditAnchor {
  return {
    sign: (...args) => (calls.sign++, a.sign(...args)),
    signBytes: (...args) => (calls.signBytes++, a.signBytes(...args)),
    verify: (c) => (calls.verify++, a.verify(c)),
    append: (c) => (calls.append++, a.append(c)),
    list: (t) => a.list(t),
    publicKey: () => a.publicKey(),
    tenantKey: (t, create) => a.tenantKey(t, create),
  };
}

/** One-shot signals: "step X of promotion Y has returned", and "…for target Z" (`Y:X:Z`) (awaitable before or after it happens). */
class Signals {
  private readonly map = new Map<string, { promise: Promise<void>; resolve: () => void }>();
  private entry(key: string) {
    let e = this.map.get(key);
    if (!e) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => (resolve = r));
      e = { promise, resolve };
      this.map.set(key, e);
    }
    return e;
  }
  fire(key: string) {
    this.entry(key).resolve();
  }
  wait(key: string) {
    return this.entry(key).promise;
  }
}

export interface Harness {
  deps: AllDeps;
  workflow: LocalWorkflow;
  bus: LocalEventBus;
  attribution: Attribution;
  counter: RequestCounter;
  signals: Signals;
  /** every Lambda invocation since the last reset */
  calls: Invocation[];
  /** the table's stream consumer (audit chain + event relay), as its event source mapping runs it */
  stream: LocalStreamPoller;
  /** what the audit anchor was asked to do (sign, verify, append), counted since the harness opened */
  anchorCalls: AnchorCalls;
}

export async function finished(b: Harness, tenant: string, promotionId: string, expected: string): Promise<void> {
  const state = await b.workflow.done(LocalWorkflow.executionId({ tenant, promotionId }));
  const p = await b.deps.store.getPromotion(tenant, promotionId);
  if (state !== 'SUCCEEDED' || p?.status !== expected) {
    throw new Error(`bench: promotion ${promotionId} ended ${state}/${p?.status} (expected ${expected}): ${JSON.stringify(p?.error ?? p?.gates)}`);
  }
}

/** The measuring set-up: real handlers, the real ASL on LocalWorkflow, the stream consumer, on one table of a DynamoDB Local. */
/**
 * `streamIdleMs`: how long the stream consumer waits when it found nothing. The cost flow polls often (20 ms),
 * so each step's records are one batch — one chain append, MAC and checkpoint each — as when a person approves
 * minutes later (a conservative count: batches that merge cost less). Throughput polls like the local stack.
 */
export async function openHarness(endpoint: string, streamIdleMs = 20) {
  let workflow: LocalWorkflow | undefined;
  let stream: LocalStreamPoller | undefined;
  let db: DynamoDBDocumentClient | undefined;
  const close = async () => {
    resetDeps();
    await stream?.stop();
    await workflow?.stop();
    db?.destroy();
  };
  try {
    const tableName = `bench-promo-${Date.now().toString(36)}-${randomUUID().slice(0, 4)}`;
    await ensureTable(endpoint, tableName);
    const probe = await probeLocalCapacity(endpoint, tableName);

    db = documentClient({ endpoint, region: LOCAL_REGION, credentials: localCredentials });
    const counter = new RequestCounter();
    counter.attach(db);
    const attribution = new Attribution();
    attribution.attach(db);
    const signals = new Signals();
    const calls: Invocation[] = [];
    // The step Lambda: every Task state of the ASL invokes the real handler; each call is timed and attributed.
    workflow = new LocalWorkflow({
      invokeStep: async (payload) => {
        const p = payload as { step: string; tenant: string; promotionId: string; target?: string };
        const inv = newInvocation('promotion-step', `step: ${p.step}`, 'step');
        const t0 = performance.now();
        try {
          return await attribution.run(inv, () => promotionStep(payload));
        } finally {
          inv.ms = performance.now() - t0;
          calls.push(inv);
          signals.fire(`${p.promotionId}:${p.step}`);
          if (p.target) signals.fire(`${p.promotionId}:${p.step}:${p.target}`);
        }
      },
    });
    const bus = new LocalEventBus();
    // Monitors: a CloudWatch alarm state change put on the bus (as POST /dev/events puts it on the local stack) runs the
    // alarm-state function, as the default bus's rule invokes it on AWS; the monitors are read from what the bus said.
    const alarms = new LocalAlarms();
    bus.addRule(LOCAL_AWS_EVENTS, async (e) => {
      alarms.observe(e);
      const inv = newInvocation('alarm-state', `alarm: ${String((e.detail as { alarmName?: unknown })?.alarmName)}`, 'event');
      const t0 = performance.now();
      try {
        await attribution.run(inv, () => alarmState(e));
      } finally {
        inv.ms = performance.now() - t0;
        calls.push(inv);
      }
    });
    const anchorDir = mkdtempSync(join(tmpdir(), 'stageline-bench-'));
    const anchorCalls: AnchorCalls = { sign: 0, signBytes: 0, verify: 0, append: 0 };
    const deps: AllDeps = {
      // Ports the measured flows never call (no git target, notification, manifest or user route is in them).
      ...unusedPorts(),
      // The local stack's place (local/stack.ts): monitors are alarms of account 000000000000 in us-east-1.
      deployment: { account: '000000000000', region: 'us-east-1' },
      alarms,
      // Analysis templates' providers: one that answers at once (0.01), so the bench counts what the flow spends per measurement, not a provider's latency.
      metrics: { query: async () => [0.01] },
      store: new DynamoStore(db, tableName),
      clock: () => new Date(),
      tunables,
      workflow,
      events: bus,
      gates: new HttpGateProvider(),
      // Change-controlled environments' tools (bench/change-request.ts): the real adapters, through the outbound rules.
      changes: new ChangeToolsAdapter(),
      // CI gates' runs (bench/pipeline-gates.ts): the real adapter, through the outbound rules, its secrets from the environment.
      ciRuns: new CiRunCalls(),
      registry: new OciRegistrySync(),
      scheduler: { scheduleOnce: async () => undefined, scheduleRecurring: async () => undefined, cancel: async () => undefined },
      anchor: rememberingAnchor(countAnchor(new FileAnchor(join(anchorDir, 'audit-signing-key.pem'), join(anchorDir, 'checkpoints.jsonl')), anchorCalls)),
    };
    resetDeps(deps); // the handlers (API and step) now use these adapters
    // The stream consumer, as the event source mapping invokes it (batches up to 100 records).
    stream = new LocalStreamPoller({
      endpoint,
      tableName,
      idleMs: streamIdleMs,
      handler: async (e) => {
        const inv = newInvocation('stream', `stream: ${e.Records.length} records`, 'stream');
        const t0 = performance.now();
        try {
          return await attribution.run(inv, () => streamHandler(e));
        } finally {
          inv.ms = performance.now() - t0;
          calls.push(inv);
        }
      },
    });
    stream.start();
    const b: Harness = { deps, workflow, bus, attribution, counter, signals, calls, stream, anchorCalls };
    return { b, probe, db, tableName, close };
  } catch (err) {
    await close();
    throw err;
  }
}
