import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HOST_RETRY } from '../../functions/adapters/outbound.ts';
import { overrideConfig } from '../../functions/configuration-overrides.ts';
import { pushImage, startProxy, startRegistry, type LocalRegistry } from '../support/registry.ts';
import { makeLine, startTestStack, type TestStack } from '../support/stack.ts';
import { promoteToEnd } from '../support/promotions.ts';

/**
 * Publishing through a registry that fails for a moment (a 5xx, 429 or a dropped connection after the adapter's own
 * retries) answers 503 UNAVAILABLE with Retry-After, publishes nothing, and the same request sent again under its
 * Idempotency-Key publishes once the registry is back, even when the first try had already written a tag there.
 * A registry that refuses (4xx) stays a 422 naming what to fix.
 */
let t: TestStack;
let primary: LocalRegistry;
let proxy: LocalRegistry;
/** What the registry answers a request for now (null: the registry's own answer). */
let failWith: (r: { method: string; path: string }) => number | 'reset' | null = () => null;
let undoRetry: (() => void) | undefined;

beforeAll(async () => {
  // The flow's retries a moment apart (not seconds: the test's time).
  t = await startTestStack({ timeScale: 0.001 });
  primary = await startRegistry({ name: 'primary' });
  proxy = await startProxy(primary.url, 'primary', { failWith: (r) => failWith(r) });
  // The adapter's own retries of a transient answer, a moment apart (not seconds: the test's time).
  undoRetry = overrideConfig({ STAGELINE_OUTBOUND_RETRY_BASE_MS: '5' });
}, 120_000);
afterAll(async () => {
  undoRetry?.();
  await Promise.all([proxy?.stop(), primary?.stop()]);
  await t?.stop();
});

const manifestPut = (tag: string) => (r: { method: string; path: string }) => r.method === 'PUT' && r.path.endsWith(`/manifests/${tag}`);

async function line() {
  const u = await t.users(t.tenant());
  await makeLine(t, u.admin);
  const set = await t.call('PATCH', '/api/v1/environments/dev', { token: u.admin, body: { version: 1, registries: [{ name: 'primary', url: proxy.url }] } });
  expect(set.status, JSON.stringify(set.body)).toBe(200);
  return u;
}

const head = async (ref: string) => {
  const r = await fetch(`${primary.url}/v2/platform/manifests/${ref}`, { method: 'HEAD', headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } });
  return r.status === 200 ? r.headers.get('docker-content-digest') : null;
};

describe('publishing an artifact version through a registry that fails for a moment', () => {
  it.each([
    ['a 503 on every try', 503 as const],
    ['a 429 on every try', 429 as const],
    ['a dropped connection', 'reset' as const],
  ])('%s on the second tag answers 503 UNAVAILABLE with Retry-After; sent again once the registry is back, it publishes once', async (_, failure) => {
    const u = await line();
    const digest = await pushImage({ name: 'primary', url: primary.url }, 'platform', { configBytes: randomBytes(16), layers: [randomBytes(1024)] });
    const version = `v1.0.${randomBytes(2).readUInt16BE()}`;
    const publish = () =>
      t.call('POST', '/api/v1/artifacts/platform/versions', {
        token: u.deployer,
        body: { version, digest },
        headers: { 'idempotency-key': `publish-${version}` },
      });
    // The immutable tag is written; the mutable one fails for a moment.
    failWith = (r) => (manifestPut('latest-dev')(r) ? failure : null);
    const first = await publish();
    expect(first.status, JSON.stringify(first.body)).toBe(503);
    expect(first.body.error.code).toBe('UNAVAILABLE');
    expect(first.body.error.message).toMatch(/registry "primary"/);
    expect(Number(first.headers.get('retry-after'))).toBeGreaterThan(0);
    // Nothing of it here: the version does not exist.
    const listed = await t.call('GET', '/api/v1/artifacts/platform/versions', { token: u.viewer });
    expect(JSON.stringify(listed.body)).not.toContain(digest);
    // The registry is back: the same request, the same key, publishes (the tag the first try wrote is found in place).
    failWith = () => null;
    const again = await publish();
    expect(again.status, JSON.stringify(again.body)).toBe(201);
    expect(again.body.registries).toEqual([{ registry: 'primary', digest, tags: [`${version}-dev`, 'latest-dev'] }]);
    expect(await head(`${version}-dev`)).toBe(digest);
    expect(await head('latest-dev')).toBe(digest);
    // …and its answer is the one kept for the key from now on.
    const replay = await publish();
    expect(replay.status).toBe(201);
  });

  it('the source registry failing for a moment while the artifact is read answers 503 UNAVAILABLE, then publishes', async () => {
    const u = await line();
    const digest = await pushImage({ name: 'primary', url: primary.url }, 'platform', { configBytes: randomBytes(16), layers: [randomBytes(1024)] });
    const publish = () =>
      t.call('POST', '/api/v1/artifacts/platform/versions', {
        token: u.deployer,
        body: { version: 'v2.0.0', digest },
        headers: { 'idempotency-key': 'publish-source' },
      });
    failWith = (r) => ((r.method === 'GET' || r.method === 'HEAD') && r.path.endsWith(`/manifests/${digest}`) ? 503 : null);
    const first = await publish();
    failWith = () => null;
    expect(first.status, JSON.stringify(first.body)).toBe(503);
    expect(first.body.error.code).toBe('UNAVAILABLE');
    const again = await publish();
    expect(again.status, JSON.stringify(again.body)).toBe(201);
  });

  it('a registry that refuses (403) answers 422 RULE_VIOLATION naming the registry and what it refused', async () => {
    const u = await line();
    const digest = await pushImage({ name: 'primary', url: primary.url }, 'platform', { configBytes: randomBytes(16), layers: [randomBytes(1024)] });
    failWith = (r) => (r.method === 'PUT' && r.path.includes('/manifests/') ? 403 : null);
    try {
      const r = await t.call('POST', '/api/v1/artifacts/platform/versions', { token: u.deployer, body: { version: 'v9.9.9', digest } });
      expect(r.status, JSON.stringify(r.body)).toBe(422);
      expect(r.body.error.code).toBe('RULE_VIOLATION');
      expect(r.body.error.message).toMatch(/registry "primary".*forbidden \(403\)/);
    } finally {
      failWith = () => null;
    }
  });
});

/**
 * A promotion whose target registry fails for a moment (a 5xx through the adapter's own retries, twice: two runs of
 * the step) is run again by the flow (Unavailable, retried with backoff) and completes, its tag moved once; only a
 * registry that keeps failing fails it. It failed the promotion (PromotionFailed) at the first such answer.
 */
describe('promoting through a registry that fails for a moment', () => {
  /** dev publishes into the registry itself; staging's registry is the proxy (its answers are the test's). */
  async function promotion(version: string) {
    const u = await t.users(t.tenant());
    await makeLine(t, u.admin);
    await t.call('PATCH', '/api/v1/environments/dev', { token: u.admin, body: { version: 1, registries: [{ name: 'primary', url: primary.url }] } });
    const set = await t.call('PATCH', '/api/v1/environments/staging', {
      token: u.admin,
      body: { version: 1, registries: [{ name: 'mirror', url: proxy.url }] },
    });
    expect(set.status, JSON.stringify(set.body)).toBe(200);
    const digest = await pushImage({ name: 'primary', url: primary.url }, 'platform', { configBytes: randomBytes(16), layers: [randomBytes(1024)] });
    const published = await t.call('POST', '/api/v1/artifacts/platform/versions', { token: u.deployer, body: { version, digest } });
    expect(published.status, JSON.stringify(published.body)).toBe(201);
    return { u, digest };
  }
  /** Every try of the step sends the manifest PUT this often before it gives up (the adapter's own retries). */
  const perStep = () => HOST_RETRY.retries + 1;

  it('a registry answering 503 to two runs of the step, then working: the promotion completes, the tag moved once', async () => {
    const version = `v3.0.${randomBytes(2).readUInt16BE()}`;
    const { u, digest } = await promotion(version);
    let puts = 0;
    let moved = 0;
    failWith = (r) => {
      if (!manifestPut('latest-staging')(r)) return null;
      if (++puts <= 2 * perStep()) return 503;
      moved++;
      return null;
    };
    try {
      const done = await promoteToEnd(t, u, { sourceEnvironment: 'dev', targetEnvironment: 'staging', artifact: 'platform', version });
      expect(done.status, JSON.stringify(done.error)).toBe('COMPLETED');
      expect(puts).toBe(2 * perStep() + 1);
      expect(moved).toBe(1);
      expect(await head('latest-staging')).toBe(digest);
      expect(await head(`${version}-staging`)).toBe(digest);
    } finally {
      failWith = () => null;
    }
  });

  it('in a rollout, a target’s registry answering 503 to two runs of its step, then working: the rollout completes, its tag moved once', async () => {
    const u = await t.users(t.tenant());
    await makeLine(t, u.admin, ['dev']);
    await t.call('PATCH', '/api/v1/environments/dev', { token: u.admin, body: { version: 1, registries: [{ name: 'primary', url: primary.url }] } });
    const created = await t.call('POST', '/api/v1/environments', {
      token: u.admin,
      body: { name: 'production', position: 1, bakeSeconds: 1, registries: [{ name: 'mirror', url: proxy.url }], targets: [{ name: 'canary', wave: 1 }] },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const digest = await pushImage({ name: 'primary', url: primary.url }, 'platform', { configBytes: randomBytes(16), layers: [randomBytes(1024)] });
    const version = `v5.0.${randomBytes(2).readUInt16BE()}`;
    expect((await t.call('POST', '/api/v1/artifacts/platform/versions', { token: u.deployer, body: { version, digest } })).status).toBe(201);
    let puts = 0;
    let moved = 0;
    failWith = (r) => {
      if (!manifestPut('latest-production-canary')(r)) return null;
      if (++puts <= 2 * perStep()) return 503;
      moved++;
      return null;
    };
    try {
      const done = await promoteToEnd(t, u, { sourceEnvironment: 'dev', targetEnvironment: 'production', artifact: 'platform', version });
      expect(done.status, JSON.stringify(done.error)).toBe('COMPLETED');
      expect(moved).toBe(1);
      expect(await head('latest-production-canary')).toBe(digest);
    } finally {
      failWith = () => null;
    }
  });

  it('a registry that keeps answering 503 fails the promotion (after the flow’s retries), naming the registry', async () => {
    const version = `v4.0.${randomBytes(2).readUInt16BE()}`;
    const { u } = await promotion(version);
    failWith = (r) => (manifestPut('latest-staging')(r) ? 503 : null);
    try {
      const done = await promoteToEnd(t, u, { sourceEnvironment: 'dev', targetEnvironment: 'staging', artifact: 'platform', version });
      expect(done.status, JSON.stringify(done.error)).toBe('FAILED');
      expect(done.error).toMatchObject({ code: 'EXECUTION_FAILED', message: expect.stringMatching(/registry "mirror".*503/) });
    } finally {
      failWith = () => null;
    }
  }, 60_000);
});
