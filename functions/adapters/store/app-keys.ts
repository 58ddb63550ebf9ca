import { BatchGetCommand, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { AppKey } from '#domain/access/model';
import type { AuditEntry, Environment } from '#domain/kernel/model';
import type { AppKeyStorePort } from '#domain/access/ports';
import { keys } from '../keys.ts';
import { createOrVersion, type Area } from './area.ts';
import { strip, type StoreBase } from './base.ts';
import { auditItems } from './audit.ts';
import { readEnvironment, withTarget, withTargets } from './environments.ts';
import { joinTargets } from './targets.ts';

/** App keys (domain/access/app-keys.ts): one item per key under the tenant's APPKEY partition, hashes of its secrets only. */
export function appKeyArea(base: StoreBase): Area<AppKeyStorePort> {
  const { db, table } = base;

  const port: AppKeyStorePort = {
    async putAppKey(key: AppKey, expectedVersion: number | null, audit: AuditEntry): Promise<void> {
      await base.transact(
        [base.put({ ...keys.appKey(key.tenant, key.id), entity: 'AppKey', ...key }, expectedVersion), ...auditItems(table, audit)],
        [createOrVersion(expectedVersion), 'exists'],
      );
    },

    async getAppKey(tenant: string, id: string): Promise<AppKey | null> {
      const r = await db.send(new GetCommand({ TableName: table, Key: keys.appKey(tenant, id), ConsistentRead: true }));
      return strip<AppKey>(r.Item);
    },

    async listAppKeys(tenant: string): Promise<AppKey[]> {
      const k = keys.appKeys(tenant);
      return base.queryAll<AppKey>(k.pk, k.skPrefix, true);
    },

    /** One BatchGetItem (consistent): a revoked key stops at the next request, and an environment head moved is seen at once. */
    async appKeyAndEnvironment(
      tenant: string,
      keyId: string | null,
      env: string,
      opts: { targets?: boolean; target?: string } = {},
    ): Promise<{ key: AppKey | null; env: Environment | null }> {
      const envKey = keys.environment(tenant, env);
      const wanted = [envKey, ...(keyId ? [keys.appKey(tenant, keyId)] : [])];
      const found: Record<string, unknown>[] = [];
      let pending = wanted;
      for (let attempt = 0; pending.length; attempt++) {
        const r = await db.send(new BatchGetCommand({ RequestItems: { [table]: { Keys: pending, ConsistentRead: true } } }));
        found.push(...(r.Responses?.[table] ?? []));
        pending = (r.UnprocessedKeys?.[table]?.Keys as typeof wanted | undefined) ?? [];
        if (pending.length) await new Promise((res) => setTimeout(res, Math.min(500, 20 * 2 ** attempt)));
      }
      const byEntity = (e: string) => found.find((i) => i.entity === e);
      const key = keyId ? strip<AppKey>(byEntity('AppKey')) : null;
      // An environment with targets: its targets item too (one GetItem more, store/targets.ts), unless no target is read.
      const item = byEntity('Environment');
      const readTargets = opts.targets !== false || key?.target !== undefined;
      // One target named (by the read, else by the key): that target alone, from its page (store/environments.ts withTarget).
      const one = opts.target ?? key?.target;
      const withTheirs = !item
        ? null
        : !readTargets
          ? joinTargets(strip<Record<string, unknown>>(item)!, undefined)
          : ((one !== undefined ? await withTarget(base, item, true, one) : await withTargets(base, item, true)) ??
            (await readEnvironment(base, tenant, env, true, true, one)));
      return { key, env: withTheirs };
    },

    async touchAppKey(tenant: string, id: string, at: string): Promise<void> {
      try {
        await db.send(
          new UpdateCommand({
            TableName: table,
            Key: keys.appKey(tenant, id),
            UpdateExpression: 'SET lastUsedAt = :at',
            ConditionExpression: 'attribute_exists(pk) AND (attribute_not_exists(lastUsedAt) OR lastUsedAt < :at)',
            ExpressionAttributeValues: { ':at': at },
          }),
        );
      } catch (err) {
        if ((err as { name?: string }).name !== 'ConditionalCheckFailedException') throw err;
      }
    },
  };
  return { port };
}
