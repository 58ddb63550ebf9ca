import { PutCommand, GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { ValidationFailed } from '#domain/kernel/errors';
import type { Page } from '#domain/kernel/model';
import type { Deployment } from '#domain/kernel/promotion-model';
import type { DeploymentOp, DeploymentStorePort, MetricDelta } from '#domain/artifacts/ports';
import { keys } from '../keys.ts';
import { createOrVersion, kindsOf, none, type Area, type CommitContext, type OpItems } from './area.ts';
import { auditItems } from './audit.ts';
import type { AuditEntry } from '#domain/kernel/model';
import type { ScrapeToken } from '#domain/artifacts/dora-export';
import { decodeCursor, encodeCursor, strip, WRITE_MARK, type StoreBase, type TxItem } from './base.ts';
import { SCHEMA_ATTRIBUTE } from './schema.ts';

/** Deployments: history, the current one per environment, daily metrics, first sightings of image tags. */
export function deploymentArea(base: StoreBase): Area<DeploymentStorePort, DeploymentOp> {
  const { db, table } = base;

  const port: DeploymentStorePort = {
    async listDeployments(tenant: string, env: string, limit: number, cursor?: string, target?: string): Promise<Page<Deployment>> {
      const pk = target ? keys.targetDeployments(tenant, env, target) : keys.deployments(tenant, env);
      const after = decodeCursor(tenant, cursor);
      if (after && after.pk !== pk) throw new ValidationFailed([{ path: 'query.cursor', message: 'belongs to another environment or target' }]);
      // Seek with a key condition (sk < cursor) rather than ExclusiveStartKey: the same one-page read,
      // and it stays as fast deep in a long history on DynamoDB Local too.
      const r = await db.send(
        new QueryCommand({
          TableName: table,
          KeyConditionExpression: after ? 'pk = :pk AND sk < :sk' : 'pk = :pk',
          ExpressionAttributeValues: after ? { ':pk': pk, ':sk': after.sk } : { ':pk': pk },
          ScanIndexForward: false,
          Limit: limit,
        }),
      );
      return { items: (r.Items ?? []).map((i) => strip<Deployment>(i)!), nextCursor: encodeCursor(r.LastEvaluatedKey) };
    },

    async getMetrics(
      tenant: string,
      env: string,
      fromDay: string,
      toDay: string,
      target?: string,
    ): Promise<{ day: string; counters: Record<string, number> }[]> {
      const out: { day: string; counters: Record<string, number> }[] = [];
      let start: Record<string, unknown> | undefined;
      do {
        const r = await db.send(
          new QueryCommand({
            TableName: table,
            KeyConditionExpression: 'pk = :pk AND sk BETWEEN :a AND :b',
            ExpressionAttributeValues: {
              ':pk': target ? keys.targetMetricsOf(tenant, env, target) : keys.metricsOf(tenant, env),
              ':a': `D#${fromDay}`,
              ':b': `D#${toDay}`,
            },
            ExclusiveStartKey: start,
          }),
        );
        for (const i of r.Items ?? []) {
          const { pk: _p, sk, entity: _e, [WRITE_MARK]: _m, [SCHEMA_ATTRIBUTE]: _v, ...counters } = i;
          out.push({ day: String(sk).slice(2), counters: counters as Record<string, number> });
        }
        start = r.LastEvaluatedKey;
      } while (start);
      return out;
    },

    async markFirstSeen(tenant: string, imageTag: string, at: string): Promise<void> {
      try {
        await db.send(
          new PutCommand({
            TableName: table,
            Item: { ...keys.firstSeen(tenant, imageTag), entity: 'FirstSeen', at },
            ConditionExpression: 'attribute_not_exists(pk) OR #at > :at',
            ExpressionAttributeNames: { '#at': 'at' },
            ExpressionAttributeValues: { ':at': at },
          }),
        );
      } catch (err) {
        if ((err as { name?: string }).name !== 'ConditionalCheckFailedException') throw err;
      }
    },

    async firstSeen(tenant: string, imageTag: string): Promise<string | null> {
      const r = await db.send(new GetCommand({ TableName: table, Key: keys.firstSeen(tenant, imageTag) }));
      return (r.Item?.at as string | undefined) ?? null;
    },

    async putCurrent(tenant: string, dep: Deployment): Promise<void> {
      try {
        await db.send(
          new PutCommand({
            TableName: table,
            Item: { ...keys.current(tenant, dep.environment), entity: 'CurrentImage', ...dep },
            // A late record of an older rollout never moves the reference back.
            ConditionExpression: 'attribute_not_exists(pk) OR deployedAt <= :d',
            ExpressionAttributeValues: { ':d': dep.deployedAt },
          }),
        );
      } catch (err) {
        if ((err as { name?: string }).name !== 'ConditionalCheckFailedException') throw err;
      }
    },

    async getCurrent(tenant: string, env: string): Promise<Deployment | null> {
      const r = await db.send(new GetCommand({ TableName: table, Key: keys.current(tenant, env) }));
      return strip<Deployment>(r.Item);
    },

    async putScrapeToken(token: ScrapeToken, expectedVersion: number | null, audit: AuditEntry): Promise<void> {
      await base.transact(
        [base.put({ ...keys.scrapeToken(token.tenant), entity: 'ScrapeToken', ...token }, expectedVersion), ...auditItems(table, audit)],
        [createOrVersion(expectedVersion), 'exists'],
      );
    },

    async getScrapeToken(tenant: string): Promise<ScrapeToken | null> {
      const r = await db.send(new GetCommand({ TableName: table, Key: keys.scrapeToken(tenant), ConsistentRead: true }));
      return strip<ScrapeToken>(r.Item);
    },

    async findDeployment(tenant: string, id: string): Promise<Deployment | null> {
      const r = await db.send(new GetCommand({ TableName: table, Key: keys.deploymentById(tenant, id), ConsistentRead: true }));
      if (!r.Item) return null;
      return this.getDeployment(tenant, r.Item.environment as string, r.Item.deployedAt as string, id);
    },

    async getDeployment(tenant: string, env: string, deployedAt: string, id: string): Promise<Deployment | null> {
      const r = await db.send(new GetCommand({ TableName: table, Key: keys.deployment(tenant, env, deployedAt, id), ConsistentRead: true }));
      return strip<Deployment>(r.Item);
    },
  };

  /** A deployment: its history item, its id's pointer to it (findDeployment) and, naming a target, its copy in the target's history. Its metric counters are merged (below). */
  const items = (op: DeploymentOp, tenant: string): OpItems => {
    if (op.kind === 'metrics') return none();
    const d = op.deployment;
    const perTarget: TxItem[] = d.target
      ? [
          {
            Put: {
              TableName: table,
              Item: { ...keys.targetDeployment(tenant, d.environment, d.target, d.deployedAt, d.id), entity: 'TargetDeployment', ...d },
            },
          },
        ]
      : [];
    return {
      items: [
        ...perTarget,
        { Put: { TableName: table, Item: { ...keys.deployment(tenant, d.environment, d.deployedAt, d.id), entity: 'Deployment', ...d } } },
        {
          Put: {
            TableName: table,
            Item: { ...keys.deploymentById(tenant, d.id), entity: 'DeploymentId', environment: d.environment, deployedAt: d.deployedAt },
          },
        },
      ],
      reasons: [...perTarget.map(() => 'unknown' as const), 'unknown', 'unknown'],
    };
  };

  /** A transaction may touch an item once: the commit's metric deltas (its metrics ops and its deployments') are merged per environment and day. */
  const merged = ({ tenant, ops }: CommitContext): OpItems => {
    const byDay = new Map<string, MetricDelta>();
    for (const op of ops) {
      const delta = op.kind === 'metrics' ? op.delta : op.kind === 'deployment' ? op.metrics : null;
      if (!delta) continue;
      const k = `${delta.environment}|${delta.target ?? ''}|${delta.day}`;
      const cur = byDay.get(k) ?? { ...delta, add: {} };
      for (const [name, v] of Object.entries(delta.add)) cur.add[name] = (cur.add[name] ?? 0) + v;
      byDay.set(k, cur);
    }
    const updates = [...byDay.values()].map((d): TxItem => {
      const names = Object.keys(d.add);
      return {
        Update: {
          TableName: table,
          Key: d.target ? keys.targetMetrics(tenant, d.environment, d.target, d.day) : keys.metrics(tenant, d.environment, d.day),
          UpdateExpression: `SET entity = :e ADD ${names.map((_, i) => `#m${i} :m${i}`).join(', ')}`,
          ExpressionAttributeNames: Object.fromEntries(names.map((n, i) => [`#m${i}`, n])),
          ExpressionAttributeValues: { ':e': 'Metrics', ...Object.fromEntries(names.map((n, i) => [`:m${i}`, d.add[n]])) },
        },
      };
    });
    return { items: updates, reasons: updates.map(() => 'unknown' as const) };
  };

  return {
    port,
    writes: {
      kinds: kindsOf<DeploymentOp>({ deployment: true, metrics: true }),
      items: (op, ctx) => items(op, ctx.tenant),
      merged,
    },
  };
}
