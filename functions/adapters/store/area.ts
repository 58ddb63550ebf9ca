import type { WriteOp } from '#domain/ports';
import type { DomainEvent } from '#domain/kernel/ports';
import type { ConflictReason, TxItem } from './base.ts';
import type { Key } from '../keys.ts';

/** What an op adds to a commit's transaction: its items and, for each, the conflict its failed condition means. */
export interface OpItems {
  items: TxItem[];
  reasons: ConflictReason[];
  /**
   * Index items put before the transaction and keys deleted after it, outside its 100 items: only for
   * lookups whose reader checks the fact it finds again (an index entry left over by a crash between
   * the two writes is then harmless, and one is never missing while its fact says it should be there).
   */
  before?: Record<string, unknown>[];
  after?: Key[];
  /** run after the transaction (an environment's replaced generation of target pages is deleted: store/targets.ts) */
  cleanup?: () => Promise<void>;
}

/** What an area sees of the commit it adds items to. */
export interface CommitContext {
  tenant: string;
  /** every op of the commit (an area may look at the others: a `latest` tag moves with its pointer) */
  ops: readonly WriteOp[];
  /** the commit's outbox events when this op's item carries them (see `carriers`), else none */
  events: DomainEvent[];
  /** some op's item carries the commit's events: an event op then writes no item of its own */
  carried: boolean;
}

/** The write ops an area turns into transaction items: `commit` asks the owning area for each op's. */
export interface Writes<Op extends WriteOp> {
  /** every kind of the area's op union, once (the commit's registry maps each to this area) */
  readonly kinds: readonly Op['kind'][];
  items(op: Op, ctx: CommitContext): OpItems;
  /** the kinds whose item carries the commit's outbox events (the commit's first such op does) */
  readonly carriers?: readonly Op['kind'][];
  /** items written once per commit for all of its ops of this area, after the ops' own (one item touched once per transaction) */
  merged?(ctx: CommitContext): OpItems;
}

/**
 * One area of the table, the way an ElectroDB entity is one part of a Service: the port methods it
 * implements (each method belongs to exactly one area) and the write kinds it knows how to turn
 * into items. The store is their composition (index.ts). A port method that calls another of its
 * area's calls it through `this` (the store it is a method of), as the class chain did.
 */
export interface Area<Port extends object, Op extends WriteOp = never> {
  readonly port: Port;
  readonly writes?: Writes<Op>;
}

/** Every kind of an op union, listed once: a kind left out or one of another area does not compile. */
export const kindsOf = <Op extends WriteOp>(all: Record<Op['kind'], true>): Op['kind'][] => Object.keys(all) as Op['kind'][];

/** One item, with the conflict its failed condition means. */
export const one = (item: TxItem, reason: ConflictReason): OpItems => ({ items: [item], reasons: [reason] });

/** An op that writes no item of its own. */
export const none = (): OpItems => ({ items: [], reasons: [] });

/** `exists` for a create (no version read), `version` for a change of the version read. */
export const createOrVersion = (expectedVersion: number | null): ConflictReason => (expectedVersion === null ? 'exists' : 'version');
