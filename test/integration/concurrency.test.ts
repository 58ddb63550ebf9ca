import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callRetrying } from '../support/retrying.ts';
import { makeLine, startTestStack, type TestStack } from '../support/stack.ts';

let t: TestStack;
beforeAll(async () => {
  t = await startTestStack();
});
afterAll(() => t.stop());

/**
 * Writes to one environment serialise on its head (each change is a snapshot); none may be lost or doubled because
 * others write. Under load the API may answer 503 or 409 CONCURRENT_MODIFICATION (nothing changed, Retry-After): the
 * writers retry those as a documented client does (support/retrying.ts), then every value must be kept exactly once.
 */
describe('concurrent writers', () => {
  it('50 writers on one environment of one tenant all succeed: 50 snapshots, every value kept, 50 audit entries chained', async () => {
    const tenant = t.tenant();
    const u = await t.users(tenant);
    await makeLine(t, u.admin);
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        callRetrying(t, 'POST', '/api/v1/environments/dev/configs', {
          token: u.deployer,
          body: { key: `k${i}`, value: i },
          // A write cut off by its deadline may have been saved: the same key again gets its answer, never a second change.
          headers: { 'idempotency-key': `writer-${i}` },
        }),
      ),
    );
    expect(
      results.map((r) => r.status),
      JSON.stringify(results.filter((r) => r.status !== 201).map((r) => r.body)),
    ).toEqual(Array(50).fill(201));
    const env = await t.call('GET', '/api/v1/environments/dev', { token: u.viewer });
    expect(env.body.snapshot.seq).toBe(50);
    const items = await t.call('GET', '/api/v1/environments/dev/configs?limit=100', { token: u.viewer });
    // Every value kept exactly once (a retried write never doubles one: 50 snapshots above, 50 keys with their own values here).
    expect(items.body.items.map((c: { key: string; value: number }) => `${c.key}=${c.value}`).sort()).toEqual(
      Array.from({ length: 50 }, (_, i) => `k${i}=${i}`).sort(),
    );
    await t.stack.stream.idle();
    expect((await t.call('GET', '/api/v1/audit/verify', { token: u.viewer })).body).toMatchObject({ ok: true, checked: 53, pending: 0 });
    // 3 s alone; a fresh-clone run with the other worker busy (three stacks of the guide test) took past 60 s.
  }, 150_000);

  it('50 writers across 5 environments of one tenant all succeed (no tenant-wide serialisation point)', async () => {
    const tenant = t.tenant();
    const u = await t.users(tenant);
    await makeLine(t, u.admin, ['e0', 'e1', 'e2', 'e3', 'e4', 'prod']);
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        callRetrying(t, 'POST', `/api/v1/environments/e${i % 5}/configs`, {
          token: u.deployer,
          body: { key: `k${i}`, value: i },
          headers: { 'idempotency-key': `writer-${i}` },
        }),
      ),
    );
    expect(
      results.map((r) => r.status),
      JSON.stringify(results.filter((r) => r.status !== 201).map((r) => r.body)),
    ).toEqual(Array(50).fill(201));
    for (let e = 0; e < 5; e++) expect((await t.call('GET', `/api/v1/environments/e${e}`, { token: u.viewer })).body.snapshot.seq).toBe(10);
  }, 60_000);
});

describe('the same release requested at once', () => {
  it('8 identical promotion requests at once: one goes on its way (201), the others are told which one (409); after it ends the release may be requested again', async () => {
    const tenant = t.tenant();
    const u = await t.users(tenant);
    await makeLine(t, u.admin);
    const sha = `sha256:${'e'.repeat(64)}`;
    expect((await t.call('POST', '/api/v1/artifacts/api/versions', { token: u.deployer, body: { version: '1.0.0', digest: sha } })).status).toBe(201);
    const body = { sourceEnvironment: 'dev', targetEnvironment: 'staging', artifact: 'api', version: '1.0.0', autoStart: false };
    const answers = await Promise.all(Array.from({ length: 8 }, () => t.call('POST', '/api/v1/promotions', { token: u.deployer, body })));
    const made = answers.filter((a) => a.status === 201);
    expect(answers.map((a) => a.status).sort(), JSON.stringify(answers.map((a) => a.body))).toEqual([201, 409, 409, 409, 409, 409, 409, 409]);
    for (const a of answers.filter((x) => x.status === 409)) expect(a.body.error.message).toContain(made[0]!.body.id);
    const into = (await t.call('GET', '/api/v1/promotions?target=staging', { token: u.viewer })).body.items;
    expect(into.map((p: { id: string }) => p.id)).toEqual([made[0]!.body.id]);
    // Once it has ended (cancelled here), the same release may go again: the new request takes the claim over.
    expect((await t.call('DELETE', `/api/v1/promotions/${made[0]!.body.id}`, { token: u.deployer })).status).toBeLessThan(300);
    const again = await t.call('POST', '/api/v1/promotions', { token: u.deployer, body });
    expect(again.status, JSON.stringify(again.body)).toBe(201);
  });
});
