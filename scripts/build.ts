import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build, type BuildOptions, type Metafile } from 'esbuild';
import { FUNCTIONS } from '../functions/http/topology.ts';
import { bundleOptions, bundlePlugins, functionEntry } from '../infra/bundle.ts';

/**
 * `npm run build`: one ESM bundle per Lambda function (FUNCTIONS) in dist/functions/<name>/:
 * index.mjs (the entry) and chunks/*.mjs (code splitting, infra/bundle.ts), plus `_baseline`, a
 * hello-world that only creates a DynamoDB client, so bundle size and cold-start figures have a
 * floor to be compared with.
 *
 * "Bundle size" is what module init loads: index.mjs and the chunks it imports statically
 * (transitively). The chunks only `import()` reaches (isomorphic-git, yaml, sigstore … on the paths
 * that use them) are read on first use; they count in `total`, not in the size the targets are on.
 */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const OUT_DIR = join(ROOT, 'dist', 'functions');
export const BASELINE = '_baseline';

/**
 * The budgets of the bundles (minified, bytes module init loads) and of module init (bench/init-time.ts). The bundle
 * budgets are checked on every test run (test/infra/init-loaded.test.ts); module init's by the bench alone (times vary).
 */
export const TARGETS = { largestBytes: 400 * 1024, medianBytes: 300 * 1024, initRatio: 2.0 };

export interface BundleResult {
  name: string;
  /** absolute path of index.mjs */
  file: string;
  /** bytes module init loads: index.mjs and the chunks it imports statically */
  bytes: number;
  gzipBytes: number;
  /** every output file: the entry and all its chunks, lazy ones included */
  totalBytes: number;
  /** input bytes in the init-loaded output, by npm package ('(app)' for our own code), largest first */
  contributors: { pkg: string; bytes: number }[];
  /** the same for the chunks loaded on first use only */
  lazyContributors: { pkg: string; bytes: number }[];
}

const BASELINE_SOURCE = `
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
// Created at module scope like the real handlers' clients, so init time includes it.
const client = new DynamoDBClient({});
export const handler = async () => ({ statusCode: 200, body: client.config.serviceId ?? 'ok' });
`;

/** Groups outputs' inputs by npm package, largest first. */
export function contributors(meta: Metafile, outputs: string[]): { pkg: string; bytes: number }[] {
  const byPkg = new Map<string, number>();
  for (const out of outputs) {
    for (const [path, { bytesInOutput }] of Object.entries(meta.outputs[out]!.inputs)) {
      const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path);
      const pkg = m ? m[1]! : '(app)';
      byPkg.set(pkg, (byPkg.get(pkg) ?? 0) + bytesInOutput);
    }
  }
  return [...byPkg].map(([pkg, bytes]) => ({ pkg, bytes })).sort((a, b) => b.bytes - a.bytes);
}

/** The outputs module init loads: the entry and, transitively, what it imports statically (not `import()`). */
export function initLoaded(meta: Metafile, entry: string): string[] {
  const seen = new Set<string>([entry]);
  const todo = [entry];
  while (todo.length) {
    for (const imp of meta.outputs[todo.pop()!]?.imports ?? []) {
      if (imp.kind === 'import-statement' && !imp.external && !seen.has(imp.path)) {
        seen.add(imp.path);
        todo.push(imp.path);
      }
    }
  }
  return [...seen];
}

async function bundle(name: string, options: BuildOptions, outDir = OUT_DIR, traceSdk = false): Promise<BundleResult> {
  // Exactly the options the stack deploys with (infra/bundle.ts), so sizes and init times are the deployed ones.
  const common: BuildOptions = { ...bundleOptions(traceSdk, name === BASELINE ? undefined : name), plugins: bundlePlugins(), absWorkingDir: ROOT };
  const dir = join(outDir, name);
  const file = join(dir, 'index.mjs');
  const entryPoints = options.stdin ? undefined : options.entryPoints;
  const result = await build({
    ...common,
    ...options,
    ...(entryPoints ? { entryPoints: { index: (entryPoints as string[])[0]! } } : { entryNames: 'index' }),
    outdir: dir,
    write: false,
  });
  if (!result.outputFiles.some((f) => f.path === file)) throw new Error(`esbuild produced no ${file}`);
  for (const f of result.outputFiles) {
    mkdirSync(dirname(f.path), { recursive: true });
    writeFileSync(f.path, f.contents);
  }
  const meta = result.metafile!;
  const rel = (f: string) => relative(ROOT, f).split('\\').join('/');
  const loaded = initLoaded(meta, rel(file));
  const lazy = Object.keys(meta.outputs).filter((o) => !loaded.includes(o));
  const bytesOf = (outs: string[]) => outs.reduce((n, o) => n + meta.outputs[o]!.bytes, 0);
  const loadedBytes = Buffer.concat(result.outputFiles.filter((f) => loaded.includes(rel(f.path))).map((f) => Buffer.from(f.contents)));
  return {
    name,
    file,
    bytes: bytesOf(loaded),
    gzipBytes: gzipSync(loadedBytes, { level: 9 }).byteLength,
    totalBytes: bytesOf(Object.keys(meta.outputs)),
    contributors: contributors(meta, loaded),
    lazyContributors: contributors(meta, lazy),
  };
}

/** Bundles every handler and the baseline (in parallel); the baseline comes first. */
export async function buildAll(): Promise<BundleResult[]> {
  rmSync(OUT_DIR, { recursive: true, force: true });
  const baseline = bundle(BASELINE, { stdin: { contents: BASELINE_SOURCE, resolveDir: ROOT, loader: 'js', sourcefile: 'baseline.mjs' } });
  const handlers = FUNCTIONS.map((name) => bundle(name, { entryPoints: [functionEntry(name)] }));
  return Promise.all([baseline, ...handlers]);
}

/**
 * The same functions with the AWS SDK left out (`@aws-sdk/*`, `@smithy/*` external), as they would run on the
 * SDK the Lambda runtime ships: for the bench's "is the runtime's SDK worth its version drift" comparison.
 * They sit under dist/, so Node resolves the SDK from this repository's node_modules the way the runtime
 * resolves its own (unbundled, package by package).
 */
export async function buildRuntimeSdkVariant(names: string[]): Promise<BundleResult[]> {
  const outDir = join(ROOT, 'dist', 'runtime-sdk');
  rmSync(outDir, { recursive: true, force: true });
  const external = ['@aws-sdk/*', '@smithy/*'];
  const baseline = bundle(BASELINE, { external, stdin: { contents: BASELINE_SOURCE, resolveDir: ROOT, loader: 'js', sourcefile: 'baseline.mjs' } }, outDir);
  const handlers = names.map((name) => bundle(name, { external, entryPoints: [functionEntry(name)] }, outDir));
  return Promise.all([baseline, ...handlers]);
}

/** The same functions as deployed with `-c traceSdk=true`: the Tracer and the X-Ray SDK bundled and loaded (for the bench). */
export async function buildTracedVariant(names: string[]): Promise<BundleResult[]> {
  const outDir = join(ROOT, 'dist', 'traced');
  rmSync(outDir, { recursive: true, force: true });
  return Promise.all(names.map((name) => bundle(name, { entryPoints: [functionEntry(name)] }, outDir, true)));
}

export const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;

/** Prints rows as an aligned table (numbers right-aligned). */
export function table(headers: string[], rows: (string | number)[][]): string {
  const cells = [headers, ...rows.map((r) => r.map(String))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const numeric = headers.map((_, i) => rows.length > 0 && rows.every((r) => /^[\d.,+\-−–\s]+( (KiB|ms|B))?$|^—$/.test(String(r[i]))));
  const line = (r: string[]) =>
    r
      .map((c, i) => (numeric[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)].join('\n');
}

export function sizeTable(results: BundleResult[]): string {
  return table(
    ['function', 'init-loaded', 'gzip', 'total', 'init-loaded B'],
    results.map((r) => [r.name, kib(r.bytes), kib(r.gzipBytes), kib(r.totalBytes), r.bytes]),
  );
}

/** The figures the targets are on: the largest and the median init-loaded size (the baseline left out). */
export function sizeFigures(results: BundleResult[]) {
  const fns = results.filter((r) => r.name !== BASELINE).sort((a, b) => b.bytes - a.bytes);
  const sorted = fns.map((r) => r.bytes).sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  const largestTotal = [...fns].sort((a, b) => b.totalBytes - a.totalBytes)[0]!;
  return { largest: fns[0]!, median, largestTotal };
}

// Run directly (`npm run build`), not when imported by the bench.
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const started = performance.now();
  const results = await buildAll();
  console.log(`Bundled ${results.length - 1} functions + baseline into ${relative(process.cwd(), OUT_DIR)}/ in ${Math.round(performance.now() - started)} ms`);
  console.log(
    'Sizes are minified bytes; "init-loaded" is what module init reads (index.mjs and the chunks it imports statically), "total" adds the chunks loaded by import() on first use.\n',
  );
  console.log(sizeTable(results));
  const { largest, median, largestTotal } = sizeFigures(results);
  const mark = (ok: boolean) => (ok ? 'met' : 'NOT met');
  console.log(
    `\nlargest bundle (init-loaded): ${kib(largest.bytes)} (${largest.name}); target ≤ ${kib(TARGETS.largestBytes)}: ${mark(largest.bytes <= TARGETS.largestBytes)}`,
  );
  console.log(`median bundle (init-loaded):  ${kib(median)}; target ≤ ${kib(TARGETS.medianBytes)}: ${mark(median <= TARGETS.medianBytes)}`);
  console.log(`largest total (with lazy chunks): ${kib(largestTotal.totalBytes)} (${largestTotal.name})`);
  console.log(`module init: target ≤ ${TARGETS.initRatio.toFixed(1)}× the baseline's, measured by \`npm run bench\` (bench/init-time.ts)`);
  console.log(`\nTop contributors to ${largest.name}, init-loaded (bytes in output, before gzip):`);
  console.log(
    table(
      ['package', 'bytes'],
      largest.contributors.slice(0, 8).map((c) => [c.pkg, kib(c.bytes)]),
    ),
  );
  if (largest.lazyContributors.length)
    console.log(
      `loaded on first use: ${largest.lazyContributors
        .slice(0, 6)
        .map((c) => `${c.pkg} ${kib(c.bytes)}`)
        .join(', ')}`,
    );
}
