import { BatchGetCommand, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { AppKey } from '#domain/app-keys';
import type { AuditEntry, Environment } from '#domain/model';
import { keys } from '../keys.ts';
import { strip } from './base.ts';
import { CommitStore } from './commit.ts';

/** App keys (domain/app-keys.ts): one item per key under the tenant's APPKEY partition, hashes of its secrets only. */
export class AppKeyStore extends CommitStore {
  async putAppKey(key: AppKey, expectedVersion: number | null, audit: AuditEntry): Promise<void> {
    await this.transact([this.put({ ...keys.appKey(key.tenant, key.id), entity: 'AppKey', ...key }, expectedVersion), ...this.auditItems(audit)], [expectedVersion === null ? 'exists' : 'version', 'exists']);
  }

  async getAppKey(tenant: string, id: string): Promise<AppKey | null> {
    const r = await this.db.send(new GetCommand({ TableName: this.table, Key: keys.appKey(tenant, id), ConsistentRead: true }));
    return strip<AppKey>(r.Item);
  }

  async listAppKeys(tenant: string): Promise<AppKey[]> {
    const k = keys.appKeys(tenant);
    return this.queryAll<AppKey>(k.pk, k.skPrefix, true);
  }

  /** One BatchGetItem (consistent): a revoked key stops at the next request, and an environment head moved is seen at once. */
  async appKeyAndEnvironment(tenant: string, keyId: string | null, env: string): Promise<{ key: AppKey | null; env: Environment | null }> {
    const envKey = keys.environment(tenant, env);
    const wanted = [envKey, ...(keyId ? [keys.appKey(tenant, keyId)] : [])];
    const found: Record<string, unknown>[] = [];
    let pending = wanted;
    for (let attempt = 0; pending.length; attempt++) {
      const r = await this.db.send(new BatchGetCommand({ RequestItems: { [this.table]: { Keys: pending, ConsistentRead: true } } }));
      found.push(...(r.Responses?.[this.table] ?? []));
      pending = (r.UnprocessedKeys?.[this.table]?.Keys as typeof wanted | undefined) ?? [];
      if (pending.length) await new Promise((res) => setTimeout(res, Math.min(500, 20 * 2 ** attempt)));
    }
    const byEntity = (e: string) => found.find((i) => i.entity === e);
    return { key: keyId ? strip<AppKey>(byEntity('AppKey')) : null, env: strip<Environment>(byEntity('Environment')) };
  }

  async touchAppKey(tenant: string, id: string, at: string): Promise<void> {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: keys.appKey(tenant, id),
          UpdateExpression: 'SET lastUsedAt = :at',
          ConditionExpression: 'attribute_exists(pk) AND (attribute_not_exists(lastUsedAt) OR lastUsedAt < :at)',
          ExpressionAttributeValues: { ':at': at },
        }),
      );
    } catch (err) {
      if ((err as { name?: string }).name !== 'ConditionalCheckFailedException') throw err;
    }
  }
}
