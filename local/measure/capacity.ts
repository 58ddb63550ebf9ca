import { PutCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { documentClient } from '../../functions/adapters/dynamo-store.ts';
import { TABLE } from '../../functions/adapters/keys.ts';
import { LOCAL_REGION, localCredentials } from '../dynamodb.ts';

/**
 * DynamoDB capacity as AWS bills it, for measurements on DynamoDB Local: which requests read, item
 * sizes by DynamoDB's rules, the write units of a transaction computed from its items (Local does not
 * report them per item), and a probe of what Local reports for plain and transactional writes.
 */

const READS = new Set(['GetItemCommand', 'QueryCommand', 'ScanCommand', 'BatchGetItemCommand', 'TransactGetItemsCommand']);
export const isRead = (command: string) => READS.has(command);

/** DynamoDB's item size rule: attribute name bytes + value bytes (numbers ≈ digits/2 + 1; lists/maps 3 B + 1 B per element). */
function valueSize(v: unknown): number {
  if (v === null || v === undefined || typeof v === 'boolean') return 1;
  if (typeof v === 'string') return Buffer.byteLength(v);
  if (typeof v === 'number' || typeof v === 'bigint') {
    const digits = String(v).replace(/^-/, '').replace(/e.*$/i, '').replace('.', '').replace(/^0+/, '').length || 1;
    return Math.ceil(digits / 2) + 1;
  }
  if (v instanceof Uint8Array) return v.byteLength;
  if (v instanceof Set) return [...v].reduce<number>((s, x) => s + valueSize(x), 0);
  if (Array.isArray(v)) return 3 + v.reduce<number>((s, x) => s + 1 + valueSize(x), 0);
  if (typeof v === 'object') {
    return 3 + Object.entries(v).reduce<number>((s, [k, x]) => (x === undefined ? s : s + 1 + Buffer.byteLength(k) + valueSize(x)), 0);
  }
  return 1;
}
export const itemSize = (item: Record<string, unknown>) =>
  Object.entries(item).reduce<number>((s, [k, v]) => (v === undefined ? s : s + Buffer.byteLength(k) + valueSize(v)), 0);
const kbUnits = (bytes: number) => Math.max(1, Math.ceil(bytes / 1024));

export interface Shadow {
  size: number;
  /** GSI key per index name (the item is in a sparse index only when both key attributes are set) */
  gsi: Record<string, string | undefined>;
  /** size of the item's entry in each index: the keys plus the projected attributes (keys.ts) */
  gsiSize: Record<string, number>;
  /** the entry itself: a table write that leaves it as it was writes nothing to the index */
  gsiEntry: Record<string, string>;
}

export function shadowOf(item: Record<string, unknown>): Shadow {
  const gsi: Record<string, string | undefined> = {};
  const gsiSize: Record<string, number> = {};
  const gsiEntry: Record<string, string> = {};
  for (const i of TABLE.indexes) {
    const pk = item[i.partitionKey];
    const sk = item[i.sortKey];
    gsi[i.name] = pk !== undefined && sk !== undefined ? `${String(pk)}\u0000${String(sk)}` : undefined;
    const attrs = [TABLE.partitionKey, TABLE.sortKey, i.partitionKey, i.sortKey, ...i.projected];
    const entry = Object.fromEntries(attrs.filter((a) => item[a] !== undefined).map((a) => [a, item[a]]));
    gsiSize[i.name] = itemSize(entry);
    gsiEntry[i.name] = JSON.stringify(entry);
  }
  return { size: itemSize(item), gsi, gsiSize, gsiEntry };
}
const keyOf = (k: Record<string, unknown>) => `${String(k[TABLE.partitionKey])}\u0000${String(k[TABLE.sortKey])}`;

export type TxItem = {
  Put?: { Item: Record<string, unknown> };
  Update?: { Key: Record<string, unknown> };
  Delete?: { Key: Record<string, unknown> };
  ConditionCheck?: { Key: Record<string, unknown> };
};

/**
 * Write request units of one successful TransactWriteItems on AWS, from the
 * request itself: 2 WRU per KB (rounded up) per item for the table (prepare +
 * commit); index writes at the standard rate, 1 WRU per KB per index entry
 * (an entry holds the keys and the projected attributes only; a write that leaves an
 * item's entry as it was writes nothing to that index)
 * written — 2 entries (delete + put) when the item's index key moves, 1 when
 * it enters or leaves an index or its entry changes in place. Sizes of items not in the request
 * (deletes, condition checks) come from a shadow of what this process wrote.
 */
export function transactionWrus(items: TxItem[], shadows: Map<string, Shadow>): { table: number; indexes: number } {
  let tableUnits = 0;
  let indexUnits = 0;
  for (const t of items) {
    if (t.Put) {
      const k = keyOf(t.Put.Item);
      const before = shadows.get(k);
      const after = shadowOf(t.Put.Item);
      tableUnits += 2 * kbUnits(after.size);
      for (const i of TABLE.indexes) {
        const o = before?.gsi[i.name];
        const n = after.gsi[i.name];
        if (o !== undefined && n !== undefined && o !== n) indexUnits += kbUnits(before!.gsiSize[i.name]!) + kbUnits(after.gsiSize[i.name]!);
        else if (n !== undefined && before?.gsiEntry[i.name] !== after.gsiEntry[i.name]) indexUnits += kbUnits(after.gsiSize[i.name]!);
        else if (o !== undefined && n === undefined) indexUnits += kbUnits(before!.gsiSize[i.name]!);
      }
    } else {
      const key = (t.Update ?? t.Delete ?? t.ConditionCheck)!.Key;
      const before = shadows.get(keyOf(key));
      tableUnits += 2 * kbUnits(before?.size ?? 1024);
      if (t.Delete && before) for (const i of TABLE.indexes) if (before.gsi[i.name] !== undefined) indexUnits += kbUnits(before.gsiSize[i.name]!);
      if (t.Update && before) for (const i of TABLE.indexes) if (before.gsi[i.name] !== undefined) indexUnits += kbUnits(before.gsiSize[i.name]!); // lower bound: size after update unknown
    }
  }
  return { table: tableUnits, indexes: indexUnits };
}

export function applyToShadow(items: TxItem[], shadows: Map<string, Shadow>): void {
  for (const t of items) {
    if (t.Put) shadows.set(keyOf(t.Put.Item), shadowOf(t.Put.Item));
    else if (t.Delete) shadows.delete(keyOf(t.Delete.Key));
  }
}

export const consumed = (output: unknown): number => {
  const c = (output as { ConsumedCapacity?: { CapacityUnits?: number } | { CapacityUnits?: number }[] } | undefined)?.ConsumedCapacity;
  if (!c) return 0;
  return (Array.isArray(c) ? c : [c]).reduce((s, x) => s + (x.CapacityUnits ?? 0), 0);
};

/** What DynamoDB Local reports for plain and transactional writes of ≤ 1 KB items (AWS documents 1 and 2 WRU per item). */
export async function probeLocalCapacity(endpoint: string, tableName: string) {
  const db = documentClient({ endpoint, region: LOCAL_REGION, credentials: localCredentials });
  try {
    const key = (s: string) => ({ [TABLE.partitionKey]: `BENCH#probe#${s}`, [TABLE.sortKey]: 'P' });
    const put = consumed(await db.send(new PutCommand({ TableName: tableName, Item: key('put'), ReturnConsumedCapacity: 'TOTAL' })));
    const tx = async (n: number) =>
      consumed(
        await db.send(
          new TransactWriteCommand({
            TransactItems: Array.from({ length: n }, (_, i) => ({ Put: { TableName: tableName, Item: key(`tx${n}-${i}`) } })),
            ReturnConsumedCapacity: 'TOTAL',
          }),
        ),
      );
    return { put, tx1: await tx(1), tx3: await tx(3) };
  } finally {
    db.destroy();
  }
}
