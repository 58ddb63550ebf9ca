import type { CommitPort, WriteOp } from '#domain/ports';
import type { Area, CommitContext, OpItems, Writes } from './area.ts';
import type { StoreBase } from './base.ts';
import type { DomainEvent } from '#domain/kernel/ports';

/** The events a commit's ops add to the outbox. */
export const outboxEvents = (ops: readonly WriteOp[]): DomainEvent[] => ops.flatMap((op) => (op.kind === 'event' ? [op.event] : []));

/** The registry of write kinds: each kind → the one area that turns it into items. */
export function writeRegistry(areas: Record<string, Area<object, WriteOp>>): Map<WriteOp['kind'], Writes<WriteOp>> {
  const owner = new Map<WriteOp['kind'], Writes<WriteOp>>();
  const ownerName = new Map<string, string>();
  for (const [name, area] of Object.entries(areas)) {
    for (const kind of area.writes?.kinds ?? []) {
      if (owner.has(kind)) throw new Error(`store: write kind '${kind}' is claimed by the ${ownerName.get(kind)} and ${name} areas`);
      owner.set(kind, area.writes!);
      ownerName.set(kind, name);
    }
  }
  return owner;
}

/**
 * The generic atomic commit: the domain's write ops as one DynamoDB transaction. Each op's items
 * come from the area that owns its kind; the commit's events ride on its first fact item (an area's
 * `carriers`: the audit entry, else evidence), so they need no item of their own; then each area's
 * merged items (the metric counters, one item per environment and day).
 */
export function committer(base: StoreBase, areas: Record<string, Area<object, WriteOp>>): CommitPort {
  const owner = writeRegistry(areas);
  const writers = [...new Set(owner.values())];
  const writesOf = (op: WriteOp): Writes<WriteOp> => {
    const w = owner.get(op.kind);
    if (!w) throw new Error(`store: no area writes '${op.kind}'`);
    return w;
  };
  return {
    async commit(tenant, ops) {
      const events = outboxEvents(ops);
      const carrier = events.length ? ops.findIndex((op) => writesOf(op).carriers?.includes(op.kind)) : -1;
      const ctx: CommitContext = { tenant, ops, events: [], carried: carrier >= 0 };
      const parts: OpItems[] = ops.map((op, i) => writesOf(op).items(op, i === carrier ? { ...ctx, events } : ctx));
      for (const w of writers) if (w.merged) parts.push(w.merged(ctx));
      const before = parts.flatMap((p) => p.before ?? []);
      if (before.length) await base.batchPut(before);
      await base.transact(
        parts.flatMap((p) => p.items),
        parts.flatMap((p) => p.reasons),
      );
      const after = parts.flatMap((p) => p.after ?? []);
      if (after.length) await base.batchDelete(after);
      for (const p of parts) await p.cleanup?.();
    },
  };
}
