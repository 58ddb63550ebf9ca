import { describe, expect, it } from 'vitest';
import { Unavailable } from '../../domain/kernel/errors.ts';
import { gitFailure, PromotionFailed } from '../../domain/promotion/deliver/target-change.ts';
import { GitDeliveryError, transientGitFailure } from '../../functions/adapters/git-errors.ts';
import { IsomorphicGitWriter } from '../../functions/adapters/git-writer.ts';

/**
 * A git host that fails for a moment is tried again, not taken as the promotion's failure. Found by the chaos run
 * (seed 20261129 at 10 %): one reset connection to the git host, or one 429, failed every git promotion it met, where
 * the same fault at a registry was retried by the flow (Unavailable, with backoff).
 */
describe('a git host that failed for a moment', () => {
  const target = {
    tenant: 'acme',
    environment: 'staging',
    repository: 'https://git.example.com/acme/deploy.git',
    branch: 'main',
    file: 'values.yaml',
    path: 'image.tag',
  };
  const commit = (http: unknown) =>
    new IsomorphicGitWriter({ resolve: async () => null } as never, http as never)
      .commit({ tenant: 'acme', target, value: 'v1.2.3', message: 'm', author: { name: 'x', email: 'x@example.test' } } as never)
      .then(
        () => null,
        (e: unknown) => e,
      );
  const answering = (statusCode: number) => ({
    request: async ({ url, method }: { url: string; method: string }) => ({
      url,
      method,
      statusCode,
      statusMessage: String(statusCode),
      headers: {},
      body: (async function* () {})(),
    }),
  });

  it('a clone answered 429 or 503, or cut off, fails as one to try again (transient)', async () => {
    for (const http of [
      answering(429),
      answering(503),
      { request: async () => Promise.reject(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' })) },
    ]) {
      const err = await commit(http);
      expect(err).toBeInstanceOf(GitDeliveryError);
      expect(err).toMatchObject({ transient: true, message: expect.stringContaining('cannot clone') });
    }
  });

  it('a clone refused (403) or of a branch that is not there fails the promotion at once', async () => {
    const refused = await commit(answering(403));
    expect(refused).toBeInstanceOf(GitDeliveryError);
    expect(refused).toMatchObject({ transient: false });
  });

  it('the flow meets a transient failure as Unavailable (retried with backoff) and any other as PromotionFailed', () => {
    const again = gitFailure('git delivery', new GitDeliveryError('cannot clone x (branch main): HTTP 503', false, true));
    expect(again).toBeInstanceOf(Unavailable);
    expect(again.message).toBe('git delivery failed: cannot clone x (branch main): HTTP 503');
    expect(gitFailure('git delivery', new GitDeliveryError("values.yaml: 'image' is not a mapping"))).toBeInstanceOf(PromotionFailed);
    // A write whose outcome is unknown is not transient: the step run again would meet what it may have written.
    expect(gitFailure('pull-request delivery', new GitDeliveryError('push failed: HTTP 502', true))).toBeInstanceOf(PromotionFailed);
  });

  it('says which failures are of the moment', () => {
    expect(transientGitFailure({ data: { statusCode: 429 } })).toBe(true);
    expect(transientGitFailure({ status: 502 })).toBe(true);
    expect(transientGitFailure({ status: 404 })).toBe(false);
    expect(transientGitFailure(new TypeError('fetch failed'))).toBe(true);
    expect(transientGitFailure(new Error('injected fault: connection reset (GET 127.0.0.1:1)'))).toBe(true);
    expect(transientGitFailure(new Error("the branch 'main' does not exist"))).toBe(false);
  });
});
