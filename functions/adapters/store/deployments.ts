import { PutCommand, GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { ValidationFailed } from '#domain/errors';
import type { Page } from '#domain/model';
import type { Deployment } from '#domain/promotion/model';
import { keys } from '../keys.ts';
import { decodeCursor, encodeCursor, strip } from './base.ts';
import { ArtifactStore } from './artifacts.ts';

/** Deployments (seed 001): history, the current one per environment, daily metrics. */
export class DeploymentStore extends ArtifactStore {
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

  async getDeployment(tenant: string, env: string, deployedAt: string, id: string): Promise<Deployment | null> {
    const r = await this.db.send(new GetCommand({ TableName: this.table, Key: keys.deployment(tenant, env, deployedAt, id), ConsistentRead: true }));
    return strip<Deployment>(r.Item);
  }
}
