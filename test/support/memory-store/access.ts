import type { AppKey } from '../../../domain/access/model.ts';
import type { AuditEntry, Environment } from '../../../domain/kernel/model.ts';
import type { AppKeyStorePort, TenantRepo } from '../../../domain/access/ports.ts';
import type { Tenant } from '../../../domain/access/ports.ts';
import { keys } from '../../../functions/adapters/keys.ts';
import { strip } from '../../../functions/adapters/store/base.ts';
import type { MemoryState } from './area.ts';
import { auditWrite } from './audit.ts';
import { create, createOrVersion, less, versioned } from './table.ts';

/** App keys (hashes of their secrets only) and tenants, each written with its audit entry. */
export function accessArea({ table }: MemoryState) {
  const appKeys: AppKeyStorePort = {
    async putAppKey(key: AppKey, expectedVersion: number | null, audit: AuditEntry): Promise<void> {
      table.transact([
        versioned({ ...keys.appKey(key.tenant, key.id), entity: 'AppKey', ...key }, expectedVersion, 'version', createOrVersion(expectedVersion)),
        auditWrite(audit),
      ]);
    },
    async getAppKey(tenant: string, id: string): Promise<AppKey | null> {
      return strip<AppKey>(table.get(keys.appKey(tenant, id)));
    },
    async listAppKeys(tenant: string): Promise<AppKey[]> {
      const k = keys.appKeys(tenant);
      return table.query(k.pk, { prefix: k.skPrefix }).map((i) => strip<AppKey>(i)!);
    },
    async appKeyAndEnvironment(tenant: string, keyId: string | null, env: string): Promise<{ key: AppKey | null; env: Environment | null }> {
      return {
        key: keyId ? strip<AppKey>(table.get(keys.appKey(tenant, keyId))) : null,
        env: strip<Environment>(table.get(keys.environment(tenant, env))),
      };
    },
    async touchAppKey(tenant: string, id: string, at: string): Promise<void> {
      table.write({
        key: keys.appKey(tenant, id),
        when: (cur) => cur !== undefined && (cur.lastUsedAt === undefined || less(cur.lastUsedAt, at)),
        to: (cur) => ({ ...cur!, lastUsedAt: at }),
        reason: 'unknown',
      });
    },
  };

  const tenants: TenantRepo = {
    async createTenant(tenant: Tenant, audit: AuditEntry): Promise<void> {
      table.transact([create({ ...keys.tenant(tenant.id), entity: 'Tenant', ...tenant }, 'exists'), auditWrite(audit)]);
    },
    async getTenant(id: string): Promise<Tenant | null> {
      return strip<Tenant>(table.get(keys.tenant(id)));
    },
  };
  return { port: { ...appKeys, ...tenants } };
}
