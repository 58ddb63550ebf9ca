import type { WriteOp } from '../../../domain/ports.ts';
import type { DomainEvent } from '../../../domain/kernel/ports.ts';
import type { MemoryTable, Write } from './table.ts';

/** What every area of the memory store shares: the table, and the outbox the commits add to. */
export interface MemoryState {
  readonly table: MemoryTable;
  /** every event committed, in commit order (what the table's stream would relay to the bus) */
  readonly outbox: DomainEvent[];
}

/** What an area sees of the commit it adds writes to (as the DynamoDB store's CommitContext). */
export interface CommitContext {
  tenant: string;
  ops: readonly WriteOp[];
  /** the commit's events when this op's item carries them (the first audit entry or evidence), else none */
  events: DomainEvent[];
  /** some op's item carries the commit's events: an event op then writes no item of its own */
  carried: boolean;
}

/** How an area turns each kind of its ops into the writes of a commit. */
export type Writers<Op extends WriteOp> = { [K in Op['kind']]: (op: Extract<Op, { kind: K }>, ctx: CommitContext) => Write[] };
