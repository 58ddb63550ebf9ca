import { describe, expect, it } from 'vitest';
import { WriteConflict } from '../../domain/kernel/retry.ts';
import { errorResponse } from '../../functions/http/errors.ts';
import { createWebhook } from '../../domain/webhooks/subscriptions.ts';
import { memoryDeps, userCtx } from '../support/memory-deps.ts';

/**
 * A write the store refused because DynamoDB was busy with another transaction on its items (WriteConflict 'busy')
 * saved nothing and lost no race: the API says "send it again" (409 CONCURRENT_MODIFICATION with Retry-After), never
 * "it changed meanwhile, read it again" (VERSION_CONFLICT), nor "it already exists". Found by the chaos run (seed 9):
 * a webhook subscription's create answered VERSION_CONFLICT and the client, told to read again, stopped.
 */
describe("a busy store's refusal is answered as one to send again", () => {
  it('creating a webhook subscription whose write met another transaction answers 409 CONCURRENT_MODIFICATION with Retry-After', async () => {
    const { deps, store } = memoryDeps();
    const put = store.putWebhook.bind(store);
    let refused = 0;
    store.putWebhook = async (...args: Parameters<typeof put>) => {
      if (!refused++) throw new WriteConflict('busy');
      return put(...args);
    };
    // The subscription's secrets, kept in memory (Secrets Manager in the cloud).
    const kept = new Map<string, unknown>();
    const webhooks = { secrets: { put: async (tenant: string, id: string, s: unknown) => void kept.set(`${tenant}/${id}`, s) }, scheduler: {} };
    const withHooks = { ...deps, webhooks } as never;
    const ctx = userCtx('acme', 'admin', 'admin');
    const body = { url: 'https://hooks.example.com/stageline', events: ['promotion.completed'] } as Parameters<typeof createWebhook>[2];
    const err = await createWebhook(withHooks, ctx, body, { allowLoopback: false }).catch((e: unknown) => e);
    const answer = errorResponse(err);
    expect(answer.statusCode).toBe(409);
    expect(JSON.parse(answer.body).error.code).toBe('CONCURRENT_MODIFICATION');
    expect(answer.headers?.['retry-after']).toBe('1');
    // Sent again, it is made.
    expect(await createWebhook(withHooks, ctx, body, { allowLoopback: false })).toMatchObject({ url: body.url, secret: expect.any(String) });
  });
});
