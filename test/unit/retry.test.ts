import { describe, expect, it } from 'vitest';
import { ConcurrentModification } from '../../domain/kernel/errors.ts';
import { WriteConflict } from '../../domain/kernel/retry.ts';
import { retryOnConflict, serialised } from '../../domain/kernel/retry.ts';
import { errorResponse } from '../../functions/http/errors.ts';
import { DEFAULT_TUNABLES } from '../../domain/kernel/tunables.ts';

describe('writes under contention', () => {
  it('retries lost races until they win, bounded by time; then 409 CONCURRENT_MODIFICATION with Retry-After', async () => {
    let n = 0;
    expect(await retryOnConflict(DEFAULT_TUNABLES, async () => (++n < 30 ? Promise.reject(new WriteConflict('version')) : 'won'))).toBe('won');
    expect(n).toBe(30); // more than the old fixed limit of 25 attempts
    // The budget is the caller's (its deps' tunables): a short one here.
    const started = Date.now();
    const err = await retryOnConflict({ retryBudgetMs: 150 }, async () => Promise.reject(new WriteConflict('version'))).catch((e) => e);
    expect(Date.now() - started).toBeLessThan(DEFAULT_TUNABLES.retryBudgetMs);
    expect(err).toBeInstanceOf(ConcurrentModification);
    const res = errorResponse(err);
    expect(res.statusCode).toBe(409);
    expect(res.headers['retry-after']).toBe('1');
    expect(JSON.parse(res.body).error.code).toBe('CONCURRENT_MODIFICATION');
  });

  it('queues writes to the same key in one process, in order, and a failure does not block the next', async () => {
    const order: number[] = [];
    const slow = (i: number, ms: number, fail = false) =>
      serialised('acme/dev', async () => {
        await new Promise((r) => setTimeout(r, ms));
        order.push(i);
        if (fail) throw new Error('boom');
        return i;
      });
    const results = await Promise.allSettled([slow(1, 30), slow(2, 1, true), slow(3, 1)]);
    expect(order).toEqual([1, 2, 3]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
  });
});
