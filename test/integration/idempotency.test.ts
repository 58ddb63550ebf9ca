import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConcurrentModification } from '../../domain/kernel/errors.ts';
import { deps } from '../../functions/http/deps.ts';
import { makeLine, startTestStack, type TestStack } from '../support/stack.ts';

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

  it('a conflict the client is told to retry (409 with Retry-After) frees the key: the retry with the same key succeeds', async () => {
    const u = await t.users(t.tenant());
    await makeLine(t, u.admin);
    const store = deps().store;
    const real = store.commitSnapshot.bind(store);
    let calls = 0;
    store.commitSnapshot = async (...args: Parameters<typeof real>) => {
      if (calls++ === 0) throw new ConcurrentModification('Too many concurrent changes to this environment; retry');
      return real(...args);
    };
    try {
      const send = () =>
        t.call('POST', '/api/v1/environments/dev/configs', {
          token: u.admin,
          body: { key: 'retry.me', value: 1 },
          headers: { 'idempotency-key': 'retry-after-409' },
        });
      const first = await send();
      expect(first.status).toBe(409);
      expect(first.headers.get('retry-after')).toBe('1');
      const again = await send();
      expect(again.status, JSON.stringify(again.body)).toBe(201);
      // and from now on the key replays that success
      const replay = await send();
      expect(replay.status).toBe(201);
      expect(replay.headers.get('idempotent-replayed')).toBe('true');
    } finally {
      store.commitSnapshot = real;
    }
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

  it('an answer that shows a secret once (app key, webhook signing secret, link token) is not kept for replays: the replay answers 409 without it', async () => {
    const tenant = t.tenant();
    const u = await t.users(tenant);
    await makeLine(t, u.admin, ['dev']);
    const key = (what: string) => ({ 'idempotency-key': `once-${what}` });
    for (const [path, body, secretOf] of [
      ['/api/v1/app-keys', { name: 'orders', environment: 'dev' }, (b: any) => b.key],
      ['/api/v1/webhooks', { url: 'https://hooks.example.com/x', events: ['promotion.completed'] }, (b: any) => b.secret],
      ['/api/v1/artifacts/platform/links', { registry: 'registry.example.com', repository: 'org/platform' }, (b: any) => b.notifyToken],
    ] as const) {
      const first = await t.call('POST', path, { token: u.admin, body, headers: key(path.split('/')[3]!) });
      expect(first.status, JSON.stringify(first.body)).toBe(201);
      const secret = secretOf(first.body);
      expect(secret).toEqual(expect.any(String));
      // The same request again (a client's retry): one side effect, and the secret is not read back from the table.
      const replay = await t.call('POST', path, { token: u.admin, body, headers: key(path.split('/')[3]!) });
      expect(replay.status, JSON.stringify(replay.body)).toBe(409);
      expect(replay.headers.get('idempotent-replayed')).toBe('true');
      expect(replay.body.error.code).toBe('ALREADY_EXISTS');
      expect(JSON.stringify(replay.body)).not.toContain(secret);
    }
    expect((await t.call('GET', '/api/v1/app-keys', { token: u.viewer })).body.items).toHaveLength(1);
    expect((await t.call('GET', '/api/v1/webhooks', { token: u.viewer })).body.items).toHaveLength(1);
    // An answer without a secret still replays as it was.
    const env = { name: 'qa', position: 7 };
    const made = await t.call('POST', '/api/v1/environments', { token: u.admin, body: env, headers: key('environments') });
    expect(made.status).toBe(201);
    const again = await t.call('POST', '/api/v1/environments', { token: u.admin, body: env, headers: key('environments') });
    expect(again.status).toBe(201);
    expect(again.body).toEqual(made.body);
  });
});
