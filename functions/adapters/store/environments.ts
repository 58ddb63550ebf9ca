import { GetCommand } from '@aws-sdk/lib-dynamodb';
import type { AuditEntry, Environment, ItemKind, Snapshot, TargetHead } from '#domain/kernel/model';
import { watchedMonitors } from '#domain/config/targets';
import type { EnvironmentOp, EnvironmentStorePort } from '#domain/config/ports';
import { GSI_MONITOR, indexAttributes, keys, type Key } from '../keys.ts';
import { kindsOf, one, type Area, type CommitContext } from './area.ts';
import { strip, type ConflictReason, type StoreBase, type TxItem } from './base.ts';
import { auditItems } from './audit.ts';
import { snapshotItem } from './snapshots.ts';

/**
 * Environments: the item (its head, settings, webhook gates with their secrets sealed), the guard
 * that keeps positions unique, the monitor index, the config items' id index, the last applied
 * manifest's digest.
 */
export function environmentArea(base: StoreBase) {
  const { db, table } = base;

  /** Webhook secrets are sealed before they reach the table (secret-box.ts); every environment write goes through here. */
  const envItem = (env: Environment): Record<string, unknown> => {
    const box = base.box();
    const webhookGates = box && env.webhookGates ? env.webhookGates.map((h) => ({ ...h, secret: box.seal(h.secret) })) : env.webhookGates;
    return { ...keys.environment(env.tenant, env.name), entity: 'Environment', ...env, webhookGates };
  };

  const openEnv = (env: Environment | null): Environment | null => {
    const box = base.box();
    if (!env || !box || !env.webhookGates?.length) return env;
    return { ...env, webhookGates: env.webhookGates.map((h) => ({ ...h, secret: box.open(h.secret) })) };
  };

  /** The environment's item, conditioned on the version read (the snapshots area moves the head with it). */
  const versioned = (env: Environment, previous: Environment): TxItem => ({
    Put: {
      TableName: table,
      Item: envItem(env),
      ConditionExpression: '#v = :v',
      ExpressionAttributeNames: { '#v': 'version' },
      ExpressionAttributeValues: { ':v': previous.version },
    },
  });

  /**
   * The monitor index entries that move an environment from the monitors `before` to its own
   * (domain/freeze/monitors.ts): put before the environment's transaction, deleted after it, outside its
   * 100 items (100 targets may watch an alarm each). The alarm handler reads the environment again and
   * acts only on alarms it still lists, so an entry left by a crash between the writes changes nothing.
   */
  const monitorIndex = (env: Environment, before: string[]): { before: Record<string, unknown>[]; after: Key[] } => {
    const now = new Set(watchedMonitors(env));
    const was = new Set(before);
    return {
      before: [...now]
        .filter((a) => !was.has(a))
        .map((arn) => ({ ...keys.monitor(env.tenant, env.name, arn), ...indexAttributes.monitor(env.tenant, env.name, arn), entity: 'Monitor', arn })),
      after: [...was].filter((a) => !now.has(a)).map((arn) => keys.monitor(env.tenant, env.name, arn)),
    };
  };

  /** The environment's transaction, with its monitor index entries written around it. */
  const withMonitors = async (index: { before: Record<string, unknown>[]; after: Key[] }, write: () => Promise<void>) => {
    if (index.before.length) await base.batchPut(index.before);
    await write();
    if (index.after.length) await base.batchDelete(index.after);
  };

  const port: EnvironmentStorePort = {
    async getEnvironment(tenant: string, name: string, opts: { consistent?: boolean } = {}): Promise<Environment | null> {
      await base.ready();
      const r = await db.send(new GetCommand({ TableName: table, Key: keys.environment(tenant, name), ConsistentRead: opts.consistent !== false }));
      return openEnv(strip<Environment>(r.Item));
    },

    async listEnvironments(tenant: string): Promise<Environment[]> {
      await base.ready();
      const k = keys.environments(tenant);
      return (await base.queryAll<Environment>(k.pk, k.skPrefix, true)).map((e) => openEnv(e)!);
    },

    async createEnvironment(env: Environment, snapshot: Snapshot, audit: AuditEntry): Promise<void> {
      await base.ready();
      await withMonitors(monitorIndex(env, []), () =>
        base.transact(
          [
            { Put: { TableName: table, Item: envItem(env), ConditionExpression: 'attribute_not_exists(pk)' } },
            {
              Put: {
                TableName: table,
                Item: { ...keys.position(env.tenant, env.position), entity: 'PositionGuard', environment: env.name },
                ConditionExpression: 'attribute_not_exists(pk)',
              },
            },
            snapshotItem(table, env.tenant, snapshot),
            ...auditItems(table, audit),
          ],
          ['exists', 'position', 'exists', 'exists'],
        ),
      );
    },

    async updateEnvironment(env: Environment, previous: Environment, audit: AuditEntry): Promise<void> {
      await base.ready();
      const items: TxItem[] = [versioned(env, previous)];
      const reasons: ConflictReason[] = ['version'];
      if (env.position !== previous.position) {
        items.push(
          {
            Delete: {
              TableName: table,
              Key: keys.position(env.tenant, previous.position),
              ConditionExpression: 'environment = :e',
              ExpressionAttributeValues: { ':e': env.name },
            },
          },
          {
            Put: {
              TableName: table,
              Item: { ...keys.position(env.tenant, env.position), entity: 'PositionGuard', environment: env.name },
              ConditionExpression: 'attribute_not_exists(pk)',
            },
          },
        );
        reasons.push('position', 'position');
      }
      await withMonitors(monitorIndex(env, watchedMonitors(previous)), () => base.transact([...items, ...auditItems(table, audit)], [...reasons, 'exists']));
    },

    async deleteEnvironment(previous: Environment, audit: AuditEntry): Promise<void> {
      await withMonitors(monitorIndex({ ...previous, monitors: [], targets: [] }, watchedMonitors(previous)), () =>
        base.transact(
          [
            {
              Delete: {
                TableName: table,
                Key: keys.environment(previous.tenant, previous.name),
                ConditionExpression: '#v = :v AND itemCount = :zero',
                ExpressionAttributeNames: { '#v': 'version' },
                ExpressionAttributeValues: { ':v': previous.version, ':zero': 0 },
              },
            },
            {
              Delete: {
                TableName: table,
                Key: keys.position(previous.tenant, previous.position),
                ConditionExpression: 'environment = :e',
                ExpressionAttributeValues: { ':e': previous.name },
              },
            },
            ...auditItems(table, audit),
          ],
          ['version', 'position', 'exists'],
        ),
      );
    },

    /** Who watches an alarm: read from the monitor index, across tenants (the alarm-event handler only). */
    async monitorWatchers(arn: string): Promise<{ tenant: string; environment: string }[]> {
      await base.ready();
      const out: { tenant: string; environment: string }[] = [];
      for (const item of await base.queryIndexAll(GSI_MONITOR, keys.monitorWatchers(arn))) {
        const pk = String(item.pk);
        const sk = String(item.sk);
        const prefix = `MON#`;
        if (!pk.startsWith('T#') || !pk.endsWith('#ENV') || !sk.startsWith(prefix) || !sk.endsWith(`#${arn}`)) continue;
        out.push({ tenant: pk.slice(2, -'#ENV'.length), environment: sk.slice(prefix.length, sk.length - arn.length - 1) });
      }
      return out;
    },

    async putItemIds(tenant: string, refs: { id: string; kind: ItemKind; key: string }[]): Promise<void> {
      await base.batchPut(refs.map((r) => ({ ...keys.itemId(tenant, r.id), entity: 'ItemId', kind: r.kind, key: r.key })));
    },

    async getItemId(tenant: string, id: string): Promise<{ kind: ItemKind; key: string } | null> {
      const r = await db.send(new GetCommand({ TableName: table, Key: keys.itemId(tenant, id) }));
      return r.Item ? { kind: r.Item.kind as ItemKind, key: r.Item.key as string } : null;
    },

    async manifestHead(tenant: string): Promise<string | null> {
      const r = await db.send(new GetCommand({ TableName: table, Key: keys.manifestHead(tenant), ConsistentRead: true }));
      return (r.Item?.digest as string | undefined) ?? null;
    },

    async getTargetHead(tenant: string, environment: string, target: string, subject: string, opts: { consistent?: boolean } = {}): Promise<TargetHead | null> {
      await base.ready();
      const r = await db.send(
        new GetCommand({ TableName: table, Key: keys.targetHead(tenant, environment, target, subject), ConsistentRead: opts.consistent ?? true }),
      );
      return strip<TargetHead>(r.Item);
    },

    async listTargetHeads(tenant: string, environment: string): Promise<TargetHead[]> {
      await base.ready();
      const k = keys.targetHeads(tenant, environment);
      return base.queryAll<TargetHead>(k.pk, k.skPrefix, true);
    },
  };

  const area = {
    port,
    writes: {
      kinds: kindsOf<EnvironmentOp>({ environment: true, manifestHead: true, targetHead: true }),
      items(op: EnvironmentOp, ctx: CommitContext) {
        if (op.kind === 'targetHead') {
          const h = op.head;
          return one(
            base.put({ ...keys.targetHead(ctx.tenant, h.environment, h.target, h.subject), entity: 'TargetHead', ...h }, op.expectedVersion),
            op.expectedVersion === null ? 'exists' : 'version',
          );
        }
        if (op.kind === 'environment') {
          const index = op.previousMonitors ? monitorIndex(op.env, op.previousMonitors) : { before: [], after: [] };
          return { items: [base.put(envItem(op.env), op.expectedVersion)], reasons: ['version'], ...index };
        }
        return one(
          {
            Put: {
              TableName: table,
              Item: { ...keys.manifestHead(ctx.tenant), entity: 'ManifestHead', digest: op.digest },
              ...(op.previous === null
                ? { ConditionExpression: 'attribute_not_exists(pk)' }
                : { ConditionExpression: 'digest = :prev', ExpressionAttributeValues: { ':prev': op.previous } }),
            },
          },
          'version',
        );
      },
    },
    versioned,
  } satisfies Area<EnvironmentStorePort, EnvironmentOp> & { versioned: unknown };
  return area;
}

export type EnvironmentArea = ReturnType<typeof environmentArea>;
