import { PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { InstanceSeen, InstanceStorePort } from '#domain/config/ports';
import { keys } from '../keys.ts';
import type { Area } from './area.ts';
import type { StoreBase } from './base.ts';

/** The largest page a fleet count reads at once (instance items are small: a page of 1,000 is well under DynamoDB's 1 MB). */
const PAGE = 1_000;
/** A count's page: no item comes back, only how many (each page reads at most 1 MB). */
const COUNT_PAGE = 10_000;

/**
 * Instances of a target's fleet (domain/promotion/rollout/confirm-fleet.ts): one item per instance under
 * its target's partition, written only when what it read changes (a conditional put on a fingerprint of
 * the version and artifact), expiring by TTL. No transaction, no audit entry, no event: an instance's
 * read is no change of Stageline's, and its item is the cheapest write there is (one put under 1 KB).
 */
export function instanceArea(base: StoreBase): Area<InstanceStorePort> {
  const { db, table } = base;
  const port: InstanceStorePort = {
    async recordInstance(tenant: string, seen: InstanceSeen, ttlSeconds: number): Promise<boolean> {
      const fp = fingerprint(seen);
      try {
        await db.send(
          new PutCommand({
            TableName: table,
            Item: {
              ...keys.instance(tenant, seen.environment, seen.target, seen.instance),
              entity: 'Instance',
              ...seen,
              fp,
              expiresAt: Math.floor(new Date(seen.at).getTime() / 1000) + ttlSeconds,
            },
            ConditionExpression: 'attribute_not_exists(pk) OR #fp <> :fp',
            ExpressionAttributeNames: { '#fp': 'fp' },
            ExpressionAttributeValues: { ':fp': fp },
          }),
        );
        return true;
      } catch (err) {
        if ((err as { name?: string }).name === 'ConditionalCheckFailedException') return false;
        throw err;
      }
    },

    async listInstances(tenant: string, environment: string, target: string, limit: number): Promise<InstanceSeen[]> {
      const k = keys.instances(tenant, environment, target);
      const out: InstanceSeen[] = [];
      let start: Record<string, unknown> | undefined;
      do {
        const r = await db.send(
          new QueryCommand({
            TableName: table,
            KeyConditionExpression: 'pk = :pk AND begins_with(sk, :sk)',
            ExpressionAttributeValues: { ':pk': k.pk, ':sk': k.skPrefix },
            // Every name through a placeholder: some are DynamoDB reserved words.
            ProjectionExpression: '#e, #t, #i, #v, #a, #at',
            ExpressionAttributeNames: { '#e': 'environment', '#t': 'target', '#i': 'instance', '#v': 'version', '#a': 'artifact', '#at': 'at' },
            Limit: Math.min(PAGE, limit - out.length),
            ExclusiveStartKey: start,
          }),
        );
        for (const i of r.Items ?? []) out.push(asSeen(i));
        start = r.LastEvaluatedKey;
      } while (start && out.length < limit);
      return out;
    },

    async countInstances(tenant: string, environment: string, target: string, limit: number): Promise<number> {
      const k = keys.instances(tenant, environment, target);
      let n = 0;
      let start: Record<string, unknown> | undefined;
      do {
        const r = await db.send(
          new QueryCommand({
            TableName: table,
            KeyConditionExpression: 'pk = :pk AND begins_with(sk, :sk)',
            ExpressionAttributeValues: { ':pk': k.pk, ':sk': k.skPrefix },
            Select: 'COUNT',
            Limit: Math.min(COUNT_PAGE, limit - n),
            ExclusiveStartKey: start,
          }),
        );
        n += r.Count ?? 0;
        start = r.LastEvaluatedKey;
      } while (start && n < limit);
      return n;
    },
  };
  return { port };
}

/** What decides whether an instance's item is written again: the version it read and the artifact it runs. */
export const fingerprint = (s: Pick<InstanceSeen, 'version' | 'artifact'>) => `${s.version}|${s.artifact ?? ''}`;

function asSeen(i: Record<string, unknown>): InstanceSeen {
  return {
    environment: String(i.environment),
    target: String(i.target),
    instance: String(i.instance),
    version: String(i.version),
    ...(typeof i.artifact === 'string' ? { artifact: i.artifact } : {}),
    at: String(i.at),
  };
}
