import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { brotliCompressSync, constants as zlib } from 'node:zlib';
import { build, type BuildOptions, type Metafile, type Plugin } from 'esbuild';
import { buildInChild, cachedBatch } from './bundle-cache.ts';
import { ROUTES, routeKey } from '../functions/http/routes.ts';
import { FUNCTION_GROUPS, FUNCTIONS, handlersOf, LAZY_GROUPS, type FunctionGroup } from '../functions/http/topology.ts';
import { servedRow } from '../functions/http/served-routes.ts';
import { classicZodApart } from './classic-zod-apart.ts';
import { middyWebStreams } from './middy-web-streams.ts';
import { sdkDeepImports } from './sdk-imports.ts';
import { sdkUnused } from './sdk-unused.ts';

/** Repo root: esbuild resolves `#domain/*` through the root package.json `imports`. */
export const REPO_ROOT = path.join(import.meta.dirname, '..');

/**
 * The source of a group's entry (FUNCTION_GROUPS in functions/http/topology.ts, the one place groups
 * are declared): it imports each member handler and dispatches on the route key (functions/http/group.ts).
 */
export function groupEntrySource(name: FunctionGroup): string {
  const members = FUNCTION_GROUPS[name];
  const abs = (...p: string[]) => JSON.stringify(path.join(REPO_ROOT, 'functions', ...p));
  if (LAZY_GROUPS.includes(name))
    return [
      `import { serveLazyGroup } from ${abs('http', 'group.ts')};`,
      `export const handler = serveLazyGroup({ ${members.map((h) => `${JSON.stringify(h)}: () => import(${abs('handlers', `${h}.ts`)}).then((m) => m.handler)`).join(', ')} });`,
      '',
    ].join('\n');
  return [
    `import { serveGroup } from ${abs('http', 'group.ts')};`,
    ...members.map((h, i) => `import { handler as m${i} } from ${abs('handlers', `${h}.ts`)};`),
    `export const handler = serveGroup({ ${members.map((h, i) => `${JSON.stringify(h)}: m${i}`).join(', ')} });`,
    '',
  ].join('\n');
}

const ENTRIES = path.join(tmpdir(), `stageline-entries-${process.pid}`);

/** The entry of a Lambda function (functions/http/topology.ts FUNCTIONS): the handler itself, or a group's entry generated from FUNCTION_GROUPS. */
export function functionEntry(name: string): string {
  if (!(name in FUNCTION_GROUPS)) return path.join(REPO_ROOT, 'functions', 'handlers', `${name}.ts`);
  const file = path.join(ENTRIES, `${name}.ts`);
  mkdirSync(ENTRIES, { recursive: true });
  writeFileSync(file, groupEntrySource(name as FunctionGroup));
  return file;
}

/**
 * The routes a function serves, as its bundle carries them (functions/http/served-routes.ts): its
 * handlers' rows of the one table, keyed by route key, without their documentation, schemas and
 * settings. A build-time constant, so the bundle holds neither the rest of the table nor routes.ts.
 */
export function servedRoutes(fn: string): Record<string, unknown> {
  const handlers = handlersOf(fn);
  return Object.fromEntries(ROUTES.filter((r) => handlers.includes(r.handler)).map((r) => [routeKey(r), servedRow(r)]));
}

/** Every route's method and path (functions/http/served-routes.ts routePaths: what the $default fallback matches), a build-time constant too. */
export const routePaths = () => ROUTES.map(({ method, path }) => ({ method, path }));

let packedOpenApi: string | undefined;

/**
 * The OpenAPI document as the openapi function's bundle carries it (functions/handlers/openapi.ts,
 * STAGELINE_OPENAPI_DOCUMENT): the checked-in file as that function serves it (compact JSON),
 * brotli-compressed, base64. Module init reads a string a seventh of the document's size; the first request inflates it.
 */
export function packedOpenApiDocument(): string {
  packedOpenApi ??= brotliCompressSync(
    Buffer.from(JSON.stringify(JSON.parse(readFileSync(path.join(REPO_ROOT, 'functions', 'http', 'openapi.json'), 'utf8')))),
    { params: { [zlib.BROTLI_PARAM_QUALITY]: 11, [zlib.BROTLI_PARAM_MODE]: zlib.BROTLI_MODE_TEXT } },
  ).toString('base64');
  return packedOpenApi;
}

/** The Node version the bundles are compiled for; infra/function.ts pins the Lambda runtime to match. */
export const ESBUILD_TARGET = 'node22';

/**
 * The plugins every Lambda bundle is built with, beside bundleOptions (esbuild takes plugins in its
 * asynchronous API only): the AWS SDK's imports taken past its barrels (infra/sdk-imports.ts), so module
 * init reads none of the protocols that only the clients loaded on first use speak; what of the SDK no function
 * on Node runs answered without it (infra/sdk-unused.ts); middy's web streams import answered without
 * loading them (infra/middy-web-streams.ts); and a package's classic zod kept apart from our zod/mini
 * (infra/classic-zod-apart.ts).
 */
export const bundlePlugins = (): Plugin[] => [sdkDeepImports(), sdkUnused, middyWebStreams, classicZodApart];

/**
 * How every Lambda bundle is built (the stack deploys exactly this output). The stack bundles
 * itself, rather than through NodejsFunction, so that it knows what each bundle contains before it
 * creates the function: which adapters, so which SDK commands and environment (infra/adapters.ts).
 */
export const bundleOptions = (traceSdk: boolean, fn?: string): BuildOptions => ({
  bundle: true,
  platform: 'node',
  format: 'esm',
  // Code splitting: what a function loads with `import()` on first use (isomorphic-git and yaml on git
  // targets, sigstore for signatures, the Secrets Manager client for the secrets key …) is a chunk of its
  // own, read only when used, so module init reads the entry and its static imports alone. The Lambda
  // asset is the directory: index.mjs (the entry, `index.handler`) and chunks/*.mjs.
  splitting: true,
  entryNames: '[name]',
  chunkNames: 'chunks/[name]-[hash]',
  outExtension: { '.js': '.mjs' },
  target: ESBUILD_TARGET,
  // Prefer packages' ESM builds so esbuild can tree-shake the AWS SDK.
  mainFields: ['module', 'main'],
  // Some CommonJS dependencies (parts of the AWS SDK among them) call `require` for Node built-ins;
  // an ESM bundle has no `require`, so define one. The alias avoids clashing with an import esbuild emits.
  banner: { js: "import { createRequire as __stagelineCreateRequire } from 'node:module'; const require = __stagelineCreateRequire(import.meta.url);" },
  minify: true,
  // No keepNames: it costs every bundle about 22 KiB of `__name` calls and module init some 3 ms. What reads a
  // class's name sets it in words instead: each domain error writes its `name` out (DomainError's abstract
  // `name`, so the compiler asks for it), as every other error class does; Step Functions catches them by it.
  // test/unit/error-names.test.ts holds that, and that nothing of ours reads `constructor.name`.
  keepNames: false,
  sourcemap: false,
  // The AWS SDK is bundled rather than taken from the runtime: the code runs against the exact SDK
  // versions in package-lock.json, and the tree-shaken bundle loads faster than the runtime's full SDK.
  external: [],
  // Lambda's credentials are in the environment: the SDK's default chain is replaced by the
  // environment provider (functions/adapters/lambda-credentials.ts).
  // yaml's `node` export is its CommonJS build, which esbuild cannot tree-shake; its `default` export, the same
  // code as ES modules, can (-17 KiB in the manifest functions, which parse and print with it on every request).
  alias: {
    '@aws-sdk/credential-provider-node': path.join(REPO_ROOT, 'functions', 'adapters', 'lambda-credentials.ts'),
    yaml: path.join(REPO_ROOT, 'node_modules', 'yaml', 'browser', 'index.js'),
    // The SDK's endpoint-discovery cache (made with every DynamoDB client, used only with discovery on) on a Map, not mnemonist (functions/adapters/lru-cache.ts).
    'mnemonist/lru-cache': path.join(REPO_ROOT, 'functions', 'adapters', 'lru-cache.ts'),
  },
  // SDK tracing is decided at build time, so a function that does not trace carries no Tracer (tracing.ts);
  // so are the routes a function serves (servedRoutes), every route's method and path (routePaths), and the openapi function's document (packedOpenApiDocument).
  define: {
    'process.env.STAGELINE_TRACE_SDK': JSON.stringify(traceSdk ? 'true' : 'false'),
    ...(fn
      ? {
          'process.env.STAGELINE_SERVED_ROUTES': JSON.stringify(JSON.stringify(servedRoutes(fn))),
          'process.env.STAGELINE_ROUTE_PATHS': JSON.stringify(JSON.stringify(routePaths())),
        }
      : {}),
    ...(fn === 'openapi' ? { 'process.env.STAGELINE_OPENAPI_DOCUMENT': JSON.stringify(packedOpenApiDocument()) } : {}),
  },
  metafile: true,
  logLevel: 'warning',
});

export interface FunctionBundle {
  /** directory holding index.mjs and its chunks/ (what the Lambda's code asset is made of) */
  dir: string;
  /** our modules in the output (bytesInOutput > 0), relative to the repo root: functions/adapters/scheduler.ts … */
  modules: Set<string>;
  /** port calls the bundled code makes: `workflow.start`, `scheduler.scheduleOnce` … (property names survive minification) */
  calls: Set<string>;
  metafile: Metafile;
}

const BUILT = new Map<string, FunctionBundle>();
const OUT_ROOT = path.join(tmpdir(), `stageline-bundles-${process.pid}`);
/** The functions built so far, by output root (one per tracing choice). */
const BATCHES = new Map<string, Set<string>>();
/** The cached folder (infra/bundle-cache.ts) this process reads, by tracing choice. */
const CACHED_ROOTS = new Map<boolean, string>();

/** `.<port>.<method>(`: how the domain calls an adapter through its ports (`deps.workflow.start(…)`). */
const PORT_CALL = /\.([a-z][A-Za-z]*)\.([a-z][A-Za-z]*)\(/g;

/** What a bundle's metafile and text (every output file: the entry and its chunks) say it contains (exported for the checks in test/infra). */
export function contentsOf(metafile: Metafile, text: string): Pick<FunctionBundle, 'modules' | 'calls'> {
  const modules = new Set<string>();
  for (const output of Object.values(metafile.outputs)) {
    for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) if (bytesInOutput > 0 && !input.includes('node_modules/')) modules.add(input);
  }
  const calls = new Set<string>();
  for (const [, port, method] of text.matchAll(PORT_CALL)) calls.add(`${port}.${method}`);
  return { modules, calls };
}

/**
 * Builds functions into `root`/<name>/ (the entry and its chunks) with their metafiles beside, as
 * `root`/<name>.meta.json (not in the directory, which is the Lambda's code asset). Run in a child
 * process by bundleFunction (infra/bundle-child.ts), since plugins need esbuild's asynchronous API.
 */
export async function buildFunctions(names: readonly string[], traceSdk: boolean, root: string): Promise<void> {
  const queue = [...names];
  // A few at a time: each build holds its module graph until it is written.
  const worker = async () => {
    for (let name = queue.shift(); name !== undefined; name = queue.shift()) await buildOne(name);
  };
  await Promise.all(Array.from({ length: 4 }, worker));
  async function buildOne(name: string) {
    const dir = path.join(root, name);
    rmSync(dir, { recursive: true, force: true });
    const result = await build({
      ...bundleOptions(traceSdk, name),
      plugins: bundlePlugins(),
      entryPoints: { index: functionEntry(name) },
      absWorkingDir: REPO_ROOT,
      outdir: dir,
      write: false,
    });
    const outfile = path.join(dir, 'index.mjs');
    if (!result.outputFiles.some((f) => f.path === outfile)) throw new Error(`esbuild produced no ${outfile}`);
    for (const f of result.outputFiles) {
      mkdirSync(path.dirname(f.path), { recursive: true });
      writeFileSync(f.path, f.contents);
    }
    writeFileSync(`${dir}.meta.json`, JSON.stringify(result.metafile));
  }
}

/**
 * Bundles one function (once per process and tracing choice) into a directory of its own. When
 * the stack is synthesized without bundling (`aws:cdk:bundling-stacks`), an existing bundle of
 * the function is reused whatever its tracing, since only what it contains is needed. The first
 * bundle asked for builds every function of that tracing, in one child process (the stack and the
 * checks want them all; the child runs esbuild's asynchronous API, which plugins need), or finds
 * them built from the same sources (infra/bundle-cache.ts).
 */
export function bundleFunction(name: string, opts: { traceSdk: boolean; reuseAny?: boolean }): FunctionBundle {
  const key = `${name}:${opts.traceSdk}`;
  const existing = BUILT.get(key) ?? (opts.reuseAny ? BUILT.get(`${name}:${!opts.traceSdk}`) : undefined);
  if (existing) return existing;
  const cached = FUNCTIONS.includes(name);
  let root = cached ? CACHED_ROOTS.get(opts.traceSdk) : path.join(OUT_ROOT, opts.traceSdk ? 'traced' : 'plain');
  if (!root) {
    root = cachedBatch(opts.traceSdk);
    CACHED_ROOTS.set(opts.traceSdk, root);
  }
  const built = BATCHES.get(root) ?? new Set<string>(cached ? FUNCTIONS : []);
  if (!built.has(name)) {
    // The bundles live as long as the process that built them (a synth copies them into its assembly first).
    if (![...BATCHES.keys()].some((r) => r.startsWith(OUT_ROOT))) process.once('exit', () => rmSync(OUT_ROOT, { recursive: true, force: true }));
    const names = FUNCTIONS.includes(name) ? FUNCTIONS.filter((n) => !built.has(n)) : [name];
    buildInChild(names, opts.traceSdk, root);
    for (const n of names) built.add(n);
  }
  BATCHES.set(root, built);
  const dir = path.join(root, name);
  const metafile = JSON.parse(readFileSync(`${dir}.meta.json`, 'utf8')) as Metafile;
  const text = Object.keys(metafile.outputs)
    .map((o) => readFileSync(path.join(REPO_ROOT, o), 'utf8'))
    .join('\n');
  const bundle: FunctionBundle = { dir, metafile, ...contentsOf(metafile, text) };
  BUILT.set(key, bundle);
  return bundle;
}
