import { createHash } from 'node:crypto';
import type { Client } from './client.ts';
import { HOST_RETRY, hostRetryWaitMs, sleep } from '../outbound.ts';
import { ACCEPT, DIGEST, MANIFEST_BYTES, MEDIA_TYPES, RegistryError, RegistrySourceError, sha256, type Descriptor } from './distribution.ts';

/**
 * An artifact's manifest graph — an image's manifest with its config and layer blobs, an index with
 * its child manifests — read BY DIGEST from the source (every manifest and blob verified against its
 * digest) and copied to a target. Blobs are streamed source → target (never buffered whole) and
 * hashed on the way, so a source that serves wrong bytes for a layer fails that upload.
 */

const INDEX_TYPES: string[] = [MEDIA_TYPES.ociIndex, MEDIA_TYPES.dockerList];
const IMAGE_TYPES: string[] = [MEDIA_TYPES.ociManifest, MEDIA_TYPES.dockerManifest];

/** One manifest of the artifact's graph, as read (and verified) from the source. */
export interface ManifestNode {
  digest: string;
  mediaType: string;
  bytes: Buffer;
  blobs: Descriptor[];
}

// ---------------------------------------------------------------- source graph

/** Reads the manifest at `digest` and (for an index) its children, post-order, each verified against its digest. */
export async function readGraph(src: Client, digest: string, seen = new Set<string>()): Promise<ManifestNode[]> {
  if (seen.has(digest)) return [];
  seen.add(digest);
  const res = await src.send('GET', `manifests/${digest}`, { headers: { accept: ACCEPT } });
  if (res.status === 404) {
    await res.body?.cancel();
    throw new RegistrySourceError(`${src.label}: manifest ${src.repository}@${digest} not found`);
  }
  await src.expect(res, [200], `GET manifest ${digest}`);
  const bytes = await src.read(res, MANIFEST_BYTES, `GET manifest ${digest}`);
  const actual = sha256(bytes);
  if (actual !== digest) {
    throw new RegistrySourceError(`${src.label}: manifest served for ${digest} hashes to ${actual} (content does not match the digest)`);
  }

  let doc: { mediaType?: string; manifests?: Descriptor[]; config?: Descriptor; layers?: Descriptor[] };
  try {
    doc = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new RegistrySourceError(`${src.label}: manifest ${digest} is not JSON`);
  }
  // OCI manifests may omit mediaType; the Content-Type header then carries it.
  const mediaType = doc.mediaType ?? res.headers.get('content-type')?.split(';')[0]?.trim() ?? '';
  const check = (d: Descriptor) => {
    if (!d || typeof d.digest !== 'string' || !DIGEST.test(d.digest) || typeof d.size !== 'number') {
      throw new RegistrySourceError(`${src.label}: manifest ${digest} has an unsupported or malformed descriptor`);
    }
    return d;
  };

  if (INDEX_TYPES.includes(mediaType) || (!mediaType && Array.isArray(doc.manifests))) {
    const children: ManifestNode[] = [];
    for (const child of (doc.manifests ?? []).map(check)) children.push(...(await readGraph(src, child.digest, seen)));
    return [...children, { digest, mediaType: mediaType || MEDIA_TYPES.ociIndex, bytes, blobs: [] }];
  }
  if (IMAGE_TYPES.includes(mediaType) || (!mediaType && doc.config)) {
    // Foreign (non-distributable) layers carry `urls` and are not stored by registries: skip them.
    const blobs = [doc.config!, ...(doc.layers ?? [])].map(check).filter((d) => !d.urls?.length);
    return [{ digest, mediaType: mediaType || MEDIA_TYPES.ociManifest, bytes, blobs }];
  }
  throw new RegistrySourceError(`${src.label}: manifest ${digest} has unsupported media type "${mediaType}"`);
}

// ---------------------------------------------------------------- copy

/**
 * Copies manifest graphs to one target, each blob once, and tells `uploaded` the size of every blob it
 * uploads (blobs the target already holds are not). Children before parents, blobs before their
 * manifest: registries refuse a manifest whose references they do not hold.
 */
export function graphCopier(src: Client, dst: Client, blobTimeoutMs: number, uploaded: (bytes: number) => void) {
  const done = new Set<string>();
  return async (graph: ManifestNode[]): Promise<void> => {
    for (const node of graph) {
      for (const blob of node.blobs) {
        if (done.has(blob.digest)) continue;
        done.add(blob.digest);
        if (!(await dst.hasBlob(blob.digest))) uploaded(await copyBlob(src, dst, blob, blobTimeoutMs));
      }
      await dst.putManifest(node);
    }
  };
}

// ---------------------------------------------------------------- blobs

/**
 * Copies one blob source → target, starting over in a new session after a transient failure (HOST_RETRY): its PATCH
 * appends to its session and cannot be sent again, and a PUT whose answer was lost may or may not have ended it. The
 * blob is named by its digest, so a copy started over writes the same bytes, and one that landed is not sent again.
 */
async function copyBlob(src: Client, dst: Client, blob: Descriptor, timeoutMs: number): Promise<number> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await copyBlobOnce(src, dst, blob, timeoutMs);
    } catch (err) {
      if (!(err instanceof RegistryError && err.transient) || attempt >= HOST_RETRY.retries) throw err;
      await sleep(hostRetryWaitMs(attempt));
      if (await dst.hasBlob(blob.digest).catch(() => false)) return blob.size;
    }
  }
}

/** Streams one blob source → target (POST session, PATCH body, PUT ?digest=); returns bytes uploaded. */
async function copyBlobOnce(src: Client, dst: Client, blob: Descriptor, timeoutMs: number): Promise<number> {
  let location = await dst.startUpload();
  let copied = 0;
  // WHY PATCH + empty PUT rather than one monolithic PUT: it streams without a
  // known Content-Length and is what ECR, GAR, Harbor and distribution all accept.
  const patch = await dst.send('PATCH', location, {
    headers: { 'content-type': 'application/octet-stream' },
    timeoutMs,
    body: async () => {
      const res = await src.send('GET', `blobs/${blob.digest}`, { timeoutMs });
      await src.expect(res, [200], `GET blob ${blob.digest}`);
      if (!res.body) throw new RegistryError(`${src.label}: blob ${blob.digest} has no body`);
      return res.body.pipeThrough(verifier(src, blob, (n) => (copied = n)));
    },
  });
  await dst.expect(patch, [202, 204], `PATCH blob ${blob.digest}`);
  location = dst.resolve(patch.headers.get('location') ?? location);
  const url = new URL(location);
  url.searchParams.set('digest', blob.digest);
  const put = await dst.send('PUT', url.href, { headers: { 'content-length': '0' } });
  await dst.expect(put, [201], `PUT blob ${blob.digest}`);
  return copied;
}

/** Hashes and counts the bytes flowing through; errors the stream (aborting the upload) if they do not match the descriptor. */
function verifier(src: Client, blob: Descriptor, progress: (n: number) => void) {
  const hash = createHash('sha256');
  let n = 0;
  return new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, controller) {
      hash.update(chunk);
      progress((n += chunk.byteLength));
      controller.enqueue(chunk);
    },
    flush(controller) {
      const actual = `sha256:${hash.digest('hex')}`;
      if (actual !== blob.digest || n !== blob.size) {
        controller.error(new RegistrySourceError(`${src.label}: blob ${blob.digest} served ${n} bytes hashing to ${actual} (expected ${blob.size} bytes)`));
      }
    },
  });
}

/** Uploads a buffered blob (POST session, monolithic PUT) unless the registry already has it; returns its descriptor. */
export async function pushBlob(client: Client, bytes: Buffer, mediaType: string): Promise<Descriptor> {
  const digest = sha256(bytes);
  if (!(await client.hasBlob(digest))) {
    const url = new URL(await client.startUpload());
    url.searchParams.set('digest', digest);
    const res = await client.send('PUT', url.href, {
      headers: { 'content-type': 'application/octet-stream' },
      body: () => new Uint8Array(bytes),
      timeoutMs: 300_000,
    });
    await client.expect(res, [201], `PUT blob ${digest}`);
  }
  return { mediaType, digest, size: bytes.length };
}
