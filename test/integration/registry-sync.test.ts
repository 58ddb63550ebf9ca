import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Registry } from '#domain/artifacts/ports';
import { MEDIA_TYPES, RegistrySourceError } from '../../functions/adapters/oci/distribution.ts';
import { OciRegistrySync } from '../../functions/adapters/oci/sync.ts';
import { pushImage, putManifest, startProxy, startRegistry, TEST_CREDENTIALS, type LocalRegistry } from '../support/registry.ts';
import { overrideConfig } from '../../functions/configuration-overrides.ts';

/**
 * REQ-337 cross-registry promotion against real CNCF distribution registries
 * on loopback (test/support/registry.ts), plus node:http stubs for the
 * failure modes a real registry will not produce on demand.
 */
// The registries of these tests run on loopback: allowed only by the explicit local-mode setting.
overrideConfig({ STAGELINE_ALLOW_LOOPBACK_OUTBOUND: 'true' });

const sha256 = (b: Uint8Array) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const MB = 1 << 20;

const started: LocalRegistry[] = [];
async function registry(options?: Parameters<typeof startRegistry>[0]) {
  const r = await startRegistry(options);
  started.push(r);
  return r;
}

/** A throwaway HTTP server standing in for a misbehaving registry. */
async function stub(name: string, handler: RequestListener): Promise<LocalRegistry> {
  const server = createServer(handler);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const r = {
    name,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    stop: async () => {
      server.closeAllConnections();
      server.close();
    },
  };
  started.push(r);
  return r;
}

async function manifestBytes(r: Registry, repo: string, digest: string): Promise<Buffer> {
  const res = await fetch(`${r.url}/v2/${repo}/manifests/${digest}`, { headers: { accept: Object.values(MEDIA_TYPES).join(', ') } });
  expect(res.status).toBe(200);
  return Buffer.from(await res.arrayBuffer());
}

let a: LocalRegistry, b: LocalRegistry, c: LocalRegistry;
const image = {
  configBytes: Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers' } })),
  layers: [randomBytes(MB), randomBytes(MB + 17)],
};
const imageBytes = image.configBytes.length + image.layers[0]!.length + image.layers[1]!.length;
let digest: string;
const sync = new OciRegistrySync([], { timeoutMs: 5_000 });

beforeAll(async () => {
  [a, b, c] = await Promise.all([registry({ name: 'a' }), registry({ name: 'b' }), registry({ name: 'c' })]);
  digest = await pushImage(a, 'shop/web', image);
});

afterAll(async () => {
  await Promise.all(started.map((r) => r.stop()));
});

describe('OciRegistrySync between real registries', () => {
  it('copies manifest and blobs by digest to every target and verifies digest_match', async () => {
    const results = await sync.sync({ tenant: 'acme', repository: 'shop/web', digest, source: a, targets: [b, c] });
    expect(results).toEqual([
      { registry: 'b', ok: true, digest, bytesCopied: imageBytes },
      { registry: 'c', ok: true, digest, bytesCopied: imageBytes },
    ]);
    const original = await manifestBytes(a, 'shop/web', digest);
    expect(sha256(original)).toBe(digest);
    expect(await manifestBytes(b, 'shop/web', digest)).toEqual(original);
    expect(await manifestBytes(c, 'shop/web', digest)).toEqual(original);
    const layer = await fetch(`${c.url}/v2/shop/web/blobs/${sha256(image.layers[1]!)}`);
    expect(sha256(new Uint8Array(await layer.arrayBuffer()))).toBe(sha256(image.layers[1]!)); // (toEqual on 1 MB buffers takes seconds)
  });

  it('is idempotent: a second sync uploads no blob bytes', async () => {
    const results = await sync.sync({ tenant: 'acme', repository: 'shop/web', digest, source: a, targets: [b, c] });
    expect(results.map((r) => [r.registry, r.ok, r.digest, r.bytesCopied])).toEqual([
      ['b', true, digest, 0],
      ['c', true, digest, 0],
    ]);
  });

  it('copies a multi-arch index, children first', async () => {
    const arm = await pushImage(a, 'shop/multi', { configBytes: Buffer.from('{"architecture":"arm64"}'), layers: [randomBytes(4096)] });
    const amd = await pushImage(a, 'shop/multi', { configBytes: Buffer.from('{"architecture":"amd64"}'), layers: [randomBytes(4096)] });
    const child = async (d: string, architecture: string) => ({
      mediaType: MEDIA_TYPES.ociManifest,
      digest: d,
      size: (await manifestBytes(a, 'shop/multi', d)).length,
      platform: { architecture, os: 'linux' },
    });
    const index = await putManifest(a, 'shop/multi', {
      schemaVersion: 2,
      mediaType: MEDIA_TYPES.ociIndex,
      manifests: [await child(arm, 'arm64'), await child(amd, 'amd64')],
    });

    const [result] = await sync.sync({ tenant: 'acme', repository: 'shop/multi', digest: index, source: a, targets: [b] });
    expect(result).toMatchObject({ registry: 'b', ok: true, digest: index });
    expect(result!.bytesCopied).toBeGreaterThan(2 * 4096);
    for (const d of [index, arm, amd]) expect(sha256(await manifestBytes(b, 'shop/multi', d))).toBe(d);
  });

  it('reports an unreachable target as ok:false and still syncs the others', async () => {
    const gone = await registry({ name: 'gone' });
    await gone.stop();
    const results = await sync.sync({ tenant: 'acme', repository: 'shop/web', digest, source: a, targets: [gone, b] });
    expect(results[0]).toMatchObject({ registry: 'gone', ok: false, digest: null, bytesCopied: 0 });
    expect(results[0]!.reason).toMatch(/registry "gone" .*unreachable.*ECONNREFUSED/);
    expect(results[0]!.reason).not.toMatch(/\n\s+at /); // no stack trace
    expect(results[1]).toMatchObject({ registry: 'b', ok: true, digest });
  });

  it('reports 5xx and time-outs per target', async () => {
    const broken = await stub('broken', (req, res) => {
      if (req.method === 'HEAD') return void res.writeHead(404).end(); // blob missing: go on to upload
      res.writeHead(503, { 'content-type': 'application/json' }).end('{"errors":[{"code":"UNAVAILABLE","message":"maintenance"}]}');
    });
    const silent = await stub('silent', () => {}); // accepts, never answers
    const fast = new OciRegistrySync([], { timeoutMs: 300 });
    // A 503 and a silence that last: retried (STAGELINE_OUTBOUND_RETRY_BASE_MS apart, doubling), then reported.
    const undo = overrideConfig({ STAGELINE_OUTBOUND_RETRY_BASE_MS: '10' });
    const results = await fast.sync({ tenant: 'acme', repository: 'shop/web', digest, source: a, targets: [broken, silent] }).finally(undo);
    expect(results[0]).toMatchObject({ registry: 'broken', ok: false });
    // the status and the registry's well-formed error code; never the registry's own words
    expect(results[0]!.reason).toMatch(/registry "broken" .*start blob upload failed: HTTP 503 \(UNAVAILABLE\)$/);
    expect(results[0]!.reason).not.toContain('maintenance');
    expect(results[1]).toMatchObject({ registry: 'silent', ok: false });
    expect(results[1]!.reason).toMatch(/registry "silent" .*timed out after 300 ms/);
  });

  it('sends a request again after a registry’s transient 500 (a read, the upload start, the manifest put): one hiccup fails nothing', async () => {
    const failed: string[] = [];
    const fresh = await registry({ name: 'fresh' });
    const flaky = await startProxy(fresh.url, 'flaky', {
      failed,
      failOnce: [
        { method: 'HEAD', path: /\/blobs\// },
        { method: 'POST', path: /\/blobs\/uploads\/$/ },
        { method: 'PUT', path: /\/manifests\// },
        { method: 'GET', path: /\/manifests\// },
      ],
    });
    started.push(flaky);
    const undo = overrideConfig({ STAGELINE_OUTBOUND_RETRY_BASE_MS: '10' });
    try {
      const [result] = await sync.sync({ tenant: 'acme', repository: 'shop/web', digest, source: a, targets: [flaky] });
      expect(result, JSON.stringify(result)).toMatchObject({ registry: 'flaky', ok: true, digest });
      const [again] = await sync.sync({ tenant: 'acme', repository: 'shop/web', digest, source: a, targets: [flaky] });
      expect(again).toMatchObject({ ok: true, bytesCopied: 0 });
    } finally {
      undo();
    }
    expect(failed.map((f) => f.split(' ')[0]).sort()).toEqual(['GET', 'HEAD', 'POST', 'PUT']);
  });

  it('starts a blob copy over in a new session when its PATCH (which cannot be sent again) or its closing PUT fails for a moment', async () => {
    const failed: string[] = [];
    const fresh = await registry({ name: 'fresh-upload' });
    const flaky = await startProxy(fresh.url, 'flaky-upload', {
      failed,
      failOnce: [
        { method: 'PATCH', path: /\/blobs\/uploads\// },
        { method: 'PATCH', path: /\/blobs\/uploads\// },
        { method: 'PUT', path: /\/blobs\/uploads\/.*digest=/ },
      ],
    });
    started.push(flaky);
    const undo = overrideConfig({ STAGELINE_OUTBOUND_RETRY_BASE_MS: '10' });
    try {
      const [result] = await sync.sync({ tenant: 'acme', repository: 'shop/web', digest, source: a, targets: [flaky] });
      expect(result, JSON.stringify(result)).toMatchObject({ registry: 'flaky-upload', ok: true, digest });
      expect((await manifestBytes(fresh, 'shop/web', digest)).length).toBeGreaterThan(0);
    } finally {
      undo();
    }
    expect(failed.map((f) => f.split(' ')[0]).sort()).toEqual(['PATCH', 'PATCH', 'PUT']);
  });

  it("sends a manifest's PUT again after no answer (the same bytes under the same digest): a reset connection fails nothing", async () => {
    const fresh = await registry({ name: 'fresh-manifest' });
    let resets = 0;
    const flaky = await startProxy(fresh.url, 'reset-manifest', {
      failWith: ({ method, path }) => (method === 'PUT' && /\/manifests\//.test(path) && resets++ < 2 ? 'reset' : null),
    });
    started.push(flaky);
    const undo = overrideConfig({ STAGELINE_OUTBOUND_RETRY_BASE_MS: '10' });
    try {
      const [result] = await sync.sync({ tenant: 'acme', repository: 'shop/web', digest, source: a, targets: [flaky] });
      expect(result, JSON.stringify(result)).toMatchObject({ registry: 'reset-manifest', ok: true, digest });
    } finally {
      undo();
    }
    expect(resets).toBeGreaterThanOrEqual(2);
  });

  it('fails clearly when the source does not have the digest', async () => {
    const missing = sha256(Buffer.from('no such manifest'));
    await expect(sync.sync({ tenant: 'acme', repository: 'shop/web', digest: missing, source: a, targets: [b] })).rejects.toThrow(RegistrySourceError);
    await expect(sync.sync({ tenant: 'acme', repository: 'shop/web', digest: missing, source: a, targets: [b] })).rejects.toThrow(
      `registry "a" (${a.url}): manifest shop/web@${missing} not found`,
    );
    await expect(sync.sync({ tenant: 'acme', repository: 'shop/web', digest: 'latest', source: a, targets: [b] })).rejects.toThrow(/unsupported digest/);
  });

  it('fails a target that serves a different manifest for the digest (digest mismatch)', async () => {
    const backing = await registry({ name: 'backing' });
    const liar = await startProxy(backing.url, 'liar', { tamperManifests: true });
    started.push(liar);
    const [result] = await sync.sync({ tenant: 'acme', repository: 'shop/web', digest, source: a, targets: [liar] });
    expect(result).toMatchObject({ registry: 'liar', ok: false, bytesCopied: imageBytes });
    expect(result!.digest).not.toBe(digest);
    expect(result!.reason).toMatch(/registry "liar" .*digest mismatch: expected sha256:/);
  });

  it('refuses a source that serves a different manifest for the digest', async () => {
    const liar = await startProxy(a.url, 'lying-source', { tamperManifests: true });
    started.push(liar);
    await expect(sync.sync({ tenant: 'acme', repository: 'shop/web', digest, source: liar, targets: [b] })).rejects.toThrow(
      /lying-source.*does not match the digest/,
    );
  });

  it('aborts a blob upload when the source serves bytes that do not match the layer digest', async () => {
    const liar = await startProxy(a.url, 'lying-blobs', { tamperBlobs: true });
    started.push(liar);
    const fresh = await registry({ name: 'fresh' });
    const [result] = await sync.sync({ tenant: 'acme', repository: 'shop/web', digest, source: liar, targets: [fresh] });
    expect(result).toMatchObject({ registry: 'fresh', ok: false, digest: null, bytesCopied: 0 });
    expect(result!.reason).toMatch(/registry "lying-blobs" .*blob sha256:\w+ served \d+ bytes hashing to sha256:/);
    // the corrupted bytes never became a blob on the target
    const head = await fetch(`${fresh.url}/v2/shop/web/blobs/${sha256(image.configBytes)}`, { method: 'HEAD' });
    expect(head.status).toBe(404);
  });
});

describe('OciRegistrySync authentication', () => {
  it('uses Basic credentials bound to (tenant, registry origin) (htpasswd registry)', async () => {
    const locked = await registry({ name: 'locked', auth: true });
    const anonymous = await sync.sync({ tenant: 'acme', repository: 'shop/web', digest, source: a, targets: [locked] });
    expect(anonymous[0]).toMatchObject({ ok: false, reason: expect.stringMatching(/requires credentials and none are configured for "locked"/) });

    const wrong = new OciRegistrySync([{ tenant: 'acme', origin: new URL(locked.url).origin, username: 'stageline', password: 'nope' }]);
    expect((await wrong.sync({ tenant: 'acme', repository: 'shop/web', digest, source: a, targets: [locked] }))[0]).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/unauthorized \(401\)/),
    });

    const authed = new OciRegistrySync([{ tenant: 'acme', origin: new URL(locked.url).origin, ...TEST_CREDENTIALS }]);
    expect(await authed.sync({ tenant: 'acme', repository: 'shop/web', digest, source: a, targets: [locked] })).toEqual([
      { registry: 'locked', ok: true, digest, bytesCopied: imageBytes },
    ]);
  });

  it('answers a Bearer challenge with a token from the realm, on source and target', async () => {
    const backing = await registry({ name: 'token-backing' });
    const bearer = await startProxy(backing.url, 'bearer', { bearer: true });
    started.push(bearer);
    const authed = new OciRegistrySync([{ tenant: 'acme', origin: new URL(bearer.url).origin, ...TEST_CREDENTIALS }]);
    expect(await authed.sync({ tenant: 'acme', repository: 'shop/web', digest, source: a, targets: [bearer] })).toEqual([
      { registry: 'bearer', ok: true, digest, bytesCopied: imageBytes },
    ]);
    // and back out of it, as a source
    expect(await authed.sync({ tenant: 'acme', repository: 'shop/web', digest, source: bearer, targets: [c] })).toMatchObject([
      { registry: 'c', ok: true, bytesCopied: 0 },
    ]);

    const anonymous = await sync.sync({ tenant: 'acme', repository: 'shop/web', digest, source: a, targets: [bearer] });
    expect(anonymous[0]).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/registry "bearer" .*token realm .* refused anonymous access \(HTTP 401\)/),
    });
  });
});

describe('registry credentials are bound to (tenant, origin) — attacks', () => {
  /** A server a tenant admin controls: challenges for Basic and records every Authorization it receives. */
  async function attacker() {
    const seen: string[] = [];
    const server = createServer((req, res) => {
      if (req.headers.authorization) seen.push(req.headers.authorization);
      res.writeHead(401, { 'www-authenticate': 'Basic realm="give me"' }).end();
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen, close: () => server.close() };
  }

  it("tenant B names its registry like tenant A's and points it at its own server: A's credentials never leave", async () => {
    const locked = await registry({ name: 'locked', auth: true });
    const evil = await attacker();
    try {
      const sync = new OciRegistrySync([{ tenant: 'tenant-a', origin: new URL(locked.url).origin, ...TEST_CREDENTIALS }]);
      // Tenant A promotes to its real registry: works.
      expect((await sync.sync({ tenant: 'tenant-a', repository: 'shop/web', digest, source: a, targets: [{ name: 'locked', url: locked.url }] }))[0]!.ok).toBe(
        true,
      );
      // Tenant B: same registry name, attacker's URL.
      const r = await sync.sync({ tenant: 'tenant-b', repository: 'shop/web', digest, source: a, targets: [{ name: 'locked', url: evil.url }] });
      expect(r[0]).toMatchObject({ ok: false, reason: expect.stringMatching(/requires credentials and none are configured/) });
      // Tenant B pointing at A's real registry origin gets nothing either (credentials are per tenant).
      const r2 = await sync.sync({ tenant: 'tenant-b', repository: 'shop/web', digest, source: a, targets: [{ name: 'x', url: locked.url }] });
      expect(r2[0]!.ok).toBe(false);
      expect(evil.seen).toEqual([]);
    } finally {
      evil.close();
    }
  });

  it('an upload Location that leaves the registry origin is refused (credentials would follow it)', async () => {
    const evil = await attacker();
    const target = createServer((req, res) => {
      if (req.method === 'HEAD') return res.writeHead(404).end();
      if (req.method === 'POST') return res.writeHead(202, { location: `${evil.url}/v2/shop/web/blobs/uploads/steal` }).end();
      res.writeHead(500).end();
    });
    target.listen(0, '127.0.0.1');
    await once(target, 'listening');
    try {
      const url = `http://127.0.0.1:${(target.address() as AddressInfo).port}`;
      const r = await new OciRegistrySync([]).sync({ tenant: 'acme', repository: 'shop/web', digest, source: a, targets: [{ name: 'redirecting', url }] });
      expect(r[0]).toMatchObject({ ok: false, reason: expect.stringMatching(/leaves http:\/\/127\.0\.0\.1/) });
      expect(evil.seen).toEqual([]);
    } finally {
      target.close();
      evil.close();
    }
  });

  it('metadata, private and (outside local mode) loopback registry URLs are refused before any request', async () => {
    for (const url of ['http://169.254.169.254', 'http://10.0.0.8:5000', 'http://[::ffff:169.254.169.254]']) {
      const r = await new OciRegistrySync([]).sync({ tenant: 'acme', repository: 'shop/web', digest, source: a, targets: [{ name: 'x', url }] });
      expect(r[0], url).toMatchObject({ ok: false, reason: expect.stringMatching(/refused/) });
    }
    const localMode = overrideConfig({ STAGELINE_ALLOW_LOOPBACK_OUTBOUND: 'false' });
    try {
      await expect(new OciRegistrySync([]).sync({ tenant: 'acme', repository: 'shop/web', digest, source: a, targets: [b] })).rejects.toThrow(/loopback/);
    } finally {
      localMode();
    }
  });
});
