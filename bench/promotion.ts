import { fmt, heading, quantile, sub } from './common.ts';
import { createHash, randomUUID } from 'node:crypto';
import { AsyncLocalStorage } from 'node:async_hooks';
import { GetCommand, PutCommand, TransactWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { createEnvironment } from '#domain/config/environments';
import { batchItems } from '#domain/config/items';
import type { Ctx, Deps } from '#domain/ports';
import { publishArtifact } from '#domain/artifacts/artifacts';
import { publishArtifact as publishSchema } from '#domain/kernel/promotion-schemas';
import { batchItems as batchSchema, createEnvironment as envSchema } from '#domain/kernel/schemas';
import { DynamoStore, documentClient } from '../functions/adapters/dynamo-store.ts';
import { keys, TABLE } from '../functions/adapters/keys.ts';
import { OciRegistrySync } from '../functions/adapters/oci-registry.ts';
import { HttpGateProvider } from '../functions/adapters/webhook-gates.ts';
import { handler as artifactsEvidence } from '../functions/handlers/artifacts-evidence.ts';
import { handler as promotionStep } from '../functions/handlers/promotion-step.ts';
import { handler as promotionsApprove } from '../functions/handlers/promotions-approve.ts';
import { handler as promotionsCreate } from '../functions/handlers/promotions-create.ts';
import { resetDeps } from '../functions/http/deps.ts';
import { matchRoute, routeKey } from '../functions/http/routes.ts';
import { ensureTable, LOCAL_REGION, localCredentials, startDynamo } from '../local/dynamodb.ts';
import { LocalEventBus } from '../local/event-bus.ts';
import { FileAnchor } from '../local/file-anchor.ts';
import { rememberingAnchor } from '../functions/adapters/remembering-anchor.ts';
import type { AuditAnchor } from '#domain/audit/ports';
import { LocalStreamPoller } from '../local/stream.ts';
import { anchorIntervalMs, handler as streamHandler } from '../functions/handlers/stream.ts';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalWorkflow } from '../local/workflow.ts';
import { table } from '../scripts/build.ts';
import { RequestCounter, totalRequests, type Counts } from './counter.ts';

/**
 * `npm run bench`, promotion section: (1) what ONE approved, gated promotion
 * costs on AWS — state transitions, Lambda invocations and their time,
 * DynamoDB requests and capacity, events — priced at list prices next to
 * CodePipeline V2; (2) local end-to-end throughput of promotions without
 * approval, sequential and concurrent.
 *
 * Everything runs in this process against DynamoDB Local: the real API
 * handlers are invoked directly with API Gateway (payload v2) events, and the
 * real state machine (statemachines/promotion.asl.json) runs in a LocalWorkflow
 * whose task states call the real promotion-step handler. Figures, not
 * pass/fail: only the flows' outcomes are checked.
 */

// ---------------------------------------------------------------- prices (AWS list prices, us-east-1)

const PRICE = {
  sfnPerTransition: 0.025 / 1000,
  lambdaPerGbSecond: 0.0000133334, // arm64
  lambdaPerRequest: 0.2 / 1_000_000,
  lambdaMemoryGb: 512 / 1024,
  ddbPerWru: 0.625 / 1_000_000,
  ddbPerRru: 0.125 / 1_000_000,
  eventBridgePerEvent: 1 / 1_000_000,
  apiGatewayPerRequest: 1 / 1_000_000, // HTTP API, first 300M/month
  codePipelinePerActionMinute: 0.002,
  kmsAsymmetricPerRequest: 0.15 / 10_000, // Sign with an ECC key (asymmetric requests other than RSA 2048)
  s3PerPut: 0.005 / 1000,
};
/** What the audit anchor did, as the key service and the checkpoint bucket would bill it (KMS Sign, S3 PUT; a signature is verified with the public key, no request). */
const anchorCalls = { sign: 0, verify: 0, append: 0 };
function countAnchor(a: AuditAnchor, calls: typeof anchorCalls): AuditAnchor {
  return {
    sign: (...args) => (calls.sign++, a.sign(...args)),
    verify: (c) => (calls.verify++, a.verify(c)),
    append: (c) => (calls.append++, a.append(c)),
    list: (t) => a.list(t),
    publicKey: () => a.publicKey(),
  };
}

const TARGET_USD_PER_1000 = 0.5;
const TARGET_TRANSITIONS = 12;
const SEQUENTIAL_N = 30;
const CONCURRENT_TENANTS = 10;
const CONCURRENT_ROUNDS = 3;

// ---------------------------------------------------------------- formatting

const usd = (n: number, digits = 4) => `$${n.toFixed(digits)}`;
const mark = (ok: boolean) => (ok ? 'PASS' : 'OVER');

// ---------------------------------------------------------------- DynamoDB capacity accounting

const READS = new Set(['GetItemCommand', 'QueryCommand', 'ScanCommand', 'BatchGetItemCommand', 'TransactGetItemsCommand']);
const isRead = (command: string) => READS.has(command);

/** DynamoDB's item size rule: attribute name bytes + value bytes (numbers ≈ digits/2 + 1; lists/maps 3 B + 1 B per element). */
function valueSize(v: unknown): number {
  if (v === null || v === undefined || typeof v === 'boolean') return 1;
  if (typeof v === 'string') return Buffer.byteLength(v);
  if (typeof v === 'number' || typeof v === 'bigint') {
    const digits = String(v).replace(/^-/, '').replace(/e.*$/i, '').replace('.', '').replace(/^0+/, '').length || 1;
    return Math.ceil(digits / 2) + 1;
  }
  if (v instanceof Uint8Array) return v.byteLength;
  if (v instanceof Set) return [...v].reduce<number>((s, x) => s + valueSize(x), 0);
  if (Array.isArray(v)) return 3 + v.reduce<number>((s, x) => s + 1 + valueSize(x), 0);
  if (typeof v === 'object') {
    return 3 + Object.entries(v).reduce<number>((s, [k, x]) => (x === undefined ? s : s + 1 + Buffer.byteLength(k) + valueSize(x)), 0);
  }
  return 1;
}
const itemSize = (item: Record<string, unknown>) =>
  Object.entries(item).reduce<number>((s, [k, v]) => (v === undefined ? s : s + Buffer.byteLength(k) + valueSize(v)), 0);
const kbUnits = (bytes: number) => Math.max(1, Math.ceil(bytes / 1024));

interface Shadow {
  size: number;
  /** GSI key per index name (the item is in a sparse index only when both key attributes are set) */
  gsi: Record<string, string | undefined>;
  /** size of the item's entry in each index: the keys plus the projected attributes (keys.ts) */
  gsiSize: Record<string, number>;
  /** the entry itself: a table write that leaves it as it was writes nothing to the index */
  gsiEntry: Record<string, string>;
}

function shadowOf(item: Record<string, unknown>): Shadow {
  const gsi: Record<string, string | undefined> = {};
  const gsiSize: Record<string, number> = {};
  const gsiEntry: Record<string, string> = {};
  for (const i of TABLE.indexes) {
    const pk = item[i.partitionKey];
    const sk = item[i.sortKey];
    gsi[i.name] = pk !== undefined && sk !== undefined ? `${String(pk)}\u0000${String(sk)}` : undefined;
    const attrs = [TABLE.partitionKey, TABLE.sortKey, i.partitionKey, i.sortKey, ...i.projected];
    const entry = Object.fromEntries(attrs.filter((a) => item[a] !== undefined).map((a) => [a, item[a]]));
    gsiSize[i.name] = itemSize(entry);
    gsiEntry[i.name] = JSON.stringify(entry);
  }
  return { size: itemSize(item), gsi, gsiSize, gsiEntry };
}
const keyOf = (k: Record<string, unknown>) => `${String(k[TABLE.partitionKey])}\u0000${String(k[TABLE.sortKey])}`;

type TxItem = {
  Put?: { Item: Record<string, unknown> };
  Update?: { Key: Record<string, unknown> };
  Delete?: { Key: Record<string, unknown> };
  ConditionCheck?: { Key: Record<string, unknown> };
};

/**
 * Write request units of one successful TransactWriteItems on AWS, from the
 * request itself: 2 WRU per KB (rounded up) per item for the table (prepare +
 * commit); index writes at the standard rate, 1 WRU per KB per index entry
 * (an entry holds the keys and the projected attributes only; a write that leaves an
 * item's entry as it was writes nothing to that index)
 * written — 2 entries (delete + put) when the item's index key moves, 1 when
 * it enters or leaves an index or its entry changes in place. Sizes of items not in the request
 * (deletes, condition checks) come from a shadow of what this process wrote.
 */
function transactionWrus(items: TxItem[], shadows: Map<string, Shadow>): { table: number; indexes: number } {
  let tableUnits = 0;
  let indexUnits = 0;
  for (const t of items) {
    if (t.Put) {
      const k = keyOf(t.Put.Item);
      const before = shadows.get(k);
      const after = shadowOf(t.Put.Item);
      tableUnits += 2 * kbUnits(after.size);
      for (const i of TABLE.indexes) {
        const o = before?.gsi[i.name];
        const n = after.gsi[i.name];
        if (o !== undefined && n !== undefined && o !== n) indexUnits += kbUnits(before!.gsiSize[i.name]!) + kbUnits(after.gsiSize[i.name]!);
        else if (n !== undefined && before?.gsiEntry[i.name] !== after.gsiEntry[i.name]) indexUnits += kbUnits(after.gsiSize[i.name]!);
        else if (o !== undefined && n === undefined) indexUnits += kbUnits(before!.gsiSize[i.name]!);
      }
    } else {
      const key = (t.Update ?? t.Delete ?? t.ConditionCheck)!.Key;
      const before = shadows.get(keyOf(key));
      tableUnits += 2 * kbUnits(before?.size ?? 1024);
      if (t.Delete && before) for (const i of TABLE.indexes) if (before.gsi[i.name] !== undefined) indexUnits += kbUnits(before.gsiSize[i.name]!);
      if (t.Update && before) for (const i of TABLE.indexes) if (before.gsi[i.name] !== undefined) indexUnits += kbUnits(before.gsiSize[i.name]!); // lower bound: size after update unknown
    }
  }
  return { table: tableUnits, indexes: indexUnits };
}

function applyToShadow(items: TxItem[], shadows: Map<string, Shadow>): void {
  for (const t of items) {
    if (t.Put) shadows.set(keyOf(t.Put.Item), shadowOf(t.Put.Item));
    else if (t.Delete) shadows.delete(keyOf(t.Delete.Key));
  }
}

const consumed = (output: unknown): number => {
  const c = (output as { ConsumedCapacity?: { CapacityUnits?: number } | { CapacityUnits?: number }[] } | undefined)?.ConsumedCapacity;
  if (!c) return 0;
  return (Array.isArray(c) ? c : [c]).reduce((s, x) => s + (x.CapacityUnits ?? 0), 0);
};

// ---------------------------------------------------------------- invocations

interface Invocation {
  fn: string;
  label: string;
  kind: 'api' | 'step' | 'stream';
  ms: number;
  requests: Record<string, number>;
  /** read capacity DynamoDB Local reported */
  rru: number;
  /** write capacity DynamoDB Local reported (transactions: see transactionWrus) */
  wcuLocal: number;
  /** write units at AWS rules: Local's figure for single-item writes, transactionWrus for transactions */
  wru: number;
  /** of wru: TransactWriteItems table and index arms */
  txTable: number;
  txIndexes: number;
  txLocal: number;
}

const newInvocation = (fn: string, label: string, kind: Invocation['kind']): Invocation => ({
  fn,
  label,
  kind,
  ms: 0,
  requests: {},
  rru: 0,
  wcuLocal: 0,
  wru: 0,
  txTable: 0,
  txIndexes: 0,
  txLocal: 0,
});

/** Attributes every DynamoDB request to the Lambda invocation (API handler or state-machine task) that sent it. */
class Attribution {
  readonly als = new AsyncLocalStorage<Invocation>();
  readonly shadows = new Map<string, Shadow>();
  /** requests sent outside any invocation (setup), for completeness */
  readonly outside = newInvocation('setup', 'setup', 'api');

  attach(client: DynamoDBDocumentClient): void {
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const command = context.commandName ?? 'unknown';
        const input = args.input as { TransactItems?: TxItem[]; ReturnConsumedCapacity?: string };
        input.ReturnConsumedCapacity ??= 'TOTAL';
        const inv = this.als.getStore() ?? this.outside;
        inv.requests[command] = (inv.requests[command] ?? 0) + 1;
        const result = await next(args);
        const local = consumed(result.output);
        if (isRead(command)) inv.rru += local;
        else {
          inv.wcuLocal += local;
          if (command === 'TransactWriteItemsCommand' && input.TransactItems) {
            const w = transactionWrus(input.TransactItems, this.shadows);
            if (process.env.BENCH_WRU_DETAIL) {
              for (const t of input.TransactItems) {
                const one = transactionWrus([t], this.shadows);
                const it = (t.Put?.Item ?? (t.Update ?? t.Delete ?? t.ConditionCheck)!.Key) as Record<string, unknown>;
                console.log(
                  `  [wru] ${inv.fn} ${t.Put ? 'Put' : t.Update ? 'Update' : t.Delete ? 'Delete' : 'Check'} ${String(it.entity ?? it.sk)} size=${t.Put ? shadowOf(t.Put.Item).size : '?'} table=${one.table} idx=${one.indexes}`,
                );
              }
            }
            applyToShadow(input.TransactItems, this.shadows);
            inv.txTable += w.table;
            inv.txIndexes += w.indexes;
            inv.txLocal += local;
            inv.wru += w.table + w.indexes;
          } else {
            inv.wru += local;
          }
        }
        return result;
      },
      { step: 'initialize', name: 'benchInvocationAttribution' },
    );
  }

  run<T>(inv: Invocation, fn: () => Promise<T>): Promise<T> {
    return this.als.run(inv, fn);
  }
}

/** One-shot signals: "step X of promotion Y has returned" (awaitable before or after it happens). */
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

// ---------------------------------------------------------------- API calls (API Gateway payload v2 events to the real handlers)

type HttpHandler = (event: APIGatewayProxyEventV2, context: Context) => Promise<{ statusCode: number; body?: string } | void>;
const HANDLERS: Record<string, HttpHandler> = {
  'artifacts-evidence': artifactsEvidence as unknown as HttpHandler,
  'promotions-create': promotionsCreate as unknown as HttpHandler,
  'promotions-approve': promotionsApprove as unknown as HttpHandler,
};

interface User {
  tenant: string;
  sub: string;
  email: string;
  groups: string[];
}

const claimsOf = (u: User) => ({ sub: u.sub, email: u.email, 'custom:tenant_id': u.tenant, 'cognito:groups': `[${u.groups.join(' ')}]` });
const ctxOf = (u: User): Ctx => ({ principal: { tenant: u.tenant, id: u.sub, name: u.email, roles: u.groups as Ctx['principal']['roles'], kind: 'user' } });

interface Bench {
  deps: Deps;
  workflow: LocalWorkflow;
  bus: LocalEventBus;
  attribution: Attribution;
  counter: RequestCounter;
  signals: Signals;
  /** every Lambda invocation since the last reset */
  calls: Invocation[];
  /** the table's stream consumer (audit chain + event relay), as its event source mapping runs it */
  stream: LocalStreamPoller;
}

async function api(
  b: Bench,
  user: User,
  method: 'POST',
  path: string,
  body: unknown,
  label: string,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const match = matchRoute(method, path);
  if (match.kind !== 'route') throw new Error(`no route ${method} ${path}`);
  const fn = HANDLERS[match.route.handler];
  if (!fn) throw new Error(`bench has no handler for ${match.route.handler}`);
  const requestId = randomUUID();
  const key = routeKey(match.route);
  const event = {
    version: '2.0',
    routeKey: key,
    rawPath: path,
    rawQueryString: '',
    headers: { 'content-type': 'application/json' },
    pathParameters: Object.keys(match.params).length ? match.params : undefined,
    body: JSON.stringify(body),
    isBase64Encoded: false,
    requestContext: {
      accountId: '000000000000',
      apiId: 'bench',
      domainName: 'bench.local',
      domainPrefix: 'bench',
      http: { method, path, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'bench' },
      requestId,
      routeKey: key,
      stage: '$default',
      time: new Date().toISOString(),
      timeEpoch: Date.now(),
      authorizer: { jwt: { claims: claimsOf(user), scopes: null } },
    },
  } as unknown as APIGatewayProxyEventV2;
  const context = { awsRequestId: requestId, functionName: match.route.handler, getRemainingTimeInMillis: () => 29_000 } as unknown as Context;
  const inv = newInvocation(match.route.handler, label, 'api');
  const t0 = performance.now();
  const res = await b.attribution.run(inv, () => fn(event, context));
  inv.ms = performance.now() - t0;
  b.calls.push(inv);
  if (!res) throw new Error(`${label}: handler returned nothing`);
  return { status: res.statusCode, body: res.body ? (JSON.parse(res.body) as Record<string, unknown>) : {} };
}

function expectStatus(r: { status: number; body: unknown }, status: number, what: string) {
  if (r.status !== status) throw new Error(`bench: ${what} answered ${r.status}: ${JSON.stringify(r.body)}`);
}

async function finished(b: Bench, tenant: string, promotionId: string, expected: string): Promise<void> {
  const state = await b.workflow.done(LocalWorkflow.executionId({ tenant, promotionId }));
  const p = await b.deps.store.getPromotion(tenant, promotionId);
  if (state !== 'SUCCEEDED' || p?.status !== expected) {
    throw new Error(`bench: promotion ${promotionId} ended ${state}/${p?.status} (expected ${expected}): ${JSON.stringify(p?.error ?? p?.gates)}`);
  }
}

// ---------------------------------------------------------------- setup helpers (domain calls, not measured)

function usersOf(tenant: string) {
  return {
    admin: { tenant, sub: `${tenant}-admin`, email: `admin@${tenant}.bench`, groups: ['admin'] } satisfies User,
    deployer: { tenant, sub: `${tenant}-deployer`, email: `deployer@${tenant}.bench`, groups: ['deployer'] } satisfies User,
    approver: { tenant, sub: `${tenant}-approver`, email: `approver@${tenant}.bench`, groups: ['approver'] } satisfies User,
  };
}

/** dev → staging → production; production has the tests, security_scan and cost_analysis gates on. */
async function makeLine(b: Bench, admin: User): Promise<void> {
  const ctx = ctxOf(admin);
  await createEnvironment(b.deps, ctx, envSchema.parse({ name: 'dev', position: 0, reason: 'bench' }));
  await createEnvironment(b.deps, ctx, envSchema.parse({ name: 'staging', position: 1, reason: 'bench' }));
  await createEnvironment(
    b.deps,
    ctx,
    envSchema.parse({ name: 'production', position: 2, reason: 'bench', gates: { tests: true, security_scan: true, cost_analysis: true } }),
  );
}

const CONFIGS = 20;
async function seedConfigs(b: Bench, deployer: User): Promise<void> {
  const set = Array.from({ length: CONFIGS }, (_, i) => ({
    key: `svc-${i % 4}/setting-${String(i).padStart(2, '0')}`,
    value: i % 2 ? `${i * 10}s` : { replicas: i, region: 'eu-west-1' },
  }));
  await batchItems(b.deps, ctxOf(deployer), 'dev', batchSchema.parse({ set, reason: 'bench: seed' }));
}
async function changeDevConfig(b: Bench, deployer: User, n: number): Promise<void> {
  await batchItems(b.deps, ctxOf(deployer), 'dev', batchSchema.parse({ set: [{ key: 'svc-0/bench-counter', value: n }], reason: `bench: change ${n}` }));
}

// ---------------------------------------------------------------- (1) one approved, gated promotion

const ARTIFACT = 'web';
const VERSION = 'v1.4.2';
/** A digest as real ones are (64 random-looking hex digits): a repeated pattern would compress below what real audit entries and events cost. */
const DIGEST = `sha256:${createHash('sha256').update(`${ARTIFACT}@${VERSION}`).digest('hex')}`;

interface FlowResult {
  tenant: string;
  promotionId: string;
  calls: Invocation[];
  counts: Counts;
  transitions: number;
  events: string[];
  wallMs: number;
  /** key-service calls (MACs made and checked) and checkpoint writes of the window */
  anchor: { kms: number; checkpoints: number };
}

/**
 * Setup (not measured): the line, web@v1.4.2 published into dev and promoted
 * to staging. Measured: evidence attached to the release (3 calls), the
 * staging → production promotion requested, its gates, one approval, execute
 * and verify, to COMPLETED.
 */
async function approvedFlow(b: Bench, tenant: string): Promise<FlowResult> {
  const u = usersOf(tenant);
  await makeLine(b, u.admin);
  await publishArtifact(
    b.deps,
    ctxOf(u.deployer),
    ARTIFACT,
    publishSchema.parse({ version: VERSION, digest: DIGEST, sourceCommit: 'f00dfeed', gitBranch: 'main' }),
  );
  const toStaging = await api(
    b,
    u.deployer,
    'POST',
    '/api/v1/promotions',
    { sourceEnvironment: 'dev', targetEnvironment: 'staging', artifact: ARTIFACT, version: VERSION },
    'setup',
  );
  expectStatus(toStaging, 201, 'dev → staging');
  await finished(b, tenant, String(toStaging.body.id), 'COMPLETED');

  // ---- measured window (the stream consumer has caught up with the setup first)
  await b.stream.idle();
  b.counter.reset();
  b.calls.length = 0;
  const anchorBefore = { ...anchorCalls };
  const eventsBefore = b.bus.published.length;
  const t0 = performance.now();
  const evidencePath = `/api/v1/artifacts/${ARTIFACT}/versions/${VERSION}/evidence`;
  for (const [type, payload] of [
    ['test_results', { passed: 412, failed: 0, skipped: 3, suite: 'ci' }],
    ['security_scan', { critical: 0, high: 0, medium: 2, low: 5, scanner: 'trivy', signatureVerified: true }],
    ['cost_estimate', { monthlyDelta: 12.5, currency: 'USD', budget: 100 }],
  ] as const) {
    expectStatus(
      await api(b, u.deployer, 'POST', evidencePath, { type, payload }, `attach ${type} evidence to ${ARTIFACT}@${VERSION}`),
      201,
      `evidence ${type}`,
    );
  }
  const created = await api(
    b,
    u.deployer,
    'POST',
    '/api/v1/promotions',
    { sourceEnvironment: 'staging', targetEnvironment: 'production', artifact: ARTIFACT, version: VERSION, notes: 'bench' },
    'request promotion staging → production',
  );
  expectStatus(created, 201, 'staging → production');
  const id = String(created.body.id);
  await b.signals.wait(`${id}:decide`); // the gates ran and the flow has stored its task token
  expectStatus(await api(b, u.approver, 'POST', `/api/v1/promotions/${id}/approve`, { comment: 'lgtm' }, 'approve (1 of 1)'), 200, 'approve');
  const state = await b.workflow.done(LocalWorkflow.executionId({ tenant, promotionId: id }));
  const wallMs = performance.now() - t0;
  // The consumer's work for this window (linking the audit entries, relaying the events) is part of the cost.
  await b.stream.idle();
  const counts = b.counter.take();
  // KMS bills the signatures; a head's signature is checked with the public key (fetched once per container), no request each.
  const anchor = { kms: anchorCalls.sign - anchorBefore.sign, checkpoints: anchorCalls.append - anchorBefore.append };
  const calls = [...b.calls];
  const events = b.bus.published.slice(eventsBefore).map((e) => e['detail-type']);

  // ---- checks (outside the window)
  const p = await b.deps.store.getPromotion(tenant, id);
  if (state !== 'SUCCEEDED' || p?.status !== 'COMPLETED') throw new Error(`bench: approved promotion ended ${state}/${p?.status}: ${JSON.stringify(p?.error)}`);
  const verdicts = Object.fromEntries((p.gates ?? []).map((g) => [g.gate, g.verdict]));
  for (const g of ['policy_compliance', 'tests', 'security_scan', 'cost_analysis']) {
    if (verdicts[g] !== 'PASS') throw new Error(`bench: gate ${g} is ${verdicts[g]}, expected PASS`);
  }
  if (p.approvedBy.length !== 1) throw new Error(`bench: expected 1 approval, got ${p.approvedBy.join(', ')}`);
  return {
    tenant,
    promotionId: id,
    calls,
    counts,
    transitions: b.workflow.transitions(LocalWorkflow.executionId({ tenant, promotionId: id })),
    events,
    wallMs,
    anchor,
  };
}

/** What DynamoDB Local reports for plain and transactional writes of ≤ 1 KB items (AWS documents 1 and 2 WRU per item). */
async function probeLocalCapacity(endpoint: string, tableName: string) {
  const db = documentClient({ endpoint, region: LOCAL_REGION, credentials: localCredentials });
  try {
    const key = (s: string) => ({ [TABLE.partitionKey]: `BENCH#probe#${s}`, [TABLE.sortKey]: 'P' });
    const put = consumed(await db.send(new PutCommand({ TableName: tableName, Item: key('put'), ReturnConsumedCapacity: 'TOTAL' })));
    const tx = async (n: number) =>
      consumed(
        await db.send(
          new TransactWriteCommand({
            TransactItems: Array.from({ length: n }, (_, i) => ({ Put: { TableName: tableName, Item: key(`tx${n}-${i}`) } })),
            ReturnConsumedCapacity: 'TOTAL',
          }),
        ),
      );
    return { put, tx1: await tx(1), tx3: await tx(3) };
  } finally {
    db.destroy();
  }
}

function printApproved(r: FlowResult, probe: { put: number; tx1: number; tx3: number }): number {
  sub('1. One approved promotion: staging → production, 3 enabled gates passing, 1 approver');
  console.log(
    `Flow: ${ARTIFACT}@${VERSION} (published into dev, promoted dev → staging before the window). Target 'production' has gates ` +
      `tests, security_scan, cost_analysis on (+ policy_compliance, always on); default policy for the last environment: 1 approver, separation of duties.\n` +
      `Evidence is attached to the RELEASE (POST /artifacts/${ARTIFACT}/versions/${VERSION}/evidence) before the promotion is requested, so it would ` +
      `serve every promotion of that release; its 3 calls are counted here anyway.\n` +
      `Driven by invoking the real API handlers directly with API Gateway v2 events (no HTTP, no JWT verification; no Idempotency-Key header) ` +
      `and the real ASL in LocalWorkflow, whose tasks call the promotion-step handler in-process. Warm: a full identical flow ran first in another tenant.\n` +
      `Window: first evidence call → execution finished: ${fmt(r.wallMs)} ms wall. All 4 gates PASS, status COMPLETED.`,
  );

  const steps = r.calls.filter((c) => c.kind === 'step');
  const apis = r.calls.filter((c) => c.kind === 'api');
  const reqs = (c: Invocation) =>
    Object.entries(c.requests)
      .sort()
      .map(([k, n]) => `${k.replace(/Command$/, '').replace(/Items?$/, '')}×${n}`)
      .join(' ');
  console.log('\nLambda invocations (wall time measured locally, in-process, warm; billed = rounded up to 1 ms):');
  console.log(
    table(
      ['#', 'function', 'invocation', 'ms', 'billed ms', 'DDB requests', 'RRU', 'WRU'],
      r.calls.map((c, i) => [
        i + 1,
        c.kind === 'step' ? 'promotion-step' : c.kind === 'stream' ? 'stream' : c.fn,
        c.label,
        fmt(c.ms),
        Math.ceil(c.ms),
        reqs(c),
        fmt(c.rru, 1),
        fmt(c.wru, 0),
      ]),
    ),
  );
  const streams = r.calls.filter((c) => c.kind === 'stream');
  console.log(
    `API Lambda invocations: ${apis.length}; step Lambda invocations: ${steps.length}; stream consumer invocations: ${streams.length} (batches of the table's stream: audit links + event relay); total ${r.calls.length}.`,
  );

  console.log(`\nStep Functions state transitions (LocalWorkflow.transitions, states entered + retries): ${r.transitions}`);
  console.log(`EventBridge events published: ${r.events.length} (${r.events.join(', ')})`);

  // ---- DynamoDB
  const commands = Object.keys(r.counts).sort();
  const wruByCommand = (cmd: string) =>
    cmd === 'TransactWriteItemsCommand' ? r.calls.reduce((s, c) => s + c.txTable + c.txIndexes, 0) : isRead(cmd) ? 0 : r.counts[cmd]!.capacity;
  console.log("\nDynamoDB requests over the whole flow (RequestCounter on the handlers' DocumentClient; capacity as DynamoDB Local reported it):");
  console.log(
    table(
      ['command', 'requests', 'keys/items', 'Local units', 'kind', 'WRU/RRU used'],
      commands.map((cmd) => {
        const s = r.counts[cmd]!;
        return [
          cmd.replace(/Command$/, ''),
          s.requests,
          s.items,
          fmt(s.capacity, 1),
          isRead(cmd) ? 'read' : 'write',
          fmt(isRead(cmd) ? s.capacity : wruByCommand(cmd), 1),
        ];
      }),
    ),
  );
  const rru = commands.filter(isRead).reduce((s, c) => s + r.counts[c]!.capacity, 0);
  const localWrites = commands.filter((c) => !isRead(c)).reduce((s, c) => s + r.counts[c]!.capacity, 0);
  const txTable = r.calls.reduce((s, c) => s + c.txTable, 0);
  const txIndexes = r.calls.reduce((s, c) => s + c.txIndexes, 0);
  const txLocal = r.calls.reduce((s, c) => s + c.txLocal, 0);
  const wru = r.calls.reduce((s, c) => s + c.wru, 0);
  const attributed = r.calls.reduce((s, c) => s + Object.values(c.requests).reduce((n, x) => n + x, 0), 0);
  if (attributed !== totalRequests(r.counts) || Math.abs(r.calls.reduce((s, c) => s + c.rru, 0) - rru) > 1e-9) {
    console.log(`WARNING: ${totalRequests(r.counts) - attributed} requests in the window were not sent by any invocation.`);
  }
  console.log(
    `Total: ${totalRequests(r.counts)} requests; ${fmt(rru, 1)} RRU (read request units); ${fmt(wru, 0)} WRU (write request units) used for pricing.`,
  );
  console.log(
    `Capacity check — DynamoDB Local on this machine reports, for ≤ 1 KB items: PutItem ${probe.put} (AWS: 1), ` +
      `TransactWriteItems with 1 item ${probe.tx1} (AWS: 2), with 3 items ${probe.tx3} (AWS: 6).` +
      (probe.tx1 === 2 && probe.tx3 === 6
        ? " It follows AWS's transactional rule, so its figures are used as reported."
        : `\n  Its transactional ConsumedCapacity does not follow AWS's rule of 2 WRU per KB per item (it is not per item), so it is NOT used: ` +
          `TransactWriteItems units are computed from the request items instead — table: 2 WRU per KB (rounded up) per item = ${fmt(txTable, 0)} WRU; ` +
          `GSI entries written (1 WRU per KB per index entry, 2 when an item's index key moves, e.g. a completed promotion's status) = ${fmt(txIndexes, 0)} WRU ` +
          `(Local reported ${fmt(txLocal, 0)} for these transactions). Single-item writes and reads: Local's figures (they match AWS's rules). ` +
          `All writes as Local reported them: ${fmt(localWrites, 0)}.`),
  );

  // ---- cost per 1,000 promotions
  const N = 1000;
  const sfn = r.transitions * PRICE.sfnPerTransition * N;
  const gbSeconds = r.calls.reduce((s, c) => s + PRICE.lambdaMemoryGb * (Math.ceil(c.ms) / 1000), 0);
  const lambdaCompute = gbSeconds * PRICE.lambdaPerGbSecond * N;
  const lambdaRequests = r.calls.length * PRICE.lambdaPerRequest * N;
  const ddbWrites = wru * PRICE.ddbPerWru * N;
  const ddbReads = rru * PRICE.ddbPerRru * N;
  const events = r.events.length * PRICE.eventBridgePerEvent * N;
  // The audit anchor: a KMS Sign (ECC_NIST_P256, an asymmetric request) and a checkpoint object per chain append.
  const kms = r.anchor.kms * PRICE.kmsAsymmetricPerRequest * N;
  const s3 = r.anchor.checkpoints * PRICE.s3PerPut * N;
  const total = sfn + lambdaCompute + lambdaRequests + ddbWrites + ddbReads + events + kms + s3;
  const apiGw = r.calls.filter((c) => c.kind === 'api').length * PRICE.apiGatewayPerRequest * N;
  // The same figures without the release's evidence calls (shared by every promotion of a release).
  const promo = r.calls.filter((c) => c.fn !== 'artifacts-evidence');
  const totalWithoutEvidence =
    sfn +
    events +
    kms +
    s3 +
    promo.reduce(
      (s, c) =>
        s +
        (PRICE.lambdaMemoryGb * (Math.ceil(c.ms) / 1000) * PRICE.lambdaPerGbSecond +
          PRICE.lambdaPerRequest +
          c.wru * PRICE.ddbPerWru +
          c.rru * PRICE.ddbPerRru) *
          N,
      0,
    );

  // CodePipeline V2: billed per action execution minute (rounded up per action); manual approval actions are not billed.
  const cpActions = [
    { action: 'unit tests (CodeBuild)', minutes: 1, billed: true },
    { action: 'security scan (CodeBuild)', minutes: 1, billed: true },
    { action: 'cost analysis (CodeBuild)', minutes: 1, billed: true },
    { action: 'manual approval (assumed waiting 5 min)', minutes: 5, billed: false },
    { action: 'deploy', minutes: 1, billed: true },
  ];
  const cpBilled = cpActions.filter((a) => a.billed).reduce((s, a) => s + a.minutes, 0);
  const cpAll = cpActions.reduce((s, a) => s + a.minutes, 0);
  const cp = cpBilled * PRICE.codePipelinePerActionMinute * N;
  const cpIfApprovalBilled = cpAll * PRICE.codePipelinePerActionMinute * N;

  console.log('\nCost per 1,000 such promotions at AWS list prices (us-east-1):');
  console.log(
    table(
      ['Stageline (serverless)', 'quantity per promotion', 'unit price', 'per 1,000 promotions'],
      [
        ['Step Functions Standard', `${r.transitions} state transitions`, '$0.025 / 1,000 transitions', usd(sfn)],
        [
          'Lambda compute (arm64, 512 MB)',
          `${fmt(gbSeconds, 4)} GB-s (${r.calls.length} invocations, ${r.calls.reduce((s, c) => s + Math.ceil(c.ms), 0)} billed ms)`,
          '$0.0000133334 / GB-s',
          usd(lambdaCompute),
        ],
        ['Lambda requests', `${r.calls.length} invocations`, '$0.20 / 1M', usd(lambdaRequests)],
        ['DynamoDB on-demand writes', `${fmt(wru, 0)} WRU`, '$0.625 / 1M WRU', usd(ddbWrites)],
        ['DynamoDB on-demand reads', `${fmt(rru, 1)} RRU`, '$0.125 / 1M RRU', usd(ddbReads)],
        ['EventBridge custom events', `${r.events.length} events`, '$1.00 / 1M', usd(events)],
        ['KMS (audit checkpoint signatures, ECC Sign)', `${r.anchor.kms} requests`, '$0.15 / 10,000', usd(kms)],
        ['S3 (signed checkpoints, Object Lock)', `${r.anchor.checkpoints} PUTs`, '$0.005 / 1,000', usd(s3)],
        ['TOTAL', '', '', usd(total)],
        ['  without the 3 release-evidence calls', '', '', usd(totalWithoutEvidence)],
        ['(not in the total) API Gateway HTTP API', `${r.calls.filter((c) => c.kind === 'api').length} requests`, '$1.00 / 1M', usd(apiGw)],
      ],
    ),
  );
  console.log(
    'Lambda time is measured locally (in-process, warm, sharing one event loop with DynamoDB Local I/O), an upper-bound estimate of the billed duration; ' +
      'cold starts (INIT, billed since Aug 2025) come on top when they happen — see the init-time section above.',
  );
  console.log('\nAWS CodePipeline V2 for the same flow ($0.002 per action execution minute, each action rounded up to whole minutes):');
  console.log(
    table(
      ['action', 'minutes', 'billed'],
      cpActions.map((a) => [a.action, a.minutes, a.billed ? 'yes' : 'no — AWS does not bill manual approval actions']),
    ),
  );
  console.log(
    `  ${cpBilled} billed action-minutes per promotion → ${usd(cp, 2)} per 1,000 promotions ` +
      `(${usd(cpIfApprovalBilled, 2)} if the 5-minute approval wait were billed too); ` +
      `${fmt(cp / total, 0)}× the Stageline total. Orchestration only on both sides: the compute that runs the tests and scans ` +
      `(CodeBuild minutes, or wherever the evidence comes from) and the deploy target are extra for both, as is CodePipeline's S3 artifact store.`,
  );
  console.log('\nTargets:');
  console.log(
    table(
      ['target', 'measured', 'result'],
      [
        [`cost ≤ ${usd(TARGET_USD_PER_1000, 2)} per 1,000 approved promotions`, usd(total), mark(total <= TARGET_USD_PER_1000)],
        [`  … including API Gateway`, usd(total + apiGw), mark(total + apiGw <= TARGET_USD_PER_1000)],
        [`state transitions ≤ ${TARGET_TRANSITIONS} per approved promotion`, String(r.transitions), mark(r.transitions <= TARGET_TRANSITIONS)],
      ],
    ),
  );
  return total;
}

// ---------------------------------------------------------------- (2) throughput without approval

async function timedConfigPromotion(b: Bench, deployer: User): Promise<{ ms: number; id: string; transitions: number }> {
  const t0 = performance.now();
  const r = await api(
    b,
    deployer,
    'POST',
    '/api/v1/config/promotions',
    { sourceEnvironment: 'dev', targetEnvironment: 'staging', autoStart: true },
    'config promotion dev → staging',
  );
  expectStatus(r, 201, 'config promotion');
  const id = String(r.body.id);
  const executionId = LocalWorkflow.executionId({ tenant: deployer.tenant, promotionId: id });
  const state = await b.workflow.done(executionId);
  const ms = performance.now() - t0;
  if (state !== 'SUCCEEDED') throw new Error(`bench: ${id} execution ${state}`);
  return { ms, id, transitions: b.workflow.transitions(executionId) };
}

/** What the audit anchor cost while promotions ran at a rate (throughput's window): counted signatures and checkpoint PUTs. */
export interface AnchorAtRate {
  promotions: number;
  seconds: number;
  perSecond: number;
  signs: number;
  puts: number;
  usdPer1000: number;
}

export async function throughput(b: Bench): Promise<{ perSecond: number; anchor: AnchorAtRate }> {
  sub('2. Local end-to-end throughput, promotions without approval (dev → staging config promotions, default policy, no gates)');
  console.log(
    `Each promotion: POST /api/v1/config/promotions (create handler) → state machine (Decide, Route, Execute) → COMPLETED; ` +
      `timed from the create call to the end of the execution. Before each promotion one dev config is changed (batchItems, not timed). ` +
      `${CONFIGS + 1} configs per environment. Everything on this machine: DynamoDB Local (Java), the ASL interpreter and the handlers share one Node process.`,
  );

  // The anchor is counted over the whole section (set-up writes included: their audit entries are anchored too),
  // the stream consumer anchoring on its own interval (STAGELINE_ANCHOR_INTERVAL_SECONDS, default 10 s).
  const anchorFrom = { ...anchorCalls };
  const sectionFrom = performance.now();

  // ---- sequential, one target
  const seq = usersOf('seq');
  await makeLine(b, seq.admin);
  await seedConfigs(b, seq.deployer);
  const seqMs: number[] = [];
  const seqTransitions = new Set<number>();
  let seqTotal = 0;
  for (let i = 0; i < SEQUENTIAL_N; i++) {
    await changeDevConfig(b, seq.deployer, i);
    const r = await timedConfigPromotion(b, seq.deployer);
    await finished(b, 'seq', r.id, 'COMPLETED');
    seqMs.push(r.ms);
    seqTotal += r.ms;
    seqTransitions.add(r.transitions);
  }

  // ---- concurrent: one tenant (own line, own staging) per concurrent promotion
  const tenants = Array.from({ length: CONCURRENT_TENANTS }, (_, i) => usersOf(`par${i}`));
  for (const u of tenants) {
    await makeLine(b, u.admin);
    await seedConfigs(b, u.deployer);
  }
  const parMs: number[] = [];
  const rounds: number[] = [];
  for (let round = 0; round < CONCURRENT_ROUNDS; round++) {
    await Promise.all(tenants.map((u) => changeDevConfig(b, u.deployer, 1000 + round)));
    const t0 = performance.now();
    const results = await Promise.all(tenants.map((u) => timedConfigPromotion(b, u.deployer)));
    rounds.push(performance.now() - t0);
    for (const [i, r] of results.entries()) {
      await finished(b, tenants[i]!.deployer.tenant, r.id, 'COMPLETED');
      parMs.push(r.ms);
    }
  }
  const parTotal = rounds.reduce((s, x) => s + x, 0);

  console.log(
    '\n' +
      table(
        ['run', 'promotions', 'elapsed s', 'promotions/s', 'median ms', 'p90 ms', 'max ms'],
        [
          [
            `sequential, 1 tenant, same target`,
            SEQUENTIAL_N,
            fmt(seqTotal / 1000, 2),
            fmt(SEQUENTIAL_N / (seqTotal / 1000), 2),
            fmt(quantile(seqMs, 0.5)),
            fmt(quantile(seqMs, 0.9)),
            fmt(Math.max(...seqMs)),
          ],
          [
            `${CONCURRENT_TENANTS} concurrent, ${CONCURRENT_TENANTS} tenants × ${CONCURRENT_ROUNDS} rounds`,
            CONCURRENT_TENANTS * CONCURRENT_ROUNDS,
            fmt(parTotal / 1000, 2),
            fmt((CONCURRENT_TENANTS * CONCURRENT_ROUNDS) / (parTotal / 1000), 2),
            fmt(quantile(parMs, 0.5)),
            fmt(quantile(parMs, 0.9)),
            fmt(Math.max(...parMs)),
          ],
        ],
      ),
  );
  console.log(
    `Sequential elapsed = sum of the timed promotions (config edits excluded). Concurrent: each round of ${CONCURRENT_TENANTS} timed from the first create to the last completion; ` +
      `rounds took ${rounds.map((x) => fmt(x, 0)).join(', ')} ms. State transitions per promotion without approval: ${[...seqTransitions].join(', ')}.`,
  );
  // Sustained: promotions keep coming, round-robin over the tenants, until the section has run 3 anchor intervals, so
  // the anchoring figure spans several intervals (at ≥ 1 promotion/s, as its goal is stated).
  let sustained = 0;
  const everyone = [seq, ...tenants];
  while (performance.now() - sectionFrom < 3 * anchorIntervalMs()) {
    const u = everyone[sustained % everyone.length]!;
    await changeDevConfig(b, u.deployer, 5000 + sustained);
    const r = await timedConfigPromotion(b, u.deployer);
    await finished(b, u.deployer.tenant, r.id, 'COMPLETED');
    sustained++;
  }
  const promotions = SEQUENTIAL_N + CONCURRENT_TENANTS * CONCURRENT_ROUNDS + sustained;
  const seconds = (performance.now() - sectionFrom) / 1000;
  // The tail: what moved since the last anchor is signed too (the consumer caught up), and counted, so the figure
  // does not leave out the interval the section ended in.
  await b.stream.idle();
  const signs = anchorCalls.sign - anchorFrom.sign;
  const puts = anchorCalls.append - anchorFrom.append;
  const usdPer1000 = ((signs * PRICE.kmsAsymmetricPerRequest + puts * PRICE.s3PerPut) / promotions) * 1000;
  const anchor: AnchorAtRate = { promotions, seconds, perSecond: promotions / seconds, signs, puts, usdPer1000 };
  console.log(
    `\nAudit anchoring while these ran (one Merkle root signed per interval at most, ${anchorIntervalMs() / 1000} s, over every chain that moved; ` +
      `${CONCURRENT_TENANTS + 1} tenants' chains): ${promotions} promotions in ${fmt(seconds, 1)} s (${fmt(anchor.perSecond, 2)}/s, set-up included), and the tail signed when the consumer caught up → ` +
      `${signs} KMS Sign and ${puts} checkpoint PUTs, ${fmt(signs / promotions, 3)} and ${fmt(puts / promotions, 3)} per promotion: ` +
      `${usd(usdPer1000, 4)} per 1,000 promotions (goal ≤ $0.005; one signature and one PUT per chain append before: $0.080).`,
  );
  return { perSecond: SEQUENTIAL_N / (seqTotal / 1000), anchor };
}

// ---------------------------------------------------------------- entry

/** The measuring set-up: real handlers, the real ASL on LocalWorkflow, the stream consumer, on one table of a DynamoDB Local. */
/**
 * `streamIdleMs`: how long the stream consumer waits when it found nothing. The cost flow polls often (20 ms),
 * so each step's records are one batch — one chain append, MAC and checkpoint each — as when a person approves
 * minutes later (a conservative count: batches that merge cost less). Throughput polls like the local stack.
 */
export async function openBench(endpoint: string, streamIdleMs = 20) {
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
        const p = payload as { step: string; tenant: string; promotionId: string };
        const inv = newInvocation('promotion-step', `step: ${p.step}`, 'step');
        const t0 = performance.now();
        try {
          return await attribution.run(inv, () => promotionStep(payload));
        } finally {
          inv.ms = performance.now() - t0;
          calls.push(inv);
          signals.fire(`${p.promotionId}:${p.step}`);
        }
      },
    });
    const bus = new LocalEventBus();
    const anchorDir = mkdtempSync(join(tmpdir(), 'stageline-bench-'));
    const deps: Deps = {
      store: new DynamoStore(db, tableName),
      clock: () => new Date(),
      workflow,
      events: bus,
      gates: new HttpGateProvider(),
      registry: new OciRegistrySync(),
      scheduler: { scheduleOnce: async () => undefined, cancel: async () => undefined },
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
    const b: Bench = { deps, workflow, bus, attribution, counter, signals, calls, stream };
    return { b, probe, db, tableName, close };
  } catch (err) {
    await close();
    throw err;
  }
}

/** What one approved promotion costs, in counts (the figures tests assert and the bench prints). */
export interface PromotionCounts {
  transitions: number;
  requests: number;
  wru: number;
  rru: number;
  events: number;
  invocations: { api: number; step: number; stream: number };
  /** key-service requests and signed checkpoints written */
  anchor: { kms: number; checkpoints: number };
  /** the promotion item as stored, bytes (DynamoDB's item size rules) */
  promotionItemBytes: number;
}

function countsOf(r: FlowResult): Omit<PromotionCounts, 'promotionItemBytes'> {
  return {
    transitions: r.transitions,
    requests: totalRequests(r.counts),
    wru: r.calls.reduce((n, c) => n + c.wru, 0),
    rru: r.calls.reduce((n, c) => n + c.rru, 0),
    events: r.events.length,
    invocations: {
      api: r.calls.filter((c) => c.kind === 'api').length,
      step: r.calls.filter((c) => c.kind === 'step').length,
      stream: r.calls.filter((c) => c.kind === 'stream').length,
    },
    anchor: r.anchor,
  };
}

async function promotionItemBytes(db: DynamoDBDocumentClient, tableName: string, tenant: string, id: string): Promise<number> {
  const r = await db.send(new GetCommand({ TableName: tableName, Key: keys.promotion(tenant, id) }));
  return r.Item ? itemSize(r.Item) : 0;
}

/** One approved promotion (after a warm-up flow), measured on the DynamoDB Local at `endpoint`. */
export async function measureApprovedPromotion(endpoint: string): Promise<PromotionCounts> {
  const { b, db, tableName, close } = await openBench(endpoint);
  try {
    await approvedFlow(b, `warm-${randomUUID().slice(0, 6)}`);
    const r = await approvedFlow(b, `cost-${randomUUID().slice(0, 6)}`);
    return { ...countsOf(r), promotionItemBytes: await promotionItemBytes(db, tableName, r.tenant, r.promotionId) };
  } finally {
    await close();
  }
}

export async function benchPromotion(): Promise<
  PromotionCounts & { throughput: number; usdPer1000: number; usdPer1000AtRate: number; anchorAtRate: AnchorAtRate }
> {
  heading('Promotion flow: cost per promotion and local throughput');
  const dynamo = await startDynamo({});
  try {
    const { b, probe, db, tableName, close } = await openBench(dynamo.endpoint);
    try {
      await approvedFlow(b, 'warmup');
      const measured = await approvedFlow(b, 'cost');
      const bytes = await promotionItemBytes(db, tableName, measured.tenant, measured.promotionId);
      const usdPer1000 = printApproved(measured, probe);
      console.log(`The promotion item as stored: ${bytes} bytes (goal ≤ 1,024).`);
      await close();
      // Throughput on a fresh table, the stream consumer polling as the local stack does (every 100 ms when idle;
      // Lambda polls a shard about 4 times a second): faster polling costs DynamoDB Local about 15% of its throughput.
      const t = await openBench(dynamo.endpoint, 100);
      try {
        const { perSecond, anchor } = await throughput(t.b);
        // The approved promotion's cost at a rate: its anchoring as counted while promotions ran at ≥ 1/s, instead of
        // the one signature its lone window flushed.
        const single = (measured.anchor.kms * PRICE.kmsAsymmetricPerRequest + measured.anchor.checkpoints * PRICE.s3PerPut) * 1000;
        const usdPer1000AtRate = usdPer1000 - single + anchor.usdPer1000;
        console.log(
          `Cost per 1,000 approved promotions at ${fmt(anchor.perSecond, 2)} promotions/s: ${usd(usdPer1000AtRate, 3)} ` +
            `(the table above with the anchoring counted at that rate, ${usd(anchor.usdPer1000, 4)}, instead of its lone promotion's ${usd(single, 4)}; goal ≤ $0.15; CodePipeline V2 $8.00).`,
        );
        return { ...countsOf(measured), promotionItemBytes: bytes, throughput: perSecond, usdPer1000, usdPer1000AtRate, anchorAtRate: anchor };
      } finally {
        await t.close();
      }
    } catch (err) {
      await close();
      throw err;
    }
  } finally {
    await dynamo.stop();
  }
}
