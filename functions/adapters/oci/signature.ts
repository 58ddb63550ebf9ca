import { createPublicKey } from 'node:crypto';
import type { Client } from './client.ts';
import { ACCEPT, MANIFEST_BYTES, MEDIA_TYPES, RegistryError, sha256, type Descriptor } from './distribution.ts';
import { listReferrers } from './referrers.ts';

/**
 * signature_match: the artifact's cosign signature, a Sigstore bundle attached to its digest as an
 * OCI referrer in the source registry, verified with the environment's public key over the
 * artifact's manifest. Fails closed: `ok: false` with why.
 */

/** cosign's Sigstore bundle artifact type (an OCI referrer of the signed digest). */
export const SIGSTORE_BUNDLE = 'application/vnd.dev.sigstore.bundle.v0.3+json';
const BUNDLE_BYTES = 1024 * 1024;

/**
 * Verifies a Sigstore bundle (message signature) over the artifact's manifest with a PEM public key, using the
 * sigstore project's libraries; no transparency log or timestamp is required for a key-based signature.
 * Returns why it does not verify, or null.
 */
async function verifyBundle(bundleBytes: Buffer, artifact: Buffer, publicKeyPem: string): Promise<string | null> {
  // Loaded on first use: only signature_match needs them, and they are a sixth of the promotion step's code.
  const [{ bundleFromJSON }, { toSignedEntity, toTrustMaterial, Verifier }] = await Promise.all([import('@sigstore/bundle'), import('@sigstore/verify')]);
  try {
    const bundle = bundleFromJSON(JSON.parse(bundleBytes.toString('utf8')));
    const key = createPublicKey(publicKeyPem);
    const trust = toTrustMaterial(
      {
        mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
        tlogs: [],
        certificateAuthorities: [],
        ctlogs: [],
        timestampAuthorities: [],
      } as unknown as Parameters<typeof toTrustMaterial>[0],
      () => ({ publicKey: key, validFor: () => true }),
    );
    new Verifier(trust, { tlogThreshold: 0, ctlogThreshold: 0, timestampThreshold: 0 }).verify(toSignedEntity(bundle, artifact));
    // A DSSE bundle (cosign's in-toto form) signs a statement, not the bytes: its subject must name this artifact.
    if (bundle.content.$case === 'dsseEnvelope') {
      const statement = JSON.parse(Buffer.from(bundle.content.dsseEnvelope.payload).toString('utf8')) as { subject?: { digest?: Record<string, string> }[] };
      const hex = sha256(artifact).slice(7);
      if (!statement.subject?.some((s) => s.digest?.sha256 === hex)) return `the signed statement's subject is not sha256:${hex}`;
    }
    return null;
  } catch (err) {
    return (err as Error).message;
  }
}

/** Finds a Sigstore bundle attached to `digest` in the source that verifies with `publicKey`; its digest goes with the artifact when it is copied. */
export async function verifyCosignSignature(src: Client, digest: string, publicKey: string): Promise<{ ok: boolean; reason?: string; bundle?: string }> {
  try {
    const manifest = await src.send('GET', `manifests/${digest}`, { headers: { accept: ACCEPT } });
    await src.expect(manifest, [200], `GET manifest ${digest}`);
    const artifact = await src.read(manifest, MANIFEST_BYTES, `GET manifest ${digest}`);
    // The signature is a Sigstore bundle attached to the digest (cosign's bundle format), listed under the referrers tag.
    const candidates = (await listReferrers(src, digest)).filter((r) => r.artifactType === SIGSTORE_BUNDLE);
    if (!candidates.length)
      return { ok: false, reason: `${src.label}: no Sigstore signature bundle is attached to ${digest} (sign it: cosign sign --key … --new-bundle-format)` };
    const reasons: string[] = [];
    for (const c of candidates) {
      const res = await src.send('GET', `manifests/${c.digest}`, { headers: { accept: MEDIA_TYPES.ociManifest } });
      await src.expect(res, [200], `GET manifest ${c.digest}`);
      const bytes = await src.read(res, MANIFEST_BYTES, `GET manifest ${c.digest}`);
      const doc = JSON.parse(bytes.toString('utf8')) as { layers?: Descriptor[]; subject?: Descriptor };
      const layer = doc.layers?.[0];
      if (sha256(bytes) !== c.digest || !layer || doc.subject?.digest !== digest) continue;
      const blob = await src.send('GET', `blobs/${layer.digest}`);
      await src.expect(blob, [200], `GET blob ${layer.digest}`);
      const bundleBytes = await src.read(blob, BUNDLE_BYTES, `GET blob ${layer.digest}`);
      if (sha256(bundleBytes) !== layer.digest) continue;
      const why = await verifyBundle(bundleBytes, artifact, publicKey);
      if (!why) return { ok: true, bundle: c.digest }; // the copy (sync) takes it along with the artifact
      reasons.push(why);
    }
    return {
      ok: false,
      reason: `${src.label}: no signature on ${digest} verifies with the environment's key${reasons.length ? ` (${reasons.join('; ')})` : ''}`,
    };
  } catch (err) {
    return { ok: false, reason: err instanceof RegistryError ? err.message : `${src.label}: ${String(err)}` };
  }
}
