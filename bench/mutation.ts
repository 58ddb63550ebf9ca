import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { table } from '../scripts/build.ts';
import { fmt, heading, int } from './common.ts';

/**
 * `npm run bench`, mutation section: the score of the last `npm run mutation` (Stryker's JSON report
 * in reports/mutation/), per guard module and overall; "not run" when there is no report. The score
 * is Stryker's: mutants killed (or timed out) among those a test could have noticed (survived and
 * not covered count against it; mutants that do not compile, ones marked equivalent and static ones skipped do not count).
 */
export const MUTATION_REPORT = join(import.meta.dirname, '..', 'reports', 'mutation', 'mutation.json');

interface Report {
  files: Record<string, { mutants: { status: string; statusReason?: string }[] }>;
}

export interface Score {
  file: string;
  killed: number;
  survived: number;
  noCoverage: number;
  timeout: number;
  /** marked equivalent in the code (`// Stryker disable …: why`) */
  equivalent: number;
  /** static mutants, skipped (ignoreStatic) */
  skipped: number;
  score: number;
}

const DETECTED = new Set(['Killed', 'Timeout']);
const UNDETECTED = new Set(['Survived', 'NoCoverage']);

const statusOf = (m: { status: string; statusReason?: string }) => (m.status === 'Ignored' && /static/i.test(m.statusReason ?? '') ? 'Static' : m.status);

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
    equivalent: n('Ignored'),
    skipped: n('Static'),
    score: valid === 0 ? NaN : (100 * detected) / valid,
  };
}

/** Per file (sorted by path) and overall, from a Stryker JSON report; null when there is none. */
export function mutationScores(path = MUTATION_REPORT): { files: Score[]; overall: Score; at: Date } | null {
  if (!existsSync(path)) return null;
  const report = JSON.parse(readFileSync(path, 'utf8')) as Report;
  const files = Object.entries(report.files)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([file, f]) => scoreOf(file, f.mutants.map(statusOf)));
  const all = Object.values(report.files).flatMap((f) => f.mutants.map(statusOf));
  return { files, overall: scoreOf('overall', all), at: statSync(path).mtime };
}

export function benchMutation(): void {
  heading('Mutation score of the guard modules (last `npm run mutation`)');
  const scores = mutationScores();
  if (!scores) {
    console.log('not run (no reports/mutation/mutation.json: run `npm run mutation`)');
    return;
  }
  const row = (s: Score) => [s.file, fmt(s.score), int(s.killed), int(s.timeout), int(s.survived), int(s.noCoverage), int(s.equivalent), int(s.skipped)];
  console.log(`report of ${scores.at.toISOString()}`);
  console.log(
    table(
      ['module', 'score %', 'killed', 'timeout', 'survived', 'no coverage', 'equivalent', 'static (skipped)'],
      [...scores.files.map(row), row(scores.overall)],
    ),
  );
}

if (import.meta.url === `file://${process.argv[1]}`) benchMutation();
