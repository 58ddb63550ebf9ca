import type { Store, WriteOp } from '../../domain/ports.ts';
import type { DomainEvent } from '../../domain/kernel/ports.ts';
import { accessArea } from './memory-store/access.ts';
import type { CommitContext, MemoryState, Writers } from './memory-store/area.ts';
import { artifactArea } from './memory-store/artifacts.ts';
import { auditArea, chainItems } from './memory-store/audit.ts';
import { cleanupTargets, environmentArea } from './memory-store/environments.ts';
import { idempotencyArea } from './memory-store/idempotency.ts';
import { instanceArea } from './memory-store/instances.ts';
import { notificationArea } from './memory-store/notifications.ts';
import { outboxWrites } from './memory-store/outbox.ts';
import { promotionArea } from './memory-store/promotions.ts';
import { MemoryTable, type Write } from './memory-store/table.ts';
import { webhookArea } from './memory-store/webhooks.ts';
import { auditStreamArea } from './memory-store/audit-stream.ts';
import { verificationArea } from './memory-store/verification.ts';
import { attestationArea } from './memory-store/attestations.ts';

export { MemoryTable } from './memory-store/table.ts';

/**
 * The Store port in memory, for fast tests of use cases: the same semantics as the DynamoDB store
 * (functions/adapters/store/), which test/support/store-contract.ts checks against both. Items sit
 * under the DynamoDB store's keys, so listings come in the same order and cursors look alike; each
 * write carries the condition the DynamoDB store's does and fails with the same WriteConflict
 * reason; a commit is all or nothing. Reads return copies, so a test cannot change what is stored
 * by changing what it read.
 */
export interface MemoryStore extends Store {
  /** the table itself (tests that look at or tamper with what is stored, as someone with table access could) */
  readonly table: MemoryTable;
  /** the events committed (carried by a fact item or on their own), oldest first: what the stream would relay to the bus */
  outbox(tenant?: string): DomainEvent[];
  /** a tenant's chain as the table holds it: its head and links to tamper with, the anchor's marks */
  readonly chain: ReturnType<typeof chainItems>;
}

/** The kinds whose item carries the commit's events (the commit's first such op does). */
const CARRIERS = new Set<WriteOp['kind']>(['audit', 'evidence']);

export function memoryStore(): MemoryStore {
  const state: MemoryState = { table: new MemoryTable(), outbox: [] };
  const environments = environmentArea(state);
  const promotions = promotionArea(state);
  const artifacts = artifactArea(state);
  const audit = auditArea(state);
  const notifications = notificationArea(state);
  const webhooks = webhookArea(state);
  const verification = verificationArea(state);
  const access = accessArea(state);
  // Every kind of WriteOp, once: a kind no area writes does not compile.
  const writers: Writers<WriteOp> = {
    ...environments.writes,
    ...promotions.writes,
    ...artifacts.writes,
    ...audit.writes,
    ...notifications.writes,
    ...webhooks.writes,
    ...verification.writes,
    ...access.writes,
    ...outboxWrites,
  };
  const writesOf = (op: WriteOp, ctx: CommitContext) => (writers[op.kind] as (op: WriteOp, ctx: CommitContext) => Write[])(op, ctx);

  const store: Store = {
    ...environments.port,
    ...promotions.port,
    ...artifacts.port,
    ...audit.port,
    ...auditStreamArea(state).port,
    ...notifications.port,
    ...idempotencyArea(state).port,
    ...access.port,
    ...webhooks.port,
    ...verification.port,
    ...instanceArea(state).port,
    ...attestationArea(state).port,
    /** As the DynamoDB store's commit: each op's writes in op order, the events on the first fact item, the metric counters last; one transaction. */
    async commit(tenant: string, ops: WriteOp[]): Promise<void> {
      const events = ops.flatMap((op) => (op.kind === 'event' ? [op.event] : []));
      const carrier = events.length ? ops.findIndex((op) => CARRIERS.has(op.kind)) : -1;
      const ctx: CommitContext = { tenant, ops, events: [], carried: carrier >= 0 };
      const writes = ops.flatMap((op, i) => writesOf(op, i === carrier ? { ...ctx, events } : ctx));
      writes.push(...artifacts.merged(ctx));
      state.table.transact(writes);
      for (const op of ops) if (op.kind === 'environment') cleanupTargets(state.table, tenant, op.env.name);
      state.outbox.push(...structuredClone(events));
    },
  };

  return Object.assign(store, {
    table: state.table,
    outbox: (tenant?: string) => structuredClone(state.outbox.filter((e) => tenant === undefined || e.tenant === tenant)),
    chain: chainItems(state.table),
  });
}
