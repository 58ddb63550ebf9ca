/**
 * Defects put back on purpose (mutants), to show that the seeded chaos run in `npm test`
 * (test/integration/chaos.test.ts) fails when they are there: each mutant is the old code of a fix, as edits of the
 * product's source. `npm run chaos:mutants` copies the working tree into a temporary folder, applies one mutant,
 * runs that test there and reports whether it failed and which invariants it named. A mutant whose text is no longer
 * in the source is reported as stale (test/unit/chaos-mutants.test.ts keeps the catalogue in step with the code).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Invariant } from './checker.ts';

export interface Edit {
  /** the file, from the repository's root */
  file: string;
  /** the text as it is now (found exactly once) */
  find: string;
  /** the defect's text */
  replace: string;
}

export interface Mutant {
  id: string;
  /** the defect it puts back, as it was found */
  defect: string;
  edits: Edit[];
  /** the invariants that name it when the run meets it */
  caughtBy: readonly Invariant[];
}

export const MUTANTS: readonly Mutant[] = [
  {
    id: 'wave-after-stop',
    defect:
      "this round's wave-3 race: neither the decision to stop nor the wave before's end is checked when the next wave starts, nor the decision when a target changes, so a wave that starts while a rollback runs changes its targets after the decision (and after the rollback listed what to put back)",
    edits: [
      {
        file: 'domain/promotion/rollout/start.ts',
        find: 'refused = cur.rollout.stopping ? `the rollout stopped: ${cur.rollout.stopping.reason}` : notDone;',
        // as before the fix: a wave started whatever the wave before and the decision to stop said
        replace: 'refused = null;',
      },
      {
        file: 'domain/promotion/rollout/start.ts',
        find: "if (refused || cur.status !== 'EXECUTING' || !cur.rollout || cur.rollout.stopping) {",
        replace: "if (refused || cur.status !== 'EXECUTING' || !cur.rollout) {",
      },
      {
        file: 'domain/promotion/rollout/apply.ts',
        find: '  if (p.rollout.stopping) return `the rollout stopped: ${p.rollout.stopping.reason}`;\n',
        replace: '',
      },
    ],
    caughtBy: ['no-wave-after-stop', 'live-value'],
  },
  {
    id: 'rollback-marks-replaced',
    defect:
      "last round's wrong ROLLED_BACK: a completed rollback of one promotion also marks the promotion whose deployment it replaced (the newest one, unrelated) ROLLED_BACK",
    edits: [
      {
        file: 'domain/promotion/run/end.ts',
        find: 'if (r.replaced && (!cur.rollback.of || r.replaced.id === undone?.result?.deploymentId)) {',
        replace: 'if (r.replaced) {',
      },
    ],
    caughtBy: ['rollback-scope'],
  },
];

/** How often each edit's text is in the source now (every one must be exactly 1 for the mutant to apply). */
export function occurrences(root: string, m: Mutant): number[] {
  return m.edits.map((e) => {
    const path = join(root, e.file);
    if (!existsSync(path)) return 0;
    return readFileSync(path, 'utf8').split(e.find).length - 1;
  });
}

/** Applies a mutant's edits to the copy at `root`. */
export function applyMutant(root: string, m: Mutant): void {
  for (const e of m.edits) {
    const path = join(root, e.file);
    const text = readFileSync(path, 'utf8');
    if (text.split(e.find).length !== 2) throw new Error(`${m.id}: '${e.find.slice(0, 60)}…' is not in ${e.file} exactly once (stale mutant)`);
    writeFileSync(
      path,
      text.replace(e.find, () => e.replace),
    );
  }
}

export interface MutantResult {
  id: string;
  /** the seeded test failed with the mutant in */
  caught: boolean;
  /** the invariants its violations named */
  invariants: Partial<Record<Invariant, number>>;
  seconds: number;
  /** the test's output, on a run that did not fail as expected */
  output?: string;
}

/** The working tree (tracked and untracked files that are not ignored) copied into a temporary folder, node_modules linked. */
export function copyTree(root: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'stageline-mutant-'));
  const files = execFileSync('git', ['ls-files', '-z', '-co', '--exclude-standard'], { cwd: root });
  execFileSync('tar', ['--null', '-T', '-', '-cf', join(dir, '.tree.tar')], { cwd: root, input: files });
  execFileSync('tar', ['-xf', '.tree.tar'], { cwd: dir });
  rmSync(join(dir, '.tree.tar'));
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'));
  return dir;
}

/** The counts of the report's "violations by invariant" section. */
export function violationsIn(output: string): Partial<Record<Invariant, number>> {
  const at = output.indexOf('violations by invariant:');
  if (at < 0) return {};
  const out: Record<string, number> = {};
  for (const line of output.slice(at).split('\n').slice(1)) {
    const m = /^\s+([a-z-]+)\s+(\d+)\s*$/.exec(line.replace(/\x1b\[[0-9;]*m/g, ''));
    if (!m) break;
    out[m[1]!] = Number(m[2]);
  }
  return out;
}

/** Runs the seeded chaos test with one mutant in (a fresh copy of the tree each time). */
export function runMutant(root: string, m: Mutant, test = 'test/integration/chaos.test.ts'): MutantResult {
  const dir = copyTree(root);
  const started = Date.now();
  try {
    applyMutant(dir, m);
    const run = spawnSync('npx', ['vitest', 'run', test], {
      cwd: dir,
      encoding: 'utf8',
      env: { ...process.env, FORCE_COLOR: '0' },
      maxBuffer: 256 * 1024 * 1024,
    });
    const output = `${run.stdout}\n${run.stderr}`;
    const invariants = violationsIn(output);
    const caught = run.status !== 0 && m.caughtBy.some((i) => (invariants[i] ?? 0) > 0);
    return { id: m.id, caught, invariants, seconds: Math.round((Date.now() - started) / 1000), ...(caught ? {} : { output: output.slice(-4000) }) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(argv: string[]) {
  const root = resolve(import.meta.dirname, '..');
  const only = argv.includes('--only') ? argv[argv.indexOf('--only') + 1] : undefined;
  const repeat = argv.includes('--repeat') ? Number(argv[argv.indexOf('--repeat') + 1]) : 1;
  const chosen = MUTANTS.filter((m) => !only || m.id === only);
  if (!chosen.length) throw new Error(`no mutant '${only}': ${MUTANTS.map((m) => m.id).join(', ')}`);
  let missed = 0;
  for (const m of chosen) {
    const stale = occurrences(root, m).some((n) => n !== 1);
    if (stale) {
      console.log(`${m.id}: STALE (its text is not in the source exactly once)`);
      missed++;
      continue;
    }
    for (let i = 1; i <= repeat; i++) {
      const r = runMutant(root, m);
      const named = Object.entries(r.invariants)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ');
      console.log(`${m.id}${repeat > 1 ? ` #${i}` : ''}: ${r.caught ? 'CAUGHT' : 'MISSED'} in ${r.seconds} s (${named || 'no violations'})`);
      if (!r.caught) {
        missed++;
        console.log(r.output);
      }
    }
  }
  console.log(`${missed} mutants missed`);
  process.exitCode = missed ? 1 : 0;
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  main(process.argv.slice(2)).catch((err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exitCode = 2;
  });
}
