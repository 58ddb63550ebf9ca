import '../scripts/node-check.ts';
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { DynamoStore, documentClient } from '../functions/adapters/dynamo-store.ts';
import { dropTable, LOCAL_REGION, localCredentials } from '../local/dynamodb.ts';
import { CrashedError } from '../local/crash.ts';
import { FaultPlan, type FaultKind } from '../local/faults.ts';
import { startLocalStack, type LocalStack, type LocalStackOptions } from '../local/stack.ts';
import { crashPlan, CrashingStack, upgradeMoment } from './crashes.ts';
import { atTheUpgrade, endedOnPrevious, noUpgrade, UpgradeReadiness, upgradeStep } from './upgrade.ts';
import { PREVIOUS_RELEASE_DIR } from '../local/workflow-definitions.ts';
import { LocalWorkflow } from '../local/workflow.ts';
import { checkAll, type CheckOptions } from './checker.ts';
import { DEFAULT_CONCURRENCY, EFFECT_KINDS, FINAL, KINDS, runWorkload, type Kind } from './workload.ts';
import { startEffects, type Effects } from './effects.ts';
import { checkHistory, HISTORY_FORMAT, scanTable, writeHistory, type HistoryParts, type RunInfo } from './history.ts';
import { againCommand, summarize, type ChaosReport } from './report.ts';

export type { ChaosReport } from './report.ts';

/**
 * `npm run chaos -- --seed S --rate R --promotions N [--out DIR]`: a local stack with a fault plan, the workload, the
 * invariant checker, and a report ending in `<n> violations` (exit 1 when n > 0, or when an invariant the run's
 * promotions should have exercised examined nothing: chaos/exercised.ts). `--out DIR` writes the whole history
 * (chaos/history.ts); `npm run chaos -- --check DIR` checks a history on disk. `runChaos` is the same run for a test
 * or the bench.
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
  /** a folder to write the run's whole history into (chaos/history.ts; made if missing) */
  out?: string;
  /**
   * crashes of the stack itself at moments the seed chooses (chaos/crashes.ts; default 0): the run then keeps its data
   * in a folder of its own, on a DynamoDB Local of its own (not `dynamoEndpoint`), and a new stack takes over on it
   */
  crashes?: number;
  /**
   * an upgrade of Stageline itself (chaos/upgrade.ts): the run starts on the previous release's state machines and, at a
   * moment the seed chooses with promotions in flight, a new stack on the same data (as for a crash) runs the current
   * ones; the run fails unless an execution crossed it and ended
   */
  upgrade?: boolean;
  log?: (line: string) => void;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The first wait of the stack's retries of a tenant host's transient answer in a run (ms; STAGELINE_OUTBOUND_RETRY_BASE_MS). */
export const OUTBOUND_RETRY_BASE_MS = 25;

/**
 * The DynamoDB kinds run at a quarter of `--rate` unless named: every request and step writes several items,
 * so a write-level rate equal to the step rate would fault nearly every one of them (at 0.2, four writes in
 * five would meet a transaction or lose an answer), far past anything a table sees.
 */
export const storeRates = (rate: number): Partial<Record<FaultKind, number>> => ({ 'dynamo.conflict': rate / 4, 'dynamo.lostAck': rate / 4 });

/** The longest the checker waits for a stream consumer that is still delivering (ms). */
const STREAM_CATCH_UP_MS = 10 * 60_000;

/** Waits (bounded) until the stack is idle: the stream caught up and no execution of a promotion still runs. */
export async function settle(stack: LocalStack, tenants: string[], boundMs: number): Promise<void> {
  const end = Date.now() + boundMs;
  const store = new DynamoStore(documentClient({ endpoint: stack.dynamo.endpoint, region: LOCAL_REGION, credentials: localCredentials }), stack.tableName);
  // Idle within what is left of the bound: on a loaded machine the stream can take longer to catch up than its own
  // default wait, and that is a slow run, not a failed one (the checker then reads what is there). A consumer still
  // delivering at the bound is given more, a bound at a time while it moves (up to STREAM_CATCH_UP_MS): with crashes
  // and an upgrade at 16 tenants (seed 20261130) it signed attestations a minute past the bound.
  const caughtUp = async () => {
    const hardEnd = Date.now() + STREAM_CATCH_UP_MS;
    for (let until = Math.max(end, Date.now() + 1000); ; until = Math.min(hardEnd, Date.now() + boundMs)) {
      const from = stack.stream.delivered;
      const idle = await stack.stream.idle(Math.max(1000, until - Date.now())).then(
        () => true,
        () => false,
      );
      if (idle || stack.stream.delivered === from || Date.now() >= hardEnd) return;
    }
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
  // A webhook delivery that met faults in a row waits minutes for its next attempt (its backoff grows ×3 a try): with
  // faults paused, each retry still scheduled is fired now, as its schedule would fire it later. What was published
  // must then arrive once; one whose retry was dropped still does not (seed 20261202 at 15 %: eight failed attempts
  // left the ninth seven minutes after the run).
  for (let round = 0; round < 3; round++) {
    const due = stack.webhookRetries.pending();
    if (!due.length) break;
    for (const name of due) await stack.webhookRetries.fireNow(name).catch(() => undefined);
    await stack.bus.idle();
  }
}

export async function runChaos(opts: ChaosOptions): Promise<ChaosReport> {
  const log = opts.log ?? (() => {});
  const started = Date.now();
  const rates = { ...storeRates(opts.rate), ...(opts.rates ?? {}) };
  const crashes = opts.crashes ?? 0;
  const upgrade = opts.upgrade ? noUpgrade() : undefined;
  // A run with crashes (an upgrade is one) keeps everything a restart reads in a folder of its own (DynamoDB Local's -dbPath among it).
  const restarts = crashes > 0 || Boolean(upgrade);
  const dataDir = restarts ? mkdtempSync(join(tmpdir(), 'stageline-chaos-')) : undefined;
  const shared = restarts ? undefined : opts.dynamoEndpoint;
  // An injected 429 asks for no wait of its own: the clients' backoff (STAGELINE_OUTBOUND_RETRY_BASE_MS below) spaces the tries.
  const plan = new FaultPlan({ seed: opts.seed, rate: opts.rate, rates, delayMs: 100, retryAfterSeconds: 0 });
  const stackOptions: LocalStackOptions = {
    // A table of its own per run: the audit anchor's checkpoints are kept per table name (local/stack.ts).
    tableName: `chaos-${opts.seed.toString(36)}-${randomUUID().slice(0, 8)}`,
    ...(shared ? { dynamoEndpoint: shared } : {}),
    ...(dataDir ? { dataDir, crashable: true } : {}),
    timeScale: 0.001,
    // Webhook retries after an outbound fault come within the run (5 s apart on a deployed stack).
    webhookRetryBaseMs: 200,
    // A tenant host's transient answer is tried again 25 ms later, doubling (500 ms on a deployed stack): the clients'
    // retries are what a run exercises, not their waits, which held one seed's stream consumer 100 s behind.
    // The sweeper acts 10 s past a state's own deadline (15 min on a deployed stack): a promotion whose flow
    // never started, or was lost, is taken up again or ended within the run.
    config: { STAGELINE_SWEEP_GRACE_SECONDS: '10', STAGELINE_OUTBOUND_RETRY_BASE_MS: String(OUTBOUND_RETRY_BASE_MS) },
    faults: plan,
  };
  // An upgrade's run starts on the previous release's state machines, and runs the current ones once upgraded.
  let statemachines = upgrade ? PREVIOUS_RELEASE_DIR : undefined;
  const first = await startLocalStack({ ...stackOptions, statemachines });
  // After a crash: a new stack on the same data, table, fault plan and gateway port (the workload's URL).
  const crashing = new CrashingStack(
    first,
    (old, busDeliveries, upgrading) => {
      if (upgrading) statemachines = undefined;
      return startLocalStack({ ...stackOptions, statemachines, port: old.gateway.port, busDeliveries });
    },
    log,
  );
  const stack = crashing.view;
  // The executions running on the previous release at the upgrade, followed to their end.
  let crossed = new Set<string>();
  const readiness = upgrade && new UpgradeReadiness(stack, upgradeMoment(opts.seed, opts.promotions), upgradeStep(opts.promotions));
  // Where the time went (printed with the report): a run much slower beside other work shows which phase waited.
  const phases: Record<string, number> = { stack: Date.now() - started };
  const mark = (name: string, since: number) => (phases[name] = Date.now() - since);
  let ownEffects: Effects | undefined;
  let stopCrashing: (() => Promise<void>) | undefined;
  try {
    // The receivers of outside effects (git, registries, webhooks, notifications): the run's own unless given.
    if (!opts.effects && opts.withEffects !== false) ownEffects = await startEffects();
    const effects = opts.effects ?? ownEffects;
    const kinds = opts.kinds ?? (effects ? KINDS : KINDS.filter((k) => !EFFECT_KINDS.includes(k)));
    const workloadStarted = Date.now();
    readiness?.start();
    stopCrashing = crashing.watch(
      plan,
      crashPlan(opts.seed, crashes, opts.promotions),
      upgrade &&
        readiness && {
          at: readiness.at,
          ready: (chance) => readiness.ready(chance),
          atTheMoment: async (old, where) => {
            readiness.stop();
            crossed = await atTheUpgrade(old, where, upgrade);
          },
        },
    );
    const w = await runWorkload({
      stack,
      seed: opts.seed,
      promotions: opts.promotions,
      concurrency: opts.concurrency,
      kinds,
      effects,
      log,
    });
    await stopCrashing();
    mark('workload', workloadStarted);
    stack.faults?.pause();
    const settleStarted = Date.now();
    await settle(stack, w.tenants, opts.idleMs ?? 60_000);
    mark('settle', settleStarted);
    if (upgrade) upgrade.ended = endedOnPrevious(stack, crossed);
    const checkStarted = Date.now();
    const ctx = { stack, tenants: w.tenants, history: w.history, seed: opts.seed, promotions: w.promotions };
    const { observed, effects: gathered, ...verdict } = await checkAll(ctx, { ...opts.check, effects });
    mark('check', checkStarted);
    const faults = stack.faults?.counts();
    const facts = {
      seed: opts.seed,
      rate: opts.rate,
      promotions: opts.promotions,
      concurrency: opts.concurrency ?? DEFAULT_CONCURRENCY,
      elapsedMs: Date.now() - started,
      phases,
      faults,
      effects: Boolean(effects),
      ...(crashes ? { crashes } : {}),
      ...(upgrade ? { upgrade } : {}),
    };
    const report = summarize(facts, w.promotions, observed, verdict);
    if (opts.out) {
      const run: RunInfo = {
        format: HISTORY_FORMAT,
        ...facts,
        rates,
        kinds: [...kinds],
        check: opts.check ?? {},
        faults: report.faults,
        tableName: stack.tableName,
      };
      const parts: HistoryParts = { run, observed, promotions: w.promotions, ...(gathered ? { effects: gathered } : {}), faults: stack.faults?.log ?? [] };
      await writeHistory(opts.out, parts, scanTable(stack));
      log(`chaos: the run's history is in ${opts.out} (npm run chaos -- --check ${opts.out} checks it again)`);
    }
    return report;
  } finally {
    readiness?.stop();
    await stopCrashing?.().catch(() => undefined);
    await stack.stop();
    await ownEffects?.stop();
    // A DynamoDB Local shared with others (the test suite's) keeps no run's table after it.
    if (shared) await dropTable(shared, stack.tableName);
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  }
}

const USAGE =
  'npm run chaos -- --seed S --rate R --promotions N [--crashes K] [--upgrade] [--concurrency C] [--record] [--out DIR], or npm run chaos -- --check DIR [--record]';

/** `--seed S --rate R --promotions N [--crashes K] [--upgrade] [--concurrency C] [--record] [--out DIR]`, or `--check DIR [--record]` (a history on disk) */
export function parseArgs(
  argv: string[],
  now = Date.now(),
): Pick<ChaosOptions, 'seed' | 'rate' | 'promotions' | 'concurrency' | 'out' | 'crashes' | 'upgrade'> & { record: boolean; checkDir?: string } {
  const opts = {
    seed: now % 2 ** 31,
    rate: 0.1,
    promotions: 100,
    concurrency: undefined as number | undefined,
    crashes: 0,
    upgrade: false,
    record: false,
    out: undefined as string | undefined,
    checkDir: undefined as string | undefined,
  };
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
    const dir = () => {
      if (!value || value.startsWith('--')) throw new Error(`${flag} takes a folder (got ${value ?? 'nothing'}): ${USAGE}`);
      i++;
      return value;
    };
    if (flag === '--seed') opts.seed = num(0, 2 ** 31 - 1, true);
    else if (flag === '--rate') opts.rate = num(0, 1, false);
    else if (flag === '--promotions') opts.promotions = num(1, 100_000, true);
    else if (flag === '--concurrency') opts.concurrency = num(1, 64, true);
    else if (flag === '--crashes') opts.crashes = num(0, 100, true);
    else if (flag === '--upgrade') opts.upgrade = true;
    else if (flag === '--record') opts.record = true;
    else if (flag === '--out') opts.out = dir();
    else if (flag === '--check') opts.checkDir = dir();
    else throw new Error(`unknown option ${flag}: ${USAGE}`);
  }
  if (opts.checkDir && argv.some((a) => a.startsWith('--') && a !== '--check' && a !== '--record'))
    throw new Error(`--check DIR checks a history on disk and takes no other option but --record: ${USAGE}`);
  const { out, checkDir, ...rest } = opts;
  return { ...rest, ...(out ? { out } : {}), ...(checkDir ? { checkDir } : {}) };
}

async function main() {
  // The cut-off work of a stack that crashed (local/crash.ts) may be left with a refusal nobody awaits any more, as a
  // dead process's would: it ends that work, never the run. Any other unhandled rejection still ends the process.
  process.on('unhandledRejection', (err) => {
    if (err instanceof CrashedError) return;
    throw err;
  });
  let args;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (err) {
    console.error((err as Error).message);
    process.exit(2);
  }
  const { record, checkDir, ...run } = args;
  if (checkDir) {
    // A history on disk: the project's checks over it, the report its run printed.
    let checked: ChaosReport;
    try {
      checked = checkHistory(checkDir);
    } catch (err) {
      console.error((err as Error).message);
      process.exit(2);
    }
    console.log(checked.text);
    // A long run's history checked again (by this release's checker) may be recorded as the run it was.
    if (record) recordRun(checked);
    process.exit(failed(checked) ? 1 : 0);
  }
  const again = againCommand({ ...args, concurrency: args.concurrency ?? DEFAULT_CONCURRENCY });
  console.log(`chaos: seed ${args.seed} (${again} runs it again)`);
  const report = await runChaos({ ...run, log: (l) => console.log(l) });
  console.log(report.text);
  if (record) recordRun(report);
  process.exit(failed(report) ? 1 : 0);
}

/** A run fails on a violation, and on an invariant its promotions should have exercised that examined nothing. */
export const failed = (r: ChaosReport) => r.violations.length > 0 || r.vacuous.length > 0;

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
  const named = lines.filter((l) => l.startsWith('VIOLATION') || l.startsWith('NOT EXERCISED'));
  const summary = first < 0 ? lines : [...lines.slice(0, first), ...named, lines.at(-1)!];
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
