import type { AuditQuery } from './schemas.ts';
import type { AuditEntry, AuditHead, Environment, ItemKind, Page, Snapshot } from './model.ts';
import type { NodeSource, TreeNode } from './tree.ts';

/**
 * Persistence port. The DynamoDB adapter implements it; each commit method is
 * one atomic transaction that also appends the audit entry, conditioned on
 * the audit chain head and the item versions read. A lost race throws
 * `WriteConflict` and the domain retries with fresh reads.
 */
export interface Store {
  nodes(tenant: string): NodeSource;
  putNodes(tenant: string, nodes: Map<string, TreeNode>): Promise<void>;

  getEnvironment(tenant: string, name: string): Promise<Environment | null>;
  listEnvironments(tenant: string): Promise<Environment[]>;
  createEnvironment(env: Environment, snapshot: Snapshot, audit: AuditEntry): Promise<void>;
  updateEnvironment(env: Environment, previous: Environment, audit: AuditEntry): Promise<void>;
  deleteEnvironment(previous: Environment, audit: AuditEntry): Promise<void>;

  /** Moves the environment head to a new snapshot (one conditional write on the environment). */
  commitSnapshot(env: Environment, previous: Environment, snapshot: Snapshot, audit: AuditEntry): Promise<void>;
  getSnapshot(tenant: string, environment: string, seq: number): Promise<Snapshot | null>;
  listSnapshots(tenant: string, environment: string, limit: number, cursor?: string): Promise<Page<Snapshot>>;

  /** Item ids are derived from kind+key; this index maps them back. */
  putItemIds(tenant: string, refs: { id: string; kind: ItemKind; key: string }[]): Promise<void>;
  getItemId(tenant: string, id: string): Promise<{ kind: ItemKind; key: string } | null>;

  auditHead(tenant: string): Promise<AuditHead | null>;
  queryAudit(tenant: string, query: AuditQuery): Promise<Page<AuditEntry>>;
  /** Entries in sequence order, a page at a time. */
  readAuditChain(tenant: string, limit: number, cursor?: string): Promise<Page<AuditEntry>>;
}

/** Raised by a Store when a conditional write lost a race. */
export class WriteConflict extends Error {
  constructor(readonly reason: 'audit' | 'version' | 'exists' | 'position' | 'not-empty' | 'unknown', message?: string) {
    super(message ?? `write conflict (${reason})`);
    this.name = 'WriteConflict';
  }
}

export interface Deps {
  store: Store;
  clock: () => Date;
}

export interface Ctx {
  principal: import('./auth.ts').Principal;
  requestId?: string;
}

/**
 * Runs promotion and rollback flows: Step Functions on AWS, the same ASL on
 * aws-local-stepfunctions locally. Task tokens come from waitForTaskToken states.
 */
export interface Workflow {
  /** Starts the flow for a promotion; idempotent per promotion id. Returns the execution id. */
  start(machine: 'promotion' | 'rollback', input: { tenant: string; promotionId: string }): Promise<string>;
  /** Resumes a waiting task. Unknown or finished tokens are ignored (returns false). */
  sendTaskSuccess(token: string, output: Record<string, unknown>): Promise<boolean>;
  sendTaskFailure(token: string, error: string, cause: string): Promise<boolean>;
}

/** A domain event (EventBridge detail-type + detail). */
export interface DomainEvent {
  type: string;
  tenant: string;
  detail: Record<string, unknown>;
}

export interface Events {
  publish(events: DomainEvent[]): Promise<void>;
}
