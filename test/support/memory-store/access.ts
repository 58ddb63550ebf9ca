import type { AppKey } from '../../../domain/access/model.ts';
import type { AuditEntry, Environment } from '../../../domain/kernel/model.ts';
import type { AppKeyStorePort, TenantRepo } from '../../../domain/access/ports.ts';
import type { AdminGuard, Member, Tenant } from '../../../domain/access/ports.ts';
import { uniquesOf, type ScimRecord, type ScimStorePort, type ScimToken } from '../../../domain/access/scim-model.ts';
import { keys } from '../../../functions/adapters/keys.ts';
import { strip } from '../../../functions/adapters/store/base.ts';
import type { MemoryState, Writers } from './area.ts';
import type { AccessOp } from '../../../domain/access/ports.ts';
import type { Binding, Bindings } from '../../../domain/access/bindings.ts';
import type { IdentityProviderConnection } from '../../../domain/access/federation.ts';
import type { GroupMapEntry, GroupMapping } from '../../../domain/access/group-mapping.ts';
import { auditWrite } from './audit.ts';
import { readEnvironment } from './environments.ts';
import { create, createOrVersion, less, versioned } from './table.ts';

/** The condition of a change to the people (a ConditionCheck): the acting admin still holds the admin role when it commits. */
const adminCheck = (tenant: string, guard: AdminGuard | undefined) =>
  guard
    ? [
        {
          key: keys.member(tenant, guard.admin),
          when: (cur: Record<string, unknown> | undefined) => Array.isArray(cur?.roles) && (cur.roles as string[]).includes('admin'),
          to: (cur: Record<string, unknown> | undefined) => cur!,
          reason: 'version' as const,
        },
      ]
    : [];

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
        env: readEnvironment(table, table.get(keys.environment(tenant, env))),
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

  /** The "not before" of a person: a later second already set stays. */
  const setNotBefore = (tenant: string, id: string, notBefore: number) =>
    table.write({
      key: keys.notBefore(tenant, id),
      when: (cur) => cur === undefined || less(cur.notBefore as number, notBefore),
      to: { ...keys.notBefore(tenant, id), entity: 'NotBefore', notBefore },
      reason: 'unknown',
    });
  const tenants: TenantRepo = {
    async createTenant(tenant: Tenant, audit: AuditEntry): Promise<void> {
      table.transact([create({ ...keys.tenant(tenant.id), entity: 'Tenant', ...tenant }, 'exists'), auditWrite(audit)]);
    },
    async getTenant(id: string): Promise<Tenant | null> {
      return strip<Tenant>(table.get(keys.tenant(id)));
    },
    async setEmailDomains(id: string, domains: string[], audit: AuditEntry): Promise<void> {
      table.transact([
        { key: keys.tenant(id), when: (cur) => cur !== undefined, to: (cur) => ({ ...cur!, emailDomains: [...domains] }), reason: 'unknown' },
        auditWrite(audit),
      ]);
    },
    async claimDomain(domain: string, tenant: string): Promise<string | null> {
      const key = keys.domainClaim(domain);
      const ok = table.write({ key, when: (cur) => !cur || cur.tenant === tenant, to: { ...key, entity: 'DomainClaim', domain, tenant }, reason: 'exists' });
      return ok ? null : String(table.get(key)?.tenant ?? 'another tenant');
    },
    async releaseDomain(domain: string, tenant: string): Promise<void> {
      table.write({ key: keys.domainClaim(domain), when: (cur) => cur?.tenant === tenant, to: null, reason: 'unknown' });
    },
    async tenantInUse(id: string): Promise<boolean> {
      const people = keys.members(id);
      const audit = keys.auditEntries(id);
      return (
        !!table.get(keys.tenant(id)) ||
        table.query(people.pk, { prefix: people.skPrefix }).length > 0 ||
        table.query(audit.pk, { prefix: audit.skPrefix }).length > 0
      );
    },
    async putMember(member: Member, audit: AuditEntry | null, notBefore?: number, guard?: AdminGuard): Promise<void> {
      if (notBefore !== undefined) setNotBefore(member.tenant, member.id, notBefore);
      const put = {
        key: keys.member(member.tenant, member.id),
        to: { ...keys.member(member.tenant, member.id), entity: 'Member', ...member },
        reason: 'unknown' as const,
      };
      table.transact([...adminCheck(member.tenant, guard), put, ...(audit ? [auditWrite(audit)] : [])]);
    },
    async indexMember(member: Member): Promise<boolean> {
      const key = keys.member(member.tenant, member.id);
      if (table.get(key)) return true;
      if (table.get(keys.notBefore(member.tenant, member.id))) return false;
      table.write({ key, when: (cur) => cur === undefined, to: { ...key, entity: 'Member', ...member }, reason: 'exists' });
      return true;
    },
    async removeMember(tenant: string, id: string, audit: AuditEntry, notBefore: number, guard?: AdminGuard): Promise<void> {
      setNotBefore(tenant, id, notBefore);
      table.transact([...adminCheck(tenant, guard), { key: keys.member(tenant, id), to: null, reason: 'unknown' }, auditWrite(audit)]);
    },
    async getMember(tenant: string, id: string): Promise<Member | null> {
      return strip<Member>(table.get(keys.member(tenant, id)));
    },
    async listMembers(tenant: string): Promise<Member[]> {
      const k = keys.members(tenant);
      return table.query(k.pk, { prefix: k.skPrefix }).map((i) => strip<Member>(i)!);
    },
    async notBefore(tenant: string, id: string): Promise<number | null> {
      const n = table.get(keys.notBefore(tenant, id))?.notBefore;
      return typeof n === 'number' ? n : null;
    },
    async getBindings(tenant: string): Promise<Bindings | null> {
      const item = table.get(keys.bindings(tenant));
      if (!item) return null;
      return { bindings: structuredClone((item.bindings ?? []) as Binding[]), version: Number(item.version) };
    },
    async getIdentityProvider(tenant: string): Promise<IdentityProviderConnection | null> {
      return strip<IdentityProviderConnection>(structuredClone(table.get(keys.identityProvider(tenant))));
    },
    async putIdentityProvider(conn: IdentityProviderConnection, expectedVersion: number | null, audit: AuditEntry): Promise<void> {
      table.transact([
        versioned({ ...keys.identityProvider(conn.tenant), entity: 'IdentityProvider', ...conn }, expectedVersion, 'version', createOrVersion(expectedVersion)),
        auditWrite(audit),
      ]);
    },
    async deleteIdentityProvider(conn: IdentityProviderConnection, audit: AuditEntry): Promise<void> {
      table.transact([
        { key: keys.identityProvider(conn.tenant), when: (cur) => cur?.version === conn.version, to: null, reason: 'version' },
        auditWrite(audit),
      ]);
    },
    async domainHolder(domain: string): Promise<string | null> {
      const t = table.get(keys.domainClaim(domain))?.tenant;
      return typeof t === 'string' ? t : null;
    },
    async getGroupMapping(tenant: string): Promise<GroupMapping | null> {
      const item = table.get(keys.groupMapping(tenant));
      if (!item) return null;
      return { entries: structuredClone((item.entries ?? []) as GroupMapEntry[]), version: Number(item.version) };
    },
  };
  // A SCIM record's claims on what no two records share (uniquesOf), as the DynamoDB adapter keeps them.
  const ownedBy = (id: string) => (cur: Record<string, unknown> | null | undefined) => !cur || cur.owner === id;
  const claims = (r: ScimRecord, previous: ScimRecord | null) => {
    const had = previous ? uniquesOf(previous) : [];
    const has = uniquesOf(r);
    return [
      ...has
        .filter((v) => !had.includes(v))
        .map((v) => ({
          key: keys.scimUnique(r.tenant, v),
          when: ownedBy(r.id),
          to: { ...keys.scimUnique(r.tenant, v), owner: r.id },
          reason: 'exists' as const,
        })),
      ...had.filter((v) => !has.includes(v)).map((v) => ({ key: keys.scimUnique(r.tenant, v), when: ownedBy(r.id), to: null, reason: 'unknown' as const })),
    ];
  };

  const scim: ScimStorePort = {
    async putScimToken(token: ScimToken, expectedVersion: number | null, audit: AuditEntry): Promise<void> {
      table.transact([
        versioned({ ...keys.scimToken(token.tenant), entity: 'ScimToken', ...token }, expectedVersion, 'version', createOrVersion(expectedVersion)),
        auditWrite(audit),
      ]);
    },
    async getScimToken(tenant: string): Promise<ScimToken | null> {
      return strip<ScimToken>(table.get(keys.scimToken(tenant)));
    },
    async deleteScimToken(tenant: string, audit: AuditEntry): Promise<void> {
      table.transact([{ key: keys.scimToken(tenant), to: null, reason: 'unknown' }, auditWrite(audit)]);
    },
    async putScimRecord(record: ScimRecord, expectedVersion: number | null, audit: AuditEntry, previous?: ScimRecord): Promise<void> {
      table.transact([
        versioned(
          { ...keys.scimRecord(record.tenant, record.kind, record.id), entity: `Scim${record.kind}`, ...record },
          expectedVersion,
          'version',
          createOrVersion(expectedVersion),
        ),
        ...claims(record, previous ?? null),
        auditWrite(audit),
      ]);
    },
    async getScimRecord(tenant: string, kind: ScimRecord['kind'], id: string): Promise<ScimRecord | null> {
      return strip<ScimRecord>(table.get(keys.scimRecord(tenant, kind, id)));
    },
    async listScimRecords(tenant: string, kind: ScimRecord['kind']): Promise<ScimRecord[]> {
      const k = keys.scimRecords(tenant, kind);
      return table.query(k.pk, { prefix: k.skPrefix }).map((i) => strip<ScimRecord>(i)!);
    },
    async deleteScimRecord(record: ScimRecord, audit: AuditEntry): Promise<void> {
      table.transact([
        { key: keys.scimRecord(record.tenant, record.kind, record.id), when: (cur) => cur?.version === record.version, to: null, reason: 'version' },
        ...uniquesOf(record).map((v) => ({ key: keys.scimUnique(record.tenant, v), when: ownedBy(record.id), to: null, reason: 'unknown' as const })),
        auditWrite(audit),
      ]);
    },
    async scimClaimsComplete(tenant: string): Promise<boolean> {
      return table.get(keys.scimClaimsComplete(tenant)) !== undefined;
    },
    async claimScimValue(record: ScimRecord, value: string): Promise<void> {
      table.transact([
        { key: keys.scimRecord(record.tenant, record.kind, record.id), when: (cur) => cur?.version === record.version, to: (cur) => cur!, reason: 'version' },
        {
          key: keys.scimUnique(record.tenant, value),
          when: ownedBy(record.id),
          to: { ...keys.scimUnique(record.tenant, value), owner: record.id },
          reason: 'exists',
        },
      ]);
    },
    async scimClaimHolders(tenant: string, values: string[]): Promise<(string | null)[]> {
      return values.map((v) => {
        const owner = table.get(keys.scimUnique(tenant, v))?.owner;
        return typeof owner === 'string' ? owner : null;
      });
    },
    async markScimClaimsComplete(tenant: string): Promise<void> {
      table.transact([{ key: keys.scimClaimsComplete(tenant), to: { ...keys.scimClaimsComplete(tenant), entity: 'ScimClaims' }, reason: 'unknown' }]);
    },
  };

  const writes: Writers<AccessOp> = {
    accessBindings: (op, ctx) => [
      versioned(
        { ...keys.bindings(ctx.tenant), entity: 'Bindings', bindings: structuredClone(op.bindings), version: (op.expectedVersion ?? 0) + 1 },
        op.expectedVersion,
      ),
    ],
    groupMapping: (op, ctx) => [
      versioned(
        {
          ...keys.groupMapping(ctx.tenant),
          entity: 'GroupMapping',
          tenant: ctx.tenant,
          entries: structuredClone(op.entries),
          version: (op.expectedVersion ?? 0) + 1,
        },
        op.expectedVersion,
      ),
    ],
  };
  return { port: { ...appKeys, ...tenants, ...scim }, writes };
}
