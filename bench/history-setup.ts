import { fmt, int, quantile } from './common.ts';
import { createHash } from 'node:crypto';
import { BatchWriteCommand, QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Ctx } from '#domain/ports';
import type { AllDeps } from '../functions/http/deps.ts';
import type { Deployment } from '#domain/kernel/promotion-model';
import { keys } from '../functions/adapters/keys.ts';
import { RequestCounter, totalRequests, type Counts } from '../local/measure/counter.ts';

/**
 * The history bench's set-up: its sizes, the runs it measures (requests, items, capacity, times),
 * the deployment records it loads, and the naive read it compares with.
 */

export const RUNS = 20;
/** Record counts at which history is measured (BENCH_HISTORY_SIZES=10000,50000 for a quick run). */
export const HISTORY_SIZES = process.env.BENCH_HISTORY_SIZES ? process.env.BENCH_HISTORY_SIZES.split(',').map(Number) : [10_000, 100_000, 1_000_000];
export const LOAD_BUDGET_MS = 6 * 60_000;
export const LOAD_CONCURRENCY = 48;
export const PAGE = 10;
export const METRIC_RECORDS = 2_000;
export const METRIC_DAYS = 90;
export const CONSUMERS = 20;

export const DAY = 86_400_000;
export const MINUTE = 60_000;
export const TENANT = 'bench';
export const HISTORY_ENV = 'prod';
export const METRICS_ENV = 'staging';
export const ROLLBACK_ENV = 'dev';
export const ARTIFACT = 'api';

// ---------------------------------------------------------------- formatting

export const range = (xs: number[], show: (n: number) => string = int) => {
  const lo = Math.min(...xs);
  const hi = Math.max(...xs);
  return lo === hi ? show(lo) : `${show(lo)}–${show(hi)}`;
};
export const check = (ok: boolean, what: string) => {
  if (!ok) throw new Error(`bench sanity check failed: ${what}`);
};

// ---------------------------------------------------------------- measuring

/** Items DynamoDB returned (Query/Scan Count, GetItem hit, BatchGetItem responses), counted per `send`. */
export class ReadTally {
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

export interface Run {
  counts: Counts;
  items: number;
  ms: number;
}

export interface Probe {
  counter: RequestCounter;
  reads: ReadTally;
}

export async function once(p: Probe, op: () => Promise<void>): Promise<Run> {
  p.counter.reset();
  p.reads.items = 0;
  const t0 = performance.now();
  await op();
  const ms = performance.now() - t0;
  return { counts: p.counter.take(), items: p.reads.items, ms };
}

/** One warm-up call (not recorded), then `runs` measured calls. */
export async function measure(p: Probe, op: (run: number) => Promise<void>, runs = RUNS): Promise<Run[]> {
  await op(-1);
  const out: Run[] = [];
  for (let run = 0; run < runs; run++) out.push(await once(p, () => op(run)));
  return out;
}

export const breakdown = (c: Counts) =>
  Object.entries(c)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([cmd, s]) => `${cmd.replace(/Command$/, '')} ${s.requests}`)
    .join(' + ');
export const capacity = (c: Counts) => Object.values(c).reduce((n, s) => n + s.capacity, 0);

/** requests (by command), items read, RCU, median/p90 ms */
export function cells(runs: Run[]): string[] {
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
export const COLUMNS = ['requests (by command)', 'items read', 'RCU', 'median ms', 'p90 ms'];

// ---------------------------------------------------------------- data

/** Record i of the big history: one per minute from 2023-01-01, deterministic id and digests. */
const HISTORY_START = Date.UTC(2023, 0, 1);
export const historyId = (i: number) => `00000000-0000-4000-8000-${i.toString(16).padStart(12, '0')}`;
export const historyAt = (i: number) => new Date(HISTORY_START + i * MINUTE).toISOString();
export const hex = (s: string) => createHash('sha256').update(s).digest('hex');

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
export async function loadHistory(raw: DynamoDBDocumentClient, tableName: string, from: number, to: number, deadline: number): Promise<number> {
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
export function prng(seed: number) {
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
export async function naiveRead(b: Bench, env: string, fromDay: string, toDay: string): Promise<Run> {
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

export interface Bench {
  deps: AllDeps;
  ctx: Ctx;
  probe: Probe;
  db: DynamoDBDocumentClient;
  raw: DynamoDBDocumentClient;
  tableName: string;
}
