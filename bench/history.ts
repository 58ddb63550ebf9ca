import { fmt, heading, int, sub } from './common.ts';
import { storeOnlyDeps } from '../local/measure/store-only.ts';
import { QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { putConsumer } from '#domain/artifacts/artifacts';
import { deploymentHistory, deploymentMetrics, recordDeployment } from '#domain/artifacts/deployments';
import { createEnvironment } from '#domain/config/environments';
import type { Ctx } from '#domain/ports';
import { rollbackEnvironment } from '#domain/promotion/rollback/environment';
import type { Deployment } from '#domain/kernel/promotion-model';
import { publishArtifact as publishSchema } from '#domain/kernel/promotion-schemas';
import { publishArtifact } from '#domain/artifacts/artifacts';
import { consumerBody, createEnvironment as envSchema, deploymentBody, metricsQuery } from '#domain/kernel/schemas';
import { DynamoStore, documentClient } from '../functions/adapters/dynamo-store.ts';
import { keys } from '../functions/adapters/keys.ts';
import { ensureTable, LOCAL_REGION, localCredentials, startDynamo } from '../local/dynamodb.ts';
import { table } from '../scripts/build.ts';
import { RequestCounter } from '../local/measure/counter.ts';
import {
  RUNS,
  HISTORY_SIZES,
  LOAD_BUDGET_MS,
  LOAD_CONCURRENCY,
  PAGE,
  METRIC_RECORDS,
  METRIC_DAYS,
  CONSUMERS,
  DAY,
  MINUTE,
  TENANT,
  HISTORY_ENV,
  METRICS_ENV,
  ROLLBACK_ENV,
  ARTIFACT,
  check,
  ReadTally,
  type Run,
  type Probe,
  measure,
  breakdown,
  capacity,
  cells,
  COLUMNS,
  historyId,
  historyAt,
  hex,
  loadHistory,
  prng,
  naiveRead,
  type Bench,
} from './history-setup.ts';

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
