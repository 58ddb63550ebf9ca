import type { AuditEntry, Page } from '../kernel/model.ts';
import type { ArtifactPointer, ArtifactVersion, Bundle, Deployment } from '../kernel/promotion-model.ts';
import type { Consumer, RepoLink, ScrapeToken, Tag } from './model.ts';

/** Artifacts: published versions, what each environment runs (pointers), tags, consumers, registry links. */
export type ArtifactOp =
  | { kind: 'tag'; tag: Tag }
  | { kind: 'consumer'; consumer: Consumer }
  | { kind: 'pointer'; pointer: ArtifactPointer; expectedVersion: number | null }
  | { kind: 'artifactVersion'; artifact: ArtifactVersion }
  /** a release bundle, written once (its digest is its content) */
  | { kind: 'bundle'; bundle: Bundle };

export interface ArtifactStorePort {
  getArtifactVersion(tenant: string, name: string, version: string): Promise<ArtifactVersion | null>;
  listArtifactVersions(tenant: string, name: string): Promise<ArtifactVersion[]>;
  getPointer(tenant: string, env: string, name: string): Promise<ArtifactPointer | null>;
  listPointers(tenant: string, env: string): Promise<ArtifactPointer[]>;
  getBundle(tenant: string, name: string, digest: string): Promise<Bundle | null>;
  /** every bundle of the tenant, or those of one name (at most a few hundred: bundles are made by people and pipelines, not per request) */
  listBundles(tenant: string, name?: string): Promise<Bundle[]>;
  getTag(tenant: string, artifact: string, env: string, kind: Tag['kind'], version: string): Promise<Tag | null>;
  /** Every tag of an artifact in an environment (release, rollback and latest). */
  listTags(tenant: string, artifact: string, env: string): Promise<Tag[]>;
  listConsumers(tenant: string, artifact: string): Promise<Consumer[]>;
  /** Registry links of an artifact (domain/artifacts/discovery.ts), written with their audit entry. */
  putRepoLink(link: RepoLink, audit: AuditEntry): Promise<void>;
  deleteRepoLink(link: RepoLink, audit: AuditEntry): Promise<void>;
  listRepoLinks(tenant: string, artifact: string): Promise<RepoLink[]>;
  getRepoLink(tenant: string, artifact: string, id: string): Promise<RepoLink | null>;
  /** Every link to this registry repository, across tenants (the ECR event handler only). */
  repoLinksOf(registry: string, repository: string): Promise<RepoLink[]>;
  /** the artifacts of a tenant with registry links (a link made before this index is found through its artifact's pointer) */
  linkedArtifacts(tenant: string): Promise<string[]>;
}

/** Deployments: history, the current one per environment, daily metrics, first sightings of image tags. */
export type DeploymentOp = { kind: 'deployment'; deployment: Deployment; metrics?: MetricDelta | null } | { kind: 'metrics'; delta: MetricDelta };

export interface DeploymentStorePort {
  getDeployment(tenant: string, env: string, deployedAt: string, id: string): Promise<Deployment | null>;
  /** A deployment by its id alone (source_deployment_id). */
  findDeployment(tenant: string, id: string): Promise<Deployment | null>;
  /** Newest first, O(limit) whatever the history size; with `target`, only the records naming that target. */
  listDeployments(tenant: string, env: string, limit: number, cursor?: string, target?: string): Promise<Page<Deployment>>;
  /** The environment's daily counters, or with `target` that target's. */
  getMetrics(tenant: string, env: string, fromDay: string, toDay: string, target?: string): Promise<{ day: string; counters: Record<string, number> }[]>;
  /** Remembers when an image tag was first deployed anywhere (first write wins). */
  markFirstSeen(tenant: string, imageTag: string, at: string): Promise<void>;
  firstSeen(tenant: string, imageTag: string): Promise<string | null>;
  /** The current image tag reference of an environment (only moves forward in time). */
  putCurrent(tenant: string, dep: Deployment): Promise<void>;
  getCurrent(tenant: string, env: string): Promise<Deployment | null>;
  /** The tenant's metrics scrape token (hashes only): created at `expectedVersion` null, else replaced at that version, audited. */
  putScrapeToken(token: ScrapeToken, expectedVersion: number | null, audit: AuditEntry): Promise<void>;
  getScrapeToken(tenant: string): Promise<ScrapeToken | null>;
}

export type RepoLinkOp = { kind: 'repoLink'; link: RepoLink; replace: boolean } | { kind: 'deleteRepoLink'; link: RepoLink };

/** Counters added to an environment's day of metrics (merged per environment and day within a commit). */
export interface MetricDelta {
  environment: string;
  /** a target's counters (a record naming the target) instead of the environment's */
  target?: string;
  /** yyyy-mm-dd (UTC) */
  day: string;
  add: Record<string, number>;
}

/** An OCI registry an environment's artifacts live in. Credentials come from configuration, bound to (tenant, origin), never from a request. */
export interface Registry {
  name: string;
  /** base URL, e.g. https://harbor-us-east.example.com */
  url: string;
}

export interface RegistrySyncResult {
  registry: string;
  ok: boolean;
  /** the digest the registry serves after the copy (digest_match verification) */
  digest: string | null;
  bytesCopied: number;
  /** the tags written in this registry, each verified to resolve to the digest */
  tags?: string[];
  /** what was copied along with the artifact: its referrers (signatures, attestations, SBOMs) and cosign's legacy .sig/.att */
  attached?: string[];
  reason?: string;
  /** the failure is the registry's for a moment (a 5xx, 429, time-out or dropped connection after retries): the same sync may succeed later */
  transient?: boolean;
}

/** A tag to write in every target registry (`<version>-<env>` immutable, `latest-<env>` mutable). */
export interface RegistryTag {
  name: string;
  /** an immutable tag that already points elsewhere fails the copy; a mutable one moves */
  mutable: boolean;
}

/** Copies an artifact's manifest (and its blobs) by digest between OCI registries and verifies the digest. */
export interface RegistrySync {
  /**
   * Credentials are looked up by (tenant, registry origin), never by the registry's name. A source that cannot
   * provide the artifact throws; the error's `transient: true` says the source failed for a moment.
   */
  sync(input: {
    tenant: string;
    repository: string;
    digest: string;
    source: Registry;
    targets: Registry[];
    tags?: RegistryTag[];
  }): Promise<RegistrySyncResult[]>;
  /**
   * Attaches a JSON document to the artifact in each registry as an OCI referrer (a manifest whose
   * `subject` is the digest; found through the referrers API or the `sha256-<hex>` tag). Per registry:
   * the referrer's digest, or why it failed. The document is the referrer's one layer (media type
   * `artifactType`); `annotations` go on its manifest (and its entry in the referrers index) and on the layer.
   * The same input makes the same referrer: attaching it again is harmless.
   */
  attach(input: {
    tenant: string;
    repository: string;
    digest: string;
    targets: Registry[];
    artifactType: string;
    document: Record<string, unknown>;
    annotations?: { manifest?: Record<string, string>; layer?: Record<string, string> };
  }): Promise<{ registry: string; digest: string | null; reason?: string }[]>;
  /**
   * signature_match: finds the artifact's Sigstore bundle (an OCI referrer in the source registry) and verifies it
   * against `publicKey` over the artifact's manifest (`sync` then copies it with the artifact). Fails closed:
   * `ok: false` with why.
   */
  verifySignature(input: {
    tenant: string;
    repository: string;
    digest: string;
    source: Registry;
    publicKey: string;
  }): Promise<{ ok: boolean; reason?: string; bundle?: string }>;
}

/** The artifacts context's part of what a use case is given (domain/kernel/deps.ts): versions, deployments and repository links in the store; the registries. */
declare module '../kernel/deps.ts' {
  interface Store extends ArtifactStorePort, DeploymentStorePort {}
  interface WriteOps {
    artifact: ArtifactOp;
    deployment: DeploymentOp;
    repoLink: RepoLinkOp;
  }
  interface Ports {
    registry: RegistrySync;
  }
}
