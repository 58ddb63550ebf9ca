import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { table } from '../scripts/build.ts';
import { fmt, heading, int } from './common.ts';

/**
 * `npm run bench`, mutation section: the score of the last `npm run mutation` (Stryker's JSON report
 * in reports/mutation/), per guard module and overall; "not run" when there is no report. The score
 * is Stryker's: mutants killed (or timed out) among those a test could have noticed (survived and
 * not covered count against it; mutants that do not compile, and ones marked equivalent, do not count).
 */
export const MUTATION_REPORT = join(import.meta.dirname, '..', 'reports', 'mutation', 'mutation.json');

interface Report {
  files: Record<string, { mutants: { status: string }[] }>;
}

export interface Score {
  file: string;
  killed: number;
  survived: number;
  noCoverage: number;
  timeout: number;
  ignored: number;
  score: number;
}

const DETECTED = new Set(['Killed', 'Timeout']);
const UNDETECTED = new Set(['Survived', 'NoCoverage']);

function scoreOf(file: string, statuses: string[]): Score {
  const n = (s: string) => statuses.filter((x) => x === s).length;
  const detected = statuses.filter((s) => DETECTED.has(s)).length;
  const valid = detected + statuses.filter((s) => UNDETECTED.has(s)).length;
  return {
    file,
    killed: n('Killed'),
    survived: n('Survived'),
    noCoverage: n('NoCoverage'),
    timeout: n('Timeout'),
    ignored: n('Ignored'),
    score: valid === 0 ? NaN : (100 * detected) / valid,
  };
}

/** Per file (sorted by path) and overall, from a Stryker JSON report; null when there is none. */
export function mutationScores(path = MUTATION_REPORT): { files: Score[]; overall: Score; at: Date } | null {
  if (!existsSync(path)) return null;
  const report = JSON.parse(readFileSync(path, 'utf8')) as Report;
  const files = Object.entries(report.files)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([file, f]) =>
      scoreOf(
        file,
        f.mutants.map((m) => m.status),
      ),
    );
  const all = Object.values(report.files).flatMap((f) => f.mutants.map((m) => m.status));
  return { files, overall: scoreOf('overall', all), at: statSync(path).mtime };
}

export function benchMutation(): void {
  heading('Mutation score of the guard modules (last `npm run mutation`)');
  const scores = mutationScores();
  if (!scores) {
    console.log('not run (no reports/mutation/mutation.json: run `npm run mutation`)');
    return;
  }
  const row = (s: Score) => [s.file, fmt(s.score), int(s.killed), int(s.timeout), int(s.survived), int(s.noCoverage), int(s.ignored)];
  console.log(`report of ${scores.at.toISOString()}`);
  console.log(
    table(['module', 'score %', 'killed', 'timeout', 'survived', 'no coverage', 'equivalent (ignored)'], [...scores.files.map(row), row(scores.overall)]),
  );
}

if (import.meta.url === `file://${process.argv[1]}`) benchMutation();
