import type { AuditEntry, Environment, ItemKind, Page, Snapshot, TargetHead } from '../kernel/model.ts';
import type { DomainEvent } from '../kernel/ports.ts';
import type { Target } from '../kernel/target-schemas.ts';
import type { NodeSource, TreeNode } from './tree.ts';

// ---- the store port, one interface per area of the table (functions/adapters/store/<area>.ts
// implements each; functions/adapters/dynamo-store.ts composes them). Each area also names the
// write ops (`kind`) it turns into items of a commit; WriteOp is their union.

/** Environments: the head each points at, its position and monitors (its targets' too); config item ids; the last applied manifest; its targets' own heads. */
export type EnvironmentOp =
  /**
   * `previousMonitors`: given when the monitors may change, so their index items move with them;
   * `previousTargets`: given when the targets may change (the store writes their item only then; without it
   * the write keeps the targets the environment has, and one that changed them is refused as a conflict)
   */
  | { kind: 'environment'; env: Environment; expectedVersion: number; previousMonitors?: string[]; previousTargets?: Target[] }
  /**
   * what one target runs of one subject while it differs from the environment's head (domain/config/targets.ts). A
   * config head also names its target on the environment's item, in the same transaction (Environment.ownHeads), unless
   * `putBack`: the head is the environment's own again (a rollback), and the rollout's end unlists it (`ownHeadsBack`)
   */
  | { kind: 'targetHead'; head: TargetHead; expectedVersion: number | null; putBack?: true }
  /** these targets run the environment's head again (a rollout put them back): its item stops naming them, so their reads read no TargetHead */
  | { kind: 'ownHeadsBack'; environment: string; targets: string[] }
  /** the last applied manifest's digest: two applies of the same plan never interleave (domain/manifest) */
  | { kind: 'manifestHead'; digest: string; previous: string | null };

export interface EnvironmentStorePort {
  /**
   * `consistent: false`: an eventually consistent read (half the read capacity; app polls, which state a staleness bound).
   * `targets: false`: the caller reads no target (an app poll of the environment as a whole): the environment comes
   * without its targets, and their item is not read (one GetItem instead of two).
   * `target`: the caller reads that one target: the environment comes with it alone, read from its page (the same cost at
   * 10,000 targets as at 1; never the list), or with the whole list when it has no such target. Never written back.
   */
  getEnvironment(tenant: string, name: string, opts?: { consistent?: boolean; targets?: boolean; target?: string }): Promise<Environment | null>;
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
  /** One target's own head of one subject (a consistent read unless `consistent: false`: an app read's half-price GetItem) (`config`, `artifact:<name>`), if a rollout wrote one (resolve with domain/config/targets.ts targetVersion). */
  getTargetHead(tenant: string, environment: string, target: string, subject: string, opts?: { consistent?: boolean }): Promise<TargetHead | null>;
  /**
   * One target of an environment read alone (its page, found from its name: O(1) whatever the number of targets;
   * null when the environment has no such target). Readers of one target (effective config, OFREP, fleet counts) use
   * this with `getEnvironment(…, { targets: false })`, never the whole list.
   */
  getTarget(tenant: string, environment: string, target: string, opts?: { consistent?: boolean }): Promise<Target | null>;
  /** Every target head of an environment (one query), by target then subject. */
  listTargetHeads(tenant: string, environment: string): Promise<TargetHead[]>;
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

/**
 * An application instance as it last identified itself reading one target's config or flags (effective
 * config with `Stageline-Instance`, OFREP with `context.instanceId`): what it was served and when that changed.
 */
export interface InstanceSeen {
  environment: string;
  target: string;
  instance: string;
  /** the config snapshot digest it was served */
  version: string;
  /** what it says it runs (`<artifact>@<version or digest>`), when it says */
  artifact?: string;
  /** when it was served this version (ISO 8601) */
  at: string;
}

/** Instances of a target's fleet (functions/adapters/store/instances.ts): written only when what an instance read changes. */
export interface InstanceStorePort {
  /**
   * Records what an instance read, in one conditional put that writes only when the stored version (or
   * artifact) differs; expires `ttlSeconds` after. Whether it wrote (false: the item held it already).
   */
  recordInstance(tenant: string, seen: InstanceSeen, ttlSeconds: number): Promise<boolean>;
  /** The instances of a target, at most `limit` read (paginated queries), in no particular order. */
  listInstances(tenant: string, environment: string, target: string, limit: number): Promise<InstanceSeen[]>;
  /** How many instances a target holds, counted up to `limit` (paginated count queries: no item is returned). */
  countInstances(tenant: string, environment: string, target: string, limit: number): Promise<number>;
}

/** The config context's part of what a use case is given (domain/kernel/deps.ts): environments and snapshots in the store. */
declare module '../kernel/deps.ts' {
  interface Store extends EnvironmentStorePort, SnapshotStorePort, InstanceStorePort {}
  interface WriteOps {
    environment: EnvironmentOp;
    snapshot: SnapshotOp;
  }
}
