import { randomBytes } from 'node:crypto';
import { DynamoDBClient, TransactionCanceledException, type DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  DeleteCommand,
  PutCommand,
  BatchWriteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
  type QueryCommandInput,
  type TransactWriteCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { ValidationFailed } from '#domain/kernel/errors';
import type { Page } from '#domain/kernel/model';
import { WriteConflict } from '#domain/kernel/retry';
import { seams } from '../seams.ts';
import { tenantPrefix, TABLE, type Key } from '../table.ts';
import { SCHEMA_ATTRIBUTE, upgradeRead, withSchemaVersion } from './schema.ts';

export type TxItem = NonNullable<TransactWriteCommandInput['TransactItems']>[number];
export type ConflictReason = WriteConflict['reason'];
/** A marked write as sent: where it wrote and its mark. */
interface Marked {
  table: string;
  key: Record<string, unknown>;
  mark: string;
}

/** An update expression with an ADD clause: not idempotent (a number added again counts twice). */
const ADDS = /(^|\s)ADD\s/i;

/** How often a single-item write refused for a transaction on its item is sent again, and the first wait (doubling, jittered). */
const CONFLICT_RETRIES = { attempts: 4, baseMs: 25 };

export function documentClient(config: DynamoDBClientConfig = {}): DynamoDBDocumentClient {
  const client = new DynamoDBClient(config);
  // A single-item write that meets a transaction on its item is refused (TransactionConflictException) and applied
  // nothing: the SDK does not send it again, this does, a few times, a moment apart. (A transaction that meets one is
  // cancelled with its reasons: the store reads again, retryOnConflict.)
  client.middlewareStack.add(
    (next, context) => async (args) => {
      // Every try this write made, the SDK's own included: a try before the last may have been applied (its answer
      // lost, then a conflict), so the error says how many there were and the store reads back what it wrote
      // (appliedBefore, the idempotency claim's mark) instead of taking its own write for a lost race.
      let sent = 0;
      for (let attempt = 1; ; attempt++) {
        try {
          return await next(args);
        } catch (err) {
          const meta = (err as { $metadata?: { attempts?: number } }).$metadata;
          sent += meta?.attempts ?? 1;
          const single = !String((context as { commandName?: string }).commandName ?? '').startsWith('Transact');
          if (!single || (err as { name?: string }).name !== 'TransactionConflictException' || attempt >= CONFLICT_RETRIES.attempts) {
            if (attempt > 1 && err && typeof err === 'object') (err as { $metadata?: object }).$metadata = { ...meta, attempts: sent };
            throw err;
          }
          await new Promise((r) => setTimeout(r, Math.random() * CONFLICT_RETRIES.baseMs * 2 ** attempt));
        }
      }
    },
    { step: 'initialize', name: 'retryTransactionConflict', priority: 'low' },
  );
  // The schema version (schema.ts): stamped on every item put, and every older item read upgraded, here and nowhere else.
  // At initialize, a document command's input is not marshalled yet and its answer is unmarshalled already.
  client.middlewareStack.add(
    (next) => async (args) => {
      const out = await next({ ...args, input: withSchemaVersion(args.input) });
      await upgradeRead(out.output);
      return out;
    },
    { step: 'initialize', name: 'stagelineSchemaVersion', priority: 'high' },
  );
  seams().dynamoClient?.(client);
  return DynamoDBDocumentClient.from(client, {
    marshallOptions: { removeUndefinedValues: true },
  });
}

/**
 * Brotli for documents of a few hundred bytes: a 64 KiB window (not the default 4 MiB) compresses them as small, about ten times faster.
 * node:zlib is taken on the first call (process.getBuiltinModule), not imported: loading it costs module init some 3 ms in every
 * function, and only those that write a compressed document use it.
 */
export const compress = (json: string) => {
  const { brotliCompressSync, constants: zlib } = process.getBuiltinModule('node:zlib');
  return brotliCompressSync(json, {
    params: {
      [zlib.BROTLI_PARAM_QUALITY]: 9,
      [zlib.BROTLI_PARAM_MODE]: zlib.BROTLI_MODE_TEXT,
      [zlib.BROTLI_PARAM_LGWIN]: 16,
      [zlib.BROTLI_PARAM_SIZE_HINT]: Buffer.byteLength(json),
    },
  });
};

/** Attributes of the outbox (outbox.ts): bookkeeping, no part of any domain object. */
export const OUTBOX = 'outbox';

/**
 * The write mark (bookkeeping, no part of any domain object): a single-item conditional Put or Update carries a
 * random mark of its own, so that when a try after its first is refused, the store can tell whether the item now
 * holds its own first try (applied, its answer lost) or another writer's write (see `marked`, `appliedBefore`).
 */
export const WRITE_MARK = 'writeId';

/** An item without its keys, index attributes and bookkeeping: the domain object it stores. */
export const strip = <T>(item: Record<string, unknown> | undefined): T | null => {
  if (!item) return null;
  const rest: Record<string, unknown> = { ...item };
  for (const k of ['pk', 'sk', 'entity', 'expiresAt', OUTBOX, WRITE_MARK, SCHEMA_ATTRIBUTE, ...TABLE.indexes.flatMap((i) => [i.partitionKey, i.sortKey])])
    delete rest[k];
  return rest as T;
};

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Opaque cursor = LastEvaluatedKey; it must stay inside the caller's tenant. */
export function encodeCursor(key: Record<string, unknown> | undefined): string | undefined {
  return key ? Buffer.from(JSON.stringify(key)).toString('base64url') : undefined;
}

export function decodeCursor(tenant: string, cursor: string | undefined): Record<string, unknown> | undefined {
  if (cursor === undefined) return undefined;
  try {
    const key = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as Record<string, unknown>;
    const ok =
      key &&
      typeof key === 'object' &&
      typeof key.pk === 'string' &&
      key.pk.startsWith(tenantPrefix(tenant)) &&
      Object.values(key).every((v) => typeof v === 'string');
    if (ok) return key;
  } catch {
    /* fall through */
  }
  throw new ValidationFailed([{ path: 'query.cursor', message: 'is not a cursor this API returned' }]);
}

/** What a query page asks for beyond its key condition (see StoreBase.page). */
export interface PageOptions {
  raw?: boolean;
  keep?: (item: Record<string, unknown>) => boolean;
}

/**
 * What every area of the store shares, passed to each (areas are composed, not inherited): the
 * client and table, transactions and conditional writes, paging and batch reads/writes. Tenant secrets
 * (webhook gate secrets, Slack webhooks) pass through as the domain gives them, sealed (domain/kernel/sealed.ts):
 * the store never holds the key, so reading an environment needs none. Every request the
 * store sends goes through `db` (the bench and the request-count tests count them on that client).
 */
export interface StoreBase {
  readonly db: DynamoDBDocumentClient;
  readonly table: string;
  /**
   * Runs a transaction; a failed condition becomes WriteConflict naming what lost. A change of one
   * item needs no transaction: it is sent as that item's own conditional write (1 WRU per KB, where a
   * transaction pays 2).
   */
  transact(items: TxItem[], reasons: ConflictReason[]): Promise<void>;
  /** Sends a conditional write: false when its condition did not hold. */
  conditional(command: PutCommand | UpdateCommand | DeleteCommand): Promise<boolean>;
  /** A transaction put: created (expectedVersion null) or conditioned on the version read. */
  put(item: Record<string, unknown>, expectedVersion: number | null, versionAttr?: string): TxItem;
  /** Every item under a key prefix, all pages. */
  queryAll<T>(pk: string, skPrefix: string, consistent?: boolean): Promise<T[]>;
  /** Every index entry of one index partition, all pages, as the index has them (keys and projected attributes). */
  queryIndexAll(index: { name: string; partitionKey: string }, partition: string): Promise<Record<string, unknown>[]>;
  /** BatchGetItem in chunks of 100, retrying unprocessed keys. */
  batchGet(all: Key[]): Promise<Record<string, unknown>[]>;
  /** BatchWriteItem in chunks of 25, retrying unprocessed items. */
  batchPut(items: Record<string, unknown>[]): Promise<void>;
  /** BatchWriteItem deletes in chunks of 25, retrying unprocessed keys. */
  batchDelete(keys: Key[]): Promise<void>;
  /**
   * One page of a query. An index query reads the keys from the index and the items from the table.
   * `keep` filters the items read (an attribute the index does not project, e.g. a promotion's
   * status): like a FilterExpression it applies after `Limit`, so a page may hold fewer items than
   * the limit, and the cursor still continues after the last key evaluated.
   */
  page<T>(tenant: string, input: Omit<QueryCommandInput, 'TableName'>, cursor?: string, options?: PageOptions): Promise<Page<T>>;
}

export function storeBase(db: DynamoDBDocumentClient, table: string): StoreBase {
  /** BatchWriteItem in chunks of 25, retrying unprocessed requests. */
  async function batchWrite(requests: ({ PutRequest: { Item: Record<string, unknown> } } | { DeleteRequest: { Key: Key } })[]): Promise<void> {
    for (let i = 0; i < requests.length; i += 25) {
      let pending = requests.slice(i, i + 25);
      for (let attempt = 0; pending.length > 0; attempt++) {
        const r = await db.send(new BatchWriteCommand({ RequestItems: { [table]: pending } }));
        pending = (r.UnprocessedItems?.[table] as typeof pending | undefined) ?? [];
        if (pending.length) await sleep(Math.min(1000, 20 * 2 ** attempt));
      }
    }
  }

  async function batchGet(all: Key[]): Promise<Record<string, unknown>[]> {
    const out: Record<string, unknown>[] = [];
    for (let i = 0; i < all.length; i += 100) {
      let pending: Key[] = all.slice(i, i + 100);
      for (let attempt = 0; pending.length; attempt++) {
        const r = await db.send(new BatchGetCommand({ RequestItems: { [table]: { Keys: pending, ConsistentRead: true } } }));
        out.push(...((r.Responses?.[table] ?? []) as Record<string, unknown>[]));
        pending = (r.UnprocessedKeys?.[table]?.Keys as Key[] | undefined) ?? [];
        if (pending.length) await sleep(Math.min(1000, 20 * 2 ** attempt));
      }
    }
    return out;
  }

  /**
   * A conditional write refused on a try after its first (the SDK sent it again when its first try's answer was lost:
   * a timeout, a reset; or the client sent it again after a transaction on its item) may have been refused by its own
   * first try, which DynamoDB applied. It was when the item now stored carries this write's mark: the write succeeded,
   * once, and is not a lost race. Read only on that path (a consistent read), never on the normal one.
   */
  async function appliedBefore(err: unknown, sent: Marked | null): Promise<boolean> {
    const attempts = (err as { $metadata?: { attempts?: number } }).$metadata?.attempts ?? 1;
    if (attempts < 2 || !sent) return false;
    const stored = (await db.send(new GetCommand({ TableName: sent.table, Key: sent.key, ConsistentRead: true }))).Item;
    return stored !== undefined && stored[WRITE_MARK] === sent.mark;
  }

  /**
   * A write conditioned on what it read is sent with its own mark (a Delete leaves nothing to mark, nor an unconditional
   * Put or SET anything to tell: sent again, it writes the same). An Update that ADDs (a counter) is no such write: sent
   * again, it adds again. It is sent conditioned on its own mark, so a try after the first one applied is refused by
   * that first one and read back as applied: counted once.
   */
  function marked(command: PutCommand | UpdateCommand | DeleteCommand): { command: PutCommand | UpdateCommand | DeleteCommand; sent: Marked | null } {
    const adds = command instanceof UpdateCommand && !command.input.ConditionExpression && ADDS.test(command.input.UpdateExpression ?? '');
    if ((!command.input.ConditionExpression && !adds) || command instanceof DeleteCommand) return { command, sent: null };
    const mark = randomBytes(12).toString('base64url');
    if (command instanceof PutCommand) {
      const { Item = {} } = command.input;
      const key = { [TABLE.partitionKey]: Item[TABLE.partitionKey], [TABLE.sortKey]: Item[TABLE.sortKey] };
      return {
        command: new PutCommand({ ...command.input, Item: { ...Item, [WRITE_MARK]: mark } }),
        sent: { table: command.input.TableName ?? table, key, mark },
      };
    }
    const input = command.input;
    const set = '#stagelineWriteMark = :stagelineWriteMark';
    const expr = input.UpdateExpression ?? '';
    // One SET clause per expression: the mark joins the one there is, else opens its own.
    const clause = /(^|\s)SET\s+/i;
    const UpdateExpression = clause.test(expr) ? expr.replace(clause, (m) => `${m}${set}, `) : `SET ${set} ${expr}`.trim();
    return {
      command: new UpdateCommand({
        ...input,
        UpdateExpression,
        ...(adds ? { ConditionExpression: 'attribute_not_exists(#stagelineWriteMark) OR #stagelineWriteMark <> :stagelineWriteMark' } : {}),
        ExpressionAttributeNames: { ...input.ExpressionAttributeNames, '#stagelineWriteMark': WRITE_MARK },
        ExpressionAttributeValues: { ...input.ExpressionAttributeValues, ':stagelineWriteMark': mark },
      }),
      sent: { table: input.TableName ?? table, key: input.Key ?? {}, mark },
    };
  }

  return {
    db,
    table,

    async transact(items, reasons) {
      const only = items.length === 1 ? items[0]! : null;
      if (only && (only.Put || only.Update || only.Delete)) {
        const { command, sent } = marked(only.Put ? new PutCommand(only.Put) : only.Update ? new UpdateCommand(only.Update) : new DeleteCommand(only.Delete!));
        try {
          await db.send(command as PutCommand);
        } catch (err) {
          // Refused (or failed for a moment) on a try after its first: its first try may be the one applied.
          if (await appliedBefore(err, sent)) return;
          if ((err as { name?: string }).name === 'ConditionalCheckFailedException') throw new WriteConflict(reasons[0] ?? 'unknown');
          // A single-item write on an item a transaction is changing at that moment: DynamoDB refuses it
          // as it refuses the transaction's other writers. The same race, read again and retried.
          if ((err as { name?: string }).name === 'TransactionConflictException') throw new WriteConflict('busy');
          throw err;
        }
        return;
      }
      try {
        await db.send(new TransactWriteCommand({ TransactItems: items }));
      } catch (err) {
        if (err instanceof TransactionCanceledException) {
          const codes = err.CancellationReasons ?? [];
          const i = codes.findIndex((r) => r.Code === 'ConditionalCheckFailed');
          // No condition refused it: another transaction was on its items (nothing saved; sent again, it may pass).
          throw new WriteConflict(i >= 0 ? (reasons[i] ?? 'unknown') : 'busy');
        }
        if ((err as { name?: string }).name === 'TransactionConflictException') throw new WriteConflict('busy');
        throw err;
      }
    },

    async conditional(original) {
      const { command, sent } = marked(original);
      try {
        await db.send(command as PutCommand);
        return true;
      } catch (err) {
        // Refused (or failed for a moment) on a try after its first: its first try may be the one applied.
        if (await appliedBefore(err, sent)) return true;
        if ((err as { name?: string }).name === 'ConditionalCheckFailedException') return false;
        throw err;
      }
    },

    put(item, expectedVersion, versionAttr = 'version') {
      return expectedVersion === null
        ? { Put: { TableName: table, Item: item, ConditionExpression: 'attribute_not_exists(pk)' } }
        : {
            Put: {
              TableName: table,
              Item: item,
              ConditionExpression: '#v = :v',
              ExpressionAttributeNames: { '#v': versionAttr },
              ExpressionAttributeValues: { ':v': expectedVersion },
            },
          };
    },

    async queryAll<T>(pk: string, skPrefix: string, consistent = false): Promise<T[]> {
      const out: T[] = [];
      let start: Record<string, unknown> | undefined;
      do {
        const r = await db.send(
          new QueryCommand({
            TableName: table,
            KeyConditionExpression: 'pk = :pk AND begins_with(sk, :p)',
            ExpressionAttributeValues: { ':pk': pk, ':p': skPrefix },
            ExclusiveStartKey: start,
            ConsistentRead: consistent,
          }),
        );
        out.push(...(r.Items ?? []).map((i) => strip<T>(i)!));
        start = r.LastEvaluatedKey;
      } while (start);
      return out;
    },

    async queryIndexAll(index, partition) {
      const out: Record<string, unknown>[] = [];
      let start: Record<string, unknown> | undefined;
      do {
        const r = await db.send(
          new QueryCommand({
            TableName: table,
            IndexName: index.name,
            KeyConditionExpression: '#p = :p',
            ExpressionAttributeNames: { '#p': index.partitionKey },
            ExpressionAttributeValues: { ':p': partition },
            ExclusiveStartKey: start,
          }),
        );
        out.push(...(r.Items ?? []));
        start = r.LastEvaluatedKey;
      } while (start);
      return out;
    },

    batchGet,

    async batchPut(items) {
      await batchWrite(items.map((Item) => ({ PutRequest: { Item } })));
    },

    async batchDelete(all) {
      await batchWrite(all.map((Key) => ({ DeleteRequest: { Key } })));
    },

    async page<T>(tenant: string, input: Omit<QueryCommandInput, 'TableName'>, cursor?: string, { raw = false, keep }: PageOptions = {}): Promise<Page<T>> {
      const names = input.ExpressionAttributeNames;
      const start = decodeCursor(tenant, cursor);
      // A cursor continues the listing it came from: its partition key must be this query's.
      const [partitionAttr, partitionValue] = names?.['#ipk']
        ? [names['#ipk'], input.ExpressionAttributeValues?.[':ipk']]
        : [names?.['#pk'] ?? 'pk', input.ExpressionAttributeValues?.[':pk']];
      if (start && start[partitionAttr] !== partitionValue) {
        throw new ValidationFailed([{ path: 'query.cursor', message: 'belongs to another listing; use the cursor this listing returned' }]);
      }
      let r;
      try {
        r = await db.send(
          new QueryCommand({
            TableName: table,
            ...input,
            ExpressionAttributeNames: names && Object.keys(names).length ? names : undefined,
            ExclusiveStartKey: start,
          }),
        );
      } catch (err) {
        // DynamoDB refuses a start key that does not fit the query (a forged cursor): the caller's error.
        if (start && (err as { name?: string }).name === 'ValidationException')
          throw new ValidationFailed([{ path: 'query.cursor', message: 'is not a cursor this API returned' }]);
        throw err;
      }
      let items = (r.Items ?? []) as Record<string, unknown>[];
      if (input.IndexName && items.length) {
        // Indexes project keys and filter attributes only (keys.ts): the items come from the table.
        const full = new Map((await batchGet(items.map((i) => ({ pk: i.pk as string, sk: i.sk as string })))).map((i) => [`${i.pk}\u0000${i.sk}`, i]));
        items = items.map((i) => full.get(`${i.pk}\u0000${i.sk}`)).filter((i): i is Record<string, unknown> => i !== undefined);
      }
      if (keep) items = items.filter(keep);
      return { items: items.map((i) => (raw ? (i as T) : strip<T>(i)!)), nextCursor: encodeCursor(r.LastEvaluatedKey) };
    },
  };
}

/** Equal as DynamoDB stores them: undefined attributes are not written, binary compares by its bytes, sets by their members. */
export function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (ArrayBuffer.isView(a) && ArrayBuffer.isView(b))
    return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
  if (a instanceof Set && b instanceof Set) return a.size === b.size && [...a].every((x) => b.has(x));
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => sameValue(x, b[i]));
  if (a && b && typeof a === 'object' && typeof b === 'object' && !Array.isArray(a) && !Array.isArray(b)) {
    const keysOf = (o: object) => Object.keys(o).filter((k) => (o as Record<string, unknown>)[k] !== undefined);
    const ka = keysOf(a);
    const kb = keysOf(b);
    return ka.length === kb.length && ka.every((k) => Object.hasOwn(b, k) && sameValue((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
  }
  return false;
}
