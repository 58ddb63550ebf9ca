/**
 * What module init reads, per function (the bundles the stack deploys, infra/bundle.ts): what only
 * some requests need stays in chunks that `import()` loads on first use. Each rule here is a cold
 * start cost that was measured (npm run bench, bench/init-time.ts) and removed.
 */
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it, vi } from 'vitest';
import { ROUTES, routeKey } from '../../functions/http/routes.ts';
import { FUNCTIONS, handlersOf } from '../../functions/http/topology.ts';
import { build, buildSync } from 'esbuild';
import { bundleFunction, bundleOptions, bundlePlugins, REPO_ROOT } from '../../infra/bundle.ts';
import { SHA256_NODE } from '../../infra/sdk-unused.ts';
import { contributors, initLoaded, kib, TARGETS } from '../../scripts/build.ts';
import { median } from '../../bench/init-time.ts';

const seen = new Map<string, { inputs: Set<string>; builtins: Set<string> }>();

/** What the function's module init reads: our and packages' inputs, and the Node built-ins it imports (once per function). */
function atInit(name: string): { inputs: Set<string>; builtins: Set<string> } {
  const known = seen.get(name);
  if (known) return known;
  const { metafile } = bundleFunction(name, { traceSdk: false, reuseAny: true });
  const entry = Object.keys(metafile.outputs).find((o) => o.endsWith('/index.mjs'))!;
  const inputs = new Set<string>();
  const builtins = new Set<string>();
  for (const out of initLoaded(metafile, entry)) {
    for (const [input, { bytesInOutput }] of Object.entries(metafile.outputs[out]!.inputs)) if (bytesInOutput > 0) inputs.add(input);
    for (const imp of metafile.outputs[out]!.imports) if (imp.external && imp.kind === 'import-statement') builtins.add(imp.path);
  }
  seen.set(name, { inputs, builtins });
  return { inputs, builtins };
}

const has = (inputs: Set<string>, part: string) => [...inputs].some((i) => i.includes(part));

/**
 * The functions still over the init-loaded budget (TARGETS.largestBytes), each held to at most the bytes here, so
 * that it shrinks and never grows: what is left to move out of module init. None now: schedule-fire left the list when
 * the schedules only some tenants have (recurring promotions, auto-promotion checks, freeze edges, reminders) became
 * loaded on their first schedule, manifest when a plan's desired setup and its simulation did.
 */
const OVER_BUDGET: Record<string, number> = {};

describe('module init reads only what every request of the function needs', () => {
  it('no function imports node:http at init (on Node 24 it loads undici, http2 and worker_threads: ~30 ms); outbound calls are https', () => {
    const offenders = FUNCTIONS.filter((name) => atInit(name).builtins.has('node:http'));
    expect(offenders).toEqual([]);
  }, 600_000);

  it("no function loads Node's web streams at init (middy's one `instanceof ReadableStream` is answered by functions/http/middy-web-streams.ts), nor zlib, save the stream consumer, which unpacks outbox items on every run", () => {
    const streams = FUNCTIONS.filter((name) => atInit(name).builtins.has('node:stream/web'));
    expect(streams).toEqual([]);
    const zlib = FUNCTIONS.filter((name) => atInit(name).builtins.has('node:zlib'));
    expect(zlib).toEqual(['stream']);
  }, 600_000);

  it('loading the event schemas builds none: each is built the first time an event of its type is published, then kept', async () => {
    // zod calls its global post-processor once for every schema and check it constructs.
    const zodConfig = (globalThis as { __zod_globalConfig?: { postProcessor?: () => void } }).__zod_globalConfig!;
    let built = 0;
    zodConfig.postProcessor = () => void built++;
    try {
      vi.resetModules();
      const events = await import('../../domain/kernel/events.ts');
      expect(built).toBe(0);
      const edge = { tenant: 't', windowId: 'w', reason: 'release freeze', start: '2026-12-24T00:00:00Z', end: '2026-12-27T00:00:00Z' };
      events.parseEventDetail('Freeze Started', { ...edge, at: edge.start });
      expect(built).toBeGreaterThan(0);
      const once = built;
      events.parseEventDetail('Freeze Ended', { ...edge, at: edge.end });
      expect(built).toBe(once);
    } finally {
      delete zodConfig.postProcessor;
    }
  });

  it("middy's ReadableStream answers instanceof as the runtime's own class does", async () => {
    const { ReadableStream: Shim } = await import('../../functions/http/middy-web-streams.ts');
    expect(new ReadableStream() instanceof Shim).toBe(true);
    expect(new Response('x').body instanceof Shim).toBe(true);
    for (const other of ['body', { getReader: () => null }, Buffer.from('x'), null]) expect(other instanceof Shim).toBe(false);
  });

  it('cron-parser and luxon are loaded only for a recurring freeze window, zod classic never, EMF metrics only where emitted on every run', () => {
    const cron = FUNCTIONS.filter((name) => has(atInit(name).inputs, 'node_modules/cron-parser/') || has(atInit(name).inputs, 'node_modules/luxon/'));
    expect(cron).toEqual([]);
    const classic = FUNCTIONS.filter((name) => has(atInit(name).inputs, 'node_modules/zod/v4/classic/'));
    expect(classic).toEqual([]);
    const metrics = FUNCTIONS.filter((name) => has(atInit(name).inputs, 'node_modules/@aws-lambda-powertools/metrics/'));
    // audit-ship emits the audit stream's lag (AuditStreamLag) on every run; the schedule runner loads them when a
    // sweep ended a stuck promotion (SweptPromotions), which most of its runs never do.
    expect(metrics.sort()).toEqual(['audit-ship', 'notifier', 'stream']);
  }, 600_000);

  it('zod at init is zod/mini with its English messages alone: no other locale, no JSON Schema, no schema compiler (a package that validates with classic zod, jira.js, carries a copy of its own in its own chunk)', () => {
    const zodParts = (name: string) =>
      [...atInit(name).inputs].filter((i) => i.includes('node_modules/zod/')).map((i) => i.slice(i.indexOf('node_modules/zod/') + 'node_modules/zod/'.length));
    const heavy = (part: string) => (part.startsWith('v4/locales/') && part !== 'v4/locales/en.js') || /json-schema|compile\.js/.test(part);
    // The openapi function serves the manifest's JSON Schema (z.toJSONSchema in a chunk read on that route), and the
    // bundler puts what a chunk uses of zod's core with the core, which its module init reads (60 KiB; it is 130 KiB).
    const offenders = FUNCTIONS.filter((name) => name !== 'openapi').flatMap((name) =>
      zodParts(name)
        .filter(heavy)
        .slice(0, 3)
        .map((part) => `${name}: ${part}`),
    );
    expect(offenders).toEqual([]);
  }, 600_000);

  it("SCIM's library (scimmy, 83 KiB) is loaded on the first SCIM request (functions/http/scim-library.ts), never at init", () => {
    expect(FUNCTIONS.filter((name) => has(atInit(name).inputs, 'node_modules/scimmy/'))).toEqual([]);
    const { metafile } = bundleFunction('users-admin', { traceSdk: false, reuseAny: true });
    expect(has(new Set(Object.keys(metafile.inputs)), 'node_modules/scimmy/')).toBe(true);
  }, 600_000);

  it(`every function's module init reads at most ${kib(TARGETS.largestBytes)} (minified, the entry and the chunks it imports statically), the median function at most ${kib(TARGETS.medianBytes)}`, () => {
    const sizes = FUNCTIONS.map((name) => {
      const { metafile } = bundleFunction(name, { traceSdk: false, reuseAny: true });
      const loaded = initLoaded(
        metafile,
        Object.keys(metafile.outputs).find((o) => o.endsWith('/index.mjs'))!,
      );
      return { name, bytes: loaded.reduce((n, out) => n + metafile.outputs[out]!.bytes, 0), parts: contributors(metafile, loaded) };
    });
    const over = sizes
      .filter(({ name, bytes }) => bytes > (OVER_BUDGET[name] ?? TARGETS.largestBytes))
      .map(
        ({ name, bytes, parts }) =>
          `${name}: ${kib(bytes)}; largest parts: ${parts
            .slice(0, 5)
            .map((p) => `${p.pkg} ${kib(p.bytes)}`)
            .join(', ')}`,
      );
    expect(over).toEqual([]);
    // A function listed over the budget that has come under it leaves the list.
    const under = Object.keys(OVER_BUDGET).filter((name) => sizes.find((s) => s.name === name)!.bytes <= TARGETS.largestBytes);
    expect(under).toEqual([]);
    const middle = median(sizes.map((s) => s.bytes));
    // The functions at the middle, named with their largest parts: where a byte saved moves the median.
    const sorted = [...sizes].sort((a, b) => a.bytes - b.bytes);
    const around = sorted.slice(Math.floor((sorted.length - 1) / 2) - 1, Math.ceil((sorted.length - 1) / 2) + 2).map(
      ({ name, bytes, parts }) =>
        `${name} ${kib(bytes)} (${parts
          .slice(0, 3)
          .map((p) => `${p.pkg} ${kib(p.bytes)}`)
          .join(', ')})`,
    );
    expect(middle, `median ${kib(middle)}; around it: ${around.join('; ')}`).toBeLessThanOrEqual(TARGETS.medianBytes);
  }, 600_000);

  it('a function carries its own routes, not the route table: its bundler never reads routes.ts, a route module or a response schema (the fallback, which answers 404/405 for every path, carries their methods and paths only)', () => {
    // The module graph, not only the output: a module the bundler reads brings its `import()`s along as chunks, used or not.
    const table = (input: string) =>
      input === 'functions/http/routes.ts' ||
      (input.startsWith('functions/http/routes/') && input !== 'functions/http/routes/row.ts') ||
      input.startsWith('functions/http/responses/');
    const readers = FUNCTIONS.flatMap((name) =>
      Object.keys(bundleFunction(name, { traceSdk: false, reuseAny: true }).metafile.inputs)
        .filter(table)
        .map((input) => `${name}: ${input}`),
    );
    expect(readers).toEqual([]);
  }, 600_000);

  it('a deployed bundle answers its own routes and only those (the rows the bundler put in)', async () => {
    for (const name of ['rules-read', 'items-create']) {
      const { dir } = bundleFunction(name, { traceSdk: false, reuseAny: true });
      const { handler } = (await import(pathToFileURL(join(dir, 'index.mjs')).href)) as {
        handler: (e: unknown, c: unknown) => Promise<{ statusCode: number; body: string }>;
      };
      const call = (key: string) =>
        handler(
          { routeKey: key, rawPath: key.split(' ')[1], headers: {}, requestContext: { http: { method: key.split(' ')[0] }, requestId: 'r1' } },
          { awsRequestId: 'r1' },
        );
      for (const route of ROUTES.filter((r) => handlersOf(name).includes(r.handler))) {
        // Its own route: known, so refused for the missing caller (401), not unknown (404).
        expect((await call(routeKey(route))).statusCode, `${name}: ${routeKey(route)}`).toBe(401);
      }
      const other = ROUTES.find((r) => r.auth === 'jwt' && !handlersOf(name).includes(r.handler))!;
      expect((await call(routeKey(other))).statusCode, `${name}: ${routeKey(other)}`).toBe(404);
    }
  }, 600_000);

  it("what of the SDK no function on Node runs is left out (infra/sdk-unused.ts): a client's package.json but its version, the JavaScript SHA-256", async () => {
    // The reasons, in the installed SDK: each client reads `version` alone of its package.json ...
    const clients = join(REPO_ROOT, 'node_modules', '@aws-sdk');
    const reads: string[] = [];
    for (const pkg of readdirSync(clients).filter((d) => d.startsWith('client-'))) {
      const dist = join(clients, pkg, 'dist-es');
      for (const file of readdirSync(dist, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.js'))) {
        const text = readFileSync(join(dist, file), 'utf8');
        const imported = /^import (\w+) from "\.\.\/package\.json";?$/m.exec(text);
        if (!imported) {
          if (text.includes('package.json')) reads.push(`${pkg}/${file}: package.json, read another way`);
          continue;
        }
        // Every use of the imported name after the import itself.
        const uses = [...text.slice(imported.index + imported[0].length).matchAll(new RegExp(`\\b${imported[1]}\\b(\\.\\w+)?`, 'g'))];
        reads.push(...uses.map((m) => `${pkg}/${file}: ${m[0]}`));
      }
    }
    expect(reads.length).toBeGreaterThan(0);
    expect(reads.filter((r) => !r.endsWith('.version'))).toEqual([]);
    // ... and Sha256Node takes the JavaScript SHA-256 only when node:crypto has none.
    const sha256Node = join(REPO_ROOT, 'node_modules', '@smithy', 'core', 'dist-es', 'submodules', 'checksum', 'sha256', 'Sha256Node.js');
    expect(SHA256_NODE.test(sha256Node)).toBe(true);
    const uses = [...readFileSync(sha256Node, 'utf8').matchAll(/^.*\bSha256Js\b.*$/gm)].map((m) => m[0].trim());
    expect(uses).toEqual(['import { Sha256Js } from "./Sha256Js";', 'export const Sha256Node = hasNativeCrypto ? buildNativeClass() : Sha256Js;']);
    // No function loads either at init.
    for (const name of FUNCTIONS) {
      const { metafile } = bundleFunction(name, { traceSdk: false, reuseAny: true });
      const entry = Object.keys(metafile.outputs).find((o) => o.endsWith('/index.mjs'))!;
      const bytes = (part: string) =>
        initLoaded(metafile, entry).reduce(
          (n, out) =>
            n + Object.entries(metafile.outputs[out]!.inputs).reduce((m, [input, { bytesInOutput }]) => m + (input.includes(part) ? bytesInOutput : 0), 0),
          0,
        );
      expect(bytes('checksum/sha256/Sha256Js.js'), name).toBe(0);
      expect(bytes('@aws-sdk/client-dynamodb/package.json'), name).toBeLessThan(64);
    }
    // A DynamoDB client built so still names its version and signs (SHA-256 from node:crypto).
    const dir = mkdtempSync(join(tmpdir(), 'stageline-sdk-'));
    const entry = `
      import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
      export async function signed() {
        const client = new DynamoDBClient({ region: 'eu-west-1', endpoint: 'https://127.0.0.1:9', credentials: { accessKeyId: 'AKID', secretAccessKey: 'secret' }, maxAttempts: 1 });
        let headers;
        client.middlewareStack.add((next) => async (args) => { headers = args.request.headers; throw new Error('sent'); }, { step: 'finalizeRequest', priority: 'low' });
        await client.send(new GetItemCommand({ TableName: 't', Key: { pk: { S: 'a' } } })).catch(() => {});
        return headers;
      }`;
    await build({
      ...bundleOptions(false),
      plugins: bundlePlugins(),
      stdin: { contents: entry, resolveDir: REPO_ROOT, loader: 'js' },
      entryNames: 'index',
      absWorkingDir: REPO_ROOT,
      outdir: dir,
    });
    const { signed } = (await import(pathToFileURL(join(dir, 'index.mjs')).href)) as { signed: () => Promise<Record<string, string>> };
    const headers = await signed();
    const { version } = JSON.parse(readFileSync(join(REPO_ROOT, 'node_modules', '@aws-sdk', 'client-dynamodb', 'package.json'), 'utf8')) as { version: string };
    expect(headers['user-agent']).toContain(`api/dynamodb#${version}`);
    expect(headers['authorization']).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKID\/\d{8}\/eu-west-1\/dynamodb\/aws4_request, SignedHeaders=[^,]+, Signature=[0-9a-f]{64}$/,
    );
  }, 600_000);

  it("the STS client is loaded on the first tenant session, never at init; background functions carry an STS chunk only where they assume a tenant's role (the promotion step's CloudWatch analysis, and a tenant's secrets read in the tenant secrets role's session)", () => {
    const atInitSts = FUNCTIONS.filter((name) => has(atInit(name).inputs, 'node_modules/@aws-sdk/client-sts/'));
    expect(atInitSts).toEqual([]);
    for (const name of ['promotion-step', 'schedule-fire', 'stream', 'notifier']) {
      const { metafile } = bundleFunction(name, { traceSdk: false, reuseAny: true });
      // schedule-fire delivers webhooks (their signing secrets, functions/adapters/secrets-session.ts); stream and notifier read no tenant secret.
      expect(has(new Set(Object.keys(metafile.inputs)), 'node_modules/@aws-sdk/client-sts/'), name).toBe(name === 'promotion-step' || name === 'schedule-fire');
    }
  }, 600_000);

  it("jira.js (Jira Service Management's client, some 170 KiB) is loaded only when a Jira change-control rule is opened (a chunk of its own), never at init", () => {
    const atInitJira = FUNCTIONS.filter((name) => has(atInit(name).inputs, 'node_modules/jira.js/') || has(atInit(name).inputs, 'node_modules/axios/'));
    expect(atInitJira).toEqual([]);
    // The functions that open a rule's tool (functions/adapters/change/providers.ts) carry it in a chunk of its own.
    for (const name of ['promotion-step', 'schedule-fire']) {
      const { metafile } = bundleFunction(name, { traceSdk: false, reuseAny: true });
      expect(has(new Set(Object.keys(metafile.inputs)), 'node_modules/jira.js/'), name).toBe(true);
    }
  }, 600_000);

  it('jira.js as the bundles carry it (its classic zod a copy of its own, infra/classic-zod-apart.ts) still checks its settings, in English, beside our zod/mini', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'stageline-jira-'));
    const entry = `import * as z from ${JSON.stringify(join(REPO_ROOT, 'domain', 'kernel', 'zod.ts'))};
      export { Version3Client } from 'jira.js/version3';
      export const ours = (v) => z.safeParse(z.strictObject({ email: z.string() }), v);`;
    const { metafile } = await build({
      ...bundleOptions(false),
      plugins: bundlePlugins(),
      stdin: { contents: entry, resolveDir: REPO_ROOT, loader: 'ts' },
      entryNames: 'index',
      absWorkingDir: REPO_ROOT,
      outdir: dir,
    });
    // Two builds of zod: ours (ES modules, tree-shaken) and jira.js's (CommonJS, whole).
    const zodInputs = Object.keys(metafile!.inputs).filter((i) => i.includes('node_modules/zod/'));
    expect(zodInputs.some((i) => i.endsWith('/v4/mini/schemas.js'))).toBe(true);
    expect(zodInputs.some((i) => i.endsWith('/v4/classic/schemas.cjs'))).toBe(true);
    const { Version3Client, ours } = (await import(pathToFileURL(join(dir, 'index.mjs')).href)) as {
      Version3Client: new (config: unknown) => unknown;
      ours: (v: unknown) => { success: boolean; error?: { issues: { message: string }[] } };
    };
    const basic = { email: 'ada@example.com', apiToken: 'token' };
    expect(() => new Version3Client({ host: 'https://example.atlassian.net', authentication: { basic } })).not.toThrow();
    expect(() => new Version3Client({ host: 'example.atlassian.net', authentication: { basic } })).toThrow(/Couldn't parse the host URL/);
    let refused: { issues?: { message: string }[] } | undefined;
    try {
      new Version3Client({ host: 'https://example.atlassian.net', authentication: { basic: { ...basic, extra: 1 } } });
    } catch (err) {
      refused = err as typeof refused;
    }
    expect(refused?.issues?.map((i) => i.message)).toEqual(['Unrecognized key: "extra"']);
    expect(ours({ email: 1 }).error?.issues.map((i) => i.message)).toEqual(['Invalid input: expected string, received number']);
  }, 600_000);

  it('the CEL library is loaded on the first condition compiled or judged, never at init (it was 84 KiB of the promotion step)', () => {
    const atInitCel = FUNCTIONS.filter((name) => has(atInit(name).inputs, 'node_modules/@marcbachmann/cel-js/'));
    expect(atInitCel).toEqual([]);
    for (const name of ['promotion-step', 'analysis-templates-put', 'manifest-apply']) {
      const { metafile } = bundleFunction(name, { traceSdk: false, reuseAny: true });
      expect(has(new Set(Object.keys(metafile.inputs)), 'node_modules/@marcbachmann/cel-js/'), name).toBe(true);
    }
  }, 600_000);

  it('yaml is bundled from its ES-module build (tree-shaken), loaded on the first manifest read or written, and the bundled manifest parser still names lines and refuses alias bombs', async () => {
    for (const name of ['manifest', 'manifest-apply']) {
      expect(has(atInit(name).inputs, 'node_modules/yaml/'), name).toBe(false);
      const { metafile } = bundleFunction(name, { traceSdk: false, reuseAny: true });
      const yaml = Object.values(metafile.outputs).flatMap((o) => Object.keys(o.inputs).filter((i) => i.includes('node_modules/yaml/')));
      expect(yaml.length, name).toBeGreaterThan(0);
      expect(
        yaml.filter((i) => !i.includes('node_modules/yaml/browser/')),
        name,
      ).toEqual([]);
    }
    // The parser as the bundles carry it, built with the same options.
    const dir = mkdtempSync(join(tmpdir(), 'stageline-yaml-'));
    const entry = `export { parseManifest } from ${JSON.stringify(join(REPO_ROOT, 'domain', 'manifest', 'document.ts'))}; export { stringify } from 'yaml';`;
    buildSync({
      ...bundleOptions(false),
      stdin: { contents: entry, resolveDir: REPO_ROOT, loader: 'ts' },
      entryNames: 'index',
      absWorkingDir: REPO_ROOT,
      outdir: dir,
    });
    const { parseManifest, stringify } = (await import(pathToFileURL(join(dir, 'index.mjs')).href)) as {
      parseManifest: (t: string) => Promise<unknown>;
      stringify: (v: unknown) => string;
    };
    await expect(parseManifest('artifacts:\n  promotion:\n    stages: 7\n')).rejects.toMatchObject({
      issues: [expect.objectContaining({ message: expect.stringMatching(/^line 3: /) })],
    });
    const bomb = [
      'a: &a [x, x, x, x, x, x, x, x, x, x]',
      ...Array.from(
        { length: 12 },
        (_, i) =>
          `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [*${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}]`,
      ),
    ].join('\n');
    await expect(parseManifest(bomb)).rejects.toMatchObject({ issues: [expect.objectContaining({ path: 'document' })] });
    expect(stringify({ artifacts: { promotion: { stages: ['dev'] } } })).toBe('artifacts:\n  promotion:\n    stages:\n      - dev\n');
  }, 600_000);
});
