import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { createAppKey } from '#domain/access/app-keys';
import { clearContentsCache as clearCache, effectiveStats } from '#domain/config/effective';
import { createEnvironment } from '#domain/config/environments';
import { batchItems } from '#domain/config/items';
import type { Ctx } from '#domain/ports';
import { batchItems as batchSchema, createEnvironment as envSchema } from '#domain/kernel/schemas';
import { DynamoStore, documentClient } from '../functions/adapters/dynamo-store.ts';
import { handler as effective } from '../functions/handlers/effective.ts';
import { handler as ofrep } from '../functions/handlers/ofrep.ts';
import { resetDeps } from '../functions/http/deps.ts';
import { overrideConfig } from '../functions/configuration-overrides.ts';
import { ensureTable, LOCAL_REGION, localCredentials, startDynamo } from '../local/dynamodb.ts';
import { table } from '../scripts/build.ts';
import { fmt, heading, quantile } from './common.ts';
import { storeOnlyDeps } from '../local/measure/store-only.ts';
import { RequestCounter, totalRequests, type Counts } from '../local/measure/counter.ts';

/**
 * `npm run bench`, consume section: what a service's read of its effective config costs (200 with
 * the snapshot read from the table, 200 served from the in-memory snapshot cache, 304), and an
 * OFREP bulk poll, through the real handlers on DynamoDB Local; priced at AWS list prices next to
 * AWS AppConfig's data plane.
 */
const RUNS = 200;
const CONFIGS = 300;
const FLAGS = 50;
const PRICE = {
  apiGatewayPerRequest: 1 / 1_000_000, // HTTP API, first 300M/month
  lambdaPerRequest: 0.2 / 1_000_000,
  lambdaPerGbSecond: 0.0000133334, // arm64
  lambdaMemoryGb: 512 / 1024,
  ddbPerRru: 0.125 / 1_000_000,
  appConfigPerRequest: 0.2 / 1_000_000, // "configuration requests via API calls"
  appConfigPerReceived: 0.0008, // "configurations received" (a poll that gets new data)
};

type Case = { name: string; counts: Counts; ms: number[]; status: number };

export async function benchEffective(): Promise<{
  rru304: number;
  rru200: number;
  requests304: number;
  usdPerMillion304: number;
  usdPerMillion304Url: number;
  usdPerMillion304InstanceUrl: number;
  /** the same target read without identification: what identification adds is the difference */
  usdPerMillion304TargetUrl: number;
  writes304Instance: number;
}> {
  heading('Consume: effective config and OFREP reads (per read, real handlers, DynamoDB Local)');
  const local = await startDynamo({});
  try {
    const table_ = `bench-effective-${Date.now()}`;
    await ensureTable(local.endpoint, table_);
    const db = documentClient({ endpoint: local.endpoint, region: LOCAL_REGION, credentials: localCredentials });
    const counter = new RequestCounter();
    counter.attach(db);
    const store = new DynamoStore(db, table_);
    const deps = storeOnlyDeps(store);
    resetDeps(deps);
    overrideConfig({ TABLE_NAME: table_ });
    const tenant = 'bench';
    const admin: Ctx = { principal: { tenant, id: 'admin', name: 'admin@bench', roles: ['admin'], kind: 'user' } };
    // The last environment of a line is protected (it changes only by promotion): the bench reads staging.
    // Staging declares targets: a read without one costs what it always did; a target's read is measured beside it.
    await createEnvironment(deps, admin, envSchema.parse({ name: 'staging', position: 0, targets: [{ name: 'canary', wave: 1 }] }));
    await createEnvironment(deps, admin, envSchema.parse({ name: 'production', position: 1 }));
    const set = [
      ...Array.from({ length: CONFIGS }, (_, i) => ({
        kind: 'config',
        key: `svc${i % 10}.setting-${i}`,
        value: { timeoutMs: 1000 + i, region: 'us-east-1', enabled: i % 2 === 0 },
      })),
      ...Array.from({ length: FLAGS }, (_, i) => ({
        kind: 'flag',
        key: `feature-${i}`,
        value: i % 5 === 0 ? { $rollout: { variants: { on: true, off: false }, weights: { on: 10, off: 90 } } } : i % 2 === 0,
      })),
    ];
    await batchItems(deps, admin, 'staging', batchSchema.parse({ set }));
    const key = (await createAppKey(deps, admin, { name: 'bench', environment: 'staging' })).key;
    // Only a key scoped to the target reports its instances (an environment's key with ?target= is served, not counted).
    const canaryKey = (await createAppKey(deps, admin, { name: 'bench-canary', environment: 'staging', target: 'canary' })).key;

    const event = (
      routeKey: string,
      path: string,
      headers: Record<string, string>,
      body?: string,
      pathParameters?: Record<string, string>,
      query?: Record<string, string>,
    ) =>
      ({
        version: '2.0',
        routeKey,
        rawPath: path,
        rawQueryString: query ? new URLSearchParams(query).toString() : '',
        queryStringParameters: query,
        headers,
        pathParameters,
        body,
        isBase64Encoded: false,
        requestContext: { http: { method: routeKey.split(' ')[0], path } },
      }) as unknown as APIGatewayProxyEventV2;
    const context = { awsRequestId: 'bench', getRemainingTimeInMillis: () => 10_000 } as unknown as Context;
    const read = (headers: Record<string, string> = {}, query?: Record<string, string>) =>
      effective(
        event(
          'GET /api/v1/environments/{env}/effective',
          '/api/v1/environments/staging/effective',
          { 'x-api-key': key, ...headers },
          undefined,
          { env: 'staging' },
          query,
        ),
        context,
      );
    const bulk = (headers: Record<string, string> = {}) =>
      ofrep(
        event(
          'POST /ofrep/v1/evaluate/flags',
          '/ofrep/v1/evaluate/flags',
          { 'x-api-key': key, 'content-type': 'application/json', ...headers },
          JSON.stringify({ context: { targetingKey: 'user-42' } }),
        ),
        context,
      );

    // The first read of the key writes its last-used time (then at most once a minute): kept out of the measured runs.
    const first = await read();
    const etag = first.headers!.etag!;
    const bulkTag = (await bulk()).headers!.etag!;
    const targetTag = (await read({}, { target: 'canary' })).headers!.etag!;
    // An instance that identifies itself: its first read (a 200) records it once, outside the measured runs.
    const instance = { 'x-api-key': canaryKey, 'stageline-instance': 'pod-7f9c:1' };
    const instanceTag = (await read(instance, { target: 'canary' })).headers!.etag!;
    const cases: Case[] = [];
    const measure = async (name: string, run: () => Promise<{ statusCode: number }>, fresh: () => void = () => {}) => {
      const ms: number[] = [];
      const runs: Counts[] = [];
      let status = 0;
      for (let i = 0; i < RUNS; i++) {
        fresh();
        counter.reset();
        const t0 = performance.now();
        status = (await run()).statusCode;
        ms.push(performance.now() - t0);
        runs.push(counter.take());
      }
      // Per read: the average over the runs (all runs of a case send the same requests).
      const counts: Counts = {};
      for (const c of runs)
        for (const [cmd, s] of Object.entries(c)) {
          const a = (counts[cmd] ??= { requests: 0, items: 0, capacity: 0 });
          a.requests += s.requests / RUNS;
          a.items += s.items / RUNS;
          a.capacity += s.capacity / RUNS;
        }
      cases.push({ name, counts, ms, status });
    };
    const loadsBefore = effectiveStats.loads;
    await measure(
      '200, snapshot read from the table (new digest)',
      () => read(),
      () => clearCache(),
    );
    const loads = effectiveStats.loads - loadsBefore;
    await measure('200, snapshot cached in memory', () => read());
    await measure('304 (If-None-Match = ETag)', () => read({ 'if-none-match': etag }));
    await measure('OFREP bulk 200 (50 flags, cached snapshot)', () => bulk());
    await measure('OFREP bulk 304', () => bulk({ 'if-none-match': bulkTag }));
    await measure('304 as a target (?target=canary, no rollout in progress)', () => read({ 'if-none-match': targetTag }, { target: 'canary' }));
    await measure('304 as a target, with Stageline-Instance (no write)', () => read({ ...instance, 'if-none-match': instanceTag }, { target: 'canary' }));
    // A rollout changed canary (the op its TargetApply commits): the environment's item names it, and its read reads its head too.
    const staging = (await store.getEnvironment(tenant, 'staging'))!;
    await store.commit(tenant, [
      {
        kind: 'targetHead',
        head: {
          environment: 'staging',
          target: 'canary',
          subject: 'config',
          snapshot: staging.head,
          base: staging.head.seq,
          promotionId: 'prm_bench',
          wave: 1,
          updatedAt: new Date().toISOString(),
          version: 1,
        },
        expectedVersion: null,
      },
    ]);
    const changedTag = (await read({}, { target: 'canary' })).headers!.etag!;
    await measure('304 as a target a rollout changed (+ its head)', () => read({ 'if-none-match': changedTag }, { target: 'canary' }));

    const rru = (c: Case) => Object.values(c.counts).reduce((s, x) => s + x.capacity, 0);
    const lambdaUsd = (c: Case) => PRICE.lambdaPerRequest + PRICE.lambdaPerGbSecond * PRICE.lambdaMemoryGb * (Math.ceil(quantile(c.ms, 0.5)) / 1000);
    const usdPerMillion = (c: Case) => 1_000_000 * (PRICE.apiGatewayPerRequest + lambdaUsd(c) + rru(c) * PRICE.ddbPerRru);
    /** The same read at the function URL: no API Gateway request fee (the app key is checked in the function). */
    const usdPerMillionUrl = (c: Case) => 1_000_000 * (lambdaUsd(c) + rru(c) * PRICE.ddbPerRru);
    const c304 = cases[2]!;
    const c200 = cases[1]!;
    const c304Instance = cases[6]!;
    /** Writes an instance-identified 304 sends (goal: none): any command that is not a read. */
    const writes304Instance = Object.entries(c304Instance.counts)
      .filter(([cmd]) => !/^(Get|BatchGet|Query)/.test(cmd))
      .reduce((n, [, s]) => n + s.requests, 0);
    console.log(
      table(
        ['read', 'status', 'DynamoDB requests', 'by command', 'RRU', 'p50 ms (local)', '$ / 1M via API Gateway', '$ / 1M via function URL'],
        cases.map((c) => [
          c.name,
          String(c.status),
          fmt(totalRequests(c.counts), 1),
          Object.entries(c.counts)
            .map(([cmd, s]) => `${cmd.replace('Command', '')} ×${fmt(s.requests, 1)} (${fmt(s.items, 0)} keys)`)
            .join(', ') || 'none',
          fmt(rru(c), 1),
          fmt(quantile(c.ms, 0.5), 2),
          `$${usdPerMillion(c).toFixed(2)}`,
          `$${usdPerMillionUrl(c).toFixed(2)}`,
        ]),
      ),
    );
    console.log(`Environment: ${CONFIGS} configs + ${FLAGS} flags (${FLAGS / 5} of them rollouts); snapshot contents loaded from the table ${loads} times in the ${RUNS} uncached runs (the cache was cleared before each).
A read's first check of an app key reads the key and the environment head in ONE consistent BatchGetItem (2 items); for the next second (READ_CACHE_TTL_MS) the instance keeps the key record and reads only the head, eventually consistently (0.5 RRU): a revoked key is refused within 1 s, a promotion is seen as soon as the read sees it. The snapshot is immutable and cached by digest, so a 200 with a cached snapshot and a 304 cost the same DynamoDB work. The key's last-used time is written at most once a minute per key and instance (one UpdateItem, 1 WRU), not counted here.
$ per million = API Gateway HTTP API $1.00/M (not at the function URL, where the app reads also answer) + Lambda $0.20/M + 512 MB arm64 × the local p50 (rounded up to 1 ms) + RRU × $0.125/M.
Unchanged poll (304) at the function URL: $${usdPerMillionUrl(c304).toFixed(2)} per million (goal ≤ $0.30; AppConfig $0.20); through API Gateway $${usdPerMillion(c304).toFixed(2)}.
Unchanged poll of an instance that identifies itself (Stageline-Instance, a target's read): $${usdPerMillionUrl(c304Instance).toFixed(2)} per million at the function URL, ${fmt(writes304Instance, 1)} writes per poll (an instance is written only when a 200 serves it another version); the same target read without it: $${usdPerMillionUrl(cases[5]!).toFixed(2)} (a target's read costs the environment's item alone, which names the targets a rollout changed; while one is changed, its read reads its head too: $${usdPerMillionUrl(cases[7]!).toFixed(2)}).
AWS AppConfig data plane, for comparison: $0.20 per million configuration requests + $0.0008 per configuration received — $0.20/M for polls that find nothing new, $800.20/M for reads that receive the configuration (our 200: $${usdPerMillion(c200).toFixed(2)}/M).`);
    db.destroy();
    resetDeps();
    return {
      rru304: rru(c304),
      rru200: rru(c200),
      requests304: totalRequests(c304.counts),
      usdPerMillion304InstanceUrl: usdPerMillionUrl(c304Instance),
      usdPerMillion304TargetUrl: usdPerMillionUrl(cases[5]!),
      writes304Instance,
      usdPerMillion304: usdPerMillion(c304),
      usdPerMillion304Url: usdPerMillionUrl(c304),
    };
  } finally {
    await local.stop();
  }
}
