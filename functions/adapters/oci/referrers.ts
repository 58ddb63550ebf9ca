import type { Client } from './client.ts';
import { ACCEPT, DIGEST, MANIFEST_BYTES, MEDIA_TYPES, sha256, type Descriptor } from './distribution.ts';
import { pushBlob, readGraph, type ManifestNode } from './graph.ts';

/**
 * What is attached to an artifact — signatures, attestations, SBOMs: OCI referrers (manifests whose
 * `subject` is the artifact's digest), listed by the referrers tag schema (OCI distribution 1.1), and
 * cosign's legacy `sha256-<hex>.sig`/`.att` tags. Read with the artifact so the sync takes them
 * along (whatever their artifact type: Stageline's signed attestations, and the unsigned promotion
 * records of earlier promotions, alike), and written when a document is attached to an artifact.
 */

/** Something attached to an artifact: a referrer (listed in the referrers index) or a cosign legacy tag. */
export interface Attached {
  nodes: ManifestNode[];
  descriptor?: Descriptor & { artifactType?: string };
  tag?: string;
}

/** Cosign's tags for a digest before OCI 1.1 referrers: the signature and the attestations. */
const LEGACY_SUFFIXES = ['sig', 'att'];

/** What is attached to `digest` in the source, each graph read and verified like the artifact itself. */
export async function readAttached(src: Client, digest: string): Promise<Attached[]> {
  const out: Attached[] = [];
  for (const r of await listReferrers(src, digest)) {
    if (!DIGEST.test(r.digest)) continue;
    out.push({
      nodes: await readGraph(src, r.digest),
      descriptor: {
        mediaType: r.mediaType,
        digest: r.digest,
        size: r.size,
        ...(r.artifactType ? { artifactType: r.artifactType } : {}),
        ...(r.annotations ? { annotations: r.annotations } : {}),
      },
    });
  }
  for (const suffix of LEGACY_SUFFIXES) {
    const tag = `sha256-${digest.slice(7)}.${suffix}`;
    const at = await src.tagDigest(tag);
    if (at) out.push({ nodes: await readGraph(src, at), tag });
  }
  return out;
}

/** The referrers of a digest, by the referrers tag schema (OCI distribution 1.1) for registries without the referrers API. */
export async function listReferrers(c: Client, digest: string): Promise<(Descriptor & { artifactType?: string })[]> {
  const res = await c.send('GET', `manifests/sha256-${digest.slice(7)}`, { headers: { accept: MEDIA_TYPES.ociIndex } });
  if (res.status !== 200) {
    await res.body?.cancel();
    return [];
  }
  return (JSON.parse((await c.read(res, MANIFEST_BYTES, `GET referrers of ${digest}`)).toString('utf8')) as { manifests?: Descriptor[] }).manifests ?? [];
}

/** Adds referrers to the digest's `sha256-<hex>` index, keeping what is listed there. */
export async function addReferrers(c: Client, digest: string, referrers: (Descriptor & { artifactType?: string })[]): Promise<void> {
  const listed = await listReferrers(c, digest);
  const adding = new Set(referrers.map((r) => r.digest));
  const index = { schemaVersion: 2, mediaType: MEDIA_TYPES.ociIndex, manifests: [...listed.filter((m) => !adding.has(m.digest)), ...referrers] };
  const bytes = Buffer.from(JSON.stringify(index));
  await c.putManifest({ digest: sha256(bytes), mediaType: MEDIA_TYPES.ociIndex, bytes }, `sha256-${digest.slice(7)}`);
}

/** What a referrer says about itself besides its artifact type (OCI annotations). */
export interface ReferrerAnnotations {
  /** on the referrer's manifest (and its descriptor in the referrers index) */
  manifest?: Record<string, string>;
  /** on its one layer, the document */
  layer?: Record<string, string>;
}

/**
 * Attaches a JSON document to `digest` as a referrer (an artifact manifest whose subject is the digest, the
 * document its one layer of media type `artifactType`); returns the referrer's digest. The same document and
 * annotations make the same manifest, so attaching again writes nothing new (the referrers index lists it once).
 */
export async function attachDocument(
  dst: Client,
  digest: string,
  artifactType: string,
  document: Record<string, unknown>,
  annotations: ReferrerAnnotations = {},
): Promise<string> {
  // The subject as the registry serves it (its media type and size go into the descriptor).
  const res = await dst.send('GET', `manifests/${digest}`, { headers: { accept: ACCEPT } });
  await dst.expect(res, [200], `GET manifest ${digest}`);
  const subjectBytes = await dst.read(res, MANIFEST_BYTES, `GET manifest ${digest}`);
  const subject = { mediaType: res.headers.get('content-type')?.split(';')[0]?.trim() || MEDIA_TYPES.ociManifest, digest, size: subjectBytes.length };
  const config = await pushBlob(dst, Buffer.from('{}'), 'application/vnd.oci.empty.v1+json');
  const layer = await pushBlob(dst, Buffer.from(JSON.stringify(document)), artifactType);
  const manifestAnnotations = annotations.manifest && Object.keys(annotations.manifest).length ? annotations.manifest : undefined;
  const manifest = {
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.ociManifest,
    artifactType,
    config,
    layers: [annotations.layer && Object.keys(annotations.layer).length ? { ...layer, annotations: annotations.layer } : layer],
    subject,
    ...(manifestAnnotations ? { annotations: manifestAnnotations } : {}),
  };
  const bytes = Buffer.from(JSON.stringify(manifest));
  const referrer = sha256(bytes);
  await dst.putManifest({ digest: referrer, mediaType: MEDIA_TYPES.ociManifest, bytes });
  await addReferrers(dst, digest, [
    {
      mediaType: MEDIA_TYPES.ociManifest,
      digest: referrer,
      size: bytes.length,
      artifactType,
      ...(manifestAnnotations ? { annotations: manifestAnnotations } : {}),
    },
  ]);
  return referrer;
}
