import { createHash, createPublicKey } from 'node:crypto';
import type { Registry, RegistrySync, RegistrySyncResult, RegistryTag } from '#domain/artifacts/ports';
import { assertSameOrigin, guardedFetch, OutboundRefused, readBytesLimited } from './outbound.ts';

/**
 * Cross-registry promotion (REQ-337): copies an artifact's manifest — and, for
 * an image, its config and layer blobs; for an index, its child manifests
 * first — BY DIGEST from the source registry to each target registry with the
 * OCI Distribution API, then verifies that each target serves exactly that
 * digest (`digest_match`).
 *
 * Failure model:
 * - a bad source (unreachable, digest not found, content not matching the
 *   digest, unsupported manifest) THROWS a RegistrySourceError: nothing was
 *   copied and there is no per-target fact to report;
 * - every per-target problem (unreachable, time-out, 4xx/5xx, auth refused,
 *   digest mismatch after the copy) is a result with `ok: false` and a
 *   one-line reason naming the registry; sync() never throws for those.
 *
 * Blobs are streamed source → target (never buffered whole) and hashed on the
 * way, so a source that serves wrong bytes for a layer fails that upload.
 * Targets are processed concurrently; blobs within a target sequentially.
 */

export interface Credentials {
  username: string;
  password: string;
}

/**
 * Credentials are bound to ONE tenant and ONE registry origin (scheme://host:port), never to a
 * registry's name (a name is whatever a tenant admin types). They are sent only to that origin,
 * and to a token realm only when its origin is listed in `realmOrigins` (Docker Hub-style
 * registries issue tokens from another host).
 */
export interface CredentialBinding extends Credentials {
  tenant: string;
  origin: string;
  realmOrigins?: string[];
}

export interface OciRegistrySyncOptions {
  /** per request (manifests, HEADs, upload sessions); default 30 s */
  timeoutMs?: number;
  /** per blob transfer (source GET and target upload, whole body); default 5 min */
  blobTimeoutMs?: number;
}

export const MEDIA_TYPES = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
} as const;
const ACCEPT = Object.values(MEDIA_TYPES).join(', ');
const INDEX_TYPES: string[] = [MEDIA_TYPES.ociIndex, MEDIA_TYPES.dockerList];
const IMAGE_TYPES: string[] = [MEDIA_TYPES.ociManifest, MEDIA_TYPES.dockerManifest];

const DIGEST = /^sha256:[a-f0-9]{64}$/;
/**
 * What we read of a registry's answers, at most. A manifest or referrers index is limited to 4 MiB by
 * the distribution spec's registries in practice; a signature bundle is a few KiB; an error or a
 * token answer is small. More is refused, never buffered; and a registry's own words (an error
 * message) never reach the caller — only the status and a well-formed error code.
 */
export const MANIFEST_BYTES = 4 * 1024 * 1024;
const BUNDLE_BYTES = 1024 * 1024;
const ERROR_BODY_BYTES = 4 * 1024;
const TOKEN_BODY_BYTES = 64 * 1024;
const ERROR_CODE = /^[A-Z][A-Z_]{0,39}$/;

/** cosign's Sigstore bundle artifact type (an OCI referrer of the signed digest). */
export const SIGSTORE_BUNDLE = 'application/vnd.dev.sigstore.bundle.v0.3+json';

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

/** OCI distribution tag grammar. */
const TAG = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;
// The distribution spec's repository name grammar; also keeps paths injection-free.
const REPOSITORY = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;

/** A per-registry failure with a one-line, human-readable message (prefixed with the registry). */
export class RegistryError extends Error {
  override name = 'RegistryError';
}
/** The source registry cannot provide the artifact as addressed: sync() throws this. */
export class RegistrySourceError extends RegistryError {
  override name = 'RegistrySourceError';
}

interface Descriptor {
  mediaType?: string;
  digest: string;
  size: number;
  urls?: string[];
}

/** One manifest of the artifact's graph, as read (and verified) from the source. */
interface ManifestNode {
  digest: string;
  mediaType: string;
  bytes: Buffer;
  blobs: Descriptor[];
}

const sha256 = (bytes: Uint8Array) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

export class OciRegistrySync implements RegistrySync {
  private readonly timeoutMs: number;
  private readonly blobTimeoutMs: number;
  /** Authorization header per registry+repository+actions, reused across syncs until refused. */
  private readonly auth = new Map<string, string>();

  constructor(
    private readonly bindings: CredentialBinding[] = [],
    options: OciRegistrySyncOptions = {},
  ) {
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.blobTimeoutMs = options.blobTimeoutMs ?? 300_000;
  }

  async sync(input: {
    tenant: string;
    repository: string;
    digest: string;
    source: Registry;
    targets: Registry[];
    tags?: RegistryTag[];
  }): Promise<RegistrySyncResult[]> {
    const { tenant, repository, digest, source, targets } = input;
    const tags = input.tags ?? [];
    const bad = tags.find((t) => !TAG.test(t.name));
    if (bad) throw new RegistrySourceError(`invalid tag "${bad.name}"`);
    if (!REPOSITORY.test(repository)) throw new RegistrySourceError(`invalid repository name "${repository}"`);
    if (!DIGEST.test(digest)) throw new RegistrySourceError(`unsupported digest "${digest}" (expected sha256:<64 hex>)`);

    const src = this.client(tenant, source, repository, 'pull');
    let nodes: ManifestNode[];
    let attached: Attached[];
    try {
      nodes = await readGraph(src, digest);
      attached = await readAttached(src, digest);
    } catch (err) {
      if (err instanceof RegistrySourceError) throw err;
      throw new RegistrySourceError(err instanceof RegistryError ? err.message : `${src.label}: ${String(err)}`);
    }
    const clients = targets.map((t) => this.client(tenant, t, repository, 'pull,push'));
    // Copy and verify everywhere first; tags only when every registry holds the artifact, so a failed copy moves no tag.
    const copied = await Promise.all(clients.map((dst) => this.syncTarget(src, dst, nodes, digest, attached)));
    if (!tags.length || copied.some((r) => !r.ok)) return copied;
    const root = nodes[nodes.length - 1]!;
    const tagged = await Promise.all(clients.map((dst) => this.tagTarget(dst, root, digest, tags)));
    if (tagged.every((r) => r.ok)) return copied.map((r, i) => ({ ...r, tags: tagged[i]!.tags }));
    // A tag failed somewhere: mutable tags moved elsewhere go back to what they were (best effort), and the copy fails.
    await Promise.all(clients.map((dst, i) => this.revertTags(dst, tagged[i]!.moved)));
    return copied.map((r, i) => (tagged[i]!.ok ? { ...r, tags: [] } : { ...r, ok: false, tags: [], reason: tagged[i]!.reason }));
  }

  async attach(input: {
    tenant: string;
    repository: string;
    digest: string;
    targets: Registry[];
    artifactType: string;
    document: Record<string, unknown>;
  }): Promise<{ registry: string; digest: string | null; reason?: string }[]> {
    const { tenant, repository, digest, targets, artifactType, document } = input;
    if (!REPOSITORY.test(repository) || !DIGEST.test(digest)) throw new RegistrySourceError(`invalid repository or digest`);
    return Promise.all(
      targets.map(async (t) => {
        const dst = this.client(tenant, t, repository, 'pull,push');
        try {
          // The subject as the registry serves it (its media type and size go into the descriptor).
          const res = await dst.send('GET', `manifests/${digest}`, { headers: { accept: ACCEPT } });
          await dst.expect(res, [200], `GET manifest ${digest}`);
          const subjectBytes = await dst.read(res, MANIFEST_BYTES, `GET manifest ${digest}`);
          const subject = { mediaType: res.headers.get('content-type')?.split(';')[0]?.trim() || MEDIA_TYPES.ociManifest, digest, size: subjectBytes.length };
          const config = await pushBlob(dst, Buffer.from('{}'), 'application/vnd.oci.empty.v1+json');
          const layer = await pushBlob(dst, Buffer.from(JSON.stringify(document)), artifactType);
          const manifest = { schemaVersion: 2, mediaType: MEDIA_TYPES.ociManifest, artifactType, config, layers: [layer], subject };
          const bytes = Buffer.from(JSON.stringify(manifest));
          const referrer = sha256(bytes);
          await dst.putManifest({ digest: referrer, mediaType: MEDIA_TYPES.ociManifest, bytes });
          await addReferrers(dst, digest, [{ mediaType: MEDIA_TYPES.ociManifest, digest: referrer, size: bytes.length, artifactType }]);
          return { registry: t.name, digest: referrer };
        } catch (err) {
          return { registry: t.name, digest: null, reason: err instanceof RegistryError ? err.message : `${dst.label}: ${String(err)}` };
        }
      }),
    );
  }

  async verifySignature(input: {
    tenant: string;
    repository: string;
    digest: string;
    source: Registry;
    publicKey: string;
  }): Promise<{ ok: boolean; reason?: string; bundle?: string }> {
    const { tenant, repository, digest, source, publicKey } = input;
    if (!REPOSITORY.test(repository) || !DIGEST.test(digest)) return { ok: false, reason: 'invalid repository or digest' };
    const src = this.client(tenant, source, repository, 'pull');
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

  /** The tags in one registry: an immutable one is written once (another digest fails), a mutable one moves; each is read back. */
  private async tagTarget(
    dst: Client,
    root: ManifestNode,
    digest: string,
    tags: RegistryTag[],
  ): Promise<{ ok: boolean; tags: string[]; moved: { tag: string; from: string }[]; reason?: string }> {
    const written: string[] = [];
    const moved: { tag: string; from: string }[] = [];
    try {
      for (const tag of tags) {
        const before = await dst.tagDigest(tag.name);
        if (before && before !== digest && !tag.mutable)
          return { ok: false, tags: written, moved, reason: `${dst.label}: immutable tag ${tag.name} already points at ${before}; immutable tags never move` };
        if (before !== digest) {
          await dst.putManifest(root, tag.name);
          if (before) moved.push({ tag: tag.name, from: before });
        }
        const after = await dst.tagDigest(tag.name);
        if (after !== digest)
          return { ok: false, tags: written, moved, reason: `${dst.label}: tag ${tag.name} resolves to ${after ?? 'nothing'}, not ${digest}` };
        written.push(tag.name);
      }
      return { ok: true, tags: written, moved };
    } catch (err) {
      return { ok: false, tags: written, moved, reason: err instanceof RegistryError ? err.message : `${dst.label}: ${String(err)}` };
    }
  }

  private async revertTags(dst: Client, moved: { tag: string; from: string }[]): Promise<void> {
    for (const m of moved) {
      try {
        const res = await dst.send('GET', `manifests/${m.from}`, { headers: { accept: ACCEPT } });
        if (res.status !== 200) {
          await res.body?.cancel();
          continue;
        }
        const bytes = await dst.read(res, MANIFEST_BYTES, `GET manifest ${m.from}`);
        await dst.putManifest({ digest: m.from, mediaType: res.headers.get('content-type')?.split(';')[0]?.trim() ?? MEDIA_TYPES.ociManifest, bytes }, m.tag);
      } catch {
        /* best effort: the failure is reported by the sync */
      }
    }
  }

  private client(tenant: string, registry: Registry, repository: string, actions: 'pull' | 'pull,push') {
    let origin: string | null = null;
    try {
      origin = new URL(registry.url).origin;
    } catch {
      origin = null;
    }
    const binding = origin ? this.bindings.find((b) => b.tenant === tenant && b.origin === origin) : undefined;
    // The auth cache is keyed by tenant too: one tenant's token never serves another's request.
    return new Client(registry, repository, actions, binding, this.auth, this.timeoutMs, tenant);
  }

  private async syncTarget(src: Client, dst: Client, nodes: ManifestNode[], digest: string, attached: Attached[]): Promise<RegistrySyncResult> {
    let bytesCopied = 0;
    try {
      const done = new Set<string>();
      // Children before parents, blobs before their manifest: registries refuse
      // a manifest whose references they do not hold.
      const copy = async (graph: ManifestNode[]) => {
        for (const node of graph) {
          for (const blob of node.blobs) {
            if (done.has(blob.digest)) continue;
            done.add(blob.digest);
            if (!(await dst.hasBlob(blob.digest))) bytesCopied += await copyBlob(src, dst, blob, this.blobTimeoutMs);
          }
          await dst.putManifest(node);
        }
      };
      await copy(nodes);
      const root = nodes[nodes.length - 1]!;
      const served = await dst.servedDigest(root);
      if (!served.ok) return { registry: dst.registry.name, ok: false, digest: served.digest, bytesCopied, reason: served.reason };
      // What is attached to the artifact goes with it: signatures, attestations, SBOMs (referrers, and cosign's
      // legacy `sha256-<hex>.sig`/`.att` tags).
      for (const a of attached) {
        await copy(a.nodes);
        if (a.tag) await dst.putManifest(a.nodes[a.nodes.length - 1]!, a.tag);
      }
      const referrers = attached.flatMap((a) => (a.descriptor ? [a.descriptor] : []));
      if (referrers.length) await addReferrers(dst, digest, referrers);
      return {
        registry: dst.registry.name,
        ok: true,
        digest,
        bytesCopied,
        ...(attached.length ? { attached: attached.map((a) => a.descriptor?.digest ?? a.nodes[a.nodes.length - 1]!.digest) } : {}),
      };
    } catch (err) {
      const reason = err instanceof RegistryError ? err.message : `${dst.label}: ${String(err)}`;
      return { registry: dst.registry.name, ok: false, digest: null, bytesCopied, reason };
    }
  }
}

// ---------------------------------------------------------------- source graph

/** Reads the manifest at `digest` and (for an index) its children, post-order, each verified against its digest. */
async function readGraph(src: Client, digest: string, seen = new Set<string>()): Promise<ManifestNode[]> {
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

// ---------------------------------------------------------------- blobs

/** Streams one blob source → target (POST session, PATCH body, PUT ?digest=); returns bytes uploaded. */
async function copyBlob(src: Client, dst: Client, blob: Descriptor, timeoutMs: number): Promise<number> {
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

// ---------------------------------------------------------------- HTTP client

type Body = NonNullable<RequestInit['body']>;

interface SendInit {
  headers?: Record<string, string>;
  /** a factory so the request can be replayed after an auth challenge (streams are single-use) */
  body?: () => Body | Promise<Body>;
  timeoutMs?: number;
}

/** Distribution API calls for one repository on one registry, with Basic / Bearer-challenge auth. */
class Client {
  readonly label: string;
  private readonly base: string;
  private readonly authKey: string;

  constructor(
    readonly registry: Registry,
    readonly repository: string,
    private readonly actions: 'pull' | 'pull,push',
    private readonly credentials: (Credentials & { realmOrigins?: string[] }) | undefined,
    private readonly auth: Map<string, string>,
    private readonly timeoutMs: number,
    tenant = '',
  ) {
    this.base = registry.url.replace(/\/+$/, '');
    this.label = `registry "${registry.name}" (${this.base})`;
    this.authKey = `${tenant}|${this.base}|${repository}|${actions}`;
  }

  /** Upload Locations may be absolute or relative to the registry, but must stay on its origin (they carry our credentials). */
  resolve(location: string): string {
    try {
      return assertSameOrigin(location, `${this.base}/`);
    } catch (err) {
      throw new RegistryError(`${this.label}: ${(err as Error).message}`);
    }
  }

  /** `path` is relative to /v2/<repository>/ unless it is an absolute URL (an upload Location). */
  async send(method: string, path: string, init: SendInit = {}): Promise<Response> {
    const url = /^https?:\/\//.test(path) ? this.resolve(path) : `${this.base}/v2/${this.repository}/${path}`;
    for (let attempt = 0; ; attempt++) {
      const headers = new Headers(init.headers);
      const authorization = this.auth.get(this.authKey);
      if (authorization) headers.set('authorization', authorization);
      const body = init.body ? await init.body() : undefined;
      const timeout = init.timeoutMs ?? this.timeoutMs;
      let res: Response;
      try {
        res = (await guardedFetch(url, {
          method,
          headers: Object.fromEntries(headers),
          body: body as never,
          duplex: 'half',
          timeoutMs: timeout,
        })) as unknown as Response;
        // Registries may send blob downloads to storage on another host: followed (guarded) WITHOUT our credentials.
        for (
          let hops = 0;
          (method === 'GET' || method === 'HEAD') && res.status >= 301 && res.status <= 308 && res.headers.get('location') && hops < 3;
          hops++
        ) {
          const next = new URL(res.headers.get('location')!, url).href;
          await res.body?.cancel();
          res = (await guardedFetch(next, { method, timeoutMs: timeout })) as unknown as Response;
        }
      } catch (err) {
        throw this.failure(err, `${method} ${new URL(url).pathname}`, timeout);
      }
      if (res.status !== 401 || attempt > 0) return res;
      await res.body?.cancel();
      if (body instanceof ReadableStream) await body.cancel().catch(() => {});
      await this.authenticate(res.headers.get('www-authenticate'), authorization);
    }
  }

  /**
   * Throws a RegistryError unless the status is expected. The reason is ours, never the registry's
   * words: the status, and the registry's error code when it sent a well-formed one (MANIFEST_UNKNOWN).
   * At most ERROR_BODY_BYTES of its answer are read.
   */
  async expect(res: Response, statuses: number[], what: string): Promise<void> {
    if (statuses.includes(res.status)) return;
    let detail = '';
    try {
      const body = JSON.parse((await readBytesLimited(res, ERROR_BODY_BYTES)).toString('utf8')) as { errors?: { code?: unknown }[] };
      const code = body.errors?.[0]?.code;
      if (typeof code === 'string' && ERROR_CODE.test(code)) detail = ` (${code})`;
    } catch {
      // no error body we can read: the status says enough
      await res.body?.cancel().catch(() => {});
    }
    const status = res.status === 401 ? 'unauthorized (401)' : res.status === 403 ? 'forbidden (403)' : `HTTP ${res.status}`;
    throw new RegistryError(`${this.label}: ${what} failed: ${status}${detail}`);
  }

  /** A manifest, referrers list or signature bundle, read whole but bounded: a registry cannot make us buffer more. */
  async read(res: Response, max: number, what: string): Promise<Buffer> {
    try {
      return await readBytesLimited(res, max);
    } catch (err) {
      if (err instanceof OutboundRefused) throw new RegistryError(`${this.label}: ${what}: the answer is larger than ${max / 1024} KiB`);
      throw this.failure(err, what, this.timeoutMs);
    }
  }

  async hasBlob(digest: string): Promise<boolean> {
    const res = await this.send('HEAD', `blobs/${digest}`);
    if (res.status === 404) return false;
    await this.expect(res, [200], `HEAD blob ${digest}`);
    return true;
  }

  async startUpload(): Promise<string> {
    const res = await this.send('POST', 'blobs/uploads/', { headers: { 'content-length': '0' } });
    await this.expect(res, [202], 'start blob upload');
    await res.body?.cancel();
    const location = res.headers.get('location');
    if (!location) throw new RegistryError(`${this.label}: start blob upload returned no Location`);
    return this.resolve(location);
  }

  /** PUT the manifest by its digest, or under a tag (the same bytes). */
  async putManifest(node: { digest: string; mediaType: string; bytes: Buffer }, reference: string = node.digest): Promise<void> {
    const res = await this.send('PUT', `manifests/${reference}`, {
      headers: { 'content-type': node.mediaType },
      body: () => new Uint8Array(node.bytes),
    });
    await this.expect(res, [200, 201], `PUT manifest ${node.digest}`);
    await res.body?.cancel();
  }

  /** What a tag resolves to: the hash of the manifest served for it (null: no such tag). */
  async tagDigest(tag: string): Promise<string | null> {
    const res = await this.send('GET', `manifests/${tag}`, { headers: { accept: ACCEPT } });
    if (res.status === 404) {
      await res.body?.cancel();
      return null;
    }
    await this.expect(res, [200], `GET manifest ${tag}`);
    return sha256(await this.read(res, MANIFEST_BYTES, `GET manifest ${tag}`));
  }

  /** digest_match: GET the manifest by digest and hash what is served (the header alone could lie). */
  async servedDigest(node: { digest: string; mediaType: string }): Promise<{ ok: true } | { ok: false; digest: string | null; reason: string }> {
    const res = await this.send('GET', `manifests/${node.digest}`, { headers: { accept: `${node.mediaType}, ${ACCEPT}` } });
    await this.expect(res, [200], `verify manifest ${node.digest}`);
    const actual = sha256(await this.read(res, MANIFEST_BYTES, `verify manifest ${node.digest}`));
    const header = res.headers.get('docker-content-digest');
    if (actual === node.digest && (!header || header === node.digest)) return { ok: true };
    return {
      ok: false,
      digest: actual,
      reason: `${this.label}: digest mismatch: expected ${node.digest}, served manifest hashes to ${actual}${header ? ` (Docker-Content-Digest ${header})` : ''}`,
    };
  }

  /** Answers a 401 challenge: Basic with the configured credentials, or a Bearer token from the realm. */
  private async authenticate(challenge: string | null, refused: string | undefined): Promise<void> {
    this.auth.delete(this.authKey);
    const scheme = challenge?.trim().split(/\s+/)[0]?.toLowerCase();
    const params = Object.fromEntries([...(challenge ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1]!.toLowerCase(), m[2]!]));
    const basic = this.credentials && `Basic ${Buffer.from(`${this.credentials.username}:${this.credentials.password}`).toString('base64')}`;

    if (scheme === 'basic') {
      if (!basic) throw new RegistryError(`${this.label}: requires credentials and none are configured for "${this.registry.name}"`);
      if (refused === basic) throw new RegistryError(`${this.label}: credentials refused (401)`);
      this.auth.set(this.authKey, basic);
      return;
    }
    if (scheme === 'bearer' && params.realm) {
      const url = new URL(params.realm, `${this.base}/`);
      if (params.service) url.searchParams.set('service', params.service);
      // Ask for exactly what this client needs rather than the challenge's (per-request) scope: one token per sync.
      url.searchParams.set('scope', `repository:${this.repository}:${this.actions}`);
      // A challenge names the realm: our credentials go there only if it is the registry's own origin or listed for it.
      const realmTrusted = url.origin === new URL(this.base).origin || (this.credentials?.realmOrigins ?? []).includes(url.origin);
      const send = realmTrusted ? basic : undefined;
      let res: Response;
      try {
        res = (await guardedFetch(url, { headers: send ? { authorization: send } : {}, timeoutMs: this.timeoutMs })) as unknown as Response;
      } catch (err) {
        throw this.failure(err, `token from ${url.origin}${url.pathname}`, this.timeoutMs);
      }
      if (!res.ok) {
        await res.body?.cancel();
        throw new RegistryError(
          `${this.label}: token realm ${url.origin}${url.pathname} refused${send ? ' the credentials' : ' anonymous access'} (HTTP ${res.status})`,
        );
      }
      let body: { token?: unknown; access_token?: unknown } = {};
      try {
        body = JSON.parse((await readBytesLimited(res, TOKEN_BODY_BYTES)).toString('utf8')) as typeof body;
      } catch {
        await res.body?.cancel().catch(() => {});
      }
      const token = typeof body.token === 'string' ? body.token : typeof body.access_token === 'string' ? body.access_token : undefined;
      if (token !== undefined && !/^[\x21-\x7e]{1,16384}$/.test(token))
        throw new RegistryError(`${this.label}: token realm ${url.origin}${url.pathname} returned a malformed token`);
      if (!token) throw new RegistryError(`${this.label}: token realm ${url.origin}${url.pathname} returned no token`);
      if (refused === `Bearer ${token}`) throw new RegistryError(`${this.label}: token refused (401)`);
      this.auth.set(this.authKey, `Bearer ${token}`);
      return;
    }
    throw new RegistryError(`${this.label}: unauthorized (401) with an unsupported challenge "${challenge ?? ''}"`);
  }

  /** One line, no stack: time-out, connection error code, or a RegistryError raised inside a request body. */
  private failure(err: unknown, what: string, timeoutMs: number): RegistryError {
    for (let e: unknown = err; e; e = (e as { cause?: unknown }).cause) {
      if (e instanceof RegistryError) return e;
      if (e instanceof OutboundRefused) return new RegistryError(`${this.label}: refused: ${e.message}`);
    }
    const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
    if (e?.name === 'TimeoutError' || e?.name === 'AbortError') return new RegistryError(`${this.label}: ${what} timed out after ${timeoutMs} ms`);
    const why = e?.cause?.code ?? e?.cause?.message ?? e?.message ?? String(err);
    return new RegistryError(`${this.label}: unreachable: ${what}: ${why}`);
  }
}

// ---------------------------------------------------------------- helpers for tests and the bench

/** Uploads a buffered blob (POST session, monolithic PUT) unless the registry already has it; returns its descriptor. */
async function pushBlob(client: Client, bytes: Buffer, mediaType: string): Promise<Descriptor> {
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

/** PUTs a manifest document (by digest) and returns its digest. */
/** Something attached to an artifact: a referrer (listed in the referrers index) or a cosign legacy tag. */
interface Attached {
  nodes: ManifestNode[];
  descriptor?: Descriptor & { artifactType?: string };
  tag?: string;
}

/** Cosign's tags for a digest before OCI 1.1 referrers: the signature and the attestations. */
const LEGACY_SUFFIXES = ['sig', 'att'];

/** What is attached to `digest` in the source, each graph read and verified like the artifact itself. */
async function readAttached(src: Client, digest: string): Promise<Attached[]> {
  const out: Attached[] = [];
  for (const r of await listReferrers(src, digest)) {
    if (!DIGEST.test(r.digest)) continue;
    out.push({
      nodes: await readGraph(src, r.digest),
      descriptor: { mediaType: r.mediaType, digest: r.digest, size: r.size, ...(r.artifactType ? { artifactType: r.artifactType } : {}) },
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
async function listReferrers(c: Client, digest: string): Promise<(Descriptor & { artifactType?: string })[]> {
  const res = await c.send('GET', `manifests/sha256-${digest.slice(7)}`, { headers: { accept: MEDIA_TYPES.ociIndex } });
  if (res.status !== 200) {
    await res.body?.cancel();
    return [];
  }
  return (JSON.parse((await c.read(res, MANIFEST_BYTES, `GET referrers of ${digest}`)).toString('utf8')) as { manifests?: Descriptor[] }).manifests ?? [];
}

/** Adds referrers to the digest's `sha256-<hex>` index, keeping what is listed there. */
async function addReferrers(c: Client, digest: string, referrers: (Descriptor & { artifactType?: string })[]): Promise<void> {
  const listed = await listReferrers(c, digest);
  const adding = new Set(referrers.map((r) => r.digest));
  const index = { schemaVersion: 2, mediaType: MEDIA_TYPES.ociIndex, manifests: [...listed.filter((m) => !adding.has(m.digest)), ...referrers] };
  const bytes = Buffer.from(JSON.stringify(index));
  await c.putManifest({ digest: sha256(bytes), mediaType: MEDIA_TYPES.ociIndex, bytes }, `sha256-${digest.slice(7)}`);
}

export async function putManifest(
  registry: Registry,
  repository: string,
  manifest: { mediaType: string } & Record<string, unknown>,
  credentials?: Credentials,
): Promise<string> {
  const bytes = Buffer.from(JSON.stringify(manifest));
  const digest = sha256(bytes);
  const client = new Client(registry, repository, 'pull,push', credentials, new Map(), 30_000);
  await client.putManifest({ digest, mediaType: manifest.mediaType, bytes });
  return digest;
}

/** Pushes a synthetic OCI image (config + layers) and returns its manifest digest. */
export async function pushImage(
  registry: Registry,
  repository: string,
  image: { configBytes: Buffer; layers: Buffer[] },
  credentials?: Credentials,
): Promise<string> {
  const client = new Client(registry, repository, 'pull,push', credentials, new Map(), 30_000);
  const config = await pushBlob(client, image.configBytes, 'application/vnd.oci.image.config.v1+json');
  const layers: Descriptor[] = [];
  for (const layer of image.layers) layers.push(await pushBlob(client, layer, 'application/vnd.oci.image.layer.v1.tar+gzip'));
  return putManifest(registry, repository, { schemaVersion: 2, mediaType: MEDIA_TYPES.ociManifest, config, layers }, credentials);
}
