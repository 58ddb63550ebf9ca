import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

/**
 * `npm run console`: the console (console/, Preact views, uPlot charts, oauth4webapi sign-in) built
 * by esbuild into one script and one stylesheet, named by their content hash and written, with their
 * SRI digests, into functions/dashboard/assets.generated.ts — the module the dashboard function
 * serves them from (so the Lambda bundle, the local stack and the tests serve the same bytes). A
 * test rebuilds it and fails when the committed file differs (test/unit/console-build.test.ts).
 */
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const GENERATED = join(ROOT, 'functions', 'dashboard', 'assets.generated.ts');
/**
 * The page-weight budget: gzip bytes of what the console's first load fetches — the entry script, the stylesheet
 * and the chunks the entry imports statically (docs/guide/14-dashboard.md). Views the first screen does not need
 * (settings, insights, manifest, audit, flags, the calendar, an environment's panels, the charts) load when opened
 * and are not counted. 80 KiB while it was one script; 72 KiB since the split.
 */
export const BUDGET_GZIP_BYTES = 72 * 1024;
/**
 * The page-weight budget per view (docs/guide/14-dashboard.md), which `npm run bench` measures in
 * Chromium against the demo tenant (bench/console-weight.ts) and fails on. First load, cold cache:
 * the bytes received (page, script, style and API answers, headers included, as the HTTP API serves
 * them: the script and style gzipped by the dashboard function, the page and API answers as they are) and the API calls. One refresh round with nothing new (each poll of the view
 * fires once): its API calls, how many answer with a body (none: every poll revalidates with
 * If-None-Match and gets a 304), and the bytes received.
 */
export const CONSOLE_BUDGET = {
  // 220 KiB while the script and style were served uncompressed (228 KiB at 77 KiB gzip); gzipped they are 81–87 KiB.
  firstLoadBytes: 100 * 1024,
  firstLoadApiCalls: 6,
  refreshApiCalls: 6,
  refreshBodies: 0,
  refreshBytes: 4 * 1024,
} as const;

export interface Asset {
  name: string;
  type: string;
  integrity: string;
  body: string;
}

/** The console as built: the entry script, the stylesheet, the chunks the entry imports (first load) and those it imports when a view opens. */
export interface Built {
  script: Asset;
  style: Asset;
  /** Chunks the entry imports statically (shared code): fetched at first load, preloaded with their integrity by the page. */
  preload: Asset[];
  /** Chunks imported with `import()` when their view opens (and what only they share). */
  lazy: Asset[];
}

const sha = (alg: 'sha256' | 'sha384', body: string, enc: 'hex' | 'base64') => createHash(alg).update(body).digest(enc);
const TYPES = { js: 'text/javascript; charset=utf-8', css: 'text/css; charset=utf-8' } as const;

/**
 * Builds console/ with code splitting: views the first screen does not need load by `import()` (console/lazy.tsx).
 * Every file is named by its content's hash (sha256): a chunk's name is given once the chunks it imports have theirs,
 * and the import paths in it are rewritten to those names first, so the name covers what it loads.
 */
export async function buildConsole(): Promise<Built> {
  const r = await build({
    entryPoints: [join(ROOT, 'console', 'main.tsx')],
    bundle: true,
    minify: true,
    write: false,
    metafile: true,
    format: 'esm',
    splitting: true,
    target: ['chrome111', 'firefox111', 'safari16.4'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    outdir: join(ROOT, 'out'),
    entryNames: 'app',
    chunkNames: '[name]-[hash]',
    legalComments: 'none',
    loader: { '.css': 'css' },
    logLevel: 'silent',
  });
  const base = (path: string) => path.slice(path.lastIndexOf('/') + 1);
  const text = new Map(r.outputFiles.map((f) => [base(f.path), f.text]));
  const outputs = new Map(Object.entries(r.metafile!.outputs).map(([path, o]) => [base(path), o]));
  const named = new Map<string, Asset>();
  const nameOf = (file: string): Asset => {
    const done = named.get(file);
    if (done) return done;
    let body = text.get(file)!;
    for (const i of outputs.get(file)!.imports) {
      const dep = nameOf(base(i.path));
      body = body.split(`"./${base(i.path)}"`).join(`"./${dep.name}"`);
    }
    const ext = file.endsWith('.css') ? 'css' : 'js';
    const stem = file.replace(/(-[A-Z0-9]{8})?\.(js|css)$/, '');
    const asset = {
      name: `${stem}.${sha('sha256', body, 'hex').slice(0, 12)}.${ext}`,
      type: TYPES[ext],
      integrity: `sha384-${sha('sha384', body, 'base64')}`,
      body,
    };
    named.set(file, asset);
    return asset;
  };
  const statics = (file: string): string[] =>
    outputs
      .get(file)!
      .imports.filter((i) => i.kind === 'import-statement')
      .flatMap((i) => [base(i.path), ...statics(base(i.path))]);
  const preloads = [...new Set(statics('app.js'))];
  const lazy = [...outputs.keys()].filter((f) => f.endsWith('.js') && f !== 'app.js' && !preloads.includes(f));
  return {
    script: nameOf('app.js'),
    style: nameOf('app.css'),
    preload: preloads.map(nameOf),
    lazy: lazy.map(nameOf).sort((a, b) => a.name.localeCompare(b.name)),
  };
}

/** Gzip bytes of what the first load fetches: the entry script, the stylesheet and the chunks the entry imports statically. */
export const firstLoadGzip = (b: Built): number => [b.script, b.style, ...b.preload].reduce((n, a) => n + gzipSync(a.body).length, 0);

export function generatedModule(a: Built): string {
  const ref = (x: Asset) => JSON.stringify({ name: x.name, type: x.type, integrity: x.integrity });
  return `// Generated by \`npm run console\` (scripts/console.ts) from console/: do not edit.
/** The console's hashed assets: the dashboard function serves them at /dashboard/assets/<name>. */
export const CONSOLE_SCRIPT = ${ref(a.script)} as const;
export const CONSOLE_STYLE = ${ref(a.style)} as const;
/** Chunks the entry script imports statically: the page preloads them with their integrity. */
export const CONSOLE_PRELOAD: readonly { name: string; type: string; integrity: string }[] = [${a.preload.map(ref).join(', ')}];
export const CONSOLE_BODIES: Readonly<Record<string, string>> = {
${[a.script, a.style, ...a.preload, ...a.lazy].map((x) => `  ${JSON.stringify(x.name)}: ${JSON.stringify(x.body)},`).join('\n')}
};
`;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const built = await buildConsole();
  writeFileSync(GENERATED, generatedModule(built));
  const line = (what: string, a: Asset) =>
    `  ${what.padEnd(10)} ${a.name.padEnd(34)} ${String(a.body.length).padStart(7)} B ${String(gzipSync(a.body).length).padStart(6)} B gzip`;
  console.log(
    [
      `wrote ${GENERATED}:`,
      line('entry', built.script),
      line('style', built.style),
      ...built.preload.map((a) => line('preload', a)),
      ...built.lazy.map((a) => line('on demand', a)),
      `first load (entry + style + preloads): ${firstLoadGzip(built)} B gzip (budget ${BUDGET_GZIP_BYTES} B)`,
    ].join('\n'),
  );
}
