import { BatchGetCommand, GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { AuditEntry, Environment, ItemKind, Page, Snapshot } from '#domain/model';
import { type DomainEvent } from '#domain/ports';
import type { NodeSource, TreeNode } from '#domain/tree';
import { GSI_MONITOR, indexAttributes, keys, type Key } from '../keys.ts';
import { type ConflictReason, StoreBase, type TxItem, sleep, strip } from './base.ts';

/** Environments, their snapshots and the content-addressed trie nodes the snapshots point at. */
export class EnvironmentStore extends StoreBase {
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
        ...this.monitorItems(env, []),
        ...this.auditItems(audit),
      ],
      ['exists', 'position', 'exists', ...(env.monitors ?? []).map(() => 'exists' as const), 'exists'],
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
    const monitors = this.monitorItems(env, previous.monitors ?? []);
    await this.transact([...items, ...monitors, ...this.auditItems(audit)], [...reasons, ...monitors.map(() => 'exists' as const), 'exists']);
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
        ...this.monitorItems({ ...previous, monitors: [] }, previous.monitors ?? []),
        ...this.auditItems(audit),
      ],
      ['version', 'position', ...(previous.monitors ?? []).map(() => 'exists' as const), 'exists'],
    );
  }

  /** The monitor index items that move an environment from the monitors `before` to its own (domain/monitors.ts). */
  protected monitorItems(env: Environment, before: string[]): TxItem[] {
    const now = new Set(env.monitors ?? []);
    const was = new Set(before);
    return [
      ...[...was].filter((a) => !now.has(a)).map((arn): TxItem => ({ Delete: { TableName: this.table, Key: keys.monitor(env.tenant, env.name, arn) } })),
      ...[...now].filter((a) => !was.has(a)).map((arn): TxItem => ({ Put: { TableName: this.table, Item: { ...keys.monitor(env.tenant, env.name, arn), ...indexAttributes.monitor(env.tenant, env.name, arn), entity: 'Monitor', arn } } })),
    ];
  }

  /** Who watches an alarm: read from the monitor index, across tenants (the alarm-event handler only). */
  async monitorWatchers(arn: string): Promise<{ tenant: string; environment: string }[]> {
    await this.ready();
    const out: { tenant: string; environment: string }[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const r = await this.db.send(new QueryCommand({ TableName: this.table, IndexName: GSI_MONITOR.name, KeyConditionExpression: '#p = :p', ExpressionAttributeNames: { '#p': GSI_MONITOR.partitionKey }, ExpressionAttributeValues: { ':p': keys.monitorWatchers(arn) }, ExclusiveStartKey: start }));
      for (const item of r.Items ?? []) {
        const pk = String(item.pk);
        const sk = String(item.sk);
        const prefix = `MON#`;
        if (!pk.startsWith('T#') || !pk.endsWith('#ENV') || !sk.startsWith(prefix) || !sk.endsWith(`#${arn}`)) continue;
        out.push({ tenant: pk.slice(2, -'#ENV'.length), environment: sk.slice(prefix.length, sk.length - arn.length - 1) });
      }
      start = r.LastEvaluatedKey;
    } while (start);
    return out;
  }

  // ---- snapshots
  async commitSnapshot(env: Environment, previous: Environment, snapshot: Snapshot, audit: AuditEntry, events: DomainEvent[] = []): Promise<void> {
    await this.ready();
    await this.transact(
      [this.versioned(env, previous), this.snapshotItem(env.tenant, snapshot), ...this.auditItems(audit, events)],
      ['version', 'version', 'exists'],
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

  protected async getNodes(tenant: string, addresses: string[]): Promise<Map<string, TreeNode>> {
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
}
