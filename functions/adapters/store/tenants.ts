import { GetCommand } from '@aws-sdk/lib-dynamodb';
import type { Tenant, TenantRepo } from '#domain/access/ports';
import type { AuditEntry } from '#domain/kernel/model';
import { keys } from '../keys.ts';
import type { Area } from './area.ts';
import { strip, type StoreBase } from './base.ts';
import { auditItems } from './audit.ts';

/** Tenants (domain/access): one item each, created once with its audit entry. */
export function tenantArea(base: StoreBase): Area<TenantRepo> {
  const { db, table } = base;
  const port: TenantRepo = {
    async createTenant(tenant: Tenant, audit: AuditEntry): Promise<void> {
      await base.transact([base.put({ ...keys.tenant(tenant.id), entity: 'Tenant', ...tenant }, null), ...auditItems(table, audit)], ['exists', 'exists']);
    },
    async getTenant(id: string): Promise<Tenant | null> {
      const r = await db.send(new GetCommand({ TableName: table, Key: keys.tenant(id), ConsistentRead: true }));
      return strip<Tenant>(r.Item);
    },
  };
  return { port };
}
