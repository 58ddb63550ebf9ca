import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    // After every file: no built-in prototype gained a key (prototype pollution anywhere in the stack).
    setupFiles: ['test/support/prototype-guard.ts'],
    testTimeout: 60_000,
    hookTimeout: 240_000,
    // Two cores: integration files share one DynamoDB Local; more workers only contend.
    maxWorkers: 2,
    reporters: ['default', './test/support/summary-reporter.ts'],
  },
});
