import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TRANSIENT_AWS_ERRORS } from '../../functions/http/errors.ts';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { bundleOptions, bundlePlugins } from '../../infra/bundle.ts';
import * as errors from '../../domain/kernel/errors.ts';
import { tsFilesIn } from '../support/source-files.ts';

/**
 * The Lambda bundles are minified without keepNames (infra/bundle.ts), so a class keeps no name of its own
 * there. What reads an error's name — Step Functions' `ErrorEquals` (Frozen, TargetBusy, AwaitingMerge …),
 * the error map, the logs — must get it from a name written out in words. The other tests run the sources,
 * where every class keeps its name, so these check the source for names in words and build the caught errors
 * as the functions are built.
 */
const ROOT = join(import.meta.dirname, '..', '..');
const DIRS = ['functions', 'domain'];

function sources(dir: string): string[] {
  return tsFilesIn(dir)
    .filter((f) => !f.endsWith('.generated.ts'))
    .map((f) => join(ROOT, dir, f));
}

/** The text between a class's opening brace and its matching closing one. */
function body(text: string, open: number): string {
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    if (text[i] === '{') depth++;
    else if (text[i] === '}' && --depth === 0) return text.slice(open + 1, i);
  }
  return text.slice(open + 1);
}

interface ErrorClass {
  file: string;
  name: string;
  parent: string;
  body: string;
}

function errorClasses(): ErrorClass[] {
  const all: ErrorClass[] = [];
  for (const file of DIRS.flatMap(sources)) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/\b(abstract )?class (\w+) extends (\w+)\b[^{]*\{/g)) {
      // An abstract class is never thrown itself (DomainError: its name is abstract, each subclass writes it).
      if (m[1]) continue;
      all.push({ file: relative(ROOT, file), name: m[2]!, parent: m[3]!, body: body(text, m.index + m[0].length - 1) });
    }
  }
  // An error class: one that extends Error, DomainError (abstract, so not in `all`) or another error class of ours (RegistrySourceError …).
  const names = new Set(['Error', 'DomainError']);
  for (let grew = true; grew;) {
    grew = false;
    for (const c of all) if (names.has(c.parent) && !names.has(c.name)) (names.add(c.name), (grew = true));
  }
  return all.filter((c) => names.has(c.parent));
}

describe('error names survive minification', () => {
  it('the bundles are built without keepNames (the reason every name below is written out)', () => {
    expect(bundleOptions(false, 'health').keepNames).toBe(false);
  });

  it("every error class of the functions and the domain sets its own name in words: `name = '<its class name>'`", () => {
    const classes = errorClasses();
    // Enough to know the scan found them: the domain errors, the adapters' and the flow's.
    expect(classes.length).toBeGreaterThan(50);
    const unnamed = classes
      .filter((c) => !c.body.includes(`name = '${c.name}'`) && !c.body.includes(`this.name = '${c.name}'`))
      .map((c) => `${c.file}: ${c.name}`);
    expect(unnamed).toEqual([]);
  });

  it('every domain error has a code of its own: the error map (functions/http/errors.ts) answers by code', () => {
    const codes = errorClasses()
      .filter((c) => c.parent === 'DomainError')
      .map((c) => ({ c, code: /readonly code = '([A-Z_]+)'/.exec(c.body)?.[1] }));
    expect(codes.length).toBeGreaterThan(40);
    expect(codes.filter(({ code }) => !code).map(({ c }) => `${c.file}: ${c.name}`)).toEqual([]);
    const owners = new Map<string, string[]>();
    for (const { c, code } of codes) owners.set(code!, [...(owners.get(code!) ?? []), c.name]);
    expect([...owners].filter(([, names]) => names.length > 1)).toEqual([]);
  });

  it('nothing of ours takes a name from a class or function at run time (new.target.name, constructor.name)', () => {
    const readers = DIRS.flatMap(sources)
      .filter((f) => /new\.target\.name|constructor\.name/.test(readFileSync(f, 'utf8')))
      .map((f) => relative(ROOT, f));
    expect(readers).toEqual([]);
  });

  it('a domain error names itself, including the ones the state machines catch by name', () => {
    expect(new errors.Frozen('prod is in freeze window release').name).toBe('Frozen');
    expect(new errors.ValidationFailed([]).name).toBe('ValidationFailed');
    const asl = readdirSync(join(ROOT, 'statemachines')).map((f) => readFileSync(join(ROOT, 'statemachines', f), 'utf8'));
    const caught = new Set(
      asl.flatMap((t) => [...t.matchAll(/"ErrorEquals":\s*\[([^\]]*)\]/g)].flatMap((m) => [...m[1]!.matchAll(/"(\w+)"/g)].map((n) => n[1]!))),
    );
    const named = new Set(errorClasses().map((c) => c.name));
    // Every bare name the ASL catches is either an error class of ours (so named in words, above) or one that
    // a use case sends by name with sendTaskFailure (Cancelled, Rejected, WaveRecheck, CheckHealth).
    const sentByName = new Set(
      DIRS.flatMap(sources).flatMap((f) =>
        [...readFileSync(f, 'utf8').matchAll(/sendTaskFailure\([^,]+,\s*(?:[^,]*\?\s*)?'(\w+)'(?:\s*:\s*'(\w+)')?/g)].flatMap(
          (m) => [m[1]!, m[2]].filter(Boolean) as string[],
        ),
      ),
    );
    // …or one AWS gives a transient error (DynamoDB busy, throttled, an answer lost), which the flow retries as the API
    // answers it 503 (functions/http/errors.ts TRANSIENT_AWS_ERRORS): the same list.
    const aws = new Set<string>(TRANSIENT_AWS_ERRORS);
    const unknown = [...caught].filter((n) => !named.has(n) && !sentByName.has(n) && !aws.has(n));
    expect(unknown).toEqual([]);
  });

  it('built as the functions are (minified, no keepNames), the errors the state machines catch keep their names', async () => {
    const out = mkdtempSync(join(tmpdir(), 'stageline-error-names-'));
    try {
      await build({
        ...bundleOptions(false),
        plugins: bundlePlugins(),
        absWorkingDir: ROOT,
        stdin: {
          contents: [
            "export { Frozen, TargetBusy, ValidationFailed } from './domain/kernel/errors.ts';",
            "export { AwaitingMerge } from './domain/promotion/deliver/pull-request.ts';",
            "export { NotHealthy } from './domain/promotion/rollout/confirm.ts';",
            "export { MeasureAgain } from './domain/promotion/rollout/bake.ts';",
          ].join('\n'),
          resolveDir: ROOT,
          loader: 'ts',
          sourcefile: 'errors-entry.ts',
        },
        entryNames: 'index',
        outdir: out,
        write: true,
      });
      const built = (await import(pathToFileURL(join(out, 'index.mjs')).href)) as Record<string, new (...args: unknown[]) => Error>;
      const names = Object.fromEntries(Object.entries(built).map(([exported, Cls]) => [exported, new Cls('a message', []).name]));
      expect(names).toEqual({
        Frozen: 'Frozen',
        TargetBusy: 'TargetBusy',
        ValidationFailed: 'ValidationFailed',
        AwaitingMerge: 'AwaitingMerge',
        NotHealthy: 'NotHealthy',
        MeasureAgain: 'MeasureAgain',
      });
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 60_000);
});
