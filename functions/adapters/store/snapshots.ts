import { BatchGetCommand, GetCommand } from '@aws-sdk/lib-dynamodb';
import type { AuditEntry, Environment, Page, Snapshot } from '#domain/kernel/model';
import type { DomainEvent } from '#domain/kernel/ports';
import type { SnapshotOp, SnapshotStorePort } from '#domain/config/ports';
import type { NodeSource, TreeNode } from '#domain/config/tree';
import { keys, type Key } from '../keys.ts';
import { kindsOf, one, type Area, type OpItems } from './area.ts';
import { sleep, strip, type StoreBase, type TxItem } from './base.ts';
import { auditItems } from './audit.ts';

/** A snapshot's item: written once (the environment's head moves to it in the same transaction). */
export function snapshotItem(table: string, tenant: string, s: Snapshot): TxItem {
  return {
    Put: {
      TableName: table,
      Item: { ...keys.snapshot(tenant, s.environment, s.seq), entity: 'Snapshot', ...s },
      ConditionExpression: 'attribute_not_exists(pk)',
    },
  };
}

/** Snapshots of an environment's configuration and the content-addressed, immutable trie nodes they point at. */
export function snapshotArea(
  base: StoreBase,
  environments: { versioned(env: Environment, previous: Environment): OpItems },
): Area<SnapshotStorePort, SnapshotOp> {
  const { db, table } = base;

  async function getNodes(tenant: string, addresses: string[]): Promise<Map<string, TreeNode>> {
    const out = new Map<string, TreeNode>();
    const unique = [...new Set(addresses)];
    for (let i = 0; i < unique.length; i += 100) {
      let pending: Key[] = unique.slice(i, i + 100).map((a) => keys.node(tenant, a));
      for (let attempt = 0; pending.length > 0; attempt++) {
        const r = await db.send(new BatchGetCommand({ RequestItems: { [table]: { Keys: pending, ProjectionExpression: 'pk, node' } } }));
        for (const item of r.Responses?.[table] ?? []) {
          const address = String(item.pk).slice(String(item.pk).lastIndexOf('#') + 1);
          out.set(address, JSON.parse(item.node as string) as TreeNode);
        }
        pending = (r.UnprocessedKeys?.[table]?.Keys as Key[] | undefined) ?? [];
        if (pending.length) await sleep(Math.min(1000, 20 * 2 ** attempt));
      }
    }
    return out;
  }

  const port: SnapshotStorePort = {
    async commitSnapshot(env: Environment, previous: Environment, snapshot: Snapshot, audit: AuditEntry, events: DomainEvent[] = []): Promise<void> {
      const own = environments.versioned(env, previous);
      if (own.before?.length) await base.batchPut(own.before);
      await base.transact(
        [...own.items, snapshotItem(table, env.tenant, snapshot), ...auditItems(table, audit, events)],
        [...own.reasons, 'version', 'exists'],
      );
      await own.cleanup?.();
    },

    async getSnapshot(tenant: string, environment: string, seq: number): Promise<Snapshot | null> {
      const r = await db.send(new GetCommand({ TableName: table, Key: keys.snapshot(tenant, environment, seq) }));
      return strip<Snapshot>(r.Item);
    },

    async listSnapshots(tenant: string, environment: string, limit: number, cursor?: string): Promise<Page<Snapshot>> {
      const k = keys.snapshots(tenant, environment);
      return base.page(
        tenant,
        {
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :p)',
          ExpressionAttributeValues: { ':pk': k.pk, ':p': k.skPrefix },
          ScanIndexForward: false,
          Limit: limit,
        },
        cursor,
      );
    },

    nodes(tenant: string): NodeSource {
      return { getNodes: (addresses) => getNodes(tenant, addresses) };
    },

    async putNodes(tenant: string, nodes: Map<string, TreeNode>): Promise<void> {
      await base.batchPut([...nodes].map(([a, n]) => ({ ...keys.node(tenant, a), entity: 'TreeNode', node: JSON.stringify(n) })));
    },
  };
  return {
    port,
    writes: {
      kinds: kindsOf<SnapshotOp>({ snapshot: true }),
      items: (op, ctx) => one(snapshotItem(table, ctx.tenant, op.snapshot), 'version'),
    },
  };
}
