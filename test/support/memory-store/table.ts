import { ValidationFailed } from '../../../domain/kernel/errors.ts';
import type { Page } from '../../../domain/kernel/model.ts';
import { WriteConflict } from '../../../domain/kernel/retry.ts';
import { TABLE, type Key } from '../../../functions/adapters/keys.ts';
import { decodeCursor, encodeCursor } from '../../../functions/adapters/store/base.ts';

/**
 * The memory store's one table: items under the DynamoDB store's keys (functions/adapters/keys.ts),
 * each partition sorted by sort key in DynamoDB's order (UTF-8 bytes), the indexes of TABLE kept
 * beside it. Writes carry their condition as a function of the item as it is, the way a
 * ConditionExpression reads it; a transaction checks every condition before it writes anything.
 */
export type Item = Record<string, unknown>;
export type ConflictReason = WriteConflict['reason'];
export type Index = (typeof TABLE.indexes)[number];

/** One item of a transaction (or a conditional write of its own). */
export interface Write {
  key: Key;
  /** whether the write may happen, given the item as it is (undefined: there is none); absent: always */
  when?: (current: Item | undefined) => boolean;
  /** what becomes of the item: this item (put), none (null: delete), or a change of the item as it is (update) */
  to: Item | null | ((current: Item | undefined) => Item);
  /** what a failed condition means (the WriteConflict a transaction throws) */
  reason: ConflictReason;
}

/** A sort key condition: begins_with, BETWEEN (inclusive), or below a key (sk < below). */
export interface Range {
  prefix?: string;
  from?: string;
  to?: string;
  below?: string;
}

/** One page of a query on the table (`index` absent) or an index, as the DynamoDB store's page() reads it. */
export interface PageQuery {
  index?: Index;
  partition: string;
  range?: Range;
  forward: boolean;
  limit?: number;
  /** applied to the items read, after the limit (a FilterExpression, or the store's `keep`) */
  filter?: (item: Item) => boolean;
}

/** DynamoDB's order of string keys: their UTF-8 bytes, that is code points (UTF-16 differs past U+FFFF). */
export function byteOrder(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    const sx = x >= 0xd800 && x <= 0xdfff;
    const sy = y >= 0xd800 && y <= 0xdfff;
    if (sx !== sy) return sx ? 1 : -1;
    return x - y;
  }
  return a.length - b.length;
}

/**
 * A copy of a value as the DynamoDB document client would store it: undefined members and list
 * elements dropped (removeUndefinedValues); a value DynamoDB cannot hold is refused as it would be.
 */
export function plain<T>(value: T): T {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'number' && !Number.isFinite(value)) throw new Error(`store: ${value} is not a number DynamoDB can hold`);
    return value;
  }
  if (value instanceof Uint8Array) return new Uint8Array(value) as T;
  if (Array.isArray(value)) return value.filter((v) => v !== undefined && typeof v !== 'function').map(plain) as T;
  const proto = Object.getPrototypeOf(value) as object | null;
  if (proto !== Object.prototype && proto !== null) throw new Error(`store: a ${value.constructor.name} is not a value DynamoDB can hold`);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) if (v !== undefined && typeof v !== 'function') out[k] = plain(v);
  return out as T;
}

const inRange = (sk: string, r: Range = {}) =>
  (r.prefix === undefined || sk.startsWith(r.prefix)) &&
  (r.from === undefined || byteOrder(sk, r.from) >= 0) &&
  (r.to === undefined || byteOrder(sk, r.to) <= 0) &&
  (r.below === undefined || byteOrder(sk, r.below) < 0);

const idOf = (k: Key) => `${k.pk}\u0000${k.sk}`;

/** An index entry: its sort key and the item's table key. */
interface Entry {
  sort: string;
  pk: string;
  sk: string;
}

const entryOrder = (a: Entry, b: Entry) => byteOrder(a.sort, b.sort) || byteOrder(a.pk, b.pk) || byteOrder(a.sk, b.sk);

/** DynamoDB's limit on the items of one TransactWriteItems. */
const TRANSACTION_ITEMS = 100;

export class MemoryTable {
  private readonly partitions = new Map<string, Map<string, Item>>();
  /** index name → index partition → table key → entry */
  private readonly indexes = new Map<string, Map<string, Map<string, Entry>>>(TABLE.indexes.map((i) => [i.name, new Map()]));

  /** The item under a key (a copy), as a consistent GetItem reads it. */
  get(key: Key): Item | undefined {
    const item = this.partitions.get(key.pk)?.get(key.sk);
    return item && plain(item);
  }

  /** Writes an item without a condition (PutItem, BatchWriteItem). */
  put(item: Item): void {
    this.apply(this.prepare({ key: keyOf(item), to: item, reason: 'unknown' }));
  }

  /** Deletes an item without a condition. */
  delete(key: Key): void {
    this.apply(this.prepare({ key, to: null, reason: 'unknown' }));
  }

  /** One conditional write: false when its condition did not hold (nothing written). */
  write(w: Write): boolean {
    if (!this.holds(w)) return false;
    this.apply(this.prepare(w));
    return true;
  }

  /**
   * All or nothing, as TransactWriteItems: every condition is checked first, and the first that fails
   * (in item order) throws its WriteConflict. Like DynamoDB it refuses a transaction that touches an
   * item twice, holds no item, or more than 100.
   */
  transact(writes: Write[]): void {
    if (writes.length === 0) throw new Error('store: a transaction writes at least one item');
    if (writes.length > TRANSACTION_ITEMS) throw new Error(`store: a transaction holds at most ${TRANSACTION_ITEMS} items (${writes.length})`);
    const seen = new Set<string>();
    for (const w of writes) {
      const id = idOf(w.key);
      if (seen.has(id)) throw new Error(`store: a transaction touches ${w.key.pk} ${w.key.sk} twice`);
      seen.add(id);
    }
    const failed = writes.find((w) => !this.holds(w));
    if (failed) throw new WriteConflict(failed.reason);
    // Every item is made (and refused, if DynamoDB would refuse it) before the first is written.
    for (const next of writes.map((w) => this.prepare(w))) this.apply(next);
  }

  /** Every item of a partition whose sort key is in range, in sort key order (copies). */
  query(pk: string, range?: Range, forward = true): Item[] {
    const part = this.partitions.get(pk);
    if (!part) return [];
    const sks = [...part.keys()].filter((sk) => inRange(sk, range)).sort(byteOrder);
    if (!forward) sks.reverse();
    return sks.map((sk) => plain(part.get(sk)!));
  }

  /** Every item with an entry in an index partition, in the index's order, read from the table. */
  queryIndex(index: Index, partition: string, range?: Range, forward = true): Item[] {
    return this.entries(index, partition, range, forward).map((e) => plain(this.partitions.get(e.pk)!.get(e.sk)!));
  }

  /**
   * One page, as the DynamoDB store's page(): it resumes after the cursor's key (a cursor of another
   * tenant, another listing, or none this table returned is refused with ValidationFailed), evaluates
   * at most `limit` items, filters them after the limit, and returns a cursor when the limit was reached.
   */
  page(tenant: string, q: PageQuery, cursor?: string): Page<Item> {
    const start = decodeCursor(tenant, cursor);
    const partitionAttr = q.index ? q.index.partitionKey : TABLE.partitionKey;
    if (start && start[partitionAttr] !== q.partition) {
      throw new ValidationFailed([{ path: 'query.cursor', message: 'belongs to another listing; use the cursor this listing returned' }]);
    }
    const all: Entry[] = q.index
      ? this.entries(q.index, q.partition, q.range, q.forward)
      : this.query(q.partition, q.range, q.forward).map((i) => ({ sort: String(i.sk), pk: String(i.pk), sk: String(i.sk) }));
    let rest = all;
    if (start) {
      const at: Entry | null =
        typeof start.pk === 'string' && typeof start.sk === 'string'
          ? { sort: String(q.index ? start[q.index.sortKey] : start.sk), pk: start.pk, sk: start.sk }
          : null;
      // DynamoDB refuses a start key that does not fit the query (other attributes than the query's keys, a key
      // outside its range): the store answers that as a forged cursor.
      const wanted = [TABLE.partitionKey, TABLE.sortKey, ...(q.index ? [q.index.partitionKey, q.index.sortKey] : [])];
      const fits = Object.keys(start).length === wanted.length && wanted.every((k) => typeof start[k] === 'string');
      if (!at || !fits || !inRange(at.sort, q.range)) {
        throw new ValidationFailed([{ path: 'query.cursor', message: 'is not a cursor this API returned' }]);
      }
      rest = all.filter((e) => (q.forward ? entryOrder(e, at) > 0 : entryOrder(e, at) < 0));
    }
    const evaluated = q.limit === undefined ? rest : rest.slice(0, q.limit);
    const last = q.limit !== undefined && evaluated.length === q.limit ? evaluated.at(-1) : undefined;
    const items = evaluated.map((e) => plain(this.partitions.get(e.pk)!.get(e.sk)!)).filter((i) => !q.filter || q.filter(i));
    const lastKey = last && {
      pk: last.pk,
      sk: last.sk,
      ...(q.index ? { [q.index.partitionKey]: q.partition, [q.index.sortKey]: last.sort } : {}),
    };
    return { items, nextCursor: encodeCursor(lastKey) };
  }

  private entries(index: Index, partition: string, range: Range | undefined, forward: boolean): Entry[] {
    const found = [...(this.indexes.get(index.name)!.get(partition)?.values() ?? [])].filter((e) => inRange(e.sort, range)).sort(entryOrder);
    return forward ? found : found.reverse();
  }

  private holds(w: Write): boolean {
    return !w.when || w.when(this.partitions.get(w.key.pk)?.get(w.key.sk));
  }

  /** The item a write leaves (a stored copy), made from the item as it is. */
  private prepare(w: Write): { key: Key; before: Item | undefined; after: Item | null } {
    const before = this.partitions.get(w.key.pk)?.get(w.key.sk);
    const made = typeof w.to === 'function' ? w.to(before && plain(before)) : w.to;
    return { key: w.key, before, after: made && { ...plain(made), ...w.key } };
  }

  private apply({ key, before, after }: { key: Key; before: Item | undefined; after: Item | null }): void {
    const id = idOf(key);
    for (const index of TABLE.indexes) {
      const entries = this.indexes.get(index.name)!;
      const was = before && entryKeys(before, index);
      if (was) {
        const part = entries.get(was.partition)!;
        part.delete(id);
        if (part.size === 0) entries.delete(was.partition);
      }
      const now = after && entryKeys(after, index);
      if (now) {
        const part = entries.get(now.partition) ?? entries.set(now.partition, new Map()).get(now.partition)!;
        part.set(id, { sort: now.sort, pk: key.pk, sk: key.sk });
      }
    }
    if (after) {
      const part = this.partitions.get(key.pk) ?? this.partitions.set(key.pk, new Map()).get(key.pk)!;
      part.set(key.sk, after);
    } else {
      this.partitions.get(key.pk)?.delete(key.sk);
      if (this.partitions.get(key.pk)?.size === 0) this.partitions.delete(key.pk);
    }
  }
}

/** An item's place in an index: only when both its index key attributes are strings (a sparse index). */
function entryKeys(item: Item, index: Index): { partition: string; sort: string } | null {
  const partition = item[index.partitionKey];
  const sort = item[index.sortKey];
  return typeof partition === 'string' && typeof sort === 'string' ? { partition, sort } : null;
}

export const keyOf = (item: Item): Key => ({ pk: String(item.pk), sk: String(item.sk) });

// ---- writes as the DynamoDB store's conditions read

/** A put conditioned on no item being there (attribute_not_exists(pk)). */
export const create = (item: Item, reason: ConflictReason = 'exists'): Write => ({ key: keyOf(item), when: (cur) => cur === undefined, to: item, reason });

/** A put without a condition. */
export const overwrite = (item: Item, reason: ConflictReason = 'unknown'): Write => ({ key: keyOf(item), to: item, reason });

/** The store base's `put`: a create (expected null), or a change conditioned on the version read (`#v = :v`). */
export const versioned = (item: Item, expected: number | null, attr = 'version', reason?: ConflictReason): Write =>
  expected === null ? create(item, reason ?? 'exists') : { key: keyOf(item), when: (cur) => cur?.[attr] === expected, to: item, reason: reason ?? 'version' };

/** `exists` for a create (no version read), `version` for a change of the version read. */
export const createOrVersion = (expected: number | null): ConflictReason => (expected === null ? 'exists' : 'version');

/** DynamoDB's `a <> b`: false when the attribute is missing (a comparison with nothing holds for no operator). */
export const differs = (a: unknown, b: unknown) => a !== undefined && a !== b;

/** DynamoDB's `a < b` / `a <= b` on numbers or strings (false when the attribute is missing or of another type). */
export function less(a: unknown, b: unknown, orEqual = false): boolean {
  if (typeof a === 'number' && typeof b === 'number') return orEqual ? a <= b : a < b;
  if (typeof a === 'string' && typeof b === 'string') return orEqual ? byteOrder(a, b) <= 0 : byteOrder(a, b) < 0;
  return false;
}
