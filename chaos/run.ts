import '../scripts/node-check.ts';
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { DynamoStore, documentClient } from '../functions/adapters/dynamo-store.ts';
import { dropTable, LOCAL_REGION, localCredentials } from '../local/dynamodb.ts';
import { FAULT_KINDS, type FaultKind } from '../local/faults.ts';
import { startLocalStack, type LocalStack } from '../local/stack.ts';
import { LocalWorkflow } from '../local/workflow.ts';
import { checkAll, INVARIANTS, type CheckOptions } from './checker.ts';
import { FINAL, runWorkload, type Kind, type RequestedPromotion } from './workload.ts';
import { startEffects, type Effects } from './effects.ts';
import type { HistoryEntry, Violation } from './types.ts';

/**
 * `npm run chaos -- --seed S --rate R --promotions N`: a local stack with a fault plan, the workload, the
 * invariant checker, and a report ending in `<n> violations` (exit 1 when n > 0). `runChaos` is the same run
 * for a test or the bench.
 */

export interface ChaosOptions {
  seed: number;
  /** the fault rate of every kind (local/faults.ts) */
  rate: number;
  promotions: number;
  /** per-kind rates over `rate` */
  rates?: Partial<Record<FaultKind, number>>;
  /** tenants driven at once */
  concurrency?: number;
  kinds?: readonly Kind[];
  /** a running DynamoDB Local to use (tests share one); else one is started */
  dynamoEndpoint?: string;
  /** the effect receivers (chaos/effects.ts): their URLs for the workload, their checks for the checker; started (and
   * stopped) by the run itself when not given, unless `withEffects` is false */
  effects?: Effects;
  /** start the effect receivers when `effects` is not given (default true) */
  withEffects?: boolean;
  /** how long to wait for the stack to go idle after the workload (ms; default 60 s) */
  idleMs?: number;
  check?: CheckOptions;
  log?: (line: string) => void;
}

export interface ChaosReport {
  seed: number;
  rate: number;
  promotions: number;
  byKind: Record<string, number>;
  byStatus: Record<string, number>;
  faults: Record<FaultKind, { injected: number; chances: number }>;
  violations: Violation[];
  byInvariant: Record<string, number>;
  elapsedMs: number;
  text: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The DynamoDB kinds run at a quarter of `--rate` unless named: every request and step writes several items,
 * so a write-level rate equal to the step rate would fault nearly every one of them (at 0.2, four writes in
 * five would meet a transaction or lose an answer), far past anything a table sees.
 */
export const storeRates = (rate: number): Partial<Record<FaultKind, number>> => ({ 'dynamo.conflict': rate / 4, 'dynamo.lostAck': rate / 4 });

/** Waits (bounded) until the stack is idle: the stream caught up and no execution of a promotion still runs. */
export async function settle(stack: LocalStack, tenants: string[], boundMs: number): Promise<void> {
  const end = Date.now() + boundMs;
  const store = new DynamoStore(documentClient({ endpoint: stack.dynamo.endpoint, region: LOCAL_REGION, credentials: localCredentials }), stack.tableName);
  // Idle within what is left of the bound: on a loaded machine the stream can take longer to catch up than its own
  // default wait, and that is a slow run, not a failed one (the checker then reads what is there).
  const caughtUp = async () => {
    const left = Math.max(1000, end - Date.now());
    await stack.stream.idle(left).catch(() => undefined);
  };
  for (;;) {
    await caughtUp();
    await stack.bus.idle();
    const running: string[] = [];
    for (const tenant of tenants) {
      let cursor: string | undefined;
      do {
        const page = await store.listPromotions(tenant, {}, 100, cursor);
        for (const p of page.items) {
          if ((FINAL as readonly string[]).includes(p.status)) {
            const id = p.executionId ?? LocalWorkflow.executionId({ tenant, promotionId: p.id });
            if (stack.workflow.status(id) === 'RUNNING') running.push(id);
          } else if (p.status === 'EXECUTING' || p.status === 'VALIDATING' || p.status === 'PENDING' || p.status === 'APPROVED' || p.status === 'SCHEDULED')
            running.push(p.id);
        }
        cursor = page.nextCursor;
      } while (cursor);
    }
    if (!running.length || Date.now() > end) break;
    await sleep(250);
  }
  await caughtUp();
}

const tally = (xs: string[]) => xs.reduce<Record<string, number>>((m, x) => ((m[x] = (m[x] ?? 0) + 1), m), {});

export async function runChaos(opts: ChaosOptions): Promise<ChaosReport> {
  const log = opts.log ?? (() => {});
  const started = Date.now();
  const stack = await startLocalStack({
    // A table of its own per run: the audit anchor's checkpoints are kept per table name (local/stack.ts).
    tableName: `chaos-${opts.seed.toString(36)}-${randomUUID().slice(0, 8)}`,
    ...(opts.dynamoEndpoint ? { dynamoEndpoint: opts.dynamoEndpoint } : {}),
    timeScale: 0.001,
    // Webhook retries after an outbound fault come within the run (5 s apart on a deployed stack).
    webhookRetryBaseMs: 200,
    // The sweeper acts 10 s past a state's own deadline (15 min on a deployed stack): a promotion whose flow
    // never started, or was lost, is taken up again or ended within the run.
    config: { STAGELINE_SWEEP_GRACE_SECONDS: '10' },
    faults: { seed: opts.seed, rate: opts.rate, rates: { ...storeRates(opts.rate), ...(opts.rates ?? {}) }, delayMs: 100 },
  });
  // Where the time went (printed with the report): a run much slower beside other work shows which phase waited.
  const phases: Record<string, number> = { stack: Date.now() - started };
  const mark = (name: string, since: number) => (phases[name] = Date.now() - since);
  let ownEffects: Effects | undefined;
  try {
    // The receivers of outside effects (git, registries, webhooks, notifications): the run's own unless given.
    if (!opts.effects && opts.withEffects !== false) ownEffects = await startEffects();
    const effects = opts.effects ?? ownEffects;
    const workloadStarted = Date.now();
    const w = await runWorkload({
      stack,
      seed: opts.seed,
      promotions: opts.promotions,
      concurrency: opts.concurrency,
      kinds: opts.kinds,
      effects,
      log,
    });
    mark('workload', workloadStarted);
    stack.faults?.pause();
    const settleStarted = Date.now();
    await settle(stack, w.tenants, opts.idleMs ?? 60_000);
    mark('settle', settleStarted);
    const checkStarted = Date.now();
    const ctx = { stack, tenants: w.tenants, history: w.history, seed: opts.seed, promotions: w.promotions };
    const { observed, violations } = await checkAll(ctx, { ...opts.check, effects });
    mark('check', checkStarted);
    // A status and, for one that did not complete, why (its error's code, or how it ended).
    const statusOf = new Map(
      observed.tenants.flatMap((t) =>
        t.promotions.map((x) => {
          const p = x.promotion;
          const why = p.status === 'COMPLETED' ? '' : (p.error?.code ?? (p.monitorAlarm ? 'alarm' : p.rejection ? 'rejected' : ''));
          return [p.id, why ? `${p.status} (${why})` : p.status] as const;
        }),
      ),
    );
    const report = summarize(opts, w.promotions, statusOf, stack.faults?.counts(), violations, Date.now() - started, w.history, phases);
    return report;
  } finally {
    await stack.stop();
    await ownEffects?.stop();
    // A DynamoDB Local shared with others (the test suite's) keeps no run's table after it.
    if (opts.dynamoEndpoint) await dropTable(opts.dynamoEndpoint, stack.tableName);
  }
}

function summarize(
  opts: ChaosOptions,
  promotions: RequestedPromotion[],
  statusOf: Map<string, string>,
  counts: ChaosReport['faults'] | undefined,
  violations: Violation[],
  elapsedMs: number,
  history: HistoryEntry[] = [],
  phases: Record<string, number> = {},
): ChaosReport {
  const faults = counts ?? (Object.fromEntries(FAULT_KINDS.map((k) => [k, { injected: 0, chances: 0 }])) as ChaosReport['faults']);
  const byKind = tally(promotions.map((p) => p.kind));
  const byStatus = tally(promotions.map((p) => statusOf.get(p.id) ?? 'MISSING'));
  const byInvariant = tally(violations.map((v) => v.invariant));
  const lines: string[] = [];
  lines.push(`chaos: seed ${opts.seed}, rate ${opts.rate}, ${promotions.length} promotions in ${Math.round(elapsedMs / 1000)} s`);
  const took = Object.entries(phases).map(([k, ms]) => `${k} ${(ms / 1000).toFixed(1)} s`);
  if (took.length) lines.push(`time by phase: ${took.join(', ')}`);
  lines.push('promotions by kind (and how they ended):');
  for (const [k, n] of Object.entries(byKind).sort()) {
    const ends = tally(promotions.filter((p) => p.kind === k).map((p) => statusOf.get(p.id) ?? 'MISSING'));
    lines.push(
      `  ${k.padEnd(20)} ${String(n).padStart(4)}  ${Object.entries(ends)
        .sort()
        .map(([s, m]) => `${s} ${m}`)
        .join(', ')}`,
    );
  }
  lines.push('promotions by final state (why):');
  for (const [k, n] of Object.entries(byStatus).sort()) lines.push(`  ${k.padEnd(36)} ${n}`);
  // What the API refused the workload (a race lost, a state that no longer allows it): the routes by answer.
  const refused = tally(
    history
      .filter((h) => h.status >= 400 || h.status === 0)
      .map((h) => `${h.method} ${h.path.replace(/prm_[0-9a-z]+/g, '{id}').replace(/\?.*$/, '')} → ${h.status}`),
  );
  lines.push('requests refused (route → status):');
  for (const [k, n] of Object.entries(refused).sort()) lines.push(`  ${k.padEnd(60)} ${n}`);
  lines.push('faults injected by kind (injected / chances):');
  for (const k of FAULT_KINDS) lines.push(`  ${k.padEnd(20)} ${faults[k].injected} / ${faults[k].chances}`);
  lines.push('violations by invariant:');
  for (const k of new Set([...INVARIANTS, ...Object.keys(byInvariant)])) lines.push(`  ${k.padEnd(20)} ${byInvariant[k] ?? 0}`);
  for (const v of violations) {
    lines.push('');
    lines.push(
      `VIOLATION ${v.invariant}: tenant ${v.tenant}, promotion ${v.promotionId} (reproduce: npm run chaos -- --seed ${opts.seed} --rate ${opts.rate} --promotions ${opts.promotions})`,
    );
    lines.push(`  ${v.detail}`);
    for (const h of v.history) lines.push(`    ${h}`);
  }
  lines.push(`${violations.length} violations`);
  return {
    seed: opts.seed,
    rate: opts.rate,
    promotions: promotions.length,
    byKind,
    byStatus,
    faults,
    violations,
    byInvariant,
    elapsedMs,
    text: lines.join('\n'),
  };
}

/** `--seed S --rate R --promotions N [--concurrency C]` */
export function parseArgs(argv: string[], now = Date.now()): Pick<ChaosOptions, 'seed' | 'rate' | 'promotions' | 'concurrency'> & { record: boolean } {
  const opts = { seed: now % 2 ** 31, rate: 0.1, promotions: 100, concurrency: undefined as number | undefined, record: false };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const value = argv[i + 1];
    const num = (min: number, max: number, int: boolean) => {
      const n = Number(value);
      if (value === undefined || !Number.isFinite(n) || n < min || n > max || (int && !Number.isInteger(n)))
        throw new Error(`${flag} takes ${int ? 'a whole number' : 'a number'} from ${min} to ${max} (got ${value ?? 'nothing'})`);
      i++;
      return n;
    };
    if (flag === '--seed') opts.seed = num(0, 2 ** 31 - 1, true);
    else if (flag === '--rate') opts.rate = num(0, 1, false);
    else if (flag === '--promotions') opts.promotions = num(1, 100_000, true);
    else if (flag === '--concurrency') opts.concurrency = num(1, 64, true);
    else if (flag === '--record') opts.record = true;
    else throw new Error(`unknown option ${flag}: npm run chaos -- --seed S --rate R --promotions N [--concurrency C] [--record]`);
  }
  return opts;
}

async function main() {
  let args;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (err) {
    console.error((err as Error).message);
    process.exit(2);
  }
  console.log(`chaos: seed ${args.seed} (npm run chaos -- --seed ${args.seed} --rate ${args.rate} --promotions ${args.promotions} runs it again)`);
  const { record, ...run } = args;
  const report = await runChaos({ ...run, log: (l) => console.log(l) });
  console.log(report.text);
  if (record) recordRun(report);
  process.exit(report.violations.length > 0 ? 1 : 0);
}

/** Where bench/RESULTS.md keeps the chaos runs recorded with `--record` (bench/results.ts keeps this part when it rewrites the file). */
export const CHAOS_RUNS_MARKER = '<!-- chaos runs: npm run chaos -- ... --record appends here -->';

/** Appends a run's summary (no violation details beyond their count and invariants) to bench/RESULTS.md. */
function recordRun(report: ChaosReport): void {
  const file = join(import.meta.dirname, '..', 'bench', 'RESULTS.md');
  const before = existsSync(file) ? readFileSync(file, 'utf8') : '# Bench results\n';
  const head = before.includes(CHAOS_RUNS_MARKER) ? before : `${before.trimEnd()}\n\n## Chaos runs\n\n${CHAOS_RUNS_MARKER}\n`;
  // The figures, and of each violation its first line (the full history is in the run's own output).
  const lines = report.text.split('\n');
  const first = lines.findIndex((l) => l.startsWith('VIOLATION'));
  const summary = first < 0 ? lines : [...lines.slice(0, first), ...lines.filter((l) => l.startsWith('VIOLATION')), lines.at(-1)!];
  const block = [
    '',
    `### seed ${report.seed}, rate ${report.rate}, ${report.promotions} promotions (${new Date().toISOString().slice(0, 10)}, commit ${commitOf()})`,
    '',
    '```text',
    ...summary,
    '```',
    '',
  ].join('\n');
  writeFileSync(file, `${head.trimEnd()}\n${block}`);
}

function commitOf(): string {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

// Last: everything above is defined when the command runs.
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
