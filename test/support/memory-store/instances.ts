import type { InstanceSeen, InstanceStorePort } from '../../../domain/config/ports.ts';
import { keys, TABLE } from '../../../functions/adapters/keys.ts';
import { fingerprint } from '../../../functions/adapters/store/instances.ts';
import type { MemoryState } from './area.ts';

/** Instances of a target's fleet: written only when what the instance read changes, as the DynamoDB store's conditional put. */
export function instanceArea({ table }: MemoryState) {
  const port: InstanceStorePort = {
    async recordInstance(tenant: string, seen: InstanceSeen, ttlSeconds: number): Promise<boolean> {
      const fp = fingerprint(seen);
      return table.write({
        key: keys.instance(tenant, seen.environment, seen.target, seen.instance),
        when: (cur) => cur === undefined || cur.fp !== fp,
        to: {
          ...keys.instance(tenant, seen.environment, seen.target, seen.instance),
          entity: 'Instance',
          ...seen,
          fp,
          [TABLE.ttlAttribute]: Math.floor(new Date(seen.at).getTime() / 1000) + ttlSeconds,
        },
        reason: 'unknown',
      });
    },
    async listInstances(tenant: string, environment: string, target: string, limit: number): Promise<InstanceSeen[]> {
      const k = keys.instances(tenant, environment, target);
      return table
        .query(k.pk, { prefix: k.skPrefix })
        .slice(0, limit)
        .map((i) => ({
          environment: String(i.environment),
          target: String(i.target),
          instance: String(i.instance),
          version: String(i.version),
          ...(typeof i.artifact === 'string' ? { artifact: i.artifact } : {}),
          at: String(i.at),
        }));
    },
    async countInstances(tenant: string, environment: string, target: string, limit: number): Promise<number> {
      const k = keys.instances(tenant, environment, target);
      return Math.min(limit, table.query(k.pk, { prefix: k.skPrefix }).length);
    },
  };
  return { port };
}
