import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { TestStack } from './stack.ts';

const root = join(import.meta.dirname, '..', '..');

/** Runs the CLI (cli/stageline.ts) against the test stack as a bearer of `token`: what it printed (a failure rejects with its stderr). */
export const cliOf =
  (t: TestStack) =>
  (token: string, ...args: string[]) =>
    promisify(execFile)(join(root, 'node_modules', '.bin', 'tsx'), [join(root, 'cli', 'stageline.ts'), ...args], {
      env: { ...process.env, STAGELINE_URL: t.url, STAGELINE_TOKEN: token },
      cwd: root,
    });
