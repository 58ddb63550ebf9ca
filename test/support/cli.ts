import { execFile, spawn, type ChildProcessByStdio, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { promisify } from 'node:util';
import type { TestStack } from './stack.ts';

const root = join(import.meta.dirname, '..', '..');
/**
 * The CLI as `npx stageline` runs it (cli/bin.mjs): the bundle of its sources, made again when one changed, in one
 * Node process.
 */
const node = [process.execPath, join(root, 'cli', 'bin.mjs')] as const;

/** Runs the CLI (cli/stageline.ts) with exactly these environment variables: what it printed (a failure rejects with its code and stderr). */
export const cliWith = (vars: NodeJS.ProcessEnv, ...args: string[]) => promisify(execFile)(node[0], [...node.slice(1), ...args], { env: vars, cwd: root });

/**
 * Starts the CLI as a child process with these environment variables, for a test that talks to it while it runs
 * (its stdin, its loopback sign-in): stdout and stderr piped, stdin piped unless `'ignore'`.
 */
export function spawnCli(vars: NodeJS.ProcessEnv, args: string[]): ChildProcessWithoutNullStreams;
export function spawnCli(vars: NodeJS.ProcessEnv, args: string[], stdin: 'ignore'): ChildProcessByStdio<null, Readable, Readable>;
export function spawnCli(vars: NodeJS.ProcessEnv, args: string[], stdin: 'pipe' | 'ignore' = 'pipe') {
  return spawn(node[0], [...node.slice(1), ...args], { env: vars, cwd: root, stdio: [stdin, 'pipe', 'pipe'] });
}

/** Runs the CLI (cli/stageline.ts) against the test stack as a bearer of `token`: what it printed (a failure rejects with its stderr). */
export const cliOf =
  (t: TestStack) =>
  (token: string, ...args: string[]) =>
    cliWith({ ...process.env, STAGELINE_URL: t.url, STAGELINE_TOKEN: token }, ...args);

/**
 * What a run of the CLI ended with, a failure included (which then does not reject): its exit code (0 when it
 * succeeded), stdout and stderr.
 */
export const outcome = (run: Promise<{ stdout: string; stderr: string }>): Promise<{ code: number; stdout: string; stderr: string }> =>
  run.then(
    (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
    (e: { code: number; stdout: string; stderr: string }) => e,
  );
