import { defineConfig } from 'vitest/config';

/**
 * The unit tests that cover the guard modules, for `npm run mutation` (stryker.config.mjs): no
 * DynamoDB Local (no global setup), no integration files. Not part of `npm test`, which runs
 * vitest.config.ts over every test.
 */
export default defineConfig({
  test: {
    include: [
      'test/unit/use-cases.test.ts',
      'test/unit/queue.test.ts',
      'test/unit/notify.test.ts',
      'test/unit/ci-entry.test.ts',
      'test/unit/deliveries.test.ts',
      'test/unit/freeze.test.ts',
      'test/unit/targets.test.ts',
      'test/unit/audit.test.ts',
      'test/unit/audit-anchor.test.ts',
      'test/unit/audit-export.test.ts',
      'test/unit/checkpoint-signing.test.ts',
      'test/unit/remembering-anchor.test.ts',
      'test/unit/url-policy.test.ts',
      'test/unit/ip-ranges.test.ts',
      'test/unit/conditions.test.ts',
      'test/unit/*-guards.test.ts',
    ],
    setupFiles: ['test/support/prototype-guard.ts'],
    testTimeout: 60_000,
    // One worker: Stryker runs one test runner at a time (concurrency 1) on a shared machine.
    maxWorkers: 1,
  },
});
