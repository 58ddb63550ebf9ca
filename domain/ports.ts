import type { AuditQuery } from './kernel/schemas.ts';
import type {
  AnchorPublicKey,
  AuditEntry,
  ChainHead,
  ChainLink,
  Checkpoint,
  Environment,
  ItemKind,
  Page,
  SignedRoot,
  SignedStatement,
  Snapshot,
} from './kernel/model.ts';
import type { StoredEntry } from './audit/audit.ts';
import type { NotificationSettings } from './notify/settings.ts';
import type { SlackLink, SlackLinkCode } from './notify/slack-identity.ts';
import type { NodeSource, TreeNode } from './config/tree.ts';
import type { Approval, ArtifactPointer, ArtifactVersion, Deployment, Evidence, Promotion, Rule } from './kernel/promotion-model.ts';
import type { WebhookGate, WebhookOutcome } from './promotion/gates.ts';
import type { Consumer, Tag } from './artifacts/artifacts.ts';
import type { FreezeWindow } from './freeze/windows.ts';
import type { AppKey } from './access/app-keys.ts';
import type { WebhookDeps, WebhookRepo } from './webhooks/ports.ts';
import type { GitTargetRepo, GitWriter } from './gitops/ports.ts';
import type { TenantRepo } from './access/ports.ts';

export type IdempotencyClaim = { state: 'new' } | { state: 'replay'; statusCode: number; body: string } | { state: 'in-progress' } | { state: 'mismatch' };

// ---- the store port, one interface per area of the table (functions/adapters/store/<area>.ts
// implements each; functions/adapters/dynamo-store.ts composes them). Each area also names the
// write ops (`kind`) it turns into items of a commit; WriteOp is their union.

/** Environments: the head each points at, its position and monitors; config item ids; the last applied manifest. */
export type EnvironmentOp =
  /** `previousMonitors`: given when the monitors may change, so their index items move with them */
  | { kind: 'environment'; env: Environment; expectedVersion: number; previousMonitors?: string[] }
  /** the last applied manifest's digest: two applies of the same plan never interleave (domain/manifest) */
  | { kind: 'manifestHead'; digest: string; previous: string | null };

export interface EnvironmentStorePort {
  /** `consistent: false`: an eventually consistent read (half the read capacity; app polls, which state a staleness bound) */
  getEnvironment(tenant: string, name: string, opts?: { consistent?: boolean }): Promise<Environment | null>;
  listEnvironments(tenant: string): Promise<Environment[]>;
  createEnvironment(env: Environment, snapshot: Snapshot, audit: AuditEntry): Promise<void>;
  updateEnvironment(env: Environment, previous: Environment, audit: AuditEntry): Promise<void>;
  deleteEnvironment(previous: Environment, audit: AuditEntry): Promise<void>;
  /** Item ids are derived from kind+key; this index maps them back. */
  putItemIds(tenant: string, refs: { id: string; kind: ItemKind; key: string }[]): Promise<void>;
  getItemId(tenant: string, id: string): Promise<{ kind: ItemKind; key: string } | null>;
  /** Every (tenant, environment) listing this alarm ARN as a monitor (an index written with the environment). */
  monitorWatchers(arn: string): Promise<{ tenant: string; environment: string }[]>;
  /** The digest of the last applied manifest (null: never applied). */
  manifestHead(tenant: string): Promise<string | null>;
}

/** Snapshots of an environment's configuration and the content-addressed trie nodes they point at. */
export type SnapshotOp = { kind: 'snapshot'; snapshot: Snapshot };

export interface SnapshotStorePort {
  nodes(tenant: string): NodeSource;
  putNodes(tenant: string, nodes: Map<string, TreeNode>): Promise<void>;
  /** Moves the environment head to a new snapshot (one conditional write on the environment), with the outbox events of the change. */
  commitSnapshot(env: Environment, previous: Environment, snapshot: Snapshot, audit: AuditEntry, events?: DomainEvent[]): Promise<void>;
  getSnapshot(tenant: string, environment: string, seq: number): Promise<Snapshot | null>;
  listSnapshots(tenant: string, environment: string, limit: number, cursor?: string): Promise<Page<Snapshot>>;
}

/** Promotions with their gate results, approvals and evidence; the per-environment execution lease. */
export type PromotionOp =
  /** `gatesChanged`: the gate results are stored apart from the promotion, written only when they change */
  | { kind: 'promotion'; promotion: Promotion; expectedVersion: number | null; gatesChanged?: boolean }
  | { kind: 'approval'; promotionId: string; approval: Approval }
  | { kind: 'evidence'; owner: string; evidence: Evidence };

export interface PromotionStorePort {
  getPromotion(tenant: string, id: string): Promise<Promotion | null>;
  listPromotions(tenant: string, filter: PromotionFilter, limit: number, cursor?: string): Promise<Page<Promotion>>;
  /** Promotions into a target that have not reached a final state. */
  activePromotions(tenant: string, target: string): Promise<Promotion[]>;
  listApprovals(tenant: string, promotionId: string): Promise<Approval[]>;
  listEvidence(tenant: string, owners: string[]): Promise<Evidence[]>;
  /** A lease on an environment: one promotion executes into it at a time. */
  acquireLock(tenant: string, env: string, holder: string, now: Date, ttlSeconds: number): Promise<boolean>;
  releaseLock(tenant: string, env: string, holder: string): Promise<void>;
}

/** What promotions are decided by: promotion rules (one per source → target pair) and freeze windows. */
export type PolicyOp =
  | { kind: 'rule'; rule: Rule; expectedVersion: number | null }
  | { kind: 'deleteRule'; id: string; expectedVersion: number }
  /** one rule per source → target pair: claimed with the rule, released when it goes or moves */
  | { kind: 'rulePair'; source: string; target: string; ruleId: string; claim: boolean }
  /** a freeze window (domain/freeze/windows.ts): added or removed with its audit entry */
  | { kind: 'freezeWindow'; window: FreezeWindow }
  | { kind: 'deleteFreezeWindow'; id: string };

export interface PolicyStorePort {
  getRule(tenant: string, id: string): Promise<Rule | null>;
  listRules(tenant: string): Promise<Rule[]>;
  /** Every freeze window of a tenant (few: one query). */
  listFreezeWindows(tenant: string): Promise<FreezeWindow[]>;
}

/** Artifacts: published versions, what each environment runs (pointers), tags, consumers, registry links. */
export type ArtifactOp =
  | { kind: 'tag'; tag: Tag }
  | { kind: 'consumer'; consumer: Consumer }
  | { kind: 'pointer'; pointer: ArtifactPointer; expectedVersion: number | null }
  | { kind: 'artifactVersion'; artifact: ArtifactVersion };

export interface ArtifactStorePort {
  getArtifactVersion(tenant: string, name: string, version: string): Promise<ArtifactVersion | null>;
  listArtifactVersions(tenant: string, name: string): Promise<ArtifactVersion[]>;
  getPointer(tenant: string, env: string, name: string): Promise<ArtifactPointer | null>;
  listPointers(tenant: string, env: string): Promise<ArtifactPointer[]>;
  getTag(tenant: string, artifact: string, env: string, kind: Tag['kind'], version: string): Promise<Tag | null>;
  /** Every tag of an artifact in an environment (release, rollback and latest). */
  listTags(tenant: string, artifact: string, env: string): Promise<Tag[]>;
  listConsumers(tenant: string, artifact: string): Promise<Consumer[]>;
  /** Registry links of an artifact (domain/artifacts/discovery.ts), written with their audit entry. */
  putRepoLink(link: import('./artifacts/discovery.ts').RepoLink, audit: AuditEntry): Promise<void>;
  deleteRepoLink(link: import('./artifacts/discovery.ts').RepoLink, audit: AuditEntry): Promise<void>;
  listRepoLinks(tenant: string, artifact: string): Promise<import('./artifacts/discovery.ts').RepoLink[]>;
  getRepoLink(tenant: string, artifact: string, id: string): Promise<import('./artifacts/discovery.ts').RepoLink | null>;
  /** Every link to this registry repository, across tenants (the ECR event handler only). */
  repoLinksOf(registry: string, repository: string): Promise<import('./artifacts/discovery.ts').RepoLink[]>;
  /** the artifacts of a tenant with registry links (a link made before this index is found through its artifact's pointer) */
  linkedArtifacts(tenant: string): Promise<string[]>;
}

/** Deployments: history, the current one per environment, daily metrics, first sightings of image tags. */
export type DeploymentOp = { kind: 'deployment'; deployment: Deployment; metrics?: MetricDelta | null } | { kind: 'metrics'; delta: MetricDelta };

export interface DeploymentStorePort {
  getDeployment(tenant: string, env: string, deployedAt: string, id: string): Promise<Deployment | null>;
  /** A deployment by its id alone (source_deployment_id). */
  findDeployment(tenant: string, id: string): Promise<Deployment | null>;
  /** Newest first, O(limit) whatever the history size. */
  listDeployments(tenant: string, env: string, limit: number, cursor?: string): Promise<Page<Deployment>>;
  getMetrics(tenant: string, env: string, fromDay: string, toDay: string): Promise<{ day: string; counters: Record<string, number> }[]>;
  /** Remembers when an image tag was first deployed anywhere (first write wins). */
  markFirstSeen(tenant: string, imageTag: string, at: string): Promise<void>;
  firstSeen(tenant: string, imageTag: string): Promise<string | null>;
  /** The current image tag reference of an environment (only moves forward in time). */
  putCurrent(tenant: string, dep: Deployment): Promise<void>;
  getCurrent(tenant: string, env: string): Promise<Deployment | null>;
}

/** The audit trail: entries (every commit writes one) and the hash chain the stream consumer links them into. */
export type AuditOp = { kind: 'audit'; entry: AuditEntry };

export interface AuditStorePort {
  queryAudit(tenant: string, query: AuditQuery): Promise<Page<AuditEntry>>;
  // ---- the audit chain (written by the stream consumer alone, see domain/audit/audit.ts)
  /** Links in sequence order, a page at a time (from link `fromSeq` on, when given). */
  readChainLinks(tenant: string, limit: number, cursor?: string, fromSeq?: number): Promise<Page<ChainLink>>;
  /** Entries by reference, each with a check of its index attributes against its content. */
  getAuditEntries(tenant: string, refs: string[]): Promise<Map<string, StoredEntry>>;
  /** References of every entry, in time order, a page at a time. */
  auditRefs(tenant: string, limit: number, cursor?: string): Promise<Page<string>>;
  /** The head, with the links of its append (`pending`) that may not be in the table yet. */
  chainHead(tenant: string): Promise<ChainHead | null>;
  /**
   * In one read: which of these entries are linked already (their marker is written), and which of
   * the head's pending links are not fully written yet (the link or its marker missing).
   */
  linkState(tenant: string, refs: string[], pending?: ChainLink[]): Promise<{ linked: Set<string>; unwritten: ChainLink[] }>;
  /** Writes links and their markers (plain puts: writing a link again writes the same content). */
  writeLinks(tenant: string, links: ChainLink[]): Promise<void>;
  /**
   * Moves the head, carrying the new links as pending, conditioned on the head read (WriteConflict
   * 'chain' otherwise); then writes the links and their markers.
   */
  appendLinks(tenant: string, previous: ChainHead | null, next: ChainHead, links: ChainLink[]): Promise<void>;
  /**
   * The anchor's durable to-do list, outside any tenant (the stream consumer alone touches it): a chain
   * the consumer linked and left for the interval's end is marked (once per chain and interval; a
   * newer mark never gives way to an older one), so a tick anchors it even when the consumer that
   * linked it is frozen or gone (domain/audit/log.ts anchorLeftTails).
   */
  markUnanchored(tenant: string, seq: number, at: string): Promise<void>;
  /** The marks, oldest chains first is not promised: at most `limit`. */
  unanchored(limit: number): Promise<UnanchoredMark[]>;
  /** Removes the mark once a signed checkpoint covers link `seq` (a newer mark stays). */
  clearUnanchored(tenant: string, seq: number): Promise<void>;
}

/** A chain left for the next anchor: its tenant, the link it had reached, and since when. */
export interface UnanchoredMark {
  tenant: string;
  seq: number;
  at: string;
}

/** The outbox: an event committed with the change, relayed to the bus by the stream consumer (it rides on the commit's fact item when there is one). */
export type OutboxOp = { kind: 'event'; event: DomainEvent };

/** Notifications (secrets sealed at rest like webhook gate secrets): settings, review links, Slack identities, deliveries. */
export type NotificationOp =
  /** notification settings of a scope (secrets sealed by the store) */
  { kind: 'notifySettings'; settings: NotificationSettings; expectedVersion: number | null };

export interface NotificationStorePort {
  getNotificationSettings(tenant: string, scope: string): Promise<NotificationSettings | null>;
  putNotificationSettings(settings: NotificationSettings, expectedVersion: number | null, audit: AuditEntry): Promise<void>;
  /** Every notification settings item of a tenant (the tenant's and each environment's). */
  listNotificationSettings(tenant: string): Promise<NotificationSettings[]>;
  putReviewLink(link: ReviewLink): Promise<void>;
  getReviewLink(tenant: string, hash: string): Promise<ReviewLink | null>;
  /** Marks a link used (single use): false if it was used already. */
  useReviewLink(tenant: string, hash: string, at: string, action: string): Promise<boolean>;
  recordDelivery(tenant: string, promotionId: string, delivery: Delivery): Promise<void>;
  listDeliveries(tenant: string, promotionId: string): Promise<Delivery[]>;

  // ---- Slack identities (domain/notify/slack-identity.ts): codes people get signed in, links they make from Slack
  putSlackLinkCode(code: SlackLinkCode): Promise<void>;
  getSlackLinkCode(tenant: string, hash: string): Promise<SlackLinkCode | null>;
  getSlackLink(tenant: string, teamId: string, userId: string): Promise<SlackLink | null>;
  listSlackLinks(tenant: string): Promise<SlackLink[]>;
  /**
   * In one transaction: spends the code (WriteConflict 'version' when it was spent already), writes the link
   * (over `previous` only if it is still that link, else WriteConflict 'exists') and the audit entry.
   */
  linkSlack(code: { tenant: string; hash: string; usedAt: string }, link: SlackLink, previous: SlackLink | null, audit: AuditEntry): Promise<void>;
  /** Removes the link if it is still this one (WriteConflict 'version' otherwise), with the audit entry. */
  unlinkSlack(link: SlackLink, audit: AuditEntry): Promise<void>;
}

/**
 * Idempotency records (per tenant and key): claim before running a request, complete with the
 * response, release if it failed with a 5xx; and once-only claims of background work.
 */
export interface IdempotencyStorePort {
  /** `leaseSeconds`: how long an IN_PROGRESS claim holds (the function's timeout); after it a crashed request's key is free again. */
  claimIdempotency(tenant: string, key: string, requestHash: string, now: Date, ttlSeconds: number, leaseSeconds: number): Promise<IdempotencyClaim>;
  completeIdempotency(tenant: string, key: string, requestHash: string, response: { statusCode: number; body: string }): Promise<void>;
  releaseIdempotency(tenant: string, key: string): Promise<void>;
  /** At-least-once delivery, once-only effect: true the first time (tenant, scope, id) is claimed. */
  claimOnce(tenant: string, scope: string, id: string, ttlSeconds: number): Promise<boolean>;
  /** Gives a claim back (the work failed and should run again on redelivery). */
  releaseOnce(tenant: string, scope: string, id: string): Promise<void>;
}

/** App keys (domain/access/app-keys.ts): the record holds hashes only. */
export interface AppKeyStorePort {
  /** Creates (expectedVersion null) or changes a key, with its audit entry, in one transaction. */
  putAppKey(key: AppKey, expectedVersion: number | null, audit: AuditEntry): Promise<void>;
  getAppKey(tenant: string, id: string): Promise<AppKey | null>;
  listAppKeys(tenant: string): Promise<AppKey[]>;
  /** One consistent read request for both: an app key's record (when `keyId` is given) and the environment it reads. */
  appKeyAndEnvironment(tenant: string, keyId: string | null, env: string): Promise<{ key: AppKey | null; env: Environment | null }>;
  /** Writes the key's last-used time (never moves it back). */
  touchAppKey(tenant: string, id: string, at: string): Promise<void>;
}

/** One item of an atomic multi-item write (see Store.commit): the union of the areas' write ops. */
/** A manifest's delivery sections (domain/manifest): webhook subscriptions, git targets, registry links; `expectedVersion` null / `replace` false: create. */
export type WebhookOp =
  | { kind: 'webhook'; sub: import('./webhooks/model.ts').WebhookSubscription; expectedVersion: number | null }
  | { kind: 'deleteWebhook'; sub: import('./webhooks/model.ts').WebhookSubscription };
export type GitTargetOp =
  | { kind: 'gitTarget'; target: import('./gitops/ports.ts').GitTarget; expectedVersion: number | null }
  | { kind: 'deleteGitTarget'; target: import('./gitops/ports.ts').GitTarget };
export type RepoLinkOp =
  | { kind: 'repoLink'; link: import('./artifacts/discovery.ts').RepoLink; replace: boolean }
  | { kind: 'deleteRepoLink'; link: import('./artifacts/discovery.ts').RepoLink };

export type WriteOp =
  EnvironmentOp | SnapshotOp | PromotionOp | PolicyOp | ArtifactOp | DeploymentOp | AuditOp | OutboxOp | NotificationOp | WebhookOp | GitTargetOp | RepoLinkOp;

export interface CommitPort {
  /** Writes every op in one transaction (all or nothing); a failed condition throws WriteConflict. */
  commit(tenant: string, ops: WriteOp[]): Promise<void>;
}

/** Counters added to an environment's day of metrics (merged per environment and day within a commit). */
export interface MetricDelta {
  environment: string;
  /** yyyy-mm-dd (UTC) */
  day: string;
  add: Record<string, number>;
}

export interface PromotionFilter {
  /** any of these statuses */
  status?: string[];
  source?: string;
  target?: string;
  subject?: string;
}

/**
 * Persistence port: the areas' ports together (webhook subscriptions and deliveries, and git targets,
 * are declared beside their domain: domain/webhooks/ports.ts, domain/gitops/ports.ts). The DynamoDB
 * adapter implements it; each commit method is one atomic transaction that also writes the audit
 * entry and the outbox events, conditioned on the item versions read (never on a tenant-wide item).
 * A lost race throws `WriteConflict` and the domain retries with fresh reads.
 */
export type Store = CommitPort &
  EnvironmentStorePort &
  SnapshotStorePort &
  PromotionStorePort &
  PolicyStorePort &
  ArtifactStorePort &
  DeploymentStorePort &
  AuditStorePort &
  NotificationStorePort &
  IdempotencyStorePort &
  AppKeyStorePort &
  WebhookRepo &
  GitTargetRepo &
  TenantRepo;

/** A signed approve/reject link: the table keeps only the token's hash, bound to everything the link may do. */
export interface ReviewLink {
  tenant: string;
  /** sha256 of the token (the token itself is only in the message) */
  hash: string;
  promotionId: string;
  approver: { id: string; email: string };
  actions: ('approve' | 'reject')[];
  /** the release the link was sent for: a link for an older release is refused */
  releaseDigest: string;
  /** never later than the approval window (named apart from the table's TTL attribute) */
  validUntil: string;
  createdAt: string;
  usedAt?: string;
  usedFor?: string;
}

/** One attempt to deliver a notification, shown on the promotion. */
export interface Delivery {
  channel: 'slack' | 'email';
  /** the Slack channel or the recipient */
  target: string;
  kind: string;
  status: 'sent' | 'failed';
  at: string;
  error?: string;
  eventId: string;
}

/** Who the users are (Cognito on AWS, the local token issuer locally): approvers to notify, and who a link or a Slack user acts as. */
export interface DirectoryUser {
  /** the subject id, lower case (as principals carry it) */
  id: string;
  email: string;
  tenant: string;
  groups: string[];
}

export interface Directory {
  /** users of the tenant in any of these groups */
  members(tenant: string, groups: string[]): Promise<DirectoryUser[]>;
  byEmail(tenant: string, email: string): Promise<DirectoryUser | null>;
}

/** The delivery channels (only the notifier has them). */
export interface Channels {
  /** Posts a Slack message to an incoming webhook (SSRF-guarded); throws with a short reason. */
  slack(webhook: string, message: Record<string, unknown>): Promise<void>;
  /** Sends an email (SES v2 on AWS, the local mail catcher under npm start). */
  email(message: { to: string; subject: string; html: string; text: string }): Promise<void>;
}

/**
 * Signed checkpoints of the audit chain, kept outside the table: a KMS ECC_NIST_P256
 * key (Sign) + S3 Object Lock on AWS, a key file + append-only file locally. Only the
 * stream consumer may `sign` (a root: once per anchor interval, domain/audit/anchor.ts) and
 * `append` (each chain's checkpoint with its inclusion proof, under its tenant, so a tenant's
 * verify and export list only its own); verifiers `list`, and `verify` with the public key alone
 * (`publicKey`: what an auditor pins to verify an export offline).
 */
export interface AuditAnchor {
  /** the signature (ECDSA P-256 / SHA-256, DER, base64url) of rootMessage(s) (v3), or checkpointMessage(s) (v2) */
  sign(statement: SignedStatement): Promise<string>;
  append(checkpoint: Checkpoint): Promise<void>;
  /** the tenant's checkpoints (those at `fromSeq` or later when given: the anchor may return more), by seq */
  list(tenant: string, fromSeq?: number): Promise<Checkpoint[]>;
  /** a root's signature; a checkpoint's (v3: its proof leads to its root, and the root's signature holds) */
  verify(signed: SignedRoot | Pick<Checkpoint, 'tenant' | 'seq' | 'hash' | 'at' | 'sig' | 'proof'>): Promise<boolean>;
  publicKey(): Promise<AnchorPublicKey>;
}

/**
 * What a tenant secret is for. A secret is stored under its purpose, so a reference of one kind never
 * reads a secret of another (a git target naming the Slack webhook's secret would push it to a
 * repository of the caller's choosing): a git target's push token, the Slack incoming webhook, a
 * webhook gate's HMAC key.
 */
export type SecretPurpose = 'git-token' | 'slack-webhook' | 'gate-key';

/**
 * Secrets named in documents (`${NAME}`) and git targets: Secrets Manager `stageline/<tenant>/<purpose>/<NAME>`
 * on AWS, `STAGELINE_SECRET_<TENANT>__<PURPOSE>__<NAME>` locally (per tenant and purpose, as on AWS).
 */
export interface SecretResolver {
  /**
   * The value, or null when the tenant has no such secret for this purpose. A Slack webhook (a URL the
   * service will call) passes the outbound guard where it is read; keys are returned as they are.
   */
  resolve(tenant: string, name: string, purpose: SecretPurpose): Promise<string | null>;
}

/** Calls tenant-configured webhook gates (HMAC-signed); errors and time-outs come back as ERROR. */
export interface GateProvider {
  call(hook: WebhookGate, body: Record<string, unknown>): Promise<WebhookOutcome>;
}

export interface Deps {
  store: Store;
  clock: () => Date;
  workflow: Workflow;
  events: Events;
  gates: GateProvider;
  registry: RegistrySync;
  scheduler: Scheduler;
  anchor: AuditAnchor;
  /** the notifier's and the review page's (absent elsewhere) */
  directory?: Directory;
  /** user management in the identity provider (the users and tenants routes only; domain/access) */
  users?: import('./access/ports.ts').UserAdmin;
  channels?: Channels;
  /** resolves `${NAME}` secret references of a manifest (manifest apply only) */
  secrets?: SecretResolver;
  /** public base URL of the API (review links point at it) */
  publicUrl?: string;
  /** outbound webhooks: secrets, sender, retry schedules (domain/webhooks) */
  webhooks?: WebhookDeps;
  /** commits promoted versions to environments' git targets (the promotion step; domain/gitops) */
  git?: GitWriter;
  /** the account and region this deployment runs in: monitors must be alarms there */
  deployment?: import('./freeze/monitors.ts').DeploymentPlace;
  /** reads monitors' alarm states before an execution (the promotion step's; DescribeAlarms on AWS) */
  alarms?: import('./freeze/monitors.ts').AlarmReader;
}

/** What a schedule carries: a promotion to resume, or an auto-promotion check whose time-based condition comes due. */
export type SchedulePayload =
  | { tenant: string; promotionId: string }
  | { tenant: string; autoCheck: { sourceEnvironment: string; artifact?: string; version?: string } }
  | { tenant: string; expireWaiting: string }
  /** the promotion's deadline: the sweeper fails it with a reason if its flow is gone (domain/promotion/sweep.ts) */
  | { tenant: string; sweep: string }
  /** a reminder to the approvers before the approval window closes */
  | { tenant: string; remind: string }
  /** an outbound webhook delivery to attempt (fires the delivery function, domain/webhooks) */
  | { tenant: string; webhookDelivery: { subscription: string; id: string; trigger: 'retry' | 'redeliver' } }
  /** a freeze window's next edge: Freeze Started / Freeze Ended (domain/freeze/windows.ts) */
  | { tenant: string; freezeEdge: { window: string; edge: 'started' | 'ended'; at: string } };

/** One-time schedules (EventBridge Scheduler on AWS, a local timer store locally) that fire a promotion's execution. */
export interface Scheduler {
  /** Creates or replaces the schedule `name` to fire at `at` with `payload`. */
  scheduleOnce(name: string, at: Date, payload: SchedulePayload): Promise<void>;
  /** Removes it; a schedule that is gone (fired or never made) is fine. */
  cancel(name: string): Promise<void>;
}

export interface Ctx {
  principal: import('./access/auth.ts').Principal;
  requestId?: string;
  /** the caller asks to break glass, with this reason (see domain/freeze/break-glass.ts) */
  breakGlassReason?: string;
  /** the principal acts from Slack, as the Slack user linked to it (recorded with what it does) */
  via?: import('./kernel/model.ts').ActedVia;
  /** milliseconds this request has left before its answer is cut off (API Gateway's 29 s, the function's timeout) */
  timeLeft?: () => number;
}

/**
 * Runs promotion flows: Step Functions on AWS, the same ASL on aws-local-stepfunctions
 * locally. One state machine runs promotions and rollbacks alike: a rollback is a
 * promotion record with `rollback` set, and the steps read the record to decide its path.
 * Task tokens come from waitForTaskToken states.
 */
export interface Workflow {
  /** Starts the flow for a promotion (or rollback); idempotent per promotion id. Returns the execution id. */
  /** `attempt` (> 0) names a new run after failed gates were validated again. */
  /** approvalTimeoutSeconds: how long the flow's first task (gates, then the approval wait) may wait (domain/promotion/deadlines.ts approvalTimerSeconds) */
  start(input: { tenant: string; promotionId: string; approvalTimeoutSeconds: number; attempt?: number }): Promise<string>;
  /** Resumes a waiting task. Unknown or finished tokens are ignored (returns false). */
  sendTaskSuccess(token: string, output: Record<string, unknown>): Promise<boolean>;
  sendTaskFailure(token: string, error: string, cause: string): Promise<boolean>;
}

/** A domain event (EventBridge detail-type + detail); `id` is stable across redeliveries, so consumers de-duplicate by it. */
export interface DomainEvent {
  id: string;
  type: string;
  tenant: string;
  detail: Record<string, unknown>;
}

export interface Events {
  publish(events: DomainEvent[]): Promise<void>;
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
}

/** A tag to write in every target registry (`<version>-<env>` immutable, `latest-<env>` mutable). */
export interface RegistryTag {
  name: string;
  /** an immutable tag that already points elsewhere fails the copy; a mutable one moves */
  mutable: boolean;
}

/** Copies an artifact's manifest (and its blobs) by digest between OCI registries and verifies the digest. */
export interface RegistrySync {
  /** Credentials are looked up by (tenant, registry origin), never by the registry's name. */
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
   * the referrer's digest, or why it failed.
   */
  attach(input: {
    tenant: string;
    repository: string;
    digest: string;
    targets: Registry[];
    artifactType: string;
    document: Record<string, unknown>;
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
