import { DeleteCommand, GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { AccessOp, AdminGuard, Member, Tenant, TenantRepo } from '#domain/access/ports';
import type { Binding, Bindings } from '#domain/access/bindings';
import type { IdentityProviderConnection } from '#domain/access/federation';
import type { GroupMapEntry, GroupMapping } from '#domain/access/group-mapping';
import type { AuditEntry } from '#domain/kernel/model';
import { keys, TABLE } from '../keys.ts';
import { createOrVersion, kindsOf, one as oneItem, type Area } from './area.ts';
import { strip, type StoreBase, type TxItem } from './base.ts';
import { auditItems } from './audit.ts';
import { WriteConflict } from '#domain/kernel/retry';

/** How long a person's "not before" is kept: past the life of any token issued before it (an ID token lives an hour on AWS, 12 hours locally). */
const NOT_BEFORE_KEPT_SECONDS = 2 * 24 * 3600;

/** Tenants (domain/access): one item each, created once with its audit entry; and each tenant's people index. */
export function tenantArea(base: StoreBase): Area<TenantRepo, AccessOp> {
  const { db, table } = base;
  /** Sets the second before which the person's tokens stop counting; a later one already there stays. */
  async function setNotBefore(tenant: string, id: string, notBefore: number): Promise<void> {
    await base.conditional(
      new UpdateCommand({
        TableName: table,
        Key: keys.notBefore(tenant, id),
        UpdateExpression: 'SET #nb = :nb, #exp = :exp, entity = :e',
        ConditionExpression: 'attribute_not_exists(#nb) OR #nb < :nb',
        ExpressionAttributeNames: { '#nb': 'notBefore', '#exp': TABLE.ttlAttribute },
        ExpressionAttributeValues: { ':nb': notBefore, ':exp': notBefore + NOT_BEFORE_KEPT_SECONDS, ':e': 'NotBefore' },
      }),
    );
  }
  /** The condition of a change to the people: the acting admin still holds the admin role when it commits. */
  const adminCheck = (tenant: string, guard: AdminGuard): TxItem => ({
    ConditionCheck: {
      TableName: table,
      Key: keys.member(tenant, guard.admin),
      ConditionExpression: 'contains(#roles, :admin)',
      ExpressionAttributeNames: { '#roles': 'roles' },
      ExpressionAttributeValues: { ':admin': 'admin' },
    },
  });
  const one = async (pk: string, prefix: string) =>
    ((
      await db.send(
        new QueryCommand({
          TableName: table,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :p)',
          ExpressionAttributeValues: { ':pk': pk, ':p': prefix },
          Limit: 1,
          ProjectionExpression: 'pk',
        }),
      )
    ).Items?.length ?? 0) > 0;
  const port: TenantRepo = {
    async createTenant(tenant: Tenant, audit: AuditEntry): Promise<void> {
      await base.transact([base.put({ ...keys.tenant(tenant.id), entity: 'Tenant', ...tenant }, null), ...auditItems(table, audit)], ['exists', 'exists']);
    },
    async getTenant(id: string): Promise<Tenant | null> {
      const r = await db.send(new GetCommand({ TableName: table, Key: keys.tenant(id), ConsistentRead: true }));
      return strip<Tenant>(r.Item);
    },
    async setEmailDomains(id: string, domains: string[], audit: AuditEntry): Promise<void> {
      const update: TxItem = {
        Update: {
          TableName: table,
          Key: keys.tenant(id),
          UpdateExpression: 'SET emailDomains = :d',
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeValues: { ':d': domains },
        },
      };
      await base.transact([update, ...auditItems(table, audit)], ['unknown', 'exists']);
    },
    async claimDomain(domain: string, tenant: string): Promise<string | null> {
      const key = keys.domainClaim(domain);
      const ok = await base.conditional(
        new PutCommand({
          TableName: table,
          Item: { ...key, entity: 'DomainClaim', domain, tenant },
          ConditionExpression: 'attribute_not_exists(pk) OR #t = :t',
          ExpressionAttributeNames: { '#t': 'tenant' },
          ExpressionAttributeValues: { ':t': tenant },
        }),
      );
      if (ok) return null;
      const r = await db.send(new GetCommand({ TableName: table, Key: key, ConsistentRead: true }));
      return typeof r.Item?.tenant === 'string' ? r.Item.tenant : 'another tenant';
    },
    async releaseDomain(domain: string, tenant: string): Promise<void> {
      await base.conditional(
        new DeleteCommand({
          TableName: table,
          Key: keys.domainClaim(domain),
          ConditionExpression: '#t = :t',
          ExpressionAttributeNames: { '#t': 'tenant' },
          ExpressionAttributeValues: { ':t': tenant },
        }),
      );
    },
    async tenantInUse(id: string): Promise<boolean> {
      if (await port.getTenant(id)) return true;
      const people = keys.members(id);
      const audit = keys.auditEntries(id);
      return (await one(people.pk, people.skPrefix)) || (await one(audit.pk, audit.skPrefix));
    },
    async putMember(member: Member, audit: AuditEntry | null, notBefore?: number, guard?: AdminGuard): Promise<void> {
      // The "not before" first: should the rest fail, the person's old tokens are refused a little early, never late.
      if (notBefore !== undefined) await setNotBefore(member.tenant, member.id, notBefore);
      const put: TxItem = { Put: { TableName: table, Item: { ...keys.member(member.tenant, member.id), entity: 'Member', ...member } } };
      const checks = guard ? [adminCheck(member.tenant, guard)] : [];
      await base.transact([...checks, put, ...(audit ? auditItems(table, audit) : [])], [...checks.map(() => 'version' as const), 'unknown', 'exists']);
    },
    async indexMember(member: Member): Promise<boolean> {
      const put: TxItem = {
        Put: {
          TableName: table,
          Item: { ...keys.member(member.tenant, member.id), entity: 'Member', ...member },
          ConditionExpression: 'attribute_not_exists(pk)',
        },
      };
      const neverRemoved: TxItem = {
        ConditionCheck: { TableName: table, Key: keys.notBefore(member.tenant, member.id), ConditionExpression: 'attribute_not_exists(pk)' },
      };
      try {
        await base.transact([put, neverRemoved], ['exists', 'version']);
        return true;
      } catch (err) {
        if (err instanceof WriteConflict && err.reason === 'exists') return true;
        if (err instanceof WriteConflict && err.reason === 'version') return false;
        throw err;
      }
    },
    async removeMember(tenant: string, id: string, audit: AuditEntry, notBefore: number, guard?: AdminGuard): Promise<void> {
      await setNotBefore(tenant, id, notBefore);
      const checks = guard ? [adminCheck(tenant, guard)] : [];
      await base.transact(
        [...checks, { Delete: { TableName: table, Key: keys.member(tenant, id) } }, ...auditItems(table, audit)],
        [...checks.map(() => 'version' as const), 'unknown', 'exists'],
      );
    },
    async getMember(tenant: string, id: string): Promise<Member | null> {
      const r = await db.send(new GetCommand({ TableName: table, Key: keys.member(tenant, id), ConsistentRead: true }));
      return strip<Member>(r.Item);
    },
    async listMembers(tenant: string): Promise<Member[]> {
      const k = keys.members(tenant);
      return base.queryAll<Member>(k.pk, k.skPrefix, true);
    },
    async notBefore(tenant: string, id: string): Promise<number | null> {
      // One consistent read of one small item (1 RCU): a removal is seen by the very next request.
      const r = await db.send(new GetCommand({ TableName: table, Key: keys.notBefore(tenant, id), ConsistentRead: true, ProjectionExpression: 'notBefore' }));
      return typeof r.Item?.notBefore === 'number' ? r.Item.notBefore : null;
    },
    async getBindings(tenant: string): Promise<Bindings | null> {
      const r = await db.send(new GetCommand({ TableName: table, Key: keys.bindings(tenant), ConsistentRead: true }));
      if (!r.Item) return null;
      return { bindings: (r.Item.bindings ?? []) as Binding[], version: Number(r.Item.version) };
    },
    async getIdentityProvider(tenant: string): Promise<IdentityProviderConnection | null> {
      const r = await db.send(new GetCommand({ TableName: table, Key: keys.identityProvider(tenant), ConsistentRead: true }));
      return strip<IdentityProviderConnection>(r.Item);
    },
    async putIdentityProvider(conn: IdentityProviderConnection, expectedVersion: number | null, audit: AuditEntry): Promise<void> {
      await base.transact(
        [base.put({ ...keys.identityProvider(conn.tenant), entity: 'IdentityProvider', ...conn }, expectedVersion), ...auditItems(table, audit)],
        [createOrVersion(expectedVersion), 'exists'],
      );
    },
    async deleteIdentityProvider(conn: IdentityProviderConnection, audit: AuditEntry): Promise<void> {
      const del: TxItem = {
        Delete: {
          TableName: table,
          Key: keys.identityProvider(conn.tenant),
          ConditionExpression: '#v = :v',
          ExpressionAttributeNames: { '#v': 'version' },
          ExpressionAttributeValues: { ':v': conn.version },
        },
      };
      await base.transact([del, ...auditItems(table, audit)], ['version', 'exists']);
    },
    async domainHolder(domain: string): Promise<string | null> {
      const r = await db.send(new GetCommand({ TableName: table, Key: keys.domainClaim(domain), ConsistentRead: true }));
      return typeof r.Item?.tenant === 'string' ? r.Item.tenant : null;
    },
    async getGroupMapping(tenant: string): Promise<GroupMapping | null> {
      const r = await db.send(new GetCommand({ TableName: table, Key: keys.groupMapping(tenant), ConsistentRead: true }));
      if (!r.Item) return null;
      return { entries: (r.Item.entries ?? []) as GroupMapEntry[], version: Number(r.Item.version) };
    },
  };
  return {
    port,
    writes: {
      kinds: kindsOf<AccessOp>({ accessBindings: true, groupMapping: true }),
      items: (op, ctx) =>
        oneItem(
          op.kind === 'accessBindings'
            ? base.put({ ...keys.bindings(ctx.tenant), entity: 'Bindings', bindings: op.bindings, version: (op.expectedVersion ?? 0) + 1 }, op.expectedVersion)
            : base.put(
                { ...keys.groupMapping(ctx.tenant), entity: 'GroupMapping', tenant: ctx.tenant, entries: op.entries, version: (op.expectedVersion ?? 0) + 1 },
                op.expectedVersion,
              ),
          createOrVersion(op.expectedVersion),
        ),
    },
  };
}
