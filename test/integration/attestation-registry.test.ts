import { randomBytes } from 'node:crypto';
import { marshall } from '@aws-sdk/util-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DsseEnvelope } from '../../domain/attestation/dsse.ts';
import { verifyAttestation } from '../../domain/attestation/verify.ts';
import { handler as streamHandler } from '../../functions/handlers/stream.ts';
import { waitFor } from '../support/promotions.ts';
import { pushImage, startRegistry, type LocalRegistry } from '../support/registry.ts';
import { makeLine, startTestStack, type TestStack } from '../support/stack.ts';

/**
 * A promotion's signed attestation attached to the artifact in the target's registries (real OCI registries on
 * loopback): an OCI referrer of the artifact's digest, the DSSE envelope its one layer, found as `oras discover`
 * and `cosign verify-attestation` find it, and verified with the tenant's public key by the CLI's own check.
 */

const DSSE = 'application/vnd.dsse.envelope.v1+json';
const VSA = 'https://slsa.dev/verification_summary/v1';
const REPO = 'attested';

let t: TestStack;
let dev: LocalRegistry;
let stg: LocalRegistry;
let u: Awaited<ReturnType<TestStack['users']>>;
let tenant: string;

beforeAll(async () => {
  t = await startTestStack();
  [dev, stg] = await Promise.all([startRegistry({ name: 'dev-registry' }), startRegistry({ name: 'staging-registry' })]);
  tenant = t.tenant();
  u = await t.users(tenant);
  await makeLine(t, u.admin);
  const reg = (r: LocalRegistry) => ({ name: r.name, url: r.url });
  await t.call('PATCH', '/api/v1/environments/dev', { token: u.admin, body: { version: 1, registries: [reg(dev)] } });
  // A bake, so an alarm can fail a promotion after it changed staging.
  await t.call('PATCH', '/api/v1/environments/staging', { token: u.admin, body: { version: 1, registries: [reg(stg)], bakeSeconds: 2 } });
});
afterAll(async () => {
  await Promise.all([dev?.stop(), stg?.stop()]);
  await t?.stop();
});

/** An image pushed to dev's registry and published as `version` of the artifact (its repository named in metadata). */
async function publish(version: string): Promise<string> {
  const digest = await pushImage({ name: dev.name, url: dev.url }, REPO, { configBytes: Buffer.from(`{"v":"${version}"}`), layers: [randomBytes(4096)] });
  const r = await t.call('POST', '/api/v1/artifacts/platform/versions', { token: u.deployer, body: { version, digest, metadata: { repository: REPO } } });
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  return digest;
}

/** Promotes the version into staging; with `alarm`, an alarm fails it while it bakes. */
async function promote(version: string, alarm = false): Promise<{ id: string; status: string }> {
  const p = await t.call('POST', '/api/v1/promotions', {
    token: u.deployer,
    body: { sourceEnvironment: 'dev', targetEnvironment: 'staging', artifact: 'platform', version },
  });
  expect(p.status, JSON.stringify(p.body)).toBe(201);
  if (alarm) {
    await waitFor(t, u.viewer, p.body.id, ['EXECUTING']);
    const a = await t.call('POST', `/api/v1/promotions/${p.body.id}/evidence`, {
      token: u.deployer,
      body: { type: 'alarm', payload: { name: 'p99-latency', state: 'ALARM', reason: 'p99 > 800 ms' } },
    });
    expect(a.status).toBe(201);
  }
  const done = await waitFor(t, u.viewer, p.body.id, ['COMPLETED', 'FAILED', 'ROLLED_BACK'], 30_000);
  // The stream consumer has signed the attestation and attached it.
  await t.stack.stream.idle();
  return { id: p.body.id, status: done.status };
}

interface IndexEntry {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
}

/** The referrers of a digest in a registry: its referrers API where it has one, else the referrers tag schema (`sha256-<hex>`), as oras falls back. */
async function referrers(r: LocalRegistry, digest: string): Promise<IndexEntry[]> {
  const api = await fetch(`${r.url}/v2/${REPO}/referrers/${digest}`);
  if (api.status === 200) return ((await api.json()) as { manifests: IndexEntry[] }).manifests;
  await api.body?.cancel();
  const res = await fetch(`${r.url}/v2/${REPO}/manifests/sha256-${digest.slice(7)}`, { headers: { accept: 'application/vnd.oci.image.index.v1+json' } });
  return res.status === 200 ? ((await res.json()) as { manifests: IndexEntry[] }).manifests : [];
}

/** The DSSE referrers of a digest, each with its manifest and its layer (the envelope's bytes). */
async function attestations(r: LocalRegistry, digest: string) {
  const out = [];
  for (const d of (await referrers(r, digest)).filter((m) => m.artifactType === DSSE)) {
    const manifest = (await (
      await fetch(`${r.url}/v2/${REPO}/manifests/${d.digest}`, { headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } })
    ).json()) as {
      artifactType: string;
      subject: { digest: string };
      layers: { mediaType: string; digest: string; annotations?: Record<string, string> }[];
      annotations: Record<string, string>;
    };
    const layer = Buffer.from(await (await fetch(`${r.url}/v2/${REPO}/blobs/${manifest.layers[0]!.digest}`)).arrayBuffer());
    out.push({ descriptor: d, manifest, layer });
  }
  return out;
}

/** The tenant's own attestation key (GET /audit/public-key `attestation`: the top-level key signs only the Merkle anchor). */
const publicKey = async () =>
  (await t.call('GET', '/api/v1/audit/public-key', { token: u.viewer })).body.attestation as { publicKeyPem: string; keyId: string; tenant: string };
const served = async (id: string) => (await t.call('GET', `/api/v1/promotions/${id}/attestation`, { token: u.viewer })).body;

describe('the attestation attached in the registry (an OCI referrer of the artifact)', () => {
  let completed: { id: string; digest: string };

  it('a completed promotion: the DSSE referrer is its VSA, verified with the public key; a changed byte fails; no unsigned record is written', async () => {
    const digest = await publish('v1.0.0');
    const p = await promote('v1.0.0');
    expect(p.status).toBe('COMPLETED');
    completed = { id: p.id, digest };
    const found = await attestations(stg, digest);
    expect(found).toHaveLength(1);
    const [{ descriptor, manifest, layer }] = found as [(typeof found)[0]];
    const annotations = {
      'in-toto.io/predicate-type': VSA,
      'dev.stageline.environment': 'staging',
      'dev.stageline.promotion-id': p.id,
      'org.opencontainers.image.created': expect.any(String),
    };
    expect(descriptor).toMatchObject({ mediaType: 'application/vnd.oci.image.manifest.v1+json', artifactType: DSSE, annotations });
    expect(manifest).toMatchObject({ artifactType: DSSE, subject: { digest }, annotations });
    expect(manifest.layers).toEqual([
      expect.objectContaining({ mediaType: DSSE, annotations: { predicateType: VSA, 'org.opencontainers.image.title': `${p.id}.dsse.json` } }),
    ]);
    // The layer, verified as the CLI verifies a file: this tenant's key, about this digest, this promotion.
    const key = await publicKey();
    const envelope = JSON.parse(layer.toString('utf8')) as DsseEnvelope;
    const v = verifyAttestation(envelope, key.publicKeyPem, { tenant, promotionId: p.id, subjectDigest: digest });
    expect(v.ok, JSON.stringify(v)).toBe(true);
    const api = await served(p.id);
    expect(envelope).toEqual(api.envelope);
    expect(v.ok && v.statement).toEqual(api.statement);
    expect(v.ok && v.statement.predicate).toMatchObject({ verificationResult: 'PASSED', stageline: { status: 'COMPLETED', targetEnvironment: 'staging' } });
    // A changed byte of the layer's payload no longer verifies.
    const payload = Buffer.from(envelope.payload, 'base64');
    payload[payload.length >> 1]! ^= 0x01;
    expect(verifyAttestation({ ...envelope, payload: payload.toString('base64') }, key.publicKeyPem)).toMatchObject({ ok: false, reason: 'tampered' });
    // The unsigned promotion record of earlier promotions is no longer written; the promotion says nothing of one.
    expect((await referrers(stg, digest)).filter((m) => m.artifactType === 'application/vnd.stageline.promotion.v1+json')).toEqual([]);
    expect((await t.call('GET', `/api/v1/promotions/${p.id}`, { token: u.viewer })).body.result.recorded).toBeUndefined();
  });

  it('its end event delivered again attaches the same referrer (listed once); a registry that refuses it fails the batch, naming it', async () => {
    const before = (await referrers(stg, completed.digest)).map((m) => m.digest);
    const p = (await t.call('GET', `/api/v1/promotions/${completed.id}`, { token: u.viewer })).body;
    const item = {
      pk: `T#${tenant}#EVT#again`,
      sk: 'E',
      entity: 'Event',
      id: `again-${completed.id}`,
      type: 'Promotion Completed',
      tenant,
      detail: {
        tenant,
        promotionId: completed.id,
        status: 'COMPLETED',
        sourceEnvironment: 'dev',
        targetEnvironment: 'staging',
        subject: 'platform@v1.0.0',
        releaseDigest: p.releaseDigest,
        at: p.completedAt,
      },
    };
    const event = { Records: [{ eventName: 'INSERT' as const, dynamodb: { NewImage: marshall(item) } }] };
    expect(((await streamHandler(event)) as { attested: number }).attested).toBe(0);
    expect((await referrers(stg, completed.digest)).map((m) => m.digest)).toEqual(before);
    // The registry down: the consumer's batch throws (retried, then the DLQ and its alarm), naming the registry.
    const url = stg.url;
    await stg.stop();
    try {
      await expect(streamHandler(event)).rejects.toThrow(/could not be attached .* in staging-registry/);
    } finally {
      stg = await startRegistry({ name: 'staging-registry', port: Number(new URL(url).port) });
    }
  });
});

describe('an attestation for every end that changed something: FAILED, with the status, attached too', () => {
  it('a promotion an alarm rolled back (staging ran v1.0.0 before) is attested FAILED, ROLLED_BACK, and attached to its digest', async () => {
    const failedDigest = await publish('v2.0.0');
    const rolled = await promote('v2.0.0', true);
    expect(rolled.status).toBe('ROLLED_BACK');
    const a = await served(rolled.id);
    expect(a.verified).toBe(true);
    expect(a.statement.predicate).toMatchObject({ verificationResult: 'FAILED', verifiedLevels: ['FAILED'], stageline: { status: 'ROLLED_BACK' } });
    const [att] = await attestations(stg, failedDigest);
    expect(att?.manifest.annotations['dev.stageline.promotion-id']).toBe(rolled.id);
    const key = await publicKey();
    const v = verifyAttestation(JSON.parse(att!.layer.toString('utf8')), key.publicKeyPem, { tenant, promotionId: rolled.id, subjectDigest: failedDigest });
    expect(v.ok && v.statement.predicate.verificationResult).toBe('FAILED');
  });

  it('FAILED after a change: the first version of an artifact into staging (nothing to put back) fails on an alarm and is attested FAILED', async () => {
    // Another artifact in the same repository (its tags named apart): staging ran none of it before.
    const digest = await pushImage({ name: dev.name, url: dev.url }, REPO, { configBytes: Buffer.from('{"v":"first"}'), layers: [randomBytes(2048)] });
    const r = await t.call('POST', '/api/v1/artifacts/billing/versions', {
      token: u.deployer,
      body: { version: 'v9.0.0', digest, metadata: { repository: REPO } },
    });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    const p = await t.call('POST', '/api/v1/promotions', {
      token: u.deployer,
      body: { sourceEnvironment: 'dev', targetEnvironment: 'staging', artifact: 'billing', version: 'v9.0.0' },
    });
    await waitFor(t, u.viewer, p.body.id, ['EXECUTING']);
    await t.call('POST', `/api/v1/promotions/${p.body.id}/evidence`, {
      token: u.deployer,
      body: { type: 'alarm', payload: { name: 'p99-latency', state: 'ALARM', reason: 'p99 > 800 ms' } },
    });
    const done = await waitFor(t, u.viewer, p.body.id, ['COMPLETED', 'FAILED', 'ROLLED_BACK'], 30_000);
    expect(done.status).toBe('FAILED');
    expect(done.result).toBeTruthy();
    await t.stack.stream.idle();
    const a = await served(p.body.id);
    expect(a.verified).toBe(true);
    expect(a.statement.predicate).toMatchObject({ verificationResult: 'FAILED', stageline: { status: 'FAILED', promotionId: p.body.id } });
    const found = await attestations(stg, digest);
    expect(found.map((f) => f.manifest.annotations['dev.stageline.promotion-id'])).toEqual([p.body.id]);
  });
});
