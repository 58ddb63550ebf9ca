import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build, type BuildOptions, type Metafile } from 'esbuild';
import { FUNCTIONS, functionModule } from '../functions/http/routes.ts';
import { bundleOptions } from '../infra/bundle.ts';

/**
 * `npm run build`: one self-contained ESM bundle per Lambda function (FUNCTIONS) in
 * dist/functions/<name>/index.mjs, plus `_baseline`, a hello-world that only
 * creates a DynamoDB client, so bundle size and cold-start figures have a floor
 * to be compared with.
 */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const OUT_DIR = join(ROOT, 'dist', 'functions');
export const BASELINE = '_baseline';

export interface BundleResult {
  name: string;
  /** absolute path of index.mjs */
  file: string;
  bytes: number;
  gzipBytes: number;
  /** input bytes in the output, by npm package ('(app)' for our own code), largest first */
  contributors: { pkg: string; bytes: number }[];
}

const BASELINE_SOURCE = `
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
// Created at module scope like the real handlers' clients, so init time includes it.
const client = new DynamoDBClient({});
export const handler = async () => ({ statusCode: 200, body: client.config.serviceId ?? 'ok' });
`;

/** Exactly the options the stack deploys with (infra/bundle.ts), so sizes and init times are the deployed ones. */
const common: BuildOptions = { ...bundleOptions(false), absWorkingDir: ROOT };

/** Groups a metafile's output inputs by npm package. */
function contributors(meta: Metafile): { pkg: string; bytes: number }[] {
  const byPkg = new Map<string, number>();
  for (const output of Object.values(meta.outputs)) {
    for (const [path, { bytesInOutput }] of Object.entries(output.inputs)) {
      const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path);
      const pkg = m ? m[1]! : '(app)';
      byPkg.set(pkg, (byPkg.get(pkg) ?? 0) + bytesInOutput);
    }
  }
  return [...byPkg].map(([pkg, bytes]) => ({ pkg, bytes })).sort((a, b) => b.bytes - a.bytes);
}

async function bundle(name: string, options: BuildOptions, outDir = OUT_DIR): Promise<BundleResult> {
  const file = join(outDir, name, 'index.mjs');
  const result = await build({ ...common, ...options, outfile: file, write: false });
  const out = result.outputFiles.find((f) => f.path === file);
  if (!out) throw new Error(`esbuild produced no ${file}`);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, out.contents);
  return {
    name,
    file,
    bytes: out.contents.byteLength,
    gzipBytes: gzipSync(out.contents, { level: 9 }).byteLength,
    contributors: contributors(result.metafile!),
  };
}

/** Bundles every handler and the baseline (in parallel); the baseline comes first. */
export async function buildAll(): Promise<BundleResult[]> {
  rmSync(OUT_DIR, { recursive: true, force: true });
  const baseline = bundle(BASELINE, { stdin: { contents: BASELINE_SOURCE, resolveDir: ROOT, loader: 'js', sourcefile: 'baseline.mjs' } });
  const handlers = FUNCTIONS.map((name) => bundle(name, { entryPoints: [join(ROOT, 'functions', `${functionModule(name)}.ts`)] }));
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
  const handlers = names.map((name) => bundle(name, { external, entryPoints: [join(ROOT, 'functions', `${functionModule(name)}.ts`)] }, outDir));
  return Promise.all([baseline, ...handlers]);
}

/** The same functions as deployed with `-c traceSdk=true`: the Tracer and the X-Ray SDK bundled and loaded (for the bench). */
export async function buildTracedVariant(names: string[]): Promise<BundleResult[]> {
  const outDir = join(ROOT, 'dist', 'traced');
  rmSync(outDir, { recursive: true, force: true });
  const define = { 'process.env.STAGELINE_TRACE_SDK': '"true"' };
  return Promise.all(names.map((name) => bundle(name, { define, entryPoints: [join(ROOT, 'functions', `${functionModule(name)}.ts`)] }, outDir)));
}

export const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;

/** Prints rows as an aligned table (numbers right-aligned). */
export function table(headers: string[], rows: (string | number)[][]): string {
  const cells = [headers, ...rows.map((r) => r.map(String))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const numeric = headers.map((_, i) => rows.length > 0 && rows.every((r) => /^[\d.,+\-−–\s]+( (KiB|ms|B))?$|^—$/.test(String(r[i]))));
  const line = (r: string[]) => r.map((c, i) => (numeric[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)].join('\n');
}

export function sizeTable(results: BundleResult[]): string {
  return table(
    ['function', 'minified', 'gzip', 'minified B'],
    results.map((r) => [r.name, kib(r.bytes), kib(r.gzipBytes), r.bytes]),
  );
}

// Run directly (`npm run build`), not when imported by the bench.
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const started = performance.now();
  const results = await buildAll();
  console.log(`Bundled ${results.length - 1} functions + baseline into ${relative(process.cwd(), OUT_DIR)}/ in ${Math.round(performance.now() - started)} ms\n`);
  console.log(sizeTable(results));
  const largest = results.filter((r) => r.name !== BASELINE).sort((a, b) => b.bytes - a.bytes)[0];
  if (largest) {
    console.log(`\nTop contributors to ${largest.name} (bytes in output, before gzip):`);
    console.log(table(['package', 'bytes'], largest.contributors.slice(0, 8).map((c) => [c.pkg, kib(c.bytes)])));
  }
}
