import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deps } from '../../functions/http/deps.ts';
import { startTestStack, type TestStack } from '../support/stack.ts';

/** Idempotency records on DynamoDB Local: a crashed request frees its key after its lease; a huge answer never fails a committed write. */
let t: TestStack;
beforeAll(async () => {
  t = await startTestStack();
});
afterAll(() => t.stop());

describe('idempotency records', () => {
  it('an IN_PROGRESS claim holds for its lease (the function timeout), then a retry takes it over', async () => {
    const store = deps().store;
    const tenant = t.tenant();
    const now = new Date();
    expect(await store.claimIdempotency(tenant, 'k1', 'h', now, 86_400, 30)).toEqual({ state: 'new' });
    // Within the lease: the first request may still be running.
    expect(await store.claimIdempotency(tenant, 'k1', 'h', new Date(now.getTime() + 10_000), 86_400, 30)).toEqual({ state: 'in-progress' });
    // Past the lease (the first request crashed between commit and completion): not stuck for 24 h.
    expect(await store.claimIdempotency(tenant, 'k1', 'h', new Date(now.getTime() + 31_000), 86_400, 30)).toEqual({ state: 'new' });
  });

  it('a response too large for an item is remembered as done without its body, and replays sensibly', async () => {
    const store = deps().store;
    const tenant = t.tenant();
    const now = new Date();
    expect(await store.claimIdempotency(tenant, 'big', 'h', now, 86_400, 30)).toEqual({ state: 'new' });
    await store.completeIdempotency(tenant, 'big', 'h', { statusCode: 200, body: 'x'.repeat(450_000) });
    const replay = await store.claimIdempotency(tenant, 'big', 'h', now, 86_400, 30);
    expect(replay).toMatchObject({ state: 'replay', statusCode: 200 });
    expect(JSON.parse((replay as { body: string }).body)).toMatchObject({ replayed: true });
  });
});
