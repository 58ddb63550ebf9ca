import type { Registry, RegistrySync, RegistrySyncResult, RegistryTag } from '#domain/artifacts/ports';
import { bindingFor, Client, type CredentialBinding, type RefreshingCredentials } from './client.ts';
import { ACCEPT, DIGEST, MANIFEST_BYTES, MEDIA_TYPES, REPOSITORY, RegistryError, RegistrySourceError } from './distribution.ts';
import { graphCopier, readGraph, type ManifestNode } from './graph.ts';
import { addReferrers, attachDocument, readAttached, type Attached, type ReferrerAnnotations } from './referrers.ts';
import { verifyCosignSignature } from './signature.ts';

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
 *
 * This module is the RegistrySync port (the copy, the tags, digest_match); the
 * rest of functions/adapters/oci/ is one concept a module: client.ts (the
 * Distribution API client and its auth), graph.ts (reading and copying a
 * manifest graph), referrers.ts (what is attached to an artifact),
 * signature.ts (signature_match) and distribution.ts (the shared vocabulary).
 */

export interface OciRegistrySyncOptions {
  /** per request (manifests, HEADs, upload sessions); default 30 s */
  timeoutMs?: number;
  /** per blob transfer (source GET and target upload, whole body); default 5 min */
  blobTimeoutMs?: number;
  /** the credentials of a binding with `"ecr": true` (functions/adapters/ecr-tokens.ts EcrTokens): none, such a binding is refused */
  ecr?: { forOrigin(origin: string): RefreshingCredentials };
}

/** OCI distribution tag grammar. */
const TAG = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;

export class OciRegistrySync implements RegistrySync {
  private readonly timeoutMs: number;
  private readonly blobTimeoutMs: number;
  private readonly ecr: OciRegistrySyncOptions['ecr'];
  /** Authorization header per registry+repository+actions, reused across syncs until refused. */
  private readonly auth = new Map<string, string>();

  constructor(
    private readonly bindings: CredentialBinding[] = [],
    options: OciRegistrySyncOptions = {},
  ) {
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.blobTimeoutMs = options.blobTimeoutMs ?? 300_000;
    this.ecr = options.ecr;
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
      throw new RegistrySourceError(err instanceof RegistryError ? err.message : `${src.label}: ${String(err)}`, err instanceof RegistryError && err.transient);
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
    return copied.map((r, i) =>
      tagged[i]!.ok ? { ...r, tags: [] } : { ...r, ok: false, tags: [], reason: tagged[i]!.reason, ...(tagged[i]!.transient ? { transient: true } : {}) },
    );
  }

  async attach(input: {
    tenant: string;
    repository: string;
    digest: string;
    targets: Registry[];
    artifactType: string;
    document: Record<string, unknown>;
    annotations?: ReferrerAnnotations;
  }): Promise<{ registry: string; digest: string | null; reason?: string }[]> {
    const { tenant, repository, digest, targets, artifactType, document, annotations } = input;
    if (!REPOSITORY.test(repository) || !DIGEST.test(digest)) throw new RegistrySourceError(`invalid repository or digest`);
    return Promise.all(
      targets.map(async (t) => {
        const dst = this.client(tenant, t, repository, 'pull,push');
        try {
          return { registry: t.name, digest: await attachDocument(dst, digest, artifactType, document, annotations) };
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
    return verifyCosignSignature(src, digest, publicKey);
  }

  /** The tags in one registry: an immutable one is written once (another digest fails), a mutable one moves; each is read back. */
  private async tagTarget(
    dst: Client,
    root: ManifestNode,
    digest: string,
    tags: RegistryTag[],
  ): Promise<{ ok: boolean; tags: string[]; moved: { tag: string; from: string }[]; reason?: string; transient?: boolean }> {
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
      return {
        ok: false,
        tags: written,
        moved,
        reason: err instanceof RegistryError ? err.message : `${dst.label}: ${String(err)}`,
        ...(err instanceof RegistryError && err.transient ? { transient: true } : {}),
      };
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
    // The auth cache is keyed by tenant too: one tenant's token never serves another's request.
    const binding = bindingFor(this.bindings, tenant, registry);
    if (binding && 'ecr' in binding) {
      // An ECR registry's credentials expire: tokens from its token API (never a static copy of one).
      if (!this.ecr) throw new RegistryError(`registry "${registry.name}": its credentials are ECR tokens and this deployment cannot ask for them`);
      return new Client(registry, repository, actions, this.ecr.forOrigin(binding.origin), this.auth, this.timeoutMs, tenant);
    }
    return new Client(registry, repository, actions, binding, this.auth, this.timeoutMs, tenant);
  }

  private async syncTarget(src: Client, dst: Client, nodes: ManifestNode[], digest: string, attached: Attached[]): Promise<RegistrySyncResult> {
    let bytesCopied = 0;
    const copy = graphCopier(src, dst, this.blobTimeoutMs, (n) => (bytesCopied += n));
    try {
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
      return {
        registry: dst.registry.name,
        ok: false,
        digest: null,
        bytesCopied,
        reason,
        ...(err instanceof RegistryError && err.transient ? { transient: true } : {}),
      };
    }
  }
}
