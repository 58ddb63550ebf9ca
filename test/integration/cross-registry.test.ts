import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pushImage } from '../../functions/adapters/oci-registry.ts';
import { waitFor } from '../support/promotions.ts';
import { startRegistry, type LocalRegistry } from '../support/registry.ts';
import { makeLine, startTestStack, type TestStack } from '../support/stack.ts';

let t: TestStack;
let primary: LocalRegistry;
let dr: LocalRegistry;
let region2: LocalRegistry;

beforeAll(async () => {
  t = await startTestStack();
  [primary, dr, region2] = await Promise.all([startRegistry({ name: 'primary' }), startRegistry({ name: 'dr' }), startRegistry({ name: 'region2' })]);
});
afterAll(async () => {
  await Promise.all([primary?.stop(), dr?.stop(), region2?.stop()]);
  await t.stop();
});

async function head(url: string, repo: string, digest: string) {
  const r = await fetch(`${url}/v2/${repo}/manifests/${digest}`, { method: 'HEAD', headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } });
  return r.status === 200 ? r.headers.get('docker-content-digest') : null;
}

describe('cross-registry promotion (real OCI registries on loopback)', () => {
  it('copies the artifact by digest to every registry of the target and verifies it; a failure fails closed', async () => {
    const u = await t.users(t.tenant());
    await makeLine(t, u.admin);
    const reg = (r: LocalRegistry) => ({ name: r.name, url: r.url });
    await t.call('PATCH', '/api/v1/environments/dev', { token: u.admin, body: { version: 1, registries: [reg(primary)] } });
    await t.call('PATCH', '/api/v1/environments/staging', { token: u.admin, body: { version: 1, registries: [reg(dr), reg(region2)] } });
    const digest = await pushImage(reg(primary), 'platform', { configBytes: Buffer.from('{"architecture":"arm64"}'), layers: [randomBytes(256 * 1024)] });
    await t.call('POST', '/api/v1/artifacts/platform/versions', { token: u.deployer, body: { version: 'v1.2.3', digest } });
    const p = await t.call('POST', '/api/v1/promotions', { token: u.deployer, body: { sourceEnvironment: 'dev', targetEnvironment: 'staging', artifact: 'platform', version: 'v1.2.3' } });
    const done = await waitFor(t, u.viewer, p.body.id, ['COMPLETED', 'FAILED'], 30_000);
    expect(done.status, JSON.stringify(done.error)).toBe('COMPLETED');
    expect(done.result.synced.map((s: any) => [s.registry, s.digest])).toEqual([['dr', digest], ['region2', digest]]);
    expect(await head(dr.url, 'platform', digest)).toBe(digest);
    expect(await head(region2.url, 'platform', digest)).toBe(digest);
    // Seed 003's tags exist in the registries themselves, resolving to the promoted digest.
    expect(done.result.synced.map((s: any) => s.tags)).toEqual([['v1.2.3-staging', 'latest-staging'], ['v1.2.3-staging', 'latest-staging']]);
    for (const r of [dr, region2]) for (const tag of ['v1.2.3-staging', 'latest-staging']) expect(await head(r.url, 'platform', tag), `${r.name}:${tag}`).toBe(digest);
    // The promotion's audit record (seed 003's shape) is attached to the digest in each registry, found by the referrers tag.
    const recorded = await waitFor(t, u.viewer, p.body.id, ['COMPLETED']).then(async () => {
      for (let i = 0; i < 100; i++) {
        const cur = (await t.call('GET', `/api/v1/promotions/${p.body.id}`, { token: u.viewer })).body;
        if (cur.result.recorded) return cur.result.recorded;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error('no audit record attached');
    });
    expect(recorded.map((r: any) => [r.registry, /^sha256:/.test(r.digest)])).toEqual([['dr', true], ['region2', true]]);
    const index: any = await (await fetch(`${dr.url}/v2/platform/manifests/sha256-${digest.slice(7)}`, { headers: { accept: 'application/vnd.oci.image.index.v1+json' } })).json();
    expect(index.manifests).toEqual([expect.objectContaining({ digest: recorded[0].digest, artifactType: 'application/vnd.stageline.promotion.v1+json' })]);
    const referrer: any = await (await fetch(`${dr.url}/v2/platform/manifests/${recorded[0].digest}`, { headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } })).json();
    expect(referrer.subject.digest).toBe(digest);
    const record = await (await fetch(`${dr.url}/v2/platform/blobs/${referrer.layers[0].digest}`)).json();
    expect(record).toMatchObject({ promotion_id: p.body.id, artifact: 'platform@v1.2.3', source_env: 'dev', target_env: 'staging', result: 'COMPLETED', validation_gates: { policy_compliance: 'PASS' }, digest });

    // An unreachable registry in the target: the promotion fails and the target keeps what it ran.
    const d2 = await pushImage(reg(primary), 'platform', { configBytes: Buffer.from('{"v":2}'), layers: [randomBytes(64 * 1024)] });
    await t.call('POST', '/api/v1/artifacts/platform/versions', { token: u.deployer, body: { version: 'v1.2.4', digest: d2 } });
    await region2.stop();
    const p2 = await t.call('POST', '/api/v1/promotions', { token: u.deployer, body: { sourceEnvironment: 'dev', targetEnvironment: 'staging', artifact: 'platform', version: 'v1.2.4' } });
    const failed = await waitFor(t, u.viewer, p2.body.id, ['COMPLETED', 'FAILED'], 30_000);
    expect(failed.status).toBe('FAILED');
    expect(failed.error.message).toContain('region2');
    expect((await t.call('GET', '/api/v1/artifacts/platform/tags/latest-staging', { token: u.viewer })).body.version).toBe('v1.2.3');
    expect(await head(dr.url, 'platform', 'latest-staging')).toBe(digest);
    const status = await t.call('GET', '/api/v1/status?env=staging', { token: u.viewer });
    expect(status.body.environments[0].artifacts[0].version).toBe('v1.2.3');
  });

  it('never moves an immutable tag in a registry: a <version>-<env> tag already pointing elsewhere fails the promotion closed', async () => {
    const u = await t.users(t.tenant());
    await makeLine(t, u.admin);
    const reg = (r: LocalRegistry) => ({ name: r.name, url: r.url });
    await t.call('PATCH', '/api/v1/environments/dev', { token: u.admin, body: { version: 1, registries: [reg(primary)] } });
    await t.call('PATCH', '/api/v1/environments/staging', { token: u.admin, body: { version: 1, registries: [reg(dr)] } });
    const digest = await pushImage(reg(primary), 'svc', { configBytes: Buffer.from('{"svc":1}'), layers: [randomBytes(32 * 1024)] });
    // Someone pushed another image under the tag this promotion would create.
    const other = await pushImage(reg(dr), 'svc', { configBytes: Buffer.from('{"svc":"other"}'), layers: [randomBytes(16 * 1024)] });
    const manifest = await fetch(`${dr.url}/v2/svc/manifests/${other}`, { headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } });
    const put = await fetch(`${dr.url}/v2/svc/manifests/v3.0.0-staging`, { method: 'PUT', headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' }, body: Buffer.from(await manifest.arrayBuffer()) });
    expect(put.status).toBe(201);
    await t.call('POST', '/api/v1/artifacts/svc/versions', { token: u.deployer, body: { version: 'v3.0.0', digest } });
    const p = await t.call('POST', '/api/v1/promotions', { token: u.deployer, body: { sourceEnvironment: 'dev', targetEnvironment: 'staging', artifact: 'svc', version: 'v3.0.0' } });
    const failed = await waitFor(t, u.viewer, p.body.id, ['COMPLETED', 'FAILED'], 30_000);
    expect(failed.status).toBe('FAILED');
    expect(failed.error.message).toContain(`immutable tag v3.0.0-staging already points at ${other}`);
    expect(await head(dr.url, 'svc', 'v3.0.0-staging')).toBe(other);
    expect(await head(dr.url, 'svc', 'latest-staging')).toBeNull();
  });

});
