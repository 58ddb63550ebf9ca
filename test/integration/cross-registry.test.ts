import { createHash, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SIGSTORE_BUNDLE } from '../../functions/adapters/oci/signature.ts';
import { OciRegistrySync } from '../../functions/adapters/oci/sync.ts';
import { waitFor } from '../support/promotions.ts';
import { pushImage, startRegistry, type LocalRegistry } from '../support/registry.ts';
import { makeLine, startTestStack, type TestStack } from '../support/stack.ts';

let t: TestStack;
let primary: LocalRegistry;
let dr: LocalRegistry;
let region2: LocalRegistry;

beforeAll(async () => {
  // A registry that does not answer is retried by the flow (Unavailable: 5 s doubling, 5 times on AWS) before the
  // promotion fails; the retries' waits are shrunk here.
  t = await startTestStack({ timeScale: 0.001 });
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
    // What is attached to it travels with it: an SBOM referrer (OCI 1.1) and a cosign legacy `.sig` tag.
    const [sbom] = await new OciRegistrySync().attach({
      tenant: 'ci',
      repository: 'platform',
      digest,
      targets: [reg(primary)],
      artifactType: 'application/spdx+json',
      document: { spdxVersion: 'SPDX-2.3', name: 'platform' },
    });
    const sigImage = await pushImage(reg(primary), 'platform', { configBytes: Buffer.from('{"cosign":"legacy"}'), layers: [randomBytes(512)] });
    const sigManifest = Buffer.from(
      await (
        await fetch(`${primary.url}/v2/platform/manifests/${sigImage}`, { headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } })
      ).arrayBuffer(),
    );
    const legacyTag = `sha256-${digest.slice(7)}.sig`;
    expect(
      (
        await fetch(`${primary.url}/v2/platform/manifests/${legacyTag}`, {
          method: 'PUT',
          headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' },
          body: sigManifest,
        })
      ).status,
    ).toBe(201);
    // Publishing writes seed 003's v1.2.3-dev and latest-dev in dev's registry too.
    const published = await t.call('POST', '/api/v1/artifacts/platform/versions', { token: u.deployer, body: { version: 'v1.2.3', digest } });
    expect(published.status, JSON.stringify(published.body)).toBe(201);
    expect(published.body.registries).toEqual([{ registry: 'primary', digest, tags: ['v1.2.3-dev', 'latest-dev'] }]);
    for (const tag of ['v1.2.3-dev', 'latest-dev']) expect(await head(primary.url, 'platform', tag), tag).toBe(digest);
    const p = await t.call('POST', '/api/v1/promotions', {
      token: u.deployer,
      body: { sourceEnvironment: 'dev', targetEnvironment: 'staging', artifact: 'platform', version: 'v1.2.3' },
    });
    const done = await waitFor(t, u.viewer, p.body.id, ['COMPLETED', 'FAILED'], 30_000);
    expect(done.status, JSON.stringify(done.error)).toBe('COMPLETED');
    expect(done.result.synced.map((s: any) => [s.registry, s.digest])).toEqual([
      ['dr', digest],
      ['region2', digest],
    ]);
    expect(await head(dr.url, 'platform', digest)).toBe(digest);
    expect(await head(region2.url, 'platform', digest)).toBe(digest);
    // Seed 003's tags exist in the registries themselves, resolving to the promoted digest.
    expect(done.result.synced.map((s: any) => s.tags)).toEqual([
      ['v1.2.3-staging', 'latest-staging'],
      ['v1.2.3-staging', 'latest-staging'],
    ]);
    for (const r of [dr, region2])
      for (const tag of ['v1.2.3-staging', 'latest-staging']) expect(await head(r.url, 'platform', tag), `${r.name}:${tag}`).toBe(digest);
    expect(done.result.synced.map((s: any) => s.attached)).toEqual([
      [sbom!.digest, sigImage],
      [sbom!.digest, sigImage],
    ]);
    for (const r of [dr, region2]) {
      expect(await head(r.url, 'platform', sbom!.digest!), `${r.name}: the SBOM`).toBe(sbom!.digest);
      expect(await head(r.url, 'platform', legacyTag), `${r.name}: cosign's .sig tag`).toBe(sigImage);
    }
    // The promotion's signed attestation (a DSSE envelope) is attached to the digest in each registry, found by the referrers tag.
    await t.stack.stream.idle();
    const { envelope } = (await t.call('GET', `/api/v1/promotions/${p.body.id}/attestation`, { token: u.viewer })).body;
    for (const r of [dr, region2]) {
      const index: any = await (
        await fetch(`${r.url}/v2/platform/manifests/sha256-${digest.slice(7)}`, { headers: { accept: 'application/vnd.oci.image.index.v1+json' } })
      ).json();
      expect(index.manifests, r.name).toEqual([
        expect.objectContaining({ digest: sbom!.digest, artifactType: 'application/spdx+json' }),
        expect.objectContaining({
          artifactType: 'application/vnd.dsse.envelope.v1+json',
          annotations: expect.objectContaining({ 'dev.stageline.promotion-id': p.body.id, 'dev.stageline.environment': 'staging' }),
        }),
      ]);
      const referrer: any = await (
        await fetch(`${r.url}/v2/platform/manifests/${index.manifests[1].digest}`, { headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } })
      ).json();
      expect(referrer.subject.digest).toBe(digest);
      expect(await (await fetch(`${r.url}/v2/platform/blobs/${referrer.layers[0].digest}`)).json()).toEqual(envelope);
    }
    expect(done.result.recorded).toBeUndefined();

    // An unreachable registry in the target: the promotion fails and the target keeps what it ran.
    const d2 = await pushImage(reg(primary), 'platform', { configBytes: Buffer.from('{"v":2}'), layers: [randomBytes(64 * 1024)] });
    await t.call('POST', '/api/v1/artifacts/platform/versions', { token: u.deployer, body: { version: 'v1.2.4', digest: d2 } });
    expect(await head(primary.url, 'platform', 'latest-dev')).toBe(d2);
    // A version the registry does not hold, or whose immutable tag points elsewhere there, is not published at all.
    const missing = await t.call('POST', '/api/v1/artifacts/platform/versions', {
      token: u.deployer,
      body: { version: 'v1.2.5', digest: `sha256:${'0'.repeat(64)}` },
    });
    expect(missing.status).toBe(422);
    expect(missing.body.error.message).toContain('cannot be published');
    expect((await t.call('GET', '/api/v1/artifacts/platform/versions', { token: u.viewer })).body.versions.map((v: any) => v.version)).not.toContain('v1.2.5');
    const taken = await pushImage(reg(primary), 'platform', { configBytes: Buffer.from('{"v":"taken"}'), layers: [randomBytes(1024)] });
    const takenManifest = Buffer.from(
      await (await fetch(`${primary.url}/v2/platform/manifests/${taken}`, { headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } })).arrayBuffer(),
    );
    await fetch(`${primary.url}/v2/platform/manifests/v1.2.6-dev`, {
      method: 'PUT',
      headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' },
      body: takenManifest,
    });
    const d6 = await pushImage(reg(primary), 'platform', { configBytes: Buffer.from('{"v":6}'), layers: [randomBytes(1024)] });
    const clash = await t.call('POST', '/api/v1/artifacts/platform/versions', { token: u.deployer, body: { version: 'v1.2.6', digest: d6 } });
    expect(clash.status).toBe(422);
    expect(clash.body.error.message).toContain('immutable tag v1.2.6-dev already points at');
    expect(await head(primary.url, 'platform', 'latest-dev')).toBe(d2);
    await region2.stop();
    const p2 = await t.call('POST', '/api/v1/promotions', {
      token: u.deployer,
      body: { sourceEnvironment: 'dev', targetEnvironment: 'staging', artifact: 'platform', version: 'v1.2.4' },
    });
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
    const put = await fetch(`${dr.url}/v2/svc/manifests/v3.0.0-staging`, {
      method: 'PUT',
      headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' },
      body: Buffer.from(await manifest.arrayBuffer()),
    });
    expect(put.status).toBe(201);
    await t.call('POST', '/api/v1/artifacts/svc/versions', { token: u.deployer, body: { version: 'v3.0.0', digest } });
    const p = await t.call('POST', '/api/v1/promotions', {
      token: u.deployer,
      body: { sourceEnvironment: 'dev', targetEnvironment: 'staging', artifact: 'svc', version: 'v3.0.0' },
    });
    const failed = await waitFor(t, u.viewer, p.body.id, ['COMPLETED', 'FAILED'], 30_000);
    expect(failed.status).toBe('FAILED');
    expect(failed.error.message).toContain(`immutable tag v3.0.0-staging already points at ${other}`);
    expect(await head(dr.url, 'svc', 'v3.0.0-staging')).toBe(other);
    expect(await head(dr.url, 'svc', 'latest-staging')).toBeNull();
  });

  it('signature_match: a promotion commits only when the artifact carries a Sigstore signature made with the environment key; the signature travels with it', async () => {
    const u = await t.users(t.tenant());
    await makeLine(t, u.admin);
    const reg = (r: LocalRegistry) => ({ name: r.name, url: r.url });
    const keyPair = () => generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const trusted = keyPair();
    const stranger = keyPair();
    const pem = trusted.publicKey.export({ type: 'spki', format: 'pem' }).toString();
    // A key-based Sigstore bundle (what `cosign sign --key cosign.key --new-bundle-format` attaches): a message signature over the manifest.
    const signAndAttach = async (repo: string, digest: string, privateKey: typeof trusted.privateKey) => {
      const manifest = Buffer.from(
        await (
          await fetch(`${primary.url}/v2/${repo}/manifests/${digest}`, { headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } })
        ).arrayBuffer(),
      );
      const bundle = {
        mediaType: SIGSTORE_BUNDLE,
        verificationMaterial: { publicKey: { hint: 'stageline-test' }, tlogEntries: [], timestampVerificationData: { rfc3161Timestamps: [] } },
        messageSignature: {
          messageDigest: { algorithm: 'SHA2_256', digest: createHash('sha256').update(manifest).digest('base64') },
          signature: sign('sha256', manifest, privateKey).toString('base64'),
        },
      };
      const [r] = await new OciRegistrySync().attach({
        tenant: 'signer',
        repository: repo,
        digest,
        targets: [reg(primary)],
        artifactType: SIGSTORE_BUNDLE,
        document: bundle,
      });
      expect(r!.reason).toBeUndefined();
    };
    await t.call('PATCH', '/api/v1/environments/dev', { token: u.admin, body: { version: 1, registries: [reg(primary)] } });
    // signature_match without a key is refused; with a PEM key it is set and shown.
    const noKey = await t.call('PATCH', '/api/v1/environments/staging', { token: u.admin, body: { version: 1, verification: 'signature_match' } });
    expect(noKey.status).toBe(400);
    expect(JSON.stringify(noKey.body)).toContain('signingKey');
    const badKey = await t.call('PATCH', '/api/v1/environments/staging', {
      token: u.admin,
      body: { version: 1, verification: 'signature_match', signingKey: 'not a key' },
    });
    expect(badKey.status).toBe(400);
    const set = await t.call('PATCH', '/api/v1/environments/staging', {
      token: u.admin,
      body: { version: 1, registries: [reg(dr)], verification: 'signature_match', signingKey: pem },
    });
    expect(set.status, JSON.stringify(set.body)).toBe(200);
    expect(set.body).toMatchObject({ verification: 'signature_match', signingKey: pem });

    const promote = async (repo: string, version: string, digest: string) => {
      await t.call('POST', `/api/v1/artifacts/${repo}/versions`, { token: u.deployer, body: { version, digest } });
      const p = await t.call('POST', '/api/v1/promotions', {
        token: u.deployer,
        body: { sourceEnvironment: 'dev', targetEnvironment: 'staging', artifact: repo, version },
      });
      expect(p.status, JSON.stringify(p.body)).toBe(201);
      return waitFor(t, u.viewer, p.body.id, ['COMPLETED', 'FAILED'], 30_000);
    };
    // Unsigned: fails closed, nothing copied or tagged in the target.
    const unsigned = await pushImage(reg(primary), 'signed', { configBytes: Buffer.from('{"s":0}'), layers: [randomBytes(8 * 1024)] });
    const p0 = await promote('signed', 'v0.9.0', unsigned);
    expect(p0.status).toBe('FAILED');
    expect(p0.error.message).toContain('no Sigstore signature bundle is attached');
    expect(await head(dr.url, 'signed', unsigned)).toBeNull();
    expect(await head(dr.url, 'signed', 'latest-staging')).toBeNull();
    // Signed with another key: fails closed.
    const forged = await pushImage(reg(primary), 'signed', { configBytes: Buffer.from('{"s":1}'), layers: [randomBytes(8 * 1024)] });
    await signAndAttach('signed', forged, stranger.privateKey);
    const p1 = await promote('signed', 'v1.0.0', forged);
    expect(p1.status).toBe('FAILED');
    expect(p1.error.message).toContain('no signature on');
    expect(await head(dr.url, 'signed', 'v1.0.0-staging')).toBeNull();
    // Signed with the environment's key: commits, and the verified signature is attached to the digest in the target too.
    const good = await pushImage(reg(primary), 'signed', { configBytes: Buffer.from('{"s":2}'), layers: [randomBytes(8 * 1024)] });
    await signAndAttach('signed', good, trusted.privateKey);
    const p2 = await promote('signed', 'v1.1.0', good);
    expect(p2.status, JSON.stringify(p2.error)).toBe('COMPLETED');
    expect(p2.result.synced[0]).toMatchObject({
      registry: 'dr',
      digest: good,
      tags: ['v1.1.0-staging', 'latest-staging'],
      signature: expect.stringMatching(/^sha256:/),
    });
    expect(p2.result.synced[0].attached).toEqual([p2.result.synced[0].signature]);
    expect(await head(dr.url, 'signed', 'latest-staging')).toBe(good);
    const index: any = await (
      await fetch(`${dr.url}/v2/signed/manifests/sha256-${good.slice(7)}`, { headers: { accept: 'application/vnd.oci.image.index.v1+json' } })
    ).json();
    expect(index.manifests).toEqual(
      expect.arrayContaining([expect.objectContaining({ digest: p2.result.synced[0].signature, artifactType: SIGSTORE_BUNDLE })]),
    );
    // The manifest shows and sets it the same way: export names the key; a document asking signature_match without one is refused.
    const exported = await t.call('GET', '/api/v1/manifest?format=json', { token: u.viewer });
    expect(exported.status).toBe(200);
    const doc = typeof exported.body === 'string' ? JSON.parse(exported.body) : exported.body;
    expect(doc.artifacts.promotion.environment_settings.staging).toMatchObject({ verification: 'signature_match', signing_key: pem });
    const plan = await t.call('POST', '/api/v1/manifest/plan', { token: u.viewer, body: { document: JSON.stringify(doc) } });
    expect(plan.status, JSON.stringify(plan.body)).toBe(200);
    expect(plan.body.changes).toEqual([]);
    const refused = await t.call('POST', '/api/v1/manifest/plan', {
      token: u.viewer,
      body: { document: 'artifacts:\n  promotion:\n    verification: signature_match\n' },
    });
    expect(refused.status).toBe(400);
    expect(JSON.stringify(refused.body)).toContain('environment_settings.dev.signing_key');
  });
});
