import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { format } from 'node:util';

/**
 * `npm run bench` writes what it prints to bench/RESULTS.md as well, so the figures live beside the bench
 * (with the commit and machine they were measured on), not in README. Imported first by bench/run.ts.
 */
const printed: string[] = [];
const log = console.log.bind(console);
console.log = (...args: unknown[]) => {
  printed.push(format(...args));
  log(...args);
};

const commit = (): string => {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
};

/** The chaos runs recorded below this line (`npm run chaos -- … --record`, chaos/run.ts) are kept when the bench rewrites the file. */
const CHAOS_RUNS = '## Chaos runs';

/**
 * Writes what was printed to `file` (bench/RESULTS.md, or bench/RESULTS-quick.md for `--quick`), the summary first
 * (the figures a budget is kept by, "NOT MET" loud), then the run's time. Called once at the end of the run, which
 * then exits (a handle some section left open never keeps the bench running).
 */
export function writeResults(opts: { file: string; summary: string[]; elapsedMs: number; note: string }): void {
  const text = printed.join('\n').replace(/\x1b\[[0-9;]*m/g, '');
  const file = join(import.meta.dirname, opts.file);
  const before = existsSync(file) ? readFileSync(file, 'utf8') : '';
  const kept = before.includes(CHAOS_RUNS) ? `\n${before.slice(before.indexOf(CHAOS_RUNS))}` : '';
  writeFileSync(
    file,
    `# Bench results\n\nWritten by \`npm run bench${opts.note}\` (bench/run.ts) on ${new Date().toISOString().slice(0, 10)}, commit ${commit()}, ` +
      `Node ${process.version}, ${availableParallelism()} cores, in ${Math.round(opts.elapsedMs / 1000)} s. Figures, not pass/fail: each row says its goal and whether it is met.\n\n` +
      `## Summary\n\n${opts.summary.map((l) => `- ${l}`).join('\n')}\n\n\`\`\`text\n${text}\n\`\`\`\n${kept}`,
  );
}
