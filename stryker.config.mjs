// @ts-check
/**
 * `npm run mutation`: mutation testing of the guard modules (approvals and separation of duties, the
 * release binding of decisions, freeze holds and break-glass, the audit chain's head check and
 * verification, the URL policy, rule conditions, roles). Each mutant is a small change to the code
 * (a condition flipped, a comparison removed); a surviving one is a change no unit test notices.
 * Only the unit tests in vitest.mutation.config.ts run. Not part of `npm test`.
 *
 * @type {import('@stryker-mutator/api/core').PartialStrykerOptions}
 */
export default {
  testRunner: 'vitest',
  vitest: { configFile: 'vitest.mutation.config.ts' },
  plugins: ['@stryker-mutator/vitest-runner'],
  coverageAnalysis: 'perTest',
  mutate: [
    // approvals and separation of duties; the release binding (assertRelease, countable, forCurrentRelease)
    'domain/promotion/decide/approve.ts',
    'domain/promotion/terms/policy.ts',
    'domain/promotion/aggregate.ts:33-51',
    'domain/promotion/aggregate.ts:135-139',
    'domain/promotion/request/rebase.ts',
    // freeze holds and break-glass
    'domain/promotion/run/freeze-hold.ts',
    'domain/freeze/occurrences.ts',
    // windows.ts: the hold (activeWindowOf, nextAllowedOf) and the direct-write guard (guardFreeze);
    // not the CRUD, the request schema or the announcements of a window's edges
    'domain/freeze/windows.ts:96-122',
    'domain/freeze/windows.ts:317-336',
    'domain/freeze/break-glass.ts',
    // the audit chain: head check, verification, hashing
    // log.ts: checkHead, chainPages and verifyAudit (not the stream's linking or the query)
    'domain/audit/log.ts:176-351',
    'domain/audit/audit.ts',
    // outbound URLs (the policy and the special-purpose ranges it reads addresses by), rule conditions, roles
    'domain/kernel/url-policy.ts',
    'domain/kernel/ip-ranges.ts',
    'domain/promotion/request/conditions.ts',
    'domain/access/auth.ts',
  ],
  // Kept between runs (gitignored: a cache of this checkout's last results, rewritten by every run).
  incremental: true,
  incrementalFile: 'reports/mutation/stryker-incremental.json',
  concurrency: 1,
  // A static mutant (a module-level value: a schema, a constant) needs every test file reloaded, some
  // 25 s each here; they are skipped (reported as ignored, "static", and not counted in the score).
  ignoreStatic: true,
  timeoutMS: 30_000,
  reporters: ['clear-text', 'progress', 'json'],
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  tempDirName: '.stryker-tmp',
  cleanTempDir: true,
};
