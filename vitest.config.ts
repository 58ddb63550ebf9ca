import './scripts/node-check.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configDefaults, defineConfig } from 'vitest/config';

// Every temporary file of a run (the synths' cdk.out folders, bundles, stacks' data) goes under one folder of its own,
// removed when the run ends: a machine that runs the suite all day keeps no leftovers. Workers inherit it.
if (!process.env.STAGELINE_RUN_TMPDIR) {
  const dir = mkdtempSync(join(tmpdir(), 'stageline-run-'));
  process.env.STAGELINE_RUN_TMPDIR = dir;
  process.env.TMPDIR = dir;
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
}

/**
 * The CDK template tests (test/support/cdk-template.ts) share one synthesized stack per worker, which
 * only files run without isolation can do: they are a project of their own. Every other file runs as before.
 */
const TEMPLATE_TESTS = ['test/infra/stack-*.test.ts'];

export default defineConfig({
  test: {
    // After every file: no built-in prototype gained a key (prototype pollution anywhere in the stack).
    setupFiles: ['test/support/prototype-guard.ts'],
    testTimeout: 60_000,
    hookTimeout: 240_000,
    // Two cores: more workers only contend (each integration file runs its stacks on its own DynamoDB Local: test/support/stack.ts).
    maxWorkers: 2,
    reporters: ['default', './test/support/summary-reporter.ts'],
    projects: [
      {
        extends: true,
        test: {
          name: 'stageline',
          include: ['test/**/*.test.ts'],
          exclude: [...configDefaults.exclude, ...TEMPLATE_TESTS],
          globalSetup: ['test/support/global-setup.ts'],
        },
      },
      // Bundling every function and synthesizing takes most of a minute: once per worker, not once per file.
      { extends: true, test: { name: 'cdk-template', include: TEMPLATE_TESTS, isolate: false } },
    ],
  },
});
