/**
 * The one configuration module (functions/configuration.ts): every environment variable is declared
 * there and read only through it; nothing writes the process's environment; the domain never reads it
 * (its tunables come in its deps); each bundle parses only the variables its code reads.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildSync } from 'esbuild';
import { afterEach, describe, expect, it, vi } from 'vitest';
import * as env from '../../functions/configuration.ts';
import { localDefaults, overrideConfig } from '../../functions/configuration-overrides.ts';
import { declaredVariables } from '../../functions/configuration/reference.ts';
import { DEFAULT_TUNABLES } from '../../domain/kernel/tunables.ts';
import { tunables } from '../../functions/http/deps.ts';

const root = join(import.meta.dirname, '..', '..');
const CONFIGURATION = 'functions/configuration.ts';
/** The configuration module: its entry and the area modules it re-exports (functions/configuration/). */
const isConfiguration = (f: string) => f === CONFIGURATION || f.startsWith('functions/configuration/');
const tsIn = (dir: string) =>
  (readdirSync(join(root, dir), { recursive: true }) as string[]).filter((f) => f.endsWith('.ts') || f.endsWith('.tsx')).map((f) => `${dir}/${f}`);
const text = (file: string) => readFileSync(join(root, file), 'utf8');

const variables = declaredVariables();
const byName = new Map(variables.map((d) => [d.name, d]));
/** Variables the bundler writes into each bundle (infra/bundle.ts `define`): read as `process.env.NAME`, literally. */
const BUILD = variables.filter((d) => d.origin === 'build').map((d) => d.name);

/**
 * The one variable a module of ours writes, and why: Powertools Metrics reads POWERTOOLS_METRICS_DISABLED
 * itself (in every singleMetric()) and has no option for it; the quiet local stack turns it on.
 */
const LIBRARY_WRITES: Record<string, string> = { 'local/terminal.ts': 'POWERTOOLS_METRICS_DISABLED' };

describe('the configuration module is the one reader of the environment', () => {
  it('the domain never reads process.env: its tunables come in its deps (domain/kernel/tunables.ts)', () => {
    const files = tsIn('domain');
    expect(files.length).toBeGreaterThan(20);
    expect(files.filter((f) => /process\s*\.\s*env|process\[/.test(text(f)))).toEqual([]);
  });

  it('nothing in functions/, domain/ or local/ writes process.env (assigns, deletes, Object.assign, replaces it), but the one library switch of the local launcher', () => {
    const WRITE =
      /process\.env(\.\w+|\[[^\]]+\])\s*(=(?!=)|\?\?=|\|\|=|&&=)|delete\s+process\.env(\.\w+|\[[^\]]+\])?|Object\.(assign|defineProperty|defineProperties)\(\s*process\.env|process\.env\s*=(?!=)/g;
    const writes = ['functions', 'domain', 'local'].flatMap(tsIn).flatMap((f) =>
      [...text(f).matchAll(WRITE)]
        .map((m) => m[0])
        .filter((w) => !(LIBRARY_WRITES[f] && w.includes(LIBRARY_WRITES[f]!)))
        .map((w) => `${f}: ${w}`),
    );
    expect(writes).toEqual([]);
    // The check itself sees each form of write.
    for (const w of [
      "process.env.X = 'y'",
      "process.env['X'] = 'y'",
      'process.env.X ??= y',
      'delete process.env.X',
      'Object.assign(process.env, {})',
      'process.env = {}',
    ])
      expect(w.match(WRITE), w).not.toBeNull();
    expect('process.env.X === y'.match(WRITE)).toBeNull();
  });

  it('in functions/, only the configuration module reads process.env (and the modules the bundler writes a build-time constant into)', () => {
    const reads = tsIn('functions').flatMap((f) => {
      if (isConfiguration(f)) return [];
      return [...text(f).matchAll(/process\.env(?:\.(\w+))?/g)]
        .filter((m) => !(m[1] && BUILD.includes(m[1]) && byName.get(m[1])!.readBy.includes(f)))
        .map((m) => `${f}: ${m[0]}`);
    });
    expect(reads).toEqual([]);
    // The bundler defines exactly the build-time variables.
    const defined = [...text('infra/bundle.ts').matchAll(/'process\.env\.(\w+)'/g)].map((m) => m[1]!).sort();
    expect(defined).toEqual([...BUILD].sort());
  });

  it('a module reads a variable through the namespace (`import * as env`, `env.NAME()`), so the deploy checks and this list can read which it reads', () => {
    const wrong: string[] = [];
    for (const f of ['functions', 'local', 'bench', 'scripts', 'infra'].flatMap(tsIn)) {
      if (isConfiguration(f)) continue;
      for (const m of text(f).matchAll(/import\s+(type\s+)?([^;]*?)\s+from\s+'([^']*configuration\.ts)'/g)) {
        const clause = m[2]!;
        if (m[1] || clause.startsWith('* as env')) continue;
        // Named imports of the module's functions and types are fine; a variable's accessor by its own name is not.
        const names = /^\{([^}]*)\}$/.exec(clause.trim())?.[1]?.split(',') ?? [clause];
        for (const n of names.map((x) => x.trim().replace(/^type\s+/, '')).filter(Boolean))
          if (/^[A-Z][A-Z0-9_]+$/.test(n) || !/^\{/.test(clause.trim())) wrong.push(`${f}: import ${clause} from '${m[3]}'`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it("declares each variable's readers as the code reads it: every `env.NAME()` is in NAME's list, and nothing else is", () => {
    const files = ['functions', 'local', 'bench', 'scripts', 'infra'].flatMap(tsIn).filter((f) => !isConfiguration(f));
    const found = new Map<string, Set<string>>();
    const add = (name: string, f: string) => found.set(name, (found.get(name) ?? new Set()).add(f));
    for (const f of files) {
      const t = text(f);
      for (const m of t.matchAll(/\benv\.([A-Z][A-Z0-9_]+)\(/g)) add(m[1]!, f);
      if (f.startsWith('functions/')) for (const m of t.matchAll(/process\.env\.(\w+)/g)) if (BUILD.includes(m[1]!)) add(m[1]!, f);
      if (/\benv\.localSecret\(/.test(t)) add(env.localSecret.declared.name, f);
    }
    for (const name of found.keys()) expect(byName.has(name), `${name} is read but not declared in ${CONFIGURATION}`).toBe(true);
    for (const d of variables) expect([...(found.get(d.name) ?? [])].sort(), d.name).toEqual([...d.readBy].sort());
  });

  it('declares every variable once, under its own name, with a type, a description and who sets it', () => {
    const exported = Object.entries(env).filter(([, v]) => typeof v === 'function' && 'declared' in v);
    for (const [key, v] of exported) {
      const d = byName.get((v as env.Variable<unknown>).declared.name)!;
      if (key !== 'localSecret') expect(d.name, key).toBe(key);
      expect(d.description.length, key).toBeGreaterThan(10);
      expect(d.type, key).not.toBe('');
      expect(['stack', 'lambda', 'build', 'operator', 'local'], key).toContain(d.origin);
    }
    expect(new Set(variables.map((d) => d.name)).size).toBe(variables.length);
    expect(variables.length).toBeGreaterThan(40);
  });
});

describe('values are parsed with their schema', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
    vi.resetModules();
  });

  it("a malformed value fails module init, naming the variable (a secret's value is never repeated)", async () => {
    vi.stubEnv('STAGELINE_PENDING_EXPIRY_HOURS', '72h');
    vi.resetModules();
    await expect(import('../../functions/configuration.ts')).rejects.toThrow(
      'configuration: STAGELINE_PENDING_EXPIRY_HOURS="72h" is not valid: must be a number',
    );
    vi.stubEnv('STAGELINE_PENDING_EXPIRY_HOURS', '');
    vi.stubEnv('REGISTRY_CREDENTIALS', '[{"password":"hunter2"');
    vi.resetModules();
    const err = await import('../../functions/configuration.ts').catch((e: unknown) => e as Error);
    expect((err as Error).message).toBe('configuration: REGISTRY_CREDENTIALS is not valid: must be JSON');
  });

  it('parses by kind: numbers in decimal digits within their range, true/false, comma lists, JSON; empty or unset is the default', () => {
    const source = (name: string, value: string) => ({ [name]: value });
    expect(env.STAGELINE_RETRY_BUDGET_MS(source('STAGELINE_RETRY_BUDGET_MS', '150'))).toBe(150);
    expect(env.STAGELINE_RETRY_BUDGET_MS({})).toBe(7000);
    expect(env.STAGELINE_RETRY_BUDGET_MS(source('STAGELINE_RETRY_BUDGET_MS', ''))).toBe(7000);
    for (const bad of ['1e3', '0x10', ' 5', '-1', '1.5'])
      expect(() => env.STAGELINE_RETRY_BUDGET_MS(source('STAGELINE_RETRY_BUDGET_MS', bad)), bad).toThrow(/STAGELINE_RETRY_BUDGET_MS/);
    expect(env.STAGELINE_PENDING_EXPIRY_HOURS(source('STAGELINE_PENDING_EXPIRY_HOURS', '0.5'))).toBe(0.5);
    expect(() => env.STAGELINE_PENDING_EXPIRY_HOURS(source('STAGELINE_PENDING_EXPIRY_HOURS', '0'))).toThrow(/STAGELINE_PENDING_EXPIRY_HOURS="0"/);
    expect(() => env.APP_READ_CACHE_MS(source('APP_READ_CACHE_MS', '5000'))).toThrow(/APP_READ_CACHE_MS/);
    expect(env.STAGELINE_ALLOW_LOOPBACK_OUTBOUND(source('STAGELINE_ALLOW_LOOPBACK_OUTBOUND', 'true'))).toBe(true);
    expect(env.STAGELINE_ALLOW_LOOPBACK_OUTBOUND({})).toBe(false);
    expect(() => env.STAGELINE_ALLOW_LOOPBACK_OUTBOUND(source('STAGELINE_ALLOW_LOOPBACK_OUTBOUND', 'yes'))).toThrow(/expected one of "true"\|"false"/);
    expect(env.STAGELINE_ACCESS_LOG(source('STAGELINE_ACCESS_LOG', 'OFF'))).toBe(false);
    expect(env.CORS_ALLOWED_ORIGINS(source('CORS_ALLOWED_ORIGINS', ' https://a.example, ,https://b.example'))).toEqual([
      'https://a.example',
      'https://b.example',
    ]);
    expect(env.MACHINE_PRINCIPALS({})).toEqual([]);
    expect(env.SECRETS_PREFIX({})).toBe('stageline/');
  });

  it('overrides (the local stack, tests) win over the environment until undone; local defaults only fill what the environment leaves unset', () => {
    vi.stubEnv('STAGELINE_SWEEP_GRACE_SECONDS', '30');
    expect(env.STAGELINE_SWEEP_GRACE_SECONDS()).toBe(30);
    const undo = overrideConfig({ STAGELINE_SWEEP_GRACE_SECONDS: '4' });
    expect(env.STAGELINE_SWEEP_GRACE_SECONDS()).toBe(4);
    undo();
    expect(env.STAGELINE_SWEEP_GRACE_SECONDS()).toBe(30);
    const fallback = localDefaults({ STAGELINE_SWEEP_GRACE_SECONDS: '5', STAGELINE_ANCHOR_INTERVAL_SECONDS: '0' });
    expect(env.STAGELINE_SWEEP_GRACE_SECONDS()).toBe(30);
    expect(env.STAGELINE_ANCHOR_INTERVAL_SECONDS()).toBe(0);
    fallback();
    expect(env.STAGELINE_ANCHOR_INTERVAL_SECONDS()).toBe(10);
    // A malformed override is refused before it applies.
    expect(() => overrideConfig({ STAGELINE_SWEEP_GRACE_SECONDS: 'soon' })).toThrow(/STAGELINE_SWEEP_GRACE_SECONDS="soon"/);
    expect(env.STAGELINE_SWEEP_GRACE_SECONDS()).toBe(30);
  });

  it("gives the domain its tunables from the configuration, with the domain's defaults", () => {
    for (const name of [
      'STAGELINE_RETRY_BUDGET_MS',
      'STAGELINE_ALLOW_LOOPBACK_OUTBOUND',
      'STAGELINE_SWEEP_GRACE_SECONDS',
      'STAGELINE_PENDING_EXPIRY_HOURS',
      'STAGELINE_FLEET_MAX_INSTANCES',
    ] as const)
      vi.stubEnv(name, '');
    expect({ ...tunables }).toEqual(DEFAULT_TUNABLES);
    const undo = overrideConfig({ STAGELINE_SWEEP_GRACE_SECONDS: '4', STAGELINE_ALLOW_LOOPBACK_OUTBOUND: 'true' });
    expect({ ...tunables }).toEqual({ ...DEFAULT_TUNABLES, sweepGraceSeconds: 4, allowLoopbackOutbound: true });
    undo();
  });

  it('local tenant secrets are read by name within their family only', () => {
    expect(env.localSecret('STAGELINE_SECRET_ACME__GIT_TOKEN__T', { STAGELINE_SECRET_ACME__GIT_TOKEN__T: 'x' })).toBe('x');
    expect(() => env.localSecret('AWS_SECRET_ACCESS_KEY')).toThrow(/not a local tenant secret/);
  });
});

describe('a bundle carries (and parses at init) only the variables its code reads', () => {
  it('an entry that reads TABLE_NAME holds its declaration and none of the others', () => {
    const out = buildSync({
      stdin: {
        contents: "import * as env from './functions/configuration.ts';\nexport const table = () => env.TABLE_NAME();\n",
        resolveDir: root,
        loader: 'ts',
      },
      absWorkingDir: root,
      bundle: true,
      platform: 'node',
      format: 'esm',
      minify: true,
      write: false,
      logLevel: 'silent',
    }).outputFiles[0]!.text;
    expect(out).toContain('"TABLE_NAME"');
    for (const other of variables.filter((d) => d.name !== 'TABLE_NAME')) expect(out, other.name).not.toContain(`"${other.name}"`);
  });
});
