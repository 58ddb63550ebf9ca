/**
 * The stored items' schema version, kept in one place for writes and one for reads (the store's document client,
 * base.ts `documentClient`):
 * - **Writes**: every item the store puts (a Put, a transaction's Put, a batch's Put) carries the version it is written
 *   in, `sv` (bookkeeping, stripped from every domain object like the keys). An update keeps the version of the item it
 *   changes: it rewrites only what it names, and the rest is still in the shape that version wrote.
 * - **Reads**: every item read (Get, Query, BatchGet, TransactGet, an update's returned attributes) older than
 *   SCHEMA_VERSION is upgraded before any area sees it, by the one list of upgrades in `upgrades.ts` (loaded on the first
 *   older item, so a function whose items are all current never loads it). No area reads an older shape itself.
 * An item without `sv` is version 1: written before items carried one, or made by an update (an upsert). Each upgrade
 * therefore looks at the item's shape as well as its number, and leaves an item already in the next shape as it is.
 * Upgrading on read changes nothing stored: the item is rewritten in the current shape by its next Put. A reader of an
 * item NEWER than itself (an old function version during a deploy) reads it as it is: each version only adds.
 * docs/operations/upgrading.md says what this means for a deploy and a roll-back.
 */
import { SCHEMA_ATTRIBUTE, SCHEMA_VERSION, versionOf } from './schema-version.ts';

export { SCHEMA_ATTRIBUTE, SCHEMA_VERSION, versionOf };

type Item = Record<string, unknown>;
type Put = { Item?: Item };
type Input = { Item?: Item; TransactItems?: { Put?: Put }[]; RequestItems?: Record<string, unknown> };

const stamp = (put: Put): Put => ({ ...put, Item: put.Item && { ...put.Item, [SCHEMA_ATTRIBUTE]: SCHEMA_VERSION } });

/** A write command's input with its put items stamped with the version (a new object: the caller's is not changed). */
export function withSchemaVersion<T>(input: T): T {
  const { Item, TransactItems, RequestItems } = input as Input;
  if (Item) return { ...input, ...stamp({ Item }) };
  if (TransactItems) return { ...input, TransactItems: TransactItems.map((t) => (t.Put ? { ...t, Put: stamp(t.Put) } : t)) };
  // A BatchWriteItem's requests are lists per table (a BatchGetItem's are objects: its keys, left alone).
  if (RequestItems && Object.values(RequestItems).some(Array.isArray)) {
    const each = (requests: unknown) =>
      Array.isArray(requests) ? requests.map((r: { PutRequest?: Put }) => (r.PutRequest ? { ...r, PutRequest: stamp(r.PutRequest) } : r)) : requests;
    return { ...input, RequestItems: Object.fromEntries(Object.entries(RequestItems).map(([table, requests]) => [table, each(requests)])) };
  }
  return input;
}

type Output = { Item?: Item; Items?: Item[]; Attributes?: Item; Responses?: Record<string, Item[]> | { Item?: Item }[] };

/**
 * Upgrades every item older than SCHEMA_VERSION that a read answered with, in place (upgrades.ts, loaded on the first):
 * a Get's, a Query's, an update's returned attributes, a BatchGet's per table, a TransactGet's.
 */
export async function upgradeRead(output: unknown): Promise<void> {
  const o = (output ?? {}) as Output;
  const r = o.Responses ?? [];
  const read = [o.Item, o.Attributes, ...(o.Items ?? []), ...(Array.isArray(r) ? r.map((x) => x?.Item) : Object.values(r).flat())];
  const older = read.filter((i): i is Item => !!i && typeof i === 'object' && versionOf(i) < SCHEMA_VERSION);
  if (older.length) for (const i of older) (await import('./upgrades.ts')).upgradeInPlace(i);
}
