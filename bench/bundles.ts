import { fmt, heading } from './common.ts';
import { BASELINE, buildAll, buildRuntimeSdkVariant, buildTracedVariant, kib, sizeFigures, table, TARGETS } from '../scripts/build.ts';
import { functionOf } from '../functions/http/topology.ts';
import { importTime, importTimes, median } from './init-time.ts';

/**
 * Section (a) and (b) of `npm run bench` (bench/run.ts): each function's bundle, what its module init
 * reads, and its module init time next to a bare SDK client's. Run alone with `npx tsx bench/bundles.ts`:
 * the same table and the step budgets on bundles and module init.
 */
const INIT_RUNS = 5;
/** How many of the slowest functions are measured again, and in how many pairs with the baseline. */
const CONFIRM_TOP = 6;
const CONFIRM_PAIRS = 15;

export async function benchBundles(): Promise<{
  largest: { name: string; bytes: number; contributors: { pkg: string; bytes: number }[] };
  median: number;
  health: number;
  initRatio: number;
  medianRatio: number;
  over: number;
  baseline: { bytes: number; ms: number };
  slowest: { name: string; ms: number; contributors: { pkg: string; bytes: number }[] };
}> {
  heading(`Bundles and module init time (median of ${INIT_RUNS} fresh node ${process.version} processes each)`);
  const results = await buildAll();
  const samples = await importTimes(
    results.map((r) => r.file),
    INIT_RUNS,
  );
  const medians = samples.map(median);
  const base = results.findIndex((r) => r.name === BASELINE);
  const baseBytes = results[base]!.bytes;
  const baseMs = medians[base]!;
  console.log(
    table(
      ['function', 'init-loaded', 'gzip', 'total', 'vs baseline', 'init ms', 'min ms', 'vs baseline ms'],
      results.map((r, i) => [
        r.name,
        kib(r.bytes),
        kib(r.gzipBytes),
        kib(r.totalBytes),
        i === base ? '—' : `${r.bytes >= baseBytes ? '+' : '−'}${kib(Math.abs(r.bytes - baseBytes))}`,
        fmt(medians[i]!),
        fmt(Math.min(...samples[i]!)),
        i === base ? '—' : `${medians[i]! >= baseMs ? '+' : '−'}${fmt(Math.abs(medians[i]! - baseMs))}`,
      ]),
    ),
  );
  console.log(`\n${BASELINE} = a handler that only creates a DynamoDBClient at module scope (the floor every function pays).`);
  console.log(
    'Sizes are minified bytes; init-loaded = index.mjs and the chunks it imports statically (what module init reads; the size figures below), total = with the chunks import() loads on first use.',
  );
  const largest = results.filter((r) => r.name !== BASELINE).sort((a, b) => b.bytes - a.bytes)[0]!;
  console.log(
    `Largest: ${largest.name}; its top contributors: ${largest.contributors
      .slice(0, 5)
      .map((c) => `${c.pkg} ${kib(c.bytes)}`)
      .join(', ')}`,
  );
  const at = (name: string) => results.findIndex((r) => r.name === name);
  // The slowest of 85 noisy medians is biased upward (whichever function drew the slow moments tops the list), so
  // the few slowest are measured again, each run paired with a run of the baseline: the ratio of each pair, then
  // their median, which a drift of the machine's speed during the run moves far less than two separate medians.
  const candidates = medians
    .map((m, i) => ({ m, i }))
    .filter(({ i }) => i !== base)
    .sort((a, b) => b.m - a.m)
    .slice(0, CONFIRM_TOP);
  const confirmed = [];
  for (const { i } of candidates) {
    const ratios: number[] = [];
    const own: number[] = [];
    const bare: number[] = [];
    for (let r = 0; r < CONFIRM_PAIRS; r++) {
      const [b, f] = [await importTime(results[base]!.file), await importTime(results[i]!.file)];
      ratios.push(f / b);
      own.push(f);
      bare.push(b);
    }
    confirmed.push({ i, ratio: median(ratios), ms: median(own), baseMs: median(bare) });
  }
  confirmed.sort((a, b) => b.ratio - a.ratio);
  console.log(
    `\nThe ${CONFIRM_TOP} slowest again, each run paired with a run of ${BASELINE} (${CONFIRM_PAIRS} pairs; ratio = the median of the pairs' ratios):`,
  );
  console.log(
    table(
      ['function', 'init ms', `${BASELINE} ms`, 'first pass', 'paired ratio'],
      confirmed.map((c) => [results[c.i]!.name, fmt(c.ms), fmt(c.baseMs), `${fmt(medians[c.i]! / baseMs, 2)}×`, `${fmt(c.ratio, 2)}×`]),
    ),
  );
  const top = confirmed[0]!;

  // The runtime's own SDK instead of the bundled one: smaller files, but is init faster, and is it worth the drift?
  const picked = [largest.name, functionOf('rules-list'), functionOf('promotions-get')].filter((n, i, a) => a.indexOf(n) === i && at(n) >= 0);
  const variant = await buildRuntimeSdkVariant(picked);
  const vMedians = (
    await importTimes(
      variant.map((r) => r.file),
      INIT_RUNS,
    )
  ).map(median);
  console.log(`\nThe same functions on the Lambda runtime's SDK (@aws-sdk/*, @smithy/* external, loaded unbundled from node_modules):`);
  console.log(
    table(
      ['function', 'bundled SDK', 'runtime SDK', 'init ms bundled', 'init ms runtime SDK'],
      variant.map((r, i) => [r.name, kib(results[at(r.name)]!.bytes), kib(r.bytes), fmt(medians[at(r.name)]!), fmt(vMedians[i]!)]),
    ),
  );

  // SDK tracing (-c traceSdk=true): what the Tracer and the X-Ray SDK cost each function that carries them.
  const tracedNames = [functionOf('rules-list'), functionOf('promotions-get')];
  const tracedBuilt = await buildTracedVariant(tracedNames);
  const tMedians = (
    await importTimes(
      tracedBuilt.map((r) => r.file),
      INIT_RUNS,
    )
  ).map(median);
  console.log(`\nThe same functions deployed with SDK tracing (-c traceSdk=true: Powertools Tracer around every SDK client):`);
  console.log(
    table(
      ['function', 'default', 'traced', 'init ms default', 'init ms traced'],
      tracedBuilt.map((r, i) => [r.name, kib(results[at(r.name)]!.bytes), kib(r.bytes), fmt(medians[at(r.name)]!), fmt(tMedians[i]!)]),
    ),
  );
  console.log('Off by default: the bundler drops the Tracer unless the deployment asks for it (functions/adapters/tracing.ts).');
  const ratios = medians.filter((_m, i) => i !== base).map((m) => m / baseMs);
  return {
    largest: { name: largest.name, bytes: largest.bytes, contributors: largest.contributors },
    median: sizeFigures(results).median,
    health: results[at('health')]?.bytes ?? 0,
    initRatio: top.ratio,
    medianRatio: median(ratios),
    over: ratios.filter((r) => r > TARGETS.initRatio).length,
    // the baseline's time in the slowest function's pairs, so that the two figures printed together are of one run
    baseline: { bytes: baseBytes, ms: top.baseMs },
    slowest: { name: results[top.i]!.name, ms: top.ms, contributors: results[top.i]!.contributors },
  };
}

// Run alone: the bundle section and its step budgets, nothing else of the bench.
if (import.meta.url === `file://${process.argv[1]}`) {
  const built = await benchBundles();
  const mark = (ok: boolean) => (ok ? 'met' : 'not yet');
  console.log(
    table(
      ['step budget', 'now', 'goal', ''],
      [
        [
          'largest bundle (init-loaded)',
          `${kib(built.largest.bytes)} (${built.largest.name})`,
          `≤ ${kib(TARGETS.largestBytes)}`,
          mark(built.largest.bytes <= TARGETS.largestBytes),
        ],
        ['median bundle (init-loaded)', kib(built.median), `≤ ${kib(TARGETS.medianBytes)}`, mark(built.median <= TARGETS.medianBytes)],
        [
          'slowest module init vs the hello-world',
          `${fmt(built.initRatio, 2)}× (${built.slowest.name})`,
          `≤ ${TARGETS.initRatio.toFixed(1)}×`,
          mark(built.initRatio <= TARGETS.initRatio),
        ],
      ],
    ),
  );
}
