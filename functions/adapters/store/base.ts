import { DynamoDBClient, TransactionCanceledException, type DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, DeleteCommand, PutCommand, BatchWriteCommand, DynamoDBDocumentClient, QueryCommand, TransactWriteCommand, UpdateCommand, type QueryCommandInput, type TransactWriteCommandInput } from '@aws-sdk/lib-dynamodb';
import { ValidationFailed } from '#domain/errors';
import type { AuditEntry, Environment, Page, Snapshot } from '#domain/model';
import { entryRef } from '#domain/audit';
import { parseEventDetail } from '#domain/promotion/events';
import { secretBox, type SecretBox } from '../secret-box.ts';
import { brotliCompressSync, brotliDecompressSync, constants as zlib } from 'node:zlib';
import type { DomainEvent } from '#domain/ports';
import { WriteConflict } from '#domain/retry';
import type { NotificationSettings } from '#domain/notify/settings';
import { isTerminal } from '#domain/promotion/lifecycle';
import type { ArtifactVersion, Promotion } from '#domain/promotion/model';
import { indexAttributes, keys, TABLE, type Key } from '../keys.ts';

export type TxItem = NonNullable<TransactWriteCommandInput['TransactItems']>[number];
export type ConflictReason = WriteConflict['reason'];

export function documentClient(config: DynamoDBClientConfig = {}): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(new DynamoDBClient(config), {
    marshallOptions: { removeUndefinedValues: true },
  });
}

/**
 * The outbox attribute: the domain events of a change ride on the fact item its transaction writes
 * anyway (the audit entry, or evidence), as one brotli-compressed JSON array, instead of an item of
 * their own — a transaction pays 2 WRU per item, so each event cost 2 WRU before. The stream
 * consumer relays them from the inserted item (eventsOf); they are not part of the fact (strip
 * drops them, so the audit entry's hash is the entry's alone).
 */
export const OUTBOX = 'outbox';

/** Brotli for documents of a few hundred bytes: a 64 KiB window (not the default 4 MiB) compresses them as small, about ten times faster. */
const compress = (json: string) =>
  brotliCompressSync(json, { params: { [zlib.BROTLI_PARAM_QUALITY]: 9, [zlib.BROTLI_PARAM_MODE]: zlib.BROTLI_MODE_TEXT, [zlib.BROTLI_PARAM_LGWIN]: 16, [zlib.BROTLI_PARAM_SIZE_HINT]: Buffer.byteLength(json) } });

/** The events an inserted item carries: its outbox attribute, or the item itself when it is an outbox event of its own. */
export function eventsOf(item: Record<string, unknown>): DomainEvent[] {
  if (item.entity === 'Event') return [{ id: item.id as string, type: item.type as string, tenant: item.tenant as string, detail: item.detail as Record<string, unknown> }];
  const box = item[OUTBOX];
  return box instanceof Uint8Array ? (JSON.parse(brotliDecompressSync(box).toString('utf8')) as DomainEvent[]) : [];
}

/** An item without its keys, index attributes and bookkeeping: the domain object it stores. */
export const strip = <T>(item: Record<string, unknown> | undefined): T | null => {
  if (!item) return null;
  const rest: Record<string, unknown> = { ...item };
  for (const k of ['pk', 'sk', 'entity', 'expiresAt', OUTBOX, ...TABLE.indexes.flatMap((i) => [i.partitionKey, i.sortKey])]) delete rest[k];
  return rest as T;
};

/**
 * An audit entry back from its item. The item does not repeat its tenant, time and id: its key holds
 * them (`T#<tenant>#AUDIT`, `E#<at>#<id>`), which keeps every entry (and the events riding on it)
 * under 1 KB. Items written with them are read as written.
 */
export function openAuditEntry(item: Record<string, unknown>): AuditEntry {
  const ref = String(item.sk).slice(2);
  const cut = ref.lastIndexOf('#');
  const pk = String(item.pk);
  const fromKey = { tenant: pk.slice(2, pk.lastIndexOf('#AUDIT')), at: ref.slice(0, cut), id: ref.slice(cut + 1) };
  return { ...fromKey, ...strip<Partial<AuditEntry>>(item)! } as AuditEntry;
}

/** A promotion item back to the domain's shape (see promotionItem; items written before `doc` are plain). */
export function openPromotion(item: Record<string, unknown>, gates?: Record<string, unknown>): Promotion {
  const { subjectKey: _s, doc, ...plain } = strip<Record<string, unknown>>(item)!;
  const rest = doc ? (JSON.parse(brotliDecompressSync(doc as Uint8Array).toString('utf8')) as Record<string, unknown>) : {};
  return { gates: null, ...rest, ...plain, ...(gates ? { gates: gates.gates } : {}) } as unknown as Promotion;
}

/**
 * An artifact version as an item: its metadata is the caller's JSON, stored as JSON text
 * (`metadataJson`), so every value the API accepts reads back unchanged (a native map refuses empty
 * keys and numbers DynamoDB cannot hold, such as 1e-200).
 */
export function artifactVersionItem(a: ArtifactVersion): Record<string, unknown> {
  const { metadata, ...rest } = a;
  return { ...rest, metadataJson: JSON.stringify(metadata ?? {}) };
}

/** An artifact version back from its item; items written before `metadataJson` hold a native map and are read as written. */
export function openArtifactVersion(item: Record<string, unknown> | undefined): ArtifactVersion | null {
  const plain = strip<Record<string, unknown>>(item);
  if (!plain) return null;
  const { metadataJson, ...rest } = plain;
  return (typeof metadataJson === 'string' ? { ...rest, metadata: JSON.parse(metadataJson) as Record<string, unknown> } : rest) as unknown as ArtifactVersion;
}

/** What an audit entry's key already says (openAuditEntry restores it). */
const withoutKeyFields = ({ tenant: _t, at: _a, id: _i, ...rest }: AuditEntry) => rest;

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
      key && typeof key === 'object' && typeof key.pk === 'string' && key.pk.startsWith(keys.tenantPrefix(tenant)) &&
      Object.values(key).every((v) => typeof v === 'string');
    if (ok) return key;
  } catch {
    /* fall through */
  }
  throw new ValidationFailed([{ path: 'cursor', message: 'is not a cursor this API returned' }]);
}

/** Stored replay bodies stay well under DynamoDB's 400 KB item limit. */
export const IDEMPOTENT_BODY_MAX = 300_000;

/** What every area of the store shares: the client and table, transactions, paging, batch reads, and the item shapes written in transactions. */
export class StoreBase {
  constructor(
    protected readonly db: DynamoDBDocumentClient,
    protected readonly table: string,
  ) {}

  // ---- audit: every commit writes its entry (a fact); the stream consumer links it into the chain later
  /** The index attributes an entry must carry, derived from its content (verify compares them). */
  protected auditIndex(entry: AuditEntry): Record<string, string> {
    return indexAttributes.auditEntry(entry);
  }

  /** The entry's item; the change's events ride on it (OUTBOX). */
  protected auditItems(entry: AuditEntry, events: DomainEvent[] = []): TxItem[] {
    return [
      {
        Put: {
          TableName: this.table,
          Item: { ...keys.auditEntry(entry.tenant, entryRef(entry)), entity: 'AuditEntry', ...this.auditIndex(entry), ...withoutKeyFields(entry), ...this.outbox(events) },
          ConditionExpression: 'attribute_not_exists(pk)',
        },
      },
    ];
  }

  /** The outbox attribute carrying a change's events (validated as they would be on their own item). */
  protected outbox(events: DomainEvent[]): Record<string, Uint8Array> {
    if (!events.length) return {};
    for (const e of events) parseEventDetail(e.type, e.detail);
    return { [OUTBOX]: compress(JSON.stringify(events)) };
  }

  /** An outbox event as an item of its own, for a change that writes no fact item to carry it; kept a week. */
  protected eventItem(event: DomainEvent, now = Date.now()): TxItem {
    parseEventDetail(event.type, event.detail);
    return {
      Put: {
        TableName: this.table,
        Item: { ...keys.event(event.tenant, event.id), entity: 'Event', ...event, [TABLE.ttlAttribute]: Math.floor(now / 1000) + 7 * 86400 },
        ConditionExpression: 'attribute_not_exists(pk)',
      },
    };
  }

  /**
   * Runs a transaction; a failed condition becomes WriteConflict naming what lost. A change of one
   * item needs no transaction: it is sent as that item's own conditional write (1 WRU per KB, where a
   * transaction pays 2).
   */
  protected async transact(items: TxItem[], reasons: ConflictReason[]): Promise<void> {
    const only = items.length === 1 ? items[0]! : null;
    if (only && (only.Put || only.Update || only.Delete)) {
      const command = only.Put ? new PutCommand(only.Put) : only.Update ? new UpdateCommand(only.Update) : new DeleteCommand(only.Delete!);
      try {
        await this.db.send(command as PutCommand);
      } catch (err) {
        if ((err as { name?: string }).name === 'ConditionalCheckFailedException') throw new WriteConflict(reasons[0] ?? 'unknown');
        throw err;
      }
      return;
    }
    try {
      await this.db.send(new TransactWriteCommand({ TransactItems: items }));
    } catch (err) {
      if (err instanceof TransactionCanceledException) {
        const codes = err.CancellationReasons ?? [];
        const i = codes.findIndex((r) => r.Code === 'ConditionalCheckFailed');
        throw new WriteConflict(i >= 0 ? (reasons[i] ?? 'unknown') : 'unknown');
      }
      if ((err as { name?: string }).name === 'TransactionConflictException') throw new WriteConflict('unknown');
      throw err;
    }
  }

  /** Webhook secrets are sealed before they reach the table (secret-box.ts); every environment write goes through here. */
  protected envItem(env: Environment): Record<string, unknown> {
    const box = this.box;
    const webhookGates = box && env.webhookGates ? env.webhookGates.map((h) => ({ ...h, secret: box.seal(h.secret) })) : env.webhookGates;
    return { ...keys.environment(env.tenant, env.name), entity: 'Environment', ...env, webhookGates };
  }

  protected box: SecretBox | null = null;

  /** Loads the secrets key once (it may come from Secrets Manager) before environments are read or written. */
  protected async ready(): Promise<void> {
    this.box ??= await secretBox();
  }

  protected openEnv(env: Environment | null): Environment | null {
    const box = this.box;
    if (!env || !box || !env.webhookGates?.length) return env;
    return { ...env, webhookGates: env.webhookGates.map((h) => ({ ...h, secret: box.open(h.secret) })) };
  }

  protected versioned(env: Environment, previous: Environment): TxItem {
    return {
      Put: {
        TableName: this.table,
        Item: this.envItem(env),
        ConditionExpression: '#v = :v',
        ExpressionAttributeNames: { '#v': 'version' },
        ExpressionAttributeValues: { ':v': previous.version },
      },
    };
  }

  protected snapshotItem(tenant: string, s: Snapshot): TxItem {
    return {
      Put: {
        TableName: this.table,
        Item: { ...keys.snapshot(tenant, s.environment, s.seq), entity: 'Snapshot', ...s },
        ConditionExpression: 'attribute_not_exists(pk)',
      },
    };
  }

  protected async batchPut(items: Record<string, unknown>[]): Promise<void> {
    for (let i = 0; i < items.length; i += 25) {
      let pending = items.slice(i, i + 25).map((Item) => ({ PutRequest: { Item } }));
      for (let attempt = 0; pending.length > 0; attempt++) {
        const r = await this.db.send(new BatchWriteCommand({ RequestItems: { [this.table]: pending } }));
        pending = (r.UnprocessedItems?.[this.table] as typeof pending | undefined) ?? [];
        if (pending.length) await sleep(Math.min(1000, 20 * 2 ** attempt));
      }
    }
  }

  // ---- generic atomic commit of domain write ops
  /**
   * A promotion is rewritten at every step, so its size is paid at every step: the attributes that
   * conditions, filters and indexes use stay plain, the rest (policy, gates, transitions, result…)
   * is one brotli-compressed JSON document (`doc`), about a third of its plain size.
   */
  protected promotionItem(p: Promotion): Record<string, unknown> {
    const subjectKey = p.subject.type === 'artifact' ? p.subject.name : 'config';
    // Plain: what conditions and index filters read. The gate results live in their own item.
    const { version, status, sourceEnvironment, targetEnvironment, gates: _gates, ...rest } = p;
    return {
      ...keys.promotion(p.tenant, p.id),
      entity: 'Promotion',
      version,
      status,
      sourceEnvironment,
      targetEnvironment,
      doc: compress(JSON.stringify(rest)),
      subjectKey,
      ...indexAttributes.promotion(p, !isTerminal(p.status)),
    };
  }

  protected put(item: Record<string, unknown>, expectedVersion: number | null, versionAttr = 'version'): TxItem {
    return expectedVersion === null
      ? { Put: { TableName: this.table, Item: item, ConditionExpression: 'attribute_not_exists(pk)' } }
      : {
          Put: {
            TableName: this.table,
            Item: item,
            ConditionExpression: '#v = :v',
            ExpressionAttributeNames: { '#v': versionAttr },
            ExpressionAttributeValues: { ':v': expectedVersion },
          },
        };
  }

  protected async queryAll<T>(pk: string, skPrefix: string, consistent = false): Promise<T[]> {
    const out: T[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const r = await this.db.send(
        new QueryCommand({ TableName: this.table, KeyConditionExpression: 'pk = :pk AND begins_with(sk, :p)', ExpressionAttributeValues: { ':pk': pk, ':p': skPrefix }, ExclusiveStartKey: start, ConsistentRead: consistent }),
      );
      out.push(...(r.Items ?? []).map((i) => strip<T>(i)!));
      start = r.LastEvaluatedKey;
    } while (start);
    return out;
  }

  /** The stored item: the webhook URL (its path is the secret) sealed at rest. */
  protected notifyItem(settings: NotificationSettings): Record<string, unknown> {
    const box = this.box;
    const slack = settings.slack && box ? { ...settings.slack, webhook: box.seal(settings.slack.webhook) } : settings.slack;
    return { ...keys.notifySettings(settings.tenant, settings.scope), entity: 'NotifySettings', ...settings, slack };
  }

  /** Sends a conditional write: false when its condition did not hold. */
  protected async conditional(command: PutCommand | UpdateCommand): Promise<boolean> {
    try {
      await this.db.send(command as PutCommand);
      return true;
    } catch (err) {
      if ((err as { name?: string }).name === 'ConditionalCheckFailedException') return false;
      throw err;
    }
  }

  /** BatchGetItem in chunks of 100, retrying unprocessed keys. */
  protected async batchGet(all: Key[]): Promise<Record<string, unknown>[]> {
    const out: Record<string, unknown>[] = [];
    for (let i = 0; i < all.length; i += 100) {
      let pending: Key[] = all.slice(i, i + 100);
      for (let attempt = 0; pending.length; attempt++) {
        const r = await this.db.send(new BatchGetCommand({ RequestItems: { [this.table]: { Keys: pending, ConsistentRead: true } } }));
        out.push(...((r.Responses?.[this.table] ?? []) as Record<string, unknown>[]));
        pending = (r.UnprocessedKeys?.[this.table]?.Keys as Key[] | undefined) ?? [];
        if (pending.length) await sleep(Math.min(1000, 20 * 2 ** attempt));
      }
    }
    return out;
  }

  /**
   * One page of a query. An index query reads the keys from the index and the items from the table.
   * `keep` filters the items read (an attribute the index does not project, e.g. a promotion's
   * status): like a FilterExpression it applies after `Limit`, so a page may hold fewer items than
   * the limit, and the cursor still continues after the last key evaluated.
   */
  protected async page<T>(
    tenant: string,
    input: Omit<QueryCommandInput, 'TableName'>,
    cursor?: string,
    { raw = false, keep }: { raw?: boolean; keep?: (item: Record<string, unknown>) => boolean } = {},
  ): Promise<Page<T>> {
    const names = input.ExpressionAttributeNames;
    const start = decodeCursor(tenant, cursor);
    // A cursor continues the listing it came from: its partition key must be this query's.
    const [partitionAttr, partitionValue] = names?.['#ipk']
      ? [names['#ipk'], input.ExpressionAttributeValues?.[':ipk']]
      : [names?.['#pk'] ?? 'pk', input.ExpressionAttributeValues?.[':pk']];
    if (start && start[partitionAttr] !== partitionValue) {
      throw new ValidationFailed([{ path: 'cursor', message: 'belongs to another listing; use the cursor this listing returned' }]);
    }
    let r;
    try {
      r = await this.db.send(
        new QueryCommand({
          TableName: this.table,
          ...input,
          ExpressionAttributeNames: names && Object.keys(names).length ? names : undefined,
          ExclusiveStartKey: start,
        }),
      );
    } catch (err) {
      // DynamoDB refuses a start key that does not fit the query (a forged cursor): the caller's error.
      if (start && (err as { name?: string }).name === 'ValidationException') throw new ValidationFailed([{ path: 'cursor', message: 'is not a cursor this API returned' }]);
      throw err;
    }
    let items = (r.Items ?? []) as Record<string, unknown>[];
    if (input.IndexName && items.length) {
      // Indexes project keys and filter attributes only (keys.ts): the items come from the table.
      const full = new Map((await this.batchGet(items.map((i) => ({ pk: i.pk as string, sk: i.sk as string })))).map((i) => [`${i.pk}\u0000${i.sk}`, i]));
      items = items.map((i) => full.get(`${i.pk}\u0000${i.sk}`)).filter((i): i is Record<string, unknown> => i !== undefined);
    }
    if (keep) items = items.filter(keep);
    return { items: items.map((i) => (raw ? (i as T) : strip<T>(i)!)), nextCursor: encodeCursor(r.LastEvaluatedKey) };
  }
}
