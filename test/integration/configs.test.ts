import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeLine, startTestStack, type TestStack } from '../support/stack.ts';
import { callRetrying } from '../support/retrying.ts';

let t: TestStack;
beforeAll(async () => {
  t = await startTestStack();
});
afterAll(() => t.stop());

async function setup() {
  const tenant = t.tenant();
  const u = await t.users(tenant);
  await makeLine(t, u.admin);
  return { tenant, u };
}

describe('configs and feature flags', () => {
  it('creates, reads, updates and deletes a config; every change is a new snapshot', async () => {
    const { u } = await setup();
    const created = await t.call('POST', '/api/v1/environments/dev/configs', {
      token: u.deployer,
      body: { key: 'query.timeout', value: '120s', description: 'Query timeout' },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ kind: 'config', key: 'query.timeout', value: '120s', description: 'Query timeout', version: 1 });
    expect(created.body.id).toMatch(/^[0-9a-f-]{36}$/);
    const id = created.body.id;

    const got = await t.call('GET', `/api/v1/environments/dev/configs/${id}`, { token: u.viewer });
    expect(got.body).toEqual(created.body);

    const dup = await t.call('POST', '/api/v1/environments/dev/configs', { token: u.deployer, body: { key: 'query.timeout', value: '1s' } });
    expect(dup.status).toBe(409);

    const upd = await t.call('PUT', `/api/v1/environments/dev/configs/${id}`, { token: u.deployer, body: { value: '180s', version: 1 } });
    expect(upd.status).toBe(200);
    expect(upd.body).toMatchObject({ value: '180s', version: 2, description: 'Query timeout' });
    const stale = await t.call('PUT', `/api/v1/environments/dev/configs/${id}`, { token: u.deployer, body: { value: '1s', version: 1 } });
    expect(stale.status).toBe(409);
    expect(stale.body.error.currentVersion).toBe(2);

    const env = await t.call('GET', '/api/v1/environments/dev', { token: u.viewer });
    expect(env.body.snapshot.seq).toBe(2);
    expect(env.body.itemCount).toBe(1);

    expect((await t.call('DELETE', `/api/v1/environments/dev/configs/${id}?version=1`, { token: u.deployer })).status).toBe(409);
    expect((await t.call('DELETE', `/api/v1/environments/dev/configs/${id}`, { token: u.deployer })).status).toBe(204);
    expect((await t.call('GET', `/api/v1/environments/dev/configs/${id}`, { token: u.viewer })).status).toBe(404);

    const snaps = await t.call('GET', '/api/v1/environments/dev/snapshots', { token: u.viewer });
    expect(snaps.body.items.map((s: any) => [s.seq, s.change.action])).toEqual([
      [3, 'delete'],
      [2, 'set'],
      [1, 'set'],
      [0, 'create'],
    ]);
    expect(snaps.body.items[0].digest).toBe(snaps.body.items[3].digest); // empty again
  });

  it('keeps flags apart from configs, with the same id in every environment', async () => {
    const { u } = await setup();
    const flag = await t.call('POST', '/api/v1/environments/dev/flags', { token: u.deployer, body: { key: 'new-ui', value: true } });
    const flagStg = await t.call('POST', '/api/v1/environments/staging/flags', { token: u.deployer, body: { key: 'new-ui', value: false } });
    expect(flag.body.kind).toBe('flag');
    expect(flagStg.body.id).toBe(flag.body.id);
    expect((await t.call('GET', `/api/v1/environments/dev/configs/${flag.body.id}`, { token: u.viewer })).status).toBe(404);
    const configs = await t.call('GET', '/api/v1/environments/dev/configs', { token: u.viewer });
    expect(configs.body.items).toEqual([]);
    const flags = await t.call('GET', '/api/v1/environments/dev/flags', { token: u.viewer });
    expect(flags.body.items.map((f: any) => f.key)).toEqual(['new-ui']);
  });

  it('pages through a large set with a cursor', async () => {
    const { u } = await setup();
    const set = Array.from({ length: 250 }, (_, i) => ({ key: `k.${i}`, value: i }));
    const b = await t.call('POST', '/api/v1/environments/dev/items/batch', { token: u.deployer, body: { set } });
    expect(b.status).toBe(200);
    expect(b.body).toMatchObject({ created: 250, updated: 0, snapshot: { seq: 1 } });
    const keys: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await t.call('GET', `/api/v1/environments/dev/configs?limit=60${cursor ? `&cursor=${cursor}` : ''}`, { token: u.viewer });
      expect(page.status).toBe(200);
      keys.push(...page.body.items.map((i: any) => i.key));
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(keys.sort()).toEqual(set.map((s) => s.key).sort());
    expect((await t.call('GET', '/api/v1/environments/dev/configs?cursor=zzz', { token: u.viewer })).status).toBe(400);
  });

  it('batch: unchanged items write nothing; the same set gives the same digest in any order', async () => {
    const { u } = await setup();
    const set = Array.from({ length: 80 }, (_, i) => ({ key: `k${i}`, value: { n: i, tags: ['a', 'b'] } }));
    const a = await t.call('POST', '/api/v1/environments/dev/items/batch', { token: u.deployer, body: { set } });
    const b = await t.call('POST', '/api/v1/environments/staging/items/batch', { token: u.deployer, body: { set: [...set].reverse() } });
    expect(a.body.snapshot.digest).toBe(b.body.snapshot.digest);
    const again = await t.call('POST', '/api/v1/environments/dev/items/batch', { token: u.deployer, body: { set } });
    expect(again.body).toMatchObject({ created: 0, updated: 0, unchanged: 80, snapshot: { seq: 1 } });
    const dupes = await t.call('POST', '/api/v1/environments/dev/items/batch', { token: u.deployer, body: { set: [set[0], set[0]] } });
    expect(dupes.status).toBe(400);
    expect(dupes.body.error.issues).toEqual([{ path: 'set.1', message: "config 'k0' is already in this batch: set or delete each key once" }]);
    // Across the two lists, named as the request has it (the key defaults to kind config in both); nothing is written.
    const snapshots = async () => (await t.call('GET', '/api/v1/environments/dev/snapshots', { token: u.viewer })).body.items.length;
    const before = await snapshots();
    const across = await t.call('POST', '/api/v1/environments/dev/items/batch', {
      token: u.deployer,
      body: {
        set: [
          { key: 'k1', value: 0 },
          { kind: 'flag', key: 'k1', value: true },
        ],
        delete: [{ key: 'k2' }, { kind: 'config', key: 'k1' }],
      },
    });
    expect(across.status).toBe(400);
    expect(across.body.error.issues).toEqual([{ path: 'delete.1', message: "config 'k1' is already in this batch: set or delete each key once" }]);
    expect(await snapshots()).toBe(before);
  });

  it('concurrent writers never lose or duplicate a change', async () => {
    const { tenant, u } = await setup();
    const n = 20;
    const results = await Promise.all(
      Array.from({ length: n }, (_, i) => callRetrying(t, 'POST', '/api/v1/environments/dev/configs', { token: u.deployer, body: { key: `c${i}`, value: i } })),
    );
    // A 503 or 409 CONCURRENT_MODIFICATION under load is retried as a client would (nothing was written); then all land once.
    expect(
      results.map((r) => r.status),
      JSON.stringify(results.filter((r) => r.status !== 201).map((r) => r.body)),
    ).toEqual(Array(n).fill(201));
    const env = await t.call('GET', '/api/v1/environments/dev', { token: u.viewer });
    expect(env.body).toMatchObject({ itemCount: n, snapshot: { seq: n } });
    const list = await t.call('GET', '/api/v1/environments/dev/configs?limit=100', { token: u.viewer });
    expect(list.body.items.map((i: any) => i.value).sort((a: number, b: number) => a - b)).toEqual([...Array(n).keys()]);
    await t.stack.stream.idle();
    const verify = await t.call('GET', '/api/v1/audit/verify', { token: u.viewer });
    expect(verify.body).toMatchObject({ ok: true });
    const audit = await t.call('GET', '/api/v1/audit?entityType=config&limit=100', { token: u.viewer });
    expect(audit.body.items).toHaveLength(n);
    expect(tenant).toBeTruthy();
  });

  it('validates input and lists every issue', async () => {
    const { u } = await setup();
    const r = await t.call('POST', '/api/v1/environments/dev/configs', { token: u.deployer, body: { key: '!bad key', value: 'x'.repeat(9000), extra: 1 } });
    expect(r.status).toBe(400);
    const paths = r.body.error.issues.map((i: any) => i.path);
    expect(paths).toEqual(expect.arrayContaining(['key', 'value', 'body']));
    expect((await t.call('POST', '/api/v1/environments/dev/configs', { token: u.deployer, raw: '{"key":' })).status).toBe(400);
    expect((await t.call('GET', '/api/v1/environments/dev/configs/not-a-uuid', { token: u.viewer })).status).toBe(400);
    expect((await t.call('POST', '/api/v1/environments/nope/configs', { token: u.deployer, body: { key: 'a', value: 1 } })).status).toBe(404);
    expect((await t.call('POST', '/api/v1/environments/dev/configs', { token: u.viewer, body: { key: 'a', value: 1 } })).status).toBe(403);
  });
});

describe('environment diff and snapshots', () => {
  it("answers seed 000's shape, flags told apart", async () => {
    const { u } = await setup();
    await t.call('POST', '/api/v1/environments/staging/items/batch', {
      token: u.deployer,
      body: {
        set: [
          { key: 'query.timeout', value: '180s' },
          { key: 'ai.new-model', value: 'gpt-4-turbo' },
          { key: 'same', value: 1 },
          { kind: 'flag', key: 'new-ui', value: true },
        ],
      },
    });
    // Production is protected: setting it up directly is an admin break-glass.
    await t.call('POST', '/api/v1/environments/production/items/batch', {
      token: u.admin,
      headers: { 'x-break-glass-reason': 'test set-up' },
      body: {
        set: [
          { key: 'query.timeout', value: '120s' },
          { key: 'same', value: 1 },
          { key: 'legacy', value: true },
          { kind: 'flag', key: 'new-ui', value: false },
        ],
      },
    });
    const d = await t.call('GET', '/api/v1/config/promotions/diff?source=staging&target=production', { token: u.viewer });
    expect(d.status).toBe(200);
    expect(d.body).toMatchObject({
      sourceEnvironment: 'staging',
      targetEnvironment: 'production',
      added: [{ kind: 'config', key: 'ai.new-model', value: 'gpt-4-turbo' }],
      modified: [
        { kind: 'config', key: 'query.timeout', sourceValue: '180s', targetValue: '120s' },
        { kind: 'flag', key: 'new-ui', sourceValue: true, targetValue: false },
      ],
      removed: [{ kind: 'config', key: 'legacy', value: true }],
      unchanged: 1,
    });
    expect((await t.call('GET', '/api/v1/config/promotions/diff?source=staging', { token: u.viewer })).status).toBe(400);
    expect((await t.call('GET', '/api/v1/config/promotions/diff?source=staging&target=nope', { token: u.viewer })).status).toBe(404);
  });

  it('diffs any two snapshots and restores an earlier one atomically', async () => {
    const { u } = await setup();
    const c = await t.call('POST', '/api/v1/environments/dev/configs', { token: u.deployer, body: { key: 'a', value: 1 } });
    await t.call('PUT', `/api/v1/environments/dev/configs/${c.body.id}`, { token: u.deployer, body: { value: 2 } });
    await t.call('POST', '/api/v1/environments/dev/configs', { token: u.deployer, body: { key: 'b', value: true } });
    const d = await t.call('GET', '/api/v1/snapshots/diff?from=dev@1&to=dev@3', { token: u.viewer });
    expect(d.body).toMatchObject({ added: [{ key: 'b', value: true }], modified: [{ key: 'a', fromValue: 1, toValue: 2 }], removed: [], unchanged: 0 });
    const s1 = await t.call('GET', '/api/v1/environments/dev/snapshots/1', { token: u.viewer });
    expect(s1.body).toMatchObject({ id: 'dev@1', seq: 1, configCount: 1, flagCount: 0 });
    expect((await t.call('GET', '/api/v1/environments/dev/snapshots/99', { token: u.viewer })).status).toBe(404);

    expect((await t.call('POST', '/api/v1/environments/dev/snapshots/1/restore', { token: u.deployer, body: { reason: 'x' } })).status).toBe(403);
    expect((await t.call('POST', '/api/v1/environments/dev/snapshots/1/restore', { token: u.admin, body: {} })).status).toBe(400);
    const r = await t.call('POST', '/api/v1/environments/dev/snapshots/1/restore', { token: u.admin, body: { reason: 'bad change' } });
    expect(r.status).toBe(200);
    expect(r.body.snapshot).toEqual({ seq: 4, digest: s1.body.digest });
    const a = await t.call('GET', `/api/v1/environments/dev/configs/${c.body.id}`, { token: u.viewer });
    expect(a.body.value).toBe(1);
    const flags = await t.call('GET', '/api/v1/environments/dev/configs', { token: u.viewer });
    expect(flags.body.items.map((i: any) => i.key)).toEqual(['a']);
  });
});
