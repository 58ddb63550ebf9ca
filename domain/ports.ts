/**
 * The composition of the contexts' ports. Each context declares its store area and its outbound ports
 * beside its model (domain/<context>/ports.ts, domain/<context>/model.ts); this module only puts them
 * together: the one Store the DynamoDB adapter implements, the Deps a use case is given, the Ctx of a
 * request. A port's name is imported from its context.
 */
import type { ActedVia } from './kernel/model.ts';
import type { Principal } from './access/auth.ts';
import type { DeploymentPlace, AlarmReader } from './freeze/monitors.ts';
import type { AppKeyStorePort, Directory, TenantRepo, UserAdmin } from './access/ports.ts';
import type { ArtifactOp, ArtifactStorePort, DeploymentOp, DeploymentStorePort, RegistrySync, RepoLinkOp } from './artifacts/ports.ts';
import type { AuditAnchor, AuditOp, AuditStorePort } from './audit/ports.ts';
import type { EnvironmentOp, EnvironmentStorePort, SnapshotOp, SnapshotStorePort } from './config/ports.ts';
import type { GitTargetOp, GitTargetRepo, GitWriter } from './gitops/ports.ts';
import type { Events, IdempotencyStorePort, OutboxOp, Scheduler, SecretResolver } from './kernel/ports.ts';
import type { Channels, NotificationOp, NotificationStorePort } from './notify/ports.ts';
import type { GateProvider, HealthProbe, PolicyOp, PolicyStorePort, PromotionOp, PromotionStorePort, Workflow } from './promotion/ports.ts';
import type { WebhookDeps, WebhookOp, WebhookRepo } from './webhooks/ports.ts';
import type { Tunables } from './kernel/tunables.ts';

/** One item of an atomic multi-item write (see Store.commit): the union of the areas' write ops. */
export type WriteOp =
  EnvironmentOp | SnapshotOp | PromotionOp | PolicyOp | ArtifactOp | DeploymentOp | AuditOp | OutboxOp | NotificationOp | WebhookOp | GitTargetOp | RepoLinkOp;

export interface CommitPort {
  /** Writes every op in one transaction (all or nothing); a failed condition throws WriteConflict. */
  commit(tenant: string, ops: WriteOp[]): Promise<void>;
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

/**
 * The adapters a function's entry composes (functions/http/deps.ts compose). Each is optional in Deps:
 * a use case names the ones it calls (`With<'workflow' | 'scheduler'>`), so a function whose entry
 * does not compose an adapter one of its use cases needs fails to compile, not at run time.
 */
export interface Ports {
  workflow: Workflow;
  events: Events;
  gates: GateProvider;
  registry: RegistrySync;
  scheduler: Scheduler;
  anchor: AuditAnchor;
  /** who the users are: the notifier's and the review page's */
  directory: Directory;
  /** user management in the identity provider (the users and tenants routes only; domain/access) */
  users: UserAdmin;
  channels: Channels;
  /** resolves `${NAME}` secret references of a manifest (manifest apply only) */
  secrets: SecretResolver;
  /** outbound webhooks: secrets, sender, retry schedules (domain/webhooks) */
  webhooks: WebhookDeps;
  /** commits promoted versions to environments' git targets (the promotion step; domain/gitops) */
  git: GitWriter;
  /** reads monitors' alarm states before an execution (the promotion step's; DescribeAlarms on AWS) */
  alarms: AlarmReader;
  /** polls targets' health URLs (the promotion step's; domain/promotion/rollout/) */
  probe: HealthProbe;
}

/** What every use case is given: the store, the clock, the deployment's settings, and whichever adapters its function composed. */
export interface Deps extends Partial<Ports> {
  store: Store;
  clock: () => Date;
  /** what the domain's rules are tuned by (retry budget, sweeper grace, pending expiry, local mode): domain/kernel/tunables.ts */
  tunables: Tunables;
  /** public base URL of the API (review links point at it) */
  publicUrl?: string;
  /** the account and region this deployment runs in: monitors must be alarms there */
  deployment?: DeploymentPlace;
}

/** Deps with these adapters present: what a use case that calls them declares. */
export type With<K extends keyof Ports> = Deps & { [P in K]-?: Ports[P] };

export interface Ctx {
  principal: Principal;
  requestId?: string;
  /** the caller asks to break glass, with this reason (see domain/freeze/break-glass.ts) */
  breakGlassReason?: string;
  /** the principal acts from Slack, as the Slack user linked to it (recorded with what it does) */
  via?: ActedVia;
  /** milliseconds this request has left before its answer is cut off (API Gateway's 29 s, the function's timeout) */
  timeLeft?: () => number;
  /**
   * the operator's own setup code acts (the local demo seed: local/seed.ts), never a request (no handler sets
   * it): it gives a protected environment that has never changed its starting content without breaking glass
   */
  setup?: true;
}
