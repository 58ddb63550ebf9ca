import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Registry } from '#domain/ports';
import { MEDIA_TYPES, OciRegistrySync, pushImage, putManifest, RegistrySourceError } from '../../functions/adapters/oci-registry.ts';
import { startProxy, startRegistry, TEST_CREDENTIALS, type LocalRegistry } from '../support/registry.ts';

/**
 * REQ-337 cross-registry promotion against real CNCF distribution registries
 * on loopback (test/support/registry.ts), plus node:http stubs for the
 * failure modes a real registry will not produce on demand.
 */
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
const image = { configBytes: Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers' } })), layers: [randomBytes(MB), randomBytes(MB + 17)] };
const imageBytes = image.configBytes.length + image.layers[0]!.length + image.layers[1]!.length;
let digest: string;
const sync = new OciRegistrySync({}, { timeoutMs: 5_000 });

beforeAll(async () => {
  [a, b, c] = await Promise.all([registry({ name: 'a' }), registry({ name: 'b' }), registry({ name: 'c' })]);
  digest = await pushImage(a, 'shop/web', image);
});

afterAll(async () => {
  await Promise.all(started.map((r) => r.stop()));
});

describe('OciRegistrySync between real registries', () => {
  it('copies manifest and blobs by digest to every target and verifies digest_match', async () => {
    const results = await sync.sync({ repository: 'shop/web', digest, source: a, targets: [b, c] });
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
    const results = await sync.sync({ repository: 'shop/web', digest, source: a, targets: [b, c] });
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
    const index = await putManifest(a, 'shop/multi', { schemaVersion: 2, mediaType: MEDIA_TYPES.ociIndex, manifests: [await child(arm, 'arm64'), await child(amd, 'amd64')] });

    const [result] = await sync.sync({ repository: 'shop/multi', digest: index, source: a, targets: [b] });
    expect(result).toMatchObject({ registry: 'b', ok: true, digest: index });
    expect(result!.bytesCopied).toBeGreaterThan(2 * 4096);
    for (const d of [index, arm, amd]) expect(sha256(await manifestBytes(b, 'shop/multi', d))).toBe(d);
  });

  it('reports an unreachable target as ok:false and still syncs the others', async () => {
    const gone = await registry({ name: 'gone' });
    await gone.stop();
    const results = await sync.sync({ repository: 'shop/web', digest, source: a, targets: [gone, b] });
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
    const fast = new OciRegistrySync({}, { timeoutMs: 300 });
    const results = await fast.sync({ repository: 'shop/web', digest, source: a, targets: [broken, silent] });
    expect(results[0]).toMatchObject({ registry: 'broken', ok: false });
    expect(results[0]!.reason).toMatch(/registry "broken" .*start blob upload failed: HTTP 503: UNAVAILABLE maintenance/);
    expect(results[1]).toMatchObject({ registry: 'silent', ok: false });
    expect(results[1]!.reason).toMatch(/registry "silent" .*timed out after 300 ms/);
  });

  it('fails clearly when the source does not have the digest', async () => {
    const missing = sha256(Buffer.from('no such manifest'));
    await expect(sync.sync({ repository: 'shop/web', digest: missing, source: a, targets: [b] })).rejects.toThrow(RegistrySourceError);
    await expect(sync.sync({ repository: 'shop/web', digest: missing, source: a, targets: [b] })).rejects.toThrow(
      `registry "a" (${a.url}): manifest shop/web@${missing} not found`,
    );
    await expect(sync.sync({ repository: 'shop/web', digest: 'latest', source: a, targets: [b] })).rejects.toThrow(/unsupported digest/);
  });

  it('fails a target that serves a different manifest for the digest (digest mismatch)', async () => {
    const backing = await registry({ name: 'backing' });
    const liar = await startProxy(backing.url, 'liar', { tamperManifests: true });
    started.push(liar);
    const [result] = await sync.sync({ repository: 'shop/web', digest, source: a, targets: [liar] });
    expect(result).toMatchObject({ registry: 'liar', ok: false, bytesCopied: imageBytes });
    expect(result!.digest).not.toBe(digest);
    expect(result!.reason).toMatch(/registry "liar" .*digest mismatch: expected sha256:/);
  });

  it('refuses a source that serves a different manifest for the digest', async () => {
    const liar = await startProxy(a.url, 'lying-source', { tamperManifests: true });
    started.push(liar);
    await expect(sync.sync({ repository: 'shop/web', digest, source: liar, targets: [b] })).rejects.toThrow(/lying-source.*does not match the digest/);
  });

  it('aborts a blob upload when the source serves bytes that do not match the layer digest', async () => {
    const liar = await startProxy(a.url, 'lying-blobs', { tamperBlobs: true });
    started.push(liar);
    const fresh = await registry({ name: 'fresh' });
    const [result] = await sync.sync({ repository: 'shop/web', digest, source: liar, targets: [fresh] });
    expect(result).toMatchObject({ registry: 'fresh', ok: false, digest: null, bytesCopied: 0 });
    expect(result!.reason).toMatch(/registry "lying-blobs" .*blob sha256:\w+ served \d+ bytes hashing to sha256:/);
    // the corrupted bytes never became a blob on the target
    const head = await fetch(`${fresh.url}/v2/shop/web/blobs/${sha256(image.configBytes)}`, { method: 'HEAD' });
    expect(head.status).toBe(404);
  });
});

describe('OciRegistrySync authentication', () => {
  it('uses Basic credentials by registry name (htpasswd registry)', async () => {
    const locked = await registry({ name: 'locked', auth: true });
    const anonymous = await sync.sync({ repository: 'shop/web', digest, source: a, targets: [locked] });
    expect(anonymous[0]).toMatchObject({ ok: false, reason: expect.stringMatching(/requires credentials and none are configured for "locked"/) });

    const wrong = new OciRegistrySync({ locked: { username: 'stageline', password: 'nope' } });
    expect((await wrong.sync({ repository: 'shop/web', digest, source: a, targets: [locked] }))[0]).toMatchObject({ ok: false, reason: expect.stringMatching(/unauthorized \(401\)/) });

    const authed = new OciRegistrySync({ locked: TEST_CREDENTIALS });
    expect(await authed.sync({ repository: 'shop/web', digest, source: a, targets: [locked] })).toEqual([{ registry: 'locked', ok: true, digest, bytesCopied: imageBytes }]);
  });

  it('answers a Bearer challenge with a token from the realm, on source and target', async () => {
    const backing = await registry({ name: 'token-backing' });
    const bearer = await startProxy(backing.url, 'bearer', { bearer: true });
    started.push(bearer);
    const authed = new OciRegistrySync({ bearer: TEST_CREDENTIALS });
    expect(await authed.sync({ repository: 'shop/web', digest, source: a, targets: [bearer] })).toEqual([{ registry: 'bearer', ok: true, digest, bytesCopied: imageBytes }]);
    // and back out of it, as a source
    expect(await authed.sync({ repository: 'shop/web', digest, source: bearer, targets: [c] })).toMatchObject([{ registry: 'c', ok: true, bytesCopied: 0 }]);

    const anonymous = await sync.sync({ repository: 'shop/web', digest, source: a, targets: [bearer] });
    expect(anonymous[0]).toMatchObject({ ok: false, reason: expect.stringMatching(/registry "bearer" .*token realm .* refused anonymous access \(HTTP 401\)/) });
  });
});
