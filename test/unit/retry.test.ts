import { describe, expect, it } from 'vitest';
import { ConcurrentModification, OutOfTime } from '../../domain/kernel/errors.ts';
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

describe('a write that runs out of time', () => {
  it('gives up its place in the queue once its budget is spent: 503 OUT_OF_TIME with Retry-After, its work never runs, the next one runs', async () => {
    const ran: string[] = [];
    const slow = serialised('t/dev', async () => {
      await new Promise((r) => setTimeout(r, 150));
      ran.push('slow');
      return 'slow';
    });
    const late = serialised('t/dev', async () => void ran.push('late'), 20).catch((e: unknown) => e);
    const next = serialised('t/dev', async () => {
      ran.push('next');
      return 'next';
    });
    const refused = await late;
    expect(refused).toBeInstanceOf(OutOfTime);
    expect(await slow).toBe('slow');
    expect(await next).toBe('next');
    expect(ran).toEqual(['slow', 'next']);
    const r = errorResponse(refused);
    expect(r.statusCode).toBe(503);
    expect(r.headers['retry-after']).toBe('1');
    expect(JSON.parse(r.body).error).toMatchObject({ code: 'OUT_OF_TIME', message: expect.stringContaining('nothing changed') });
  });

  it('a request its deadline cut off (middy’s early time-out) answers 503 with Retry-After, saying it may have been saved and how to retry once', () => {
    const cut = Object.assign(new Error('[AbortError]: The operation was aborted.', { cause: { package: '@middy/core' } }), { name: 'TimeoutError' });
    const r = errorResponse(cut, 'req-1');
    expect(r.statusCode).toBe(503);
    expect(r.headers['retry-after']).toBe('2');
    expect(JSON.parse(r.body).error).toMatchObject({ code: 'OUT_OF_TIME', requestId: 'req-1', message: expect.stringContaining('same Idempotency-Key') });
    // The SDK's own time-out (an answer lost after its retries) may have been saved too: 503 UNAVAILABLE, never a 500.
    const lost = errorResponse(Object.assign(new Error('socket'), { name: 'TimeoutError' }));
    expect(lost.statusCode).toBe(503);
    expect(JSON.parse(lost.body).error.code).toBe('UNAVAILABLE');
  });
});
