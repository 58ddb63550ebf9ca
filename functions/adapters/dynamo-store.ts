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
import { ValidationFailed } from '#domain/errors';
import type { AuditEntry, ChainHead, ChainLink, Environment, ItemKind, Page, Snapshot } from '#domain/model';
import { entryRef, type StoredEntry } from '#domain/audit';
import { parseEventDetail } from '#domain/promotion/events';
import { secretBox, type SecretBox } from './secret-box.ts';
import { brotliCompressSync, brotliDecompressSync, constants as zlib } from 'node:zlib';
import { WriteConflict, type Delivery, type DomainEvent, type ReviewLink, type Store } from '#domain/ports';
import type { NotificationSettings } from '#domain/notify/settings';
import type { AuditQuery } from '#domain/schemas';
import type { NodeSource, TreeNode } from '#domain/tree';
import { isTerminal } from '#domain/promotion/lifecycle';
import type { Approval, ArtifactPointer, ArtifactVersion, Deployment, Evidence, Promotion, Rule } from '#domain/promotion/model';
import type { IdempotencyClaim, MetricDelta, PromotionFilter, WriteOp } from '#domain/ports';
import type { Consumer, Tag } from '#domain/artifacts';
import type { FreezeWindow } from '#domain/freeze';
import { GSI_ACTIVE, GSI_ACTOR, GSI_ALL, GSI_ENTITY, GSI_STATUS, GSI_TARGET, indexAttributes, keys, TABLE, type Key } from './keys.ts';

type TxItem = NonNullable<TransactWriteCommandInput['TransactItems']>[number];
type ConflictReason = WriteConflict['reason'];

export function documentClient(config: DynamoDBClientConfig = {}): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(new DynamoDBClient(config), {
    marshallOptions: { removeUndefinedValues: true },
  });
}

/** An item without its keys, index attributes and bookkeeping: the domain object it stores. */
export const strip = <T>(item: Record<string, unknown> | undefined): T | null => {
  if (!item) return null;
  const rest: Record<string, unknown> = { ...item };
  for (const k of ['pk', 'sk', 'entity', 'expiresAt', ...TABLE.indexes.flatMap((i) => [i.partitionKey, i.sortKey])]) delete rest[k];
  return rest as T;
};

/** A promotion item back to the domain's shape (see promotionItem; items written before `doc` are plain). */
function openPromotion(item: Record<string, unknown>, gates?: Record<string, unknown>): Promotion {
  const { subjectKey: _s, doc, ...plain } = strip<Record<string, unknown>>(item)!;
  const rest = doc ? (JSON.parse(brotliDecompressSync(doc as Uint8Array).toString('utf8')) as Record<string, unknown>) : {};
  return { gates: null, ...rest, ...plain, ...(gates ? { gates: gates.gates } : {}) } as unknown as Promotion;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Opaque cursor = LastEvaluatedKey; it must stay inside the caller's tenant. */
function encodeCursor(key: Record<string, unknown> | undefined): string | undefined {
  return key ? Buffer.from(JSON.stringify(key)).toString('base64url') : undefined;
}

function decodeCursor(tenant: string, cursor: string | undefined): Record<string, unknown> | undefined {
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

/** DynamoDB implementation of the Store port (single table, see keys.ts). */
/** Stored replay bodies stay well under DynamoDB's 400 KB item limit. */
const IDEMPOTENT_BODY_MAX = 300_000;

export class DynamoStore implements Store {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  // ---- audit: every commit writes its entry (a fact); the stream consumer links it into the chain later
  /** The index attributes an entry must carry, derived from its content (verify compares them). */
  private auditIndex(entry: AuditEntry): Record<string, string> {
    return indexAttributes.auditEntry(entry);
  }

  private auditItems(entry: AuditEntry): TxItem[] {
    return [
      {
        Put: {
          TableName: this.table,
          Item: { ...keys.auditEntry(entry.tenant, entryRef(entry)), entity: 'AuditEntry', ...this.auditIndex(entry), ...entry },
          ConditionExpression: 'attribute_not_exists(pk)',
        },
      },
    ];
  }

  /** Outbox events: written with the change, relayed to the bus by the stream consumer; kept a week. */
  private eventItem(event: DomainEvent, now = Date.now()): TxItem {
    parseEventDetail(event.type, event.detail);
    return {
      Put: {
        TableName: this.table,
        Item: { ...keys.event(event.tenant, event.id), entity: 'Event', ...event, [TABLE.ttlAttribute]: Math.floor(now / 1000) + 7 * 86400 },
        ConditionExpression: 'attribute_not_exists(pk)',
      },
    };
  }

  /** Runs a transaction; a failed condition becomes WriteConflict naming what lost. */
  private async transact(items: TxItem[], reasons: ConflictReason[]): Promise<void> {
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
  private envItem(env: Environment): Record<string, unknown> {
    const box = this.box;
    const webhookGates = box && env.webhookGates ? env.webhookGates.map((h) => ({ ...h, secret: box.seal(h.secret) })) : env.webhookGates;
    return { ...keys.environment(env.tenant, env.name), entity: 'Environment', ...env, webhookGates };
  }

  private box: SecretBox | null = null;

  /** Loads the secrets key once (it may come from Secrets Manager) before environments are read or written. */
  private async ready(): Promise<void> {
    this.box ??= await secretBox();
  }

  private openEnv(env: Environment | null): Environment | null {
    const box = this.box;
    if (!env || !box || !env.webhookGates?.length) return env;
    return { ...env, webhookGates: env.webhookGates.map((h) => ({ ...h, secret: box.open(h.secret) })) };
  }

  private versioned(env: Environment, previous: Environment): TxItem {
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

  private snapshotItem(tenant: string, s: Snapshot): TxItem {
    return {
      Put: {
        TableName: this.table,
        Item: { ...keys.snapshot(tenant, s.environment, s.seq), entity: 'Snapshot', ...s },
        ConditionExpression: 'attribute_not_exists(pk)',
      },
    };
  }

  // ---- environments
  async getEnvironment(tenant: string, name: string): Promise<Environment | null> {
    await this.ready();
    const r = await this.db.send(new GetCommand({ TableName: this.table, Key: keys.environment(tenant, name), ConsistentRead: true }));
    return this.openEnv(strip<Environment>(r.Item));
  }

  async listEnvironments(tenant: string): Promise<Environment[]> {
    await this.ready();
    const k = keys.environments(tenant);
    return (await this.queryAll<Environment>(k.pk, k.skPrefix, true)).map((e) => this.openEnv(e)!);
  }


  async createEnvironment(env: Environment, snapshot: Snapshot, audit: AuditEntry): Promise<void> {
    await this.ready();
    await this.transact(
      [
        { Put: { TableName: this.table, Item: this.envItem(env), ConditionExpression: 'attribute_not_exists(pk)' } },
        {
          Put: {
            TableName: this.table,
            Item: { ...keys.position(env.tenant, env.position), entity: 'PositionGuard', environment: env.name },
            ConditionExpression: 'attribute_not_exists(pk)',
          },
        },
        this.snapshotItem(env.tenant, snapshot),
        ...this.auditItems(audit),
      ],
      ['exists', 'position', 'exists', 'exists'],
    );
  }

  async updateEnvironment(env: Environment, previous: Environment, audit: AuditEntry): Promise<void> {
    await this.ready();
    const items: TxItem[] = [this.versioned(env, previous)];
    const reasons: ConflictReason[] = ['version'];
    if (env.position !== previous.position) {
      items.push(
        {
          Delete: {
            TableName: this.table,
            Key: keys.position(env.tenant, previous.position),
            ConditionExpression: 'environment = :e',
            ExpressionAttributeValues: { ':e': env.name },
          },
        },
        {
          Put: {
            TableName: this.table,
            Item: { ...keys.position(env.tenant, env.position), entity: 'PositionGuard', environment: env.name },
            ConditionExpression: 'attribute_not_exists(pk)',
          },
        },
      );
      reasons.push('position', 'position');
    }
    await this.transact([...items, ...this.auditItems(audit)], [...reasons, 'exists']);
  }

  async deleteEnvironment(previous: Environment, audit: AuditEntry): Promise<void> {
    await this.transact(
      [
        {
          Delete: {
            TableName: this.table,
            Key: keys.environment(previous.tenant, previous.name),
            ConditionExpression: '#v = :v AND itemCount = :zero',
            ExpressionAttributeNames: { '#v': 'version' },
            ExpressionAttributeValues: { ':v': previous.version, ':zero': 0 },
          },
        },
        {
          Delete: {
            TableName: this.table,
            Key: keys.position(previous.tenant, previous.position),
            ConditionExpression: 'environment = :e',
            ExpressionAttributeValues: { ':e': previous.name },
          },
        },
        ...this.auditItems(audit),
      ],
      ['version', 'position', 'exists'],
    );
  }

  // ---- snapshots
  async commitSnapshot(env: Environment, previous: Environment, snapshot: Snapshot, audit: AuditEntry, events: DomainEvent[] = []): Promise<void> {
    await this.ready();
    await this.transact(
      [this.versioned(env, previous), this.snapshotItem(env.tenant, snapshot), ...this.auditItems(audit), ...events.map((e) => this.eventItem(e))],
      ['version', 'version', 'exists', ...events.map(() => 'exists' as const)],
    );
  }

  async getSnapshot(tenant: string, environment: string, seq: number): Promise<Snapshot | null> {
    const r = await this.db.send(new GetCommand({ TableName: this.table, Key: keys.snapshot(tenant, environment, seq) }));
    return strip<Snapshot>(r.Item);
  }

  async listSnapshots(tenant: string, environment: string, limit: number, cursor?: string): Promise<Page<Snapshot>> {
    const k = keys.snapshots(tenant, environment);
    return this.page(tenant, {
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :p)',
      ExpressionAttributeValues: { ':pk': k.pk, ':p': k.skPrefix },
      ScanIndexForward: false,
      Limit: limit,
    }, cursor);
  }

  // ---- trie nodes (immutable, content addressed)
  nodes(tenant: string): NodeSource {
    return { getNodes: (addresses) => this.getNodes(tenant, addresses) };
  }

  private async getNodes(tenant: string, addresses: string[]): Promise<Map<string, TreeNode>> {
    const out = new Map<string, TreeNode>();
    const unique = [...new Set(addresses)];
    for (let i = 0; i < unique.length; i += 100) {
      let pending: Key[] = unique.slice(i, i + 100).map((a) => keys.node(tenant, a));
      for (let attempt = 0; pending.length > 0; attempt++) {
        const r = await this.db.send(
          new BatchGetCommand({ RequestItems: { [this.table]: { Keys: pending, ProjectionExpression: 'pk, node' } } }),
        );
        for (const item of r.Responses?.[this.table] ?? []) {
          const address = String(item.pk).slice(String(item.pk).lastIndexOf('#') + 1);
          out.set(address, JSON.parse(item.node as string) as TreeNode);
        }
        pending = (r.UnprocessedKeys?.[this.table]?.Keys as Key[] | undefined) ?? [];
        if (pending.length) await sleep(Math.min(1000, 20 * 2 ** attempt));
      }
    }
    return out;
  }

  async putNodes(tenant: string, nodes: Map<string, TreeNode>): Promise<void> {
    await this.batchPut([...nodes].map(([a, n]) => ({ ...keys.node(tenant, a), entity: 'TreeNode', node: JSON.stringify(n) })));
  }

  async putItemIds(tenant: string, refs: { id: string; kind: ItemKind; key: string }[]): Promise<void> {
    await this.batchPut(refs.map((r) => ({ ...keys.itemId(tenant, r.id), entity: 'ItemId', kind: r.kind, key: r.key })));
  }

  async getItemId(tenant: string, id: string): Promise<{ kind: ItemKind; key: string } | null> {
    const r = await this.db.send(new GetCommand({ TableName: this.table, Key: keys.itemId(tenant, id) }));
    return r.Item ? { kind: r.Item.kind as ItemKind, key: r.Item.key as string } : null;
  }

  private async batchPut(items: Record<string, unknown>[]): Promise<void> {
    for (let i = 0; i < items.length; i += 25) {
      let pending = items.slice(i, i + 25).map((Item) => ({ PutRequest: { Item } }));
      for (let attempt = 0; pending.length > 0; attempt++) {
        const r = await this.db.send(new BatchWriteCommand({ RequestItems: { [this.table]: pending } }));
        pending = (r.UnprocessedItems?.[this.table] as typeof pending | undefined) ?? [];
        if (pending.length) await sleep(Math.min(1000, 20 * 2 ** attempt));
      }
    }
  }

  // ---- audit
  async queryAudit(tenant: string, q: AuditQuery): Promise<Page<AuditEntry>> {
    const from = q.from ? new Date(q.from).toISOString() : '0';
    const to = q.to ? new Date(q.to).toISOString() : '~';
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = {};
    let input: Omit<QueryCommandInput, 'TableName'>;
    if (q.entityType) {
      const filterById = q.entityId === undefined;
      // Without an id, entity type alone filters the tenant's chain (bounded by the page limit).
      input = filterById
        ? this.mainAuditQuery(tenant, from, to, names, values)
        : {
            IndexName: GSI_ENTITY.name,
            KeyConditionExpression: '#ipk = :ipk AND #isk BETWEEN :from AND :to',
            ExpressionAttributeNames: Object.assign(names, { '#ipk': GSI_ENTITY.partitionKey, '#isk': GSI_ENTITY.sortKey }),
            ExpressionAttributeValues: Object.assign(values, {
              ':ipk': keys.auditByEntity(tenant, q.entityType, q.entityId!),
              ':from': from,
              ':to': to,
            }),
          };
      if (filterById) {
        names['#et'] = 'entityType';
        values[':et'] = q.entityType;
        input.FilterExpression = '#et = :et';
      }
    } else if (q.actor) {
      input = {
        IndexName: GSI_ACTOR.name,
        KeyConditionExpression: '#ipk = :ipk AND #isk BETWEEN :from AND :to',
        ExpressionAttributeNames: Object.assign(names, { '#ipk': GSI_ACTOR.partitionKey, '#isk': GSI_ACTOR.sortKey }),
        ExpressionAttributeValues: Object.assign(values, { ':ipk': keys.auditByActor(tenant, q.actor), ':from': from, ':to': to }),
      };
    } else {
      input = this.mainAuditQuery(tenant, from, to, names, values);
    }
    if (q.actor && q.entityType) {
      names['#actor'] = 'actorName';
      values[':actor'] = q.actor;
      input.FilterExpression = [input.FilterExpression, '#actor = :actor'].filter(Boolean).join(' AND ');
    }
    return this.page(tenant, { ...input, ScanIndexForward: false, Limit: q.limit }, q.cursor);
  }

  private mainAuditQuery(tenant: string, from: string, to: string, names: Record<string, string>, values: Record<string, unknown>) {
    Object.assign(values, { ':pk': keys.auditEntries(tenant).pk, ':from': `E#${from}`, ':to': `E#${to}` });
    return { KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to', ExpressionAttributeNames: names, ExpressionAttributeValues: values };
  }

  // ---- generic atomic commit of domain write ops
  /**
   * A promotion is rewritten at every step, so its size is paid at every step: the attributes that
   * conditions, filters and indexes use stay plain, the rest (policy, gates, transitions, result…)
   * is one brotli-compressed JSON document (`doc`), about a third of its plain size.
   */
  private promotionItem(p: Promotion): Record<string, unknown> {
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
      doc: brotliCompressSync(JSON.stringify(rest), { params: { [zlib.BROTLI_PARAM_QUALITY]: 9, [zlib.BROTLI_PARAM_MODE]: zlib.BROTLI_MODE_TEXT } }),
      subjectKey,
      ...indexAttributes.promotion(p, !isTerminal(p.status)),
    };
  }

  private put(item: Record<string, unknown>, expectedVersion: number | null, versionAttr = 'version'): TxItem {
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

  private opItems(tenant: string, op: WriteOp): { items: TxItem[]; reasons: ConflictReason[] } {
    switch (op.kind) {
      case 'promotion':
        return op.gatesChanged
          ? {
              items: [
                this.put(this.promotionItem(op.promotion), op.expectedVersion),
                { Put: { TableName: this.table, Item: { ...keys.promotionGates(op.promotion.tenant, op.promotion.id), entity: 'PromotionGates', gates: op.promotion.gates } } },
              ],
              reasons: [op.expectedVersion === null ? 'exists' : 'version', 'unknown'],
            }
          : { items: [this.put(this.promotionItem(op.promotion), op.expectedVersion)], reasons: [op.expectedVersion === null ? 'exists' : 'version'] };
      case 'environment':
        return { items: [this.put(this.envItem(op.env), op.expectedVersion)], reasons: ['version'] };
      case 'snapshot':
        return { items: [this.snapshotItem(tenant, op.snapshot)], reasons: ['version'] };
      case 'deployment': {
        const d = op.deployment;
        return {
          items: [
            { Put: { TableName: this.table, Item: { ...keys.deployment(tenant, d.environment, d.deployedAt, d.id), entity: 'Deployment', ...d } } },
            { Put: { TableName: this.table, Item: { ...keys.deploymentById(tenant, d.id), entity: 'DeploymentId', environment: d.environment, deployedAt: d.deployedAt } } },
          ],
          reasons: ['unknown', 'unknown'],
        };
      }
      case 'metrics':
        return { items: [], reasons: [] };
      case 'tag': {
        const tg = op.tag;
        const Item = { ...keys.tag(tenant, tg.artifact, tg.environment, tg.kind, tg.version), entity: 'Tag', ...tg };
        // An immutable tag is created once; writing it again is fine only with the same digest.
        return tg.mutable
          ? { items: [{ Put: { TableName: this.table, Item } }], reasons: ['unknown'] }
          : { items: [{ Put: { TableName: this.table, Item, ConditionExpression: 'attribute_not_exists(pk) OR digest = :d', ExpressionAttributeValues: { ':d': tg.digest } } }], reasons: ['exists'] };
      }
      case 'consumer':
        return { items: [{ Put: { TableName: this.table, Item: { ...keys.consumer(tenant, op.consumer.artifact, op.consumer.name), entity: 'Consumer', ...op.consumer } } }], reasons: ['unknown'] };
      case 'pointer':
        return {
          items: [this.put({ ...keys.pointer(tenant, op.pointer.environment, op.pointer.name), entity: 'ArtifactPointer', ...op.pointer }, op.expectedVersion, 'version_')],
          reasons: ['version'],
        };
      case 'artifactVersion': {
        const a = op.artifact;
        return { items: [this.put({ ...keys.artifactVersion(tenant, a.name, a.version), entity: 'ArtifactVersion', ...a }, null)], reasons: ['exists'] };
      }
      case 'rule':
        return { items: [this.put({ ...keys.rule(tenant, op.rule.id), entity: 'Rule', ...op.rule }, op.expectedVersion)], reasons: [op.expectedVersion === null ? 'exists' : 'version'] };
      case 'rulePair':
        return op.claim
          ? {
              items: [{ Put: { TableName: this.table, Item: { ...keys.rulePair(tenant, op.source, op.target), entity: 'RulePair', ruleId: op.ruleId }, ConditionExpression: 'attribute_not_exists(pk)' } }],
              reasons: ['exists'],
            }
          : {
              items: [{ Delete: { TableName: this.table, Key: keys.rulePair(tenant, op.source, op.target), ConditionExpression: 'attribute_not_exists(pk) OR ruleId = :r', ExpressionAttributeValues: { ':r': op.ruleId } } }],
              reasons: ['version'],
            };
      case 'deleteRule':
        return {
          items: [
            {
              Delete: {
                TableName: this.table,
                Key: keys.rule(tenant, op.id),
                ConditionExpression: '#v = :v',
                ExpressionAttributeNames: { '#v': 'version' },
                ExpressionAttributeValues: { ':v': op.expectedVersion },
              },
            },
          ],
          reasons: ['version'],
        };
      case 'notifySettings':
        return { items: [this.put(this.notifyItem(op.settings), op.expectedVersion)], reasons: [op.expectedVersion === null ? 'exists' : 'version'] };
      case 'manifestHead':
        return {
          items: [
            {
              Put: {
                TableName: this.table,
                Item: { ...keys.manifestHead(tenant), entity: 'ManifestHead', digest: op.digest },
                ...(op.previous === null ? { ConditionExpression: 'attribute_not_exists(pk)' } : { ConditionExpression: 'digest = :prev', ExpressionAttributeValues: { ':prev': op.previous } }),
              },
            },
          ],
          reasons: ['version'],
        };
      case 'freezeWindow':
        return {
          items: [{ Put: { TableName: this.table, Item: { ...keys.freezeWindow(tenant, op.window.id), entity: 'FreezeWindow', ...op.window }, ConditionExpression: 'attribute_not_exists(pk)' } }],
          reasons: ['exists'],
        };
      case 'deleteFreezeWindow':
        return { items: [{ Delete: { TableName: this.table, Key: keys.freezeWindow(tenant, op.id), ConditionExpression: 'attribute_exists(pk)' } }], reasons: ['unknown'] };
      case 'approval':
        // One approval per approver and release digest: a second one for the same digest is refused.
        return {
          items: [
            {
              Put: {
                TableName: this.table,
                Item: { ...keys.approval(tenant, op.promotionId, op.approval.by), entity: 'Approval', ...op.approval },
                ConditionExpression: 'attribute_not_exists(pk) OR digest <> :d',
                ExpressionAttributeValues: { ':d': op.approval.digest },
              },
            },
          ],
          reasons: ['exists'],
        };
      case 'audit':
        return { items: this.auditItems(op.entry), reasons: ['exists'] };
      case 'event':
        return { items: [this.eventItem(op.event)], reasons: ['exists'] };
      case 'evidence': {
        const e = op.evidence;
        return {
          items: [{ Put: { TableName: this.table, Item: { ...keys.evidence(tenant, op.owner, e.submittedAt, e.id), entity: 'Evidence', owner: op.owner, ...e }, ConditionExpression: 'attribute_not_exists(pk)' } }],
          reasons: ['exists'],
        };
      }
    }
  }

  async commit(tenant: string, ops: WriteOp[]): Promise<void> {
    await this.ready();
    const parts = ops.map((op) => this.opItems(tenant, op));
    // A transaction may touch an item once: metric deltas are merged per environment and day.
    const merged = new Map<string, MetricDelta>();
    for (const op of ops) {
      const delta = op.kind === 'metrics' ? op.delta : op.kind === 'deployment' ? op.metrics : null;
      if (!delta) continue;
      const k = `${delta.environment}|${delta.day}`;
      const cur = merged.get(k) ?? { ...delta, add: {} };
      for (const [name, v] of Object.entries(delta.add)) cur.add[name] = (cur.add[name] ?? 0) + v;
      merged.set(k, cur);
    }
    const metricItems: TxItem[] = [...merged.values()].map((d) => {
      const names = Object.keys(d.add);
      return {
        Update: {
          TableName: this.table,
          Key: keys.metrics(tenant, d.environment, d.day),
          UpdateExpression: `SET entity = :e ADD ${names.map((_, i) => `#m${i} :m${i}`).join(', ')}`,
          ExpressionAttributeNames: Object.fromEntries(names.map((n, i) => [`#m${i}`, n])),
          ExpressionAttributeValues: { ':e': 'Metrics', ...Object.fromEntries(names.map((n, i) => [`:m${i}`, d.add[n]])) },
        },
      };
    });
    await this.transact([...parts.flatMap((p) => p.items), ...metricItems], [...parts.flatMap((p) => p.reasons), ...metricItems.map(() => 'unknown' as const)]);
  }

  async listDeployments(tenant: string, env: string, limit: number, cursor?: string): Promise<Page<Deployment>> {
    const pk = keys.deployments(tenant, env);
    const after = decodeCursor(tenant, cursor);
    if (after && after.pk !== pk) throw new ValidationFailed([{ path: 'cursor', message: 'belongs to another environment' }]);
    // Seek with a key condition (sk < cursor) rather than ExclusiveStartKey: the same one-page read,
    // and it stays as fast deep in a long history on DynamoDB Local too.
    const r = await this.db.send(
      new QueryCommand({
        TableName: this.table,
        KeyConditionExpression: after ? 'pk = :pk AND sk < :sk' : 'pk = :pk',
        ExpressionAttributeValues: after ? { ':pk': pk, ':sk': after.sk } : { ':pk': pk },
        ScanIndexForward: false,
        Limit: limit,
      }),
    );
    return { items: (r.Items ?? []).map((i) => strip<Deployment>(i)!), nextCursor: encodeCursor(r.LastEvaluatedKey) };
  }


  async getMetrics(tenant: string, env: string, fromDay: string, toDay: string): Promise<{ day: string; counters: Record<string, number> }[]> {
    const out: { day: string; counters: Record<string, number> }[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const r = await this.db.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: 'pk = :pk AND sk BETWEEN :a AND :b',
          ExpressionAttributeValues: { ':pk': keys.metricsOf(tenant, env), ':a': `D#${fromDay}`, ':b': `D#${toDay}` },
          ExclusiveStartKey: start,
        }),
      );
      for (const i of r.Items ?? []) {
        const { pk: _p, sk, entity: _e, ...counters } = i;
        out.push({ day: String(sk).slice(2), counters: counters as Record<string, number> });
      }
      start = r.LastEvaluatedKey;
    } while (start);
    return out;
  }

  async markFirstSeen(tenant: string, imageTag: string, at: string): Promise<void> {
    try {
      await this.db.send(new PutCommand({ TableName: this.table, Item: { ...keys.firstSeen(tenant, imageTag), entity: 'FirstSeen', at }, ConditionExpression: 'attribute_not_exists(pk) OR #at > :at', ExpressionAttributeNames: { '#at': 'at' }, ExpressionAttributeValues: { ':at': at } }));
    } catch (err) {
      if ((err as { name?: string }).name !== 'ConditionalCheckFailedException') throw err;
    }
  }

  async firstSeen(tenant: string, imageTag: string): Promise<string | null> {
    const r = await this.db.send(new GetCommand({ TableName: this.table, Key: keys.firstSeen(tenant, imageTag) }));
    return (r.Item?.at as string | undefined) ?? null;
  }

  async putCurrent(tenant: string, dep: Deployment): Promise<void> {
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.table,
          Item: { ...keys.current(tenant, dep.environment), entity: 'CurrentImage', ...dep },
          // A late record of an older rollout never moves the reference back.
          ConditionExpression: 'attribute_not_exists(pk) OR deployedAt <= :d',
          ExpressionAttributeValues: { ':d': dep.deployedAt },
        }),
      );
    } catch (err) {
      if ((err as { name?: string }).name !== 'ConditionalCheckFailedException') throw err;
    }
  }

  async getCurrent(tenant: string, env: string): Promise<Deployment | null> {
    const r = await this.db.send(new GetCommand({ TableName: this.table, Key: keys.current(tenant, env) }));
    return strip<Deployment>(r.Item);
  }

  // ---- promotions
  async findDeployment(tenant: string, id: string): Promise<Deployment | null> {
    const r = await this.db.send(new GetCommand({ TableName: this.table, Key: keys.deploymentById(tenant, id), ConsistentRead: true }));
    if (!r.Item) return null;
    return this.getDeployment(tenant, r.Item.environment as string, r.Item.deployedAt as string, id);
  }

  async getPromotion(tenant: string, id: string): Promise<Promotion | null> {
    // One request for the promotion and its gate results (sk P and P#gates).
    const k = keys.promotion(tenant, id);
    const r = await this.db.send(
      new QueryCommand({ TableName: this.table, KeyConditionExpression: 'pk = :pk AND begins_with(sk, :p)', ExpressionAttributeValues: { ':pk': k.pk, ':p': k.sk }, ConsistentRead: true }),
    );
    const item = r.Items?.find((i) => i.sk === k.sk);
    return item ? openPromotion(item, r.Items?.find((i) => i.sk !== k.sk)) : null;
  }

  /** The gate results of listed promotions (one BatchGetItem). */
  private async withGates(tenant: string, items: Record<string, unknown>[]): Promise<Promotion[]> {
    const promotions = items.map((i) => openPromotion(i));
    const found = await this.batchGet(promotions.map((p) => keys.promotionGates(tenant, p.id)));
    const byPk = new Map(found.map((g) => [g.pk as string, g]));
    return promotions.map((p) => ({ ...p, gates: (byPk.get(keys.promotionGates(tenant, p.id).pk)?.gates as Promotion['gates']) ?? null }));
  }

  async listPromotions(tenant: string, f: PromotionFilter, limit: number, cursor?: string): Promise<Page<Promotion>> {
    const one = f.status?.length === 1 ? f.status[0]! : undefined;
    const [index, pk] = one
      ? [GSI_STATUS, keys.promotionsByStatus(tenant, one)]
      : f.target
        ? [GSI_TARGET, keys.promotionsByTarget(tenant, f.target)]
        : [GSI_ALL, keys.promotionsAll(tenant)];
    const names: Record<string, string> = { '#pk': index.partitionKey };
    const values: Record<string, unknown> = { ':pk': pk };
    const filters: string[] = [];
    const add = (attr: string, value: string | undefined) => {
      if (value === undefined) return;
      names[`#${attr}`] = attr;
      values[`:${attr}`] = value;
      filters.push(`#${attr} = :${attr}`);
    };
    if (one) add('targetEnvironment', f.target);
    if (f.status && !one) {
      // Several statuses (seed 002's `pending`): one newest-first index, filtered.
      names['#status'] = 'status';
      f.status.forEach((st, i) => (values[`:st${i}`] = st));
      filters.push(`#status IN (${f.status.map((_st, i) => `:st${i}`).join(', ')})`);
    }
    add('sourceEnvironment', f.source);
    add('subjectKey', f.subject);
    const page = await this.page<Record<string, unknown>>(tenant, {
      IndexName: index.name,
      KeyConditionExpression: '#pk = :pk',
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
      FilterExpression: filters.length ? filters.join(' AND ') : undefined,
      ScanIndexForward: false,
      Limit: limit,
    }, cursor);
    return { items: await this.withGates(tenant, page.items), nextCursor: page.nextCursor };
  }

  async activePromotions(tenant: string, target: string): Promise<Promotion[]> {
    const out: Promotion[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.page<Record<string, unknown>>(tenant, {
        IndexName: GSI_ACTIVE.name,
        KeyConditionExpression: '#pk = :pk',
        ExpressionAttributeNames: { '#pk': GSI_ACTIVE.partitionKey },
        ExpressionAttributeValues: { ':pk': keys.promotionsActive(tenant, target) },
        ScanIndexForward: true,
      }, cursor);
      out.push(...(await this.withGates(tenant, page.items)));
      cursor = page.nextCursor;
    } while (cursor);
    return out.filter((p) => !isTerminal(p.status));
  }

  async listApprovals(tenant: string, promotionId: string): Promise<Approval[]> {
    const k = keys.approvals(tenant, promotionId);
    return this.queryAll<Approval>(k.pk, k.skPrefix, true);
  }


  async listEvidence(tenant: string, owners: string[]): Promise<Evidence[]> {
    const all = await Promise.all(
      owners.map(async (owner) => {
        const r = await this.db.send(
          new QueryCommand({ TableName: this.table, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': keys.evidenceOf(tenant, owner) }, ConsistentRead: true }),
        );
        return (r.Items ?? []).map((i) => {
          const { owner: _o, ...e } = strip<Evidence & { owner: string }>(i)!;
          return e;
        });
      }),
    );
    return all.flat();
  }

  async getRule(tenant: string, id: string): Promise<Rule | null> {
    const r = await this.db.send(new GetCommand({ TableName: this.table, Key: keys.rule(tenant, id), ConsistentRead: true }));
    return strip<Rule>(r.Item);
  }

  async listFreezeWindows(tenant: string): Promise<FreezeWindow[]> {
    const k = keys.freezeWindows(tenant);
    return this.queryAll<FreezeWindow>(k.pk, k.skPrefix, true);
  }

  async listRules(tenant: string): Promise<Rule[]> {
    const k = keys.rules(tenant);
    return this.queryAll<Rule>(k.pk, k.skPrefix, true);
  }


  async getArtifactVersion(tenant: string, name: string, version: string): Promise<ArtifactVersion | null> {
    const r = await this.db.send(new GetCommand({ TableName: this.table, Key: keys.artifactVersion(tenant, name, version) }));
    return strip<ArtifactVersion>(r.Item);
  }

  async getPointer(tenant: string, env: string, name: string): Promise<ArtifactPointer | null> {
    const r = await this.db.send(new GetCommand({ TableName: this.table, Key: keys.pointer(tenant, env, name), ConsistentRead: true }));
    return strip<ArtifactPointer>(r.Item);
  }

  private async queryAll<T>(pk: string, skPrefix: string, consistent = false): Promise<T[]> {
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

  async listPointers(tenant: string, env: string): Promise<ArtifactPointer[]> {
    const k = keys.pointers(tenant, env);
    return this.queryAll<ArtifactPointer>(k.pk, k.skPrefix, true);
  }

  async listArtifactVersions(tenant: string, name: string): Promise<ArtifactVersion[]> {
    const k = keys.artifactVersions(tenant, name);
    return this.queryAll<ArtifactVersion>(k.pk, k.skPrefix);
  }

  async getTag(tenant: string, artifact: string, env: string, kind: Tag['kind'], version: string): Promise<Tag | null> {
    const r = await this.db.send(new GetCommand({ TableName: this.table, Key: keys.tag(tenant, artifact, env, kind, version), ConsistentRead: true }));
    return strip<Tag>(r.Item);
  }

  async listTags(tenant: string, artifact: string, env: string): Promise<Tag[]> {
    const k = keys.tagsIn(tenant, artifact, env);
    return this.queryAll<Tag>(k.pk, k.skPrefix, true);
  }

  async listConsumers(tenant: string, artifact: string): Promise<Consumer[]> {
    const k = keys.consumers(tenant, artifact);
    return this.queryAll<Consumer>(k.pk, k.skPrefix, true);
  }

  async getDeployment(tenant: string, env: string, deployedAt: string, id: string): Promise<Deployment | null> {
    const r = await this.db.send(new GetCommand({ TableName: this.table, Key: keys.deployment(tenant, env, deployedAt, id), ConsistentRead: true }));
    return strip<Deployment>(r.Item);
  }

  async claimIdempotency(tenant: string, key: string, requestHash: string, now: Date, ttlSeconds: number, leaseSeconds: number): Promise<IdempotencyClaim> {
    const nowSec = Math.floor(now.getTime() / 1000);
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.table,
          Item: { ...keys.idempotency(tenant, key), entity: 'Idempotency', requestHash, state: 'IN_PROGRESS', leaseUntil: nowSec + leaseSeconds, [TABLE.ttlAttribute]: nowSec + ttlSeconds },
          // TTL deletion is lazy, so an expired record is treated as absent; an IN_PROGRESS claim whose
          // lease (the function's timeout) ran out belongs to a request that crashed, and is taken over.
          ConditionExpression: 'attribute_not_exists(pk) OR #exp < :now OR (#s = :inprog AND leaseUntil < :now)',
          ExpressionAttributeNames: { '#exp': TABLE.ttlAttribute, '#s': 'state' },
          ExpressionAttributeValues: { ':now': nowSec, ':inprog': 'IN_PROGRESS' },
        }),
      );
      return { state: 'new' };
    } catch (err) {
      if ((err as { name?: string }).name !== 'ConditionalCheckFailedException') throw err;
    }
    const r = await this.db.send(new GetCommand({ TableName: this.table, Key: keys.idempotency(tenant, key), ConsistentRead: true }));
    const item = r.Item;
    if (!item) return { state: 'in-progress' };
    if (item.requestHash !== requestHash) return { state: 'mismatch' };
    if (item.state !== 'DONE') return { state: 'in-progress' };
    if (item.tooLarge) {
      return { state: 'replay', statusCode: item.statusCode as number, body: JSON.stringify({ replayed: true, message: 'The first response to this key was too large to keep; read the resource for its current state' }) };
    }
    return { state: 'replay', statusCode: item.statusCode as number, body: item.body as string };
  }

  async completeIdempotency(tenant: string, key: string, requestHash: string, response: { statusCode: number; body: string }): Promise<void> {
    // An item holds at most 400 KB: a larger response is remembered as done, without its body.
    const tooLarge = Buffer.byteLength(response.body) > IDEMPOTENT_BODY_MAX;
    await this.db.send(
      new UpdateCommand({
        TableName: this.table,
        Key: keys.idempotency(tenant, key),
        UpdateExpression: tooLarge ? 'SET #s = :done, statusCode = :code, tooLarge = :t REMOVE leaseUntil' : 'SET #s = :done, statusCode = :code, body = :body REMOVE leaseUntil',
        ConditionExpression: 'requestHash = :h',
        ExpressionAttributeNames: { '#s': 'state' },
        ExpressionAttributeValues: { ':done': 'DONE', ':code': response.statusCode, ':h': requestHash, ...(tooLarge ? { ':t': true } : { ':body': response.body }) },
      }),
    );
  }

  async releaseIdempotency(tenant: string, key: string): Promise<void> {
    await this.db.send(new DeleteCommand({ TableName: this.table, Key: keys.idempotency(tenant, key) }));
  }

  async acquireLock(tenant: string, env: string, holder: string, now: Date, ttlSeconds: number): Promise<boolean> {
    const nowSec = Math.floor(now.getTime() / 1000);
    return this.conditional(
      new PutCommand({
        TableName: this.table,
        Item: { ...keys.lock(tenant, env), entity: 'EnvLock', holder, leaseUntil: nowSec + ttlSeconds, [TABLE.ttlAttribute]: nowSec + ttlSeconds + 3600 },
        // Free, re-entrant for the same holder, or the previous lease ran out.
        ConditionExpression: 'attribute_not_exists(pk) OR holder = :h OR leaseUntil < :now',
        ExpressionAttributeValues: { ':h': holder, ':now': nowSec },
      }),
    );
  }

  async releaseLock(tenant: string, env: string, holder: string): Promise<void> {
    try {
      await this.db.send(
        new DeleteCommand({ TableName: this.table, Key: keys.lock(tenant, env), ConditionExpression: 'holder = :h', ExpressionAttributeValues: { ':h': holder } }),
      );
    } catch (err) {
      if ((err as { name?: string }).name !== 'ConditionalCheckFailedException') throw err;
    }
  }

  // ---- the chain (stream consumer writes, verify reads)
  async readChainLinks(tenant: string, limit: number, cursor?: string, fromSeq?: number): Promise<Page<ChainLink>> {
    const k = keys.chainLinks(tenant);
    return this.page(tenant, {
      KeyConditionExpression: fromSeq ? 'pk = :pk AND sk BETWEEN :from AND :to' : 'pk = :pk AND begins_with(sk, :p)',
      ExpressionAttributeValues: fromSeq ? { ':pk': k.pk, ':from': keys.chainLink(tenant, fromSeq).sk, ':to': `${k.skPrefix}~` } : { ':pk': k.pk, ':p': k.skPrefix },
      ScanIndexForward: true,
      Limit: limit,
      ConsistentRead: true,
    }, cursor);
  }

  async getAuditEntries(tenant: string, refs: string[]): Promise<Map<string, StoredEntry>> {
    const out = new Map<string, StoredEntry>();
    const items = await this.batchGet(refs.map((r) => keys.auditEntry(tenant, r)));
    for (const item of items) {
      const entry = strip<AuditEntry>(item)!;
      const expected = this.auditIndex(entry);
      const moved = Object.entries(expected).find(([k, v]) => item[k] !== v);
      const ref = String(item.sk).slice(2);
      const keyMismatch = ref !== entryRef(entry) ? 'its key does not match its time and id' : undefined;
      out.set(ref, { entry, indexMismatch: keyMismatch ?? (moved ? `${moved[0]} is '${String(item[moved[0]])}'` : undefined) });
    }
    return out;
  }

  async auditRefs(tenant: string, limit: number, cursor?: string): Promise<Page<string>> {
    const k = keys.auditEntries(tenant);
    const page = await this.page<{ sk?: string }>(tenant, {
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :p)',
      ExpressionAttributeValues: { ':pk': k.pk, ':p': k.skPrefix },
      ExpressionAttributeNames: { '#pk': 'pk', '#sk': 'sk' },
      ProjectionExpression: '#pk, #sk',
      Limit: limit,
    }, cursor, true);
    return { items: page.items.map((i) => String(i.sk).slice(2)), nextCursor: page.nextCursor };
  }

  async chainHead(tenant: string): Promise<ChainHead | null> {
    const r = await this.db.send(new GetCommand({ TableName: this.table, Key: keys.chainHead(tenant), ConsistentRead: true }));
    return r.Item ? { seq: r.Item.seq as number, hash: r.Item.hash as string, at: r.Item.at as string, mac: r.Item.mac as string } : null;
  }

  async linkedRefs(tenant: string, refs: string[]): Promise<Set<string>> {
    const items = await this.batchGet(refs.map((r) => keys.chainMarker(tenant, r)));
    return new Set(items.map((i) => String(i.sk).slice(2)));
  }

  async appendLinks(tenant: string, previous: ChainHead | null, next: ChainHead, links: ChainLink[]): Promise<void> {
    const head: TxItem = {
      Put: {
        TableName: this.table,
        Item: { ...keys.chainHead(tenant), entity: 'ChainHead', ...next },
        ...(previous
          ? { ConditionExpression: '#seq = :seq AND #hash = :hash', ExpressionAttributeNames: { '#seq': 'seq', '#hash': 'hash' }, ExpressionAttributeValues: { ':seq': previous.seq, ':hash': previous.hash } }
          : { ConditionExpression: 'attribute_not_exists(pk)' }),
      },
    };
    const items: TxItem[] = [head];
    for (const l of links) {
      items.push({ Put: { TableName: this.table, Item: { ...keys.chainLink(tenant, l.seq), entity: 'ChainLink', ...l }, ConditionExpression: 'attribute_not_exists(pk)' } });
      items.push({ Put: { TableName: this.table, Item: { ...keys.chainMarker(tenant, l.entry), entity: 'ChainMarker', seq: l.seq }, ConditionExpression: 'attribute_not_exists(pk)' } });
    }
    await this.transact(items, ['chain', ...links.flatMap(() => ['chain', 'exists'] as const)]);
  }

  async claimOnce(tenant: string, scope: string, id: string, ttlSeconds: number): Promise<boolean> {
    return this.conditional(
      new PutCommand({
        TableName: this.table,
        Item: { ...keys.once(tenant, scope, id), entity: 'Once', [TABLE.ttlAttribute]: Math.floor(Date.now() / 1000) + ttlSeconds },
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
  }

  async releaseOnce(tenant: string, scope: string, id: string): Promise<void> {
    await this.db.send(new DeleteCommand({ TableName: this.table, Key: keys.once(tenant, scope, id) }));
  }

  // ---- notifications
  async getNotificationSettings(tenant: string, scope: string): Promise<NotificationSettings | null> {
    await this.ready();
    const r = await this.db.send(new GetCommand({ TableName: this.table, Key: keys.notifySettings(tenant, scope), ConsistentRead: true }));
    const s = strip<NotificationSettings>(r.Item);
    const box = this.box;
    if (!s?.slack || !box) return s;
    return { ...s, slack: { ...s.slack, webhook: box.open(s.slack.webhook), ...(s.slack.signingSecret ? { signingSecret: box.open(s.slack.signingSecret) } : {}) } };
  }

  async putNotificationSettings(settings: NotificationSettings, expectedVersion: number | null, audit: AuditEntry): Promise<void> {
    await this.ready();
    await this.transact([this.put(this.notifyItem(settings), expectedVersion), ...this.auditItems(audit)], [expectedVersion === null ? 'exists' : 'version', 'exists']);
  }

  /** The stored item: the webhook URL (its path is the secret) and the signing secret sealed at rest. */
  private notifyItem(settings: NotificationSettings): Record<string, unknown> {
    const box = this.box;
    const slack = settings.slack && box ? { ...settings.slack, webhook: box.seal(settings.slack.webhook), ...(settings.slack.signingSecret ? { signingSecret: box.seal(settings.slack.signingSecret) } : {}) } : settings.slack;
    return { ...keys.notifySettings(settings.tenant, settings.scope), entity: 'NotifySettings', ...settings, slack };
  }

  async manifestHead(tenant: string): Promise<string | null> {
    const r = await this.db.send(new GetCommand({ TableName: this.table, Key: keys.manifestHead(tenant), ConsistentRead: true }));
    return (r.Item?.digest as string | undefined) ?? null;
  }

  async putReviewLink(link: ReviewLink): Promise<void> {
    const expires = Math.floor(new Date(link.validUntil).getTime() / 1000) + 7 * 86400;
    await this.db.send(new PutCommand({ TableName: this.table, Item: { ...keys.reviewLink(link.tenant, link.hash), entity: 'ReviewLink', ...link, [TABLE.ttlAttribute]: expires }, ConditionExpression: 'attribute_not_exists(pk)' }));
  }

  async getReviewLink(tenant: string, hash: string): Promise<ReviewLink | null> {
    const r = await this.db.send(new GetCommand({ TableName: this.table, Key: keys.reviewLink(tenant, hash), ConsistentRead: true }));
    return strip<ReviewLink>(r.Item);
  }

  async useReviewLink(tenant: string, hash: string, at: string, action: string): Promise<boolean> {
    return this.conditional(
      new UpdateCommand({
        TableName: this.table,
        Key: keys.reviewLink(tenant, hash),
        UpdateExpression: 'SET usedAt = :at, usedFor = :a',
        ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(usedAt)',
        ExpressionAttributeValues: { ':at': at, ':a': action },
      }),
    );
  }

  /** Sends a conditional write: false when its condition did not hold. */
  private async conditional(command: PutCommand | UpdateCommand): Promise<boolean> {
    try {
      await this.db.send(command as PutCommand);
      return true;
    } catch (err) {
      if ((err as { name?: string }).name === 'ConditionalCheckFailedException') return false;
      throw err;
    }
  }

  async recordDelivery(tenant: string, promotionId: string, d: Delivery): Promise<void> {
    await this.db.send(new PutCommand({ TableName: this.table, Item: { ...keys.delivery(tenant, promotionId, d.at, `${d.channel}#${d.target}#${d.eventId}`), entity: 'Delivery', ...d } }));
  }

  async listDeliveries(tenant: string, promotionId: string): Promise<Delivery[]> {
    const k = keys.deliveries(tenant, promotionId);
    return this.queryAll<Delivery>(k.pk, k.skPrefix, true);
  }

  /** BatchGetItem in chunks of 100, retrying unprocessed keys. */
  private async batchGet(all: Key[]): Promise<Record<string, unknown>[]> {
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

  private async page<T>(tenant: string, input: Omit<QueryCommandInput, 'TableName'>, cursor?: string, raw = false): Promise<Page<T>> {
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
    return { items: items.map((i) => (raw ? (i as T) : strip<T>(i)!)), nextCursor: encodeCursor(r.LastEvaluatedKey) };
  }
}
