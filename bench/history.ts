import { fmt, heading, int, quantile, sub } from './common.ts';
import { storeOnlyDeps } from '../local/measure/store-only.ts';
import { createHash } from 'node:crypto';
import { BatchWriteCommand, QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { putConsumer } from '#domain/artifacts/artifacts';
import { deploymentHistory, deploymentMetrics, recordDeployment } from '#domain/artifacts/deployments';
import { createEnvironment } from '#domain/config/environments';
import type { Ctx } from '#domain/ports';
import type { AllDeps } from '../functions/http/deps.ts';
import { rollbackEnvironment } from '#domain/promotion/rollback/environment';
import type { Deployment } from '#domain/kernel/promotion-model';
import { publishArtifact as publishSchema } from '#domain/kernel/promotion-schemas';
import { publishArtifact } from '#domain/artifacts/artifacts';
import { consumerBody, createEnvironment as envSchema, deploymentBody, metricsQuery } from '#domain/kernel/schemas';
import { DynamoStore, documentClient } from '../functions/adapters/dynamo-store.ts';
import { keys } from '../functions/adapters/keys.ts';
import { ensureTable, LOCAL_REGION, localCredentials, startDynamo } from '../local/dynamodb.ts';
import { table } from '../scripts/build.ts';
import { RequestCounter, totalRequests, type Counts } from '../local/measure/counter.ts';

/**
 * `npm run bench`, history section: what reading deployment history, metrics
 * and a rollback analysis costs, against DynamoDB Local (in memory).
 *
 * (1) deploymentHistory at 10k, 100k and 1M records in one environment (first
 *     page and a page in the middle via a cursor): the Query reads `limit`
 *     items whatever the partition holds.
 * (2) deploymentMetrics over 30 and 90 days, from daily counters kept by
 *     recordDeployment, next to a naive read of every record in the window.
 * (3) rollbackEnvironment dry run (impact analysis) with 20 pinned consumers.
 *
 * Figures, not pass/fail; only the results' contents are checked.
 */

const RUNS = 20;
/** Record counts at which history is measured (BENCH_HISTORY_SIZES=10000,50000 for a quick run). */
const HISTORY_SIZES = process.env.BENCH_HISTORY_SIZES ? process.env.BENCH_HISTORY_SIZES.split(',').map(Number) : [10_000, 100_000, 1_000_000];
const LOAD_BUDGET_MS = 6 * 60_000;
const LOAD_CONCURRENCY = 48;
const PAGE = 10;
const METRIC_RECORDS = 2_000;
const METRIC_DAYS = 90;
const CONSUMERS = 20;

const DAY = 86_400_000;
const MINUTE = 60_000;
const TENANT = 'bench';
const HISTORY_ENV = 'prod';
const METRICS_ENV = 'staging';
const ROLLBACK_ENV = 'dev';
const ARTIFACT = 'api';

// ---------------------------------------------------------------- formatting

const range = (xs: number[], show: (n: number) => string = int) => {
  const lo = Math.min(...xs);
  const hi = Math.max(...xs);
  return lo === hi ? show(lo) : `${show(lo)}–${show(hi)}`;
};
const check = (ok: boolean, what: string) => {
  if (!ok) throw new Error(`bench sanity check failed: ${what}`);
};

// ---------------------------------------------------------------- measuring

/** Items DynamoDB returned (Query/Scan Count, GetItem hit, BatchGetItem responses), counted per `send`. */
class ReadTally {
  items = 0;

  attach(client: DynamoDBDocumentClient): void {
    client.middlewareStack.add(
      (next) => async (args) => {
        const result = await next(args);
        const o = result.output as { Count?: number; Item?: unknown; Responses?: unknown };
        if (typeof o.Count === 'number') this.items += o.Count;
        else if (o.Item) this.items += 1;
        else if (o.Responses && typeof o.Responses === 'object' && !Array.isArray(o.Responses)) {
          this.items += Object.values(o.Responses as Record<string, unknown[]>).reduce((n, r) => n + r.length, 0);
        }
        return result;
      },
      { step: 'initialize', name: 'benchHistoryReadTally' },
    );
  }
}

interface Run {
  counts: Counts;
  items: number;
  ms: number;
}

interface Probe {
  counter: RequestCounter;
  reads: ReadTally;
}

async function once(p: Probe, op: () => Promise<void>): Promise<Run> {
  p.counter.reset();
  p.reads.items = 0;
  const t0 = performance.now();
  await op();
  const ms = performance.now() - t0;
  return { counts: p.counter.take(), items: p.reads.items, ms };
}

/** One warm-up call (not recorded), then `runs` measured calls. */
async function measure(p: Probe, op: (run: number) => Promise<void>, runs = RUNS): Promise<Run[]> {
  await op(-1);
  const out: Run[] = [];
  for (let run = 0; run < runs; run++) out.push(await once(p, () => op(run)));
  return out;
}

const breakdown = (c: Counts) =>
  Object.entries(c)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([cmd, s]) => `${cmd.replace(/Command$/, '')} ${s.requests}`)
    .join(' + ');
const capacity = (c: Counts) => Object.values(c).reduce((n, s) => n + s.capacity, 0);

/** requests (by command), items read, RCU, median/p90 ms */
function cells(runs: Run[]): string[] {
  const kinds = [...new Set(runs.map((r) => breakdown(r.counts)))];
  const total = range(runs.map((r) => totalRequests(r.counts)));
  return [
    kinds.length === 1 ? `${total} (${kinds[0]})` : total,
    range(runs.map((r) => r.items)),
    range(
      runs.map((r) => capacity(r.counts)),
      (n) => fmt(n),
    ),
    fmt(
      quantile(
        runs.map((r) => r.ms),
        0.5,
      ),
    ),
    fmt(
      quantile(
        runs.map((r) => r.ms),
        0.9,
      ),
    ),
  ];
}
const COLUMNS = ['requests (by command)', 'items read', 'RCU', 'median ms', 'p90 ms'];

// ---------------------------------------------------------------- data

/** Record i of the big history: one per minute from 2023-01-01, deterministic id and digests. */
const HISTORY_START = Date.UTC(2023, 0, 1);
const historyId = (i: number) => `00000000-0000-4000-8000-${i.toString(16).padStart(12, '0')}`;
const historyAt = (i: number) => new Date(HISTORY_START + i * MINUTE).toISOString();
const hex = (s: string) => createHash('sha256').update(s).digest('hex');

function historyRecord(i: number): Deployment {
  const at = historyAt(i);
  const sha = hex(`dep-${i}`);
  return {
    id: historyId(i),
    environment: HISTORY_ENV,
    imageTag: `v1.${Math.floor(i / 100)}.${i % 100}`,
    gitCommit: sha.slice(0, 40),
    gitBranch: 'main',
    status: i % 50 === 0 ? 'FAILED' : i % 71 === 0 ? 'ROLLED_BACK' : 'DEPLOYED',
    deployedAt: at,
    completedAt: new Date(HISTORY_START + i * MINUTE + 30_000 + (i % 17) * 7_000).toISOString(),
    promotionId: null,
    digest: `sha256:${sha}`,
    deployedBy: 'ci@stageline.local',
  };
}

/** The item DynamoStore writes for a deployment op (the deployments area, store/deployments.ts), without the metric counters. */
const historyItem = (i: number) => {
  const d = historyRecord(i);
  return { ...keys.deployment(TENANT, d.environment, d.deployedAt, d.id), entity: 'Deployment', ...d };
};

/**
 * Writes records [from, to) with parallel BatchWriteItem (25 each) through an
 * uncounted client, until done or `deadline`; returns how far it got (every
 * batch taken is finished, so the loaded records are exactly [from, end)).
 */
async function loadHistory(raw: DynamoDBDocumentClient, tableName: string, from: number, to: number, deadline: number): Promise<number> {
  let next = from;
  const worker = async () => {
    while (next < to && performance.now() < deadline) {
      const start = next;
      const end = Math.min(to, start + 25);
      next = end;
      let pending: Record<string, unknown>[] | undefined = Array.from({ length: end - start }, (_, j) => ({ PutRequest: { Item: historyItem(start + j) } }));
      for (let attempt = 0; pending?.length; attempt++) {
        if (attempt > 10) throw new Error('BatchWriteItem kept returning UnprocessedItems');
        if (attempt) await new Promise((r) => setTimeout(r, 20 * attempt));
        const r = await raw.send(new BatchWriteCommand({ RequestItems: { [tableName]: pending as never } }));
        pending = r.UnprocessedItems?.[tableName] as Record<string, unknown>[] | undefined;
      }
    }
  };
  await Promise.all(Array.from({ length: LOAD_CONCURRENCY }, worker));
  return next;
}

/** A small deterministic PRNG (mulberry32). */
function prng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// ---------------------------------------------------------------- sections

/**
 * The naive metrics read: every deployment record of `env` deployed in [fromDay, toDay], all pages.
 * Each next page starts with a key condition just above the last sort key read instead of
 * ExclusiveStartKey: the same requests, items and RCU, but DynamoDB Local finds an
 * ExclusiveStartKey by walking the partition (see section 1), which would only add Local's time.
 */
async function naiveRead(b: Bench, env: string, fromDay: string, toDay: string): Promise<Run> {
  return once(b.probe, async () => {
    let lower = fromDay;
    for (;;) {
      const r = await b.db.send(
        new QueryCommand({
          TableName: b.tableName,
          KeyConditionExpression: 'pk = :pk AND sk BETWEEN :a AND :b',
          ExpressionAttributeValues: { ':pk': keys.deployments(TENANT, env), ':a': lower, ':b': `${toDay}~` },
        }),
      );
      if (!r.LastEvaluatedKey) break;
      lower = `${String(r.LastEvaluatedKey.sk)}\u0000`;
    }
  });
}

interface Bench {
  deps: AllDeps;
  ctx: Ctx;
  probe: Probe;
  db: DynamoDBDocumentClient;
  raw: DynamoDBDocumentClient;
  tableName: string;
}

async function historySection(b: Bench): Promise<number> {
  const { deps, ctx, probe } = b;
  sub(`1. Deployment history: GET …/deployments?environment=${HISTORY_ENV}&limit=${PAGE} (deploymentHistory), ${RUNS} runs each`);
  const loads: string[][] = [];
  const rows: string[][] = [];
  const flat: { size: number; first: Run[]; deep: Run[] }[] = [];
  const loadStarted = performance.now();
  const deadline = loadStarted + LOAD_BUDGET_MS;
  let loaded = 0;
  let stoppedShort: { target: number } | null = null;
  for (const target of HISTORY_SIZES) {
    const t0 = performance.now();
    const reached = await loadHistory(b.raw, b.tableName, loaded, target, deadline);
    const s = (performance.now() - t0) / 1000;
    loads.push([int(reached), int(reached - loaded), fmt(s), int(Math.round((reached - loaded) / s)), fmt((performance.now() - loadStarted) / 1000)]);
    loaded = reached;
    if (reached < target) stoppedShort = { target };
    const size = loaded;

    // First page: the newest PAGE records.
    const first = await measure(probe, async () => {
      const page = await deploymentHistory(deps, ctx, HISTORY_ENV, PAGE);
      check(page.items.length === PAGE && page.items[0]!.id === historyId(size - 1) && page.nextCursor !== undefined, `first page at ${size}`);
    });
    // A page in the middle of the history, reached with a cursor: the store's cursor is its LastEvaluatedKey
    // (base64url JSON); take a real one and move it to the record in the middle.
    const real = (await deploymentHistory(deps, ctx, HISTORY_ENV, PAGE)).nextCursor!;
    const key = JSON.parse(Buffer.from(real, 'base64url').toString('utf8')) as Record<string, string>;
    check(
      Object.keys(key).sort().join() === 'pk,sk' && key.sk === `${historyAt(size - PAGE)}#${historyId(size - PAGE)}`,
      'cursor is {pk, sk} of the last item returned',
    );
    const pageAt = (i: number) => Buffer.from(JSON.stringify({ ...key, sk: `${historyAt(i)}#${historyId(i)}` })).toString('base64url');
    const deepPage = (at: number) =>
      measure(probe, async () => {
        const page = await deploymentHistory(deps, ctx, HISTORY_ENV, PAGE, pageAt(at));
        check(
          page.items.length === PAGE && page.items[0]!.id === historyId(at - 1) && page.items[PAGE - 1]!.id === historyId(at - PAGE),
          `page below record ${at} at ${size}`,
        );
      });
    // The middle of the history, and its oldest page (records PAGE-1 … 0).
    const middle = Math.floor(size / 2);
    const deep = await deepPage(middle);
    const oldest = await deepPage(PAGE);
    // Diagnostic, not the store's request: the oldest page as a key condition (sk < key) instead of ExclusiveStartKey.
    const pk = keys.deployments(TENANT, HISTORY_ENV);
    const below = `${historyAt(PAGE)}#${historyId(PAGE)}`;
    const keyCondition = await measure(probe, async () => {
      const r = await b.db.send(
        new QueryCommand({
          TableName: b.tableName,
          KeyConditionExpression: 'pk = :pk AND sk < :x',
          ExpressionAttributeValues: { ':pk': pk, ':x': below },
          ScanIndexForward: false,
          Limit: PAGE,
        }),
      );
      check(r.Count === PAGE && r.Items![0]!.id === historyId(PAGE - 1), `key-condition page at ${size}`);
    });
    flat.push({ size, first, deep: [...deep, ...oldest] });
    rows.push([int(size), 'first page (newest 10)', ...cells(first)]);
    rows.push([int(size), `cursor: ${int(size - middle)} records in`, ...cells(deep)]);
    rows.push([int(size), `cursor: oldest 10`, ...cells(oldest)]);
    rows.push([int(size), `(diagnostic) oldest 10, sk < key`, ...cells(keyCondition)]);
    if (stoppedShort) break;
  }
  console.log(
    `Loading (setup, not measured): records written directly with BatchWriteItem (25 per request, ${LOAD_CONCURRENCY} in flight), with the key and attributes DynamoStore writes for a deployment:`,
  );
  console.log(table(['records in env', 'added', 'load s', 'items/s', 'cumulative s'], loads));
  if (stoppedShort) {
    console.log(
      `Stopped at ${int(loaded)} records: loading toward ${int(stoppedShort.target)} passed the ${LOAD_BUDGET_MS / 60_000}-minute budget on this machine.`,
    );
  }
  console.log('');
  console.log(table(['records in env', 'page', ...COLUMNS], rows));
  const sameCost = (xs: Run[][]) => new Set(xs.flat().map((r) => `${breakdown(r.counts)}|${r.items}|${capacity(r.counts)}`)).size === 1;
  const firstSame = sameCost(flat.map((f) => f.first));
  const deepSame = sameCost(flat.map((f) => f.deep));
  console.log(
    `Requests, items read and RCU ${firstSame && deepSame ? 'are identical' : 'DIFFER'} at ${flat.map((f) => int(f.size)).join(', ')} records ` +
      `(first page ${firstSame ? 'same' : 'differs'}, cursor pages ${deepSame ? 'same' : 'differ'}): one GetItem for the environment and one Query ` +
      `with Limit=${PAGE} on pk ${keys.deployments(TENANT, HISTORY_ENV)}, starting at the cursor's sort key — O(limit), not O(history).`,
  );
  console.log(
    `The store seeks with a key condition (sk < cursor) rather than ExclusiveStartKey, because DynamoDB Local finds an ExclusiveStartKey by ` +
      `walking the partition (deep pages got slower with history size there); the diagnostic row is the same seek as a raw Query. ` +
      `Both read the same ${PAGE} items for the same RCU at every size, which is what DynamoDB charges.`,
  );
  return loaded;
}

async function metricsSection(b: Bench, historyRecords: number): Promise<void> {
  const { deps, ctx, probe } = b;
  sub(`2. Deployment metrics: GET …/metrics?environment=${METRICS_ENV}&period=week (deploymentMetrics), ${RUNS} runs each`);

  // ---- setup: METRIC_RECORDS deployments over METRIC_DAYS days, through recordDeployment (metric counters in the same transaction)
  const rnd = prng(42);
  const now = deps.clock().getTime();
  const first = now - METRIC_DAYS * DAY + 60 * MINUTE;
  const last = now - 60 * MINUTE;
  const records: Deployment[] = [];
  const t0 = performance.now();
  for (let k = 0; k < METRIC_RECORDS; k++) {
    const deployedAt = first + Math.floor((k * (last - first)) / (METRIC_RECORDS - 1));
    const durationMs = Math.round(30_000 * 2 ** (rnd() * 5.5)); // 30 s … ~22 min
    const r = rnd();
    const status = r < 0.85 ? 'DEPLOYED' : r < 0.93 ? 'FAILED' : 'ROLLED_BACK';
    const sha = hex(`metric-${k}`);
    const body = deploymentBody.parse({
      id: `00000000-0000-4000-9000-${k.toString(16).padStart(12, '0')}`,
      imageTag: `v2.${k}.0`,
      gitCommit: sha.slice(0, 40),
      gitBranch: 'main',
      environment: METRICS_ENV,
      status,
      deployedAt: new Date(deployedAt).toISOString(),
      completedAt: new Date(deployedAt + durationMs).toISOString(),
      digest: `sha256:${sha}`,
    });
    const { record, created } = await recordDeployment(deps, ctx, body);
    check(created, 'record created');
    records.push(record);
  }
  const setupS = (performance.now() - t0) / 1000;
  console.log(
    `Setup (not measured): ${int(METRIC_RECORDS)} deployments over ${METRIC_DAYS} days recorded one by one with recordDeployment ` +
      `(record + daily counters + audit entry in one transaction) — ${fmt(setupS)} s.`,
  );

  const today = new Date(now).toISOString().slice(0, 10);
  const dayBefore = (days: number) => new Date(Date.parse(`${today}T00:00:00Z`) - days * DAY).toISOString().slice(0, 10);
  const rows: string[][] = [];
  const naiveRows: string[][] = [];
  for (const days of [30, 90]) {
    const from = dayBefore(days - 1);
    const q = metricsQuery.parse({ environment: METRICS_ENV, period: 'week', from: `${from}T00:00:00Z` });
    const inWindow = records.filter((r) => r.completedAt!.slice(0, 10) >= from && r.completedAt!.slice(0, 10) <= today);
    let result: Awaited<ReturnType<typeof deploymentMetrics>> | undefined;
    const runs = await measure(probe, async () => {
      result = await deploymentMetrics(deps, ctx, q);
    });
    const total = result!.environments[0]!.total;
    check(total.deployments === inWindow.length, `${days}-day deployments ${total.deployments} = ${inWindow.length}`);
    check(total.rolledBack === inWindow.filter((r) => r.status === 'ROLLED_BACK').length, `${days}-day rolled back`);
    check(total.failed === inWindow.filter((r) => r.status === 'FAILED').length, `${days}-day failed`);
    rows.push([`${days} days (${from} … ${today})`, int(inWindow.length), int(result!.environments[0]!.periods.length), ...cells(runs)]);

    const naive = await naiveRead(b, METRICS_ENV, from, today);
    naiveRows.push([
      `${METRICS_ENV}, ${days} days`,
      int(naive.items),
      ...cells([naive])
        .filter((_, i) => i !== 1)
        .slice(0, 3),
    ]);
  }
  console.log(table(['window', 'deployments in window', 'weeks', ...COLUMNS], rows));
  console.log(
    `Per call: one Query for the line of environments, one Query over the window's daily counter items (pk T#t#MET#<env>, sk D#<day>; at most one per day), ` +
      `one GetItem per environment of the line (3) for the version drift. Totals (deployments, failed, rolled back) were checked against the records written.`,
  );

  // The same naive read over the big history (1 record/minute), one run each.
  const lastDay = historyAt(historyRecords - 1).slice(0, 10);
  for (const days of [30, 90]) {
    const from = new Date(Date.parse(`${lastDay}T00:00:00Z`) - (days - 1) * DAY).toISOString().slice(0, 10);
    const naive = await naiveRead(b, HISTORY_ENV, from, lastDay);
    naiveRows.push([
      `${HISTORY_ENV} (1 per minute), ${days} days`,
      int(naive.items),
      ...cells([naive])
        .filter((_, i) => i !== 1)
        .slice(0, 3),
    ]);
  }
  console.log(
    `\nFor contrast, a naive design that reads every deployment record in the window (Query on the records' partition by deployedAt, all pages of ≤ 1 MB; one run):`,
  );
  console.log(table(['environment, window', 'records read', 'requests (by command)', 'RCU', 'ms'], naiveRows));
  console.log(`Counters read at most one item per day (≤ ${METRIC_DAYS} for ${METRIC_DAYS} days), however many deployments the days hold.`);
}

async function rollbackSection(b: Bench): Promise<void> {
  const { deps, ctx, probe } = b;
  sub(`3. Rollback dry run: POST …/environments/${ROLLBACK_ENV}/rollback {artifact, version, dryRun: true} (rollbackEnvironment), ${RUNS} runs`);
  const t0 = performance.now();
  for (const [version, meta] of [
    ['1.0.0', { policies: { minReplicas: 2, maxSurge: 1 }, schemaVersion: 3 }],
    ['2.0.0', { policies: { minReplicas: 1, maxSurge: 1 }, schemaVersion: 4 }],
  ] as const) {
    const r = await publishArtifact(
      deps,
      ctx,
      ARTIFACT,
      publishSchema.parse({
        version,
        digest: `sha256:${hex(`${ARTIFACT}@${version}`)}`,
        sourceCommit: hex(version).slice(0, 40),
        gitBranch: 'main',
        metadata: meta,
      }),
    );
    check(r.created && r.environment === ROLLBACK_ENV, `published ${version} into ${ROLLBACK_ENV}`);
  }
  const constraints = ['^1.0.0', '^2.0.0', '>=1.0.0, <3.0.0', '2.0.0', '1.0.0', '~2.0.0', 'latest-dev', '>=2.0.0', '^1.2.0 || ^2.0.0', '>=1.0.0'];
  const scopes = [ROLLBACK_ENV, undefined, METRICS_ENV] as const;
  for (let i = 0; i < CONSUMERS; i++) {
    const environment = scopes[i % scopes.length];
    await putConsumer(
      deps,
      ctx,
      ARTIFACT,
      `svc-${String(i).padStart(2, '0')}`,
      consumerBody.parse({ constraint: constraints[i % constraints.length]!, ...(environment ? { environment } : {}) }),
    );
  }
  console.log(
    `Setup (not measured): ${ARTIFACT}@1.0.0 then ${ARTIFACT}@2.0.0 published into '${ROLLBACK_ENV}' (first of the line), ` +
      `${CONSUMERS} consumers pinned (${constraints.length} kinds of constraint; scoped to ${ROLLBACK_ENV}, to any environment, or to ${METRICS_ENV}) — ${fmt((performance.now() - t0) / 1000)} s.`,
  );
  let impact: Awaited<ReturnType<typeof rollbackEnvironment>>['impact'] | undefined;
  const runs = await measure(probe, async () => {
    const r = await rollbackEnvironment(deps, ctx, ROLLBACK_ENV, { artifact: ARTIFACT, version: '1.0.0', dryRun: true, override: false });
    check(r.dryRun, 'dry run');
    impact = r.impact;
  });
  console.log(table(['operation', ...COLUMNS], [[`dry run ${ROLLBACK_ENV}: ${ARTIFACT} 2.0.0 → 1.0.0`, ...cells(runs)]]));
  const i = impact!;
  console.log(
    `Result: ${i.recommendation}; ${i.affectedConsumers.length} of ${CONSUMERS} consumers affected (${i.affectedConsumers.map((c) => c.name).join(', ')}); ` +
      `${i.breakingChanges.length} breaking changes (${i.breakingChanges.join('; ')}); estimated ${i.estimatedSeconds} s.`,
  );
}

// ---------------------------------------------------------------- main

export async function benchHistory(): Promise<void> {
  const local = await startDynamo({});
  let db: DynamoDBDocumentClient | undefined;
  let raw: DynamoDBDocumentClient | undefined;
  try {
    const tableName = `bench-history-${Date.now().toString(36)}`;
    await ensureTable(local.endpoint, tableName);
    db = documentClient({ endpoint: local.endpoint, region: LOCAL_REGION, credentials: localCredentials });
    raw = documentClient({ endpoint: local.endpoint, region: LOCAL_REGION, credentials: localCredentials });
    const probe: Probe = { counter: new RequestCounter(), reads: new ReadTally() };
    probe.counter.attach(db);
    probe.reads.attach(db);
    // None of the measured calls starts a workflow, publishes an event, calls a gate or syncs a registry.
    const deps = storeOnlyDeps(new DynamoStore(db, tableName));
    const ctx: Ctx = {
      principal: { tenant: TENANT, id: 'bench', name: 'bench@stageline.local', roles: ['admin'], kind: 'machine' },
      breakGlassReason: 'bench set-up',
    };
    for (const [name, position] of [
      [ROLLBACK_ENV, 0],
      [METRICS_ENV, 1],
      [HISTORY_ENV, 2],
    ] as const) {
      await createEnvironment(deps, ctx, envSchema.parse({ name, position, reason: 'bench' }));
    }
    heading(`Deployment history, metrics and rollback analysis (DynamoDB Local in memory, table ${tableName}; RCU = read capacity DynamoDB Local reported)`);
    const b: Bench = { deps, ctx, probe, db, raw, tableName };
    const historyRecords = await historySection(b);
    await metricsSection(b, historyRecords);
    await rollbackSection(b);
  } finally {
    db?.destroy();
    raw?.destroy();
    await local.stop();
  }
}
