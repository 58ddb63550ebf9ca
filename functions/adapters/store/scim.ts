import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { uniquesOf, type ScimRecord, type ScimStorePort, type ScimToken } from '#domain/access/scim-model';
import type { AuditEntry } from '#domain/kernel/model';
import { keys, type Key } from '../keys.ts';
import { createOrVersion, type Area } from './area.ts';
import { strip, type StoreBase, type TxItem } from './base.ts';
import { auditItems } from './audit.ts';

/** SCIM provisioning (domain/access/scim.ts): the tenant's SCIM token (hashes only) and its SCIM users and groups, under the tenant's SCIM partition. */
export function scimArea(base: StoreBase): Area<ScimStorePort> {
  const { db, table } = base;
  const atVersion = (key: Key, version: number) => ({
    TableName: table,
    Key: key,
    ConditionExpression: '#v = :v',
    ExpressionAttributeNames: { '#v': 'version' },
    ExpressionAttributeValues: { ':v': version },
  });
  const versioned = (key: Key, version: number): TxItem => ({ Delete: atVersion(key, version) });

  // A claim is held by one record (`owner`): taken when free or already its own, released only by its owner.
  const owned = (id: string) => ({
    ConditionExpression: 'attribute_not_exists(pk) OR #o = :o',
    ExpressionAttributeNames: { '#o': 'owner' },
    ExpressionAttributeValues: { ':o': id },
  });
  const claim = (r: ScimRecord, value: string): TxItem => ({
    Put: { TableName: table, Item: { ...keys.scimUnique(r.tenant, value), entity: 'ScimUnique', owner: r.id }, ...owned(r.id) },
  });
  const release = (r: ScimRecord, value: string): TxItem => ({ Delete: { TableName: table, Key: keys.scimUnique(r.tenant, value), ...owned(r.id) } });
  /** The claims a write takes (those it did not hold) and releases (those it no longer holds). */
  const claims = (r: ScimRecord, previous: ScimRecord | null) => {
    const had = previous ? uniquesOf(previous) : [];
    const has = uniquesOf(r);
    return { take: has.filter((v) => !had.includes(v)).map((v) => claim(r, v)), drop: had.filter((v) => !has.includes(v)).map((v) => release(r, v)) };
  };

  /** Tenants seen marked complete (scimClaimsComplete). */
  const complete = new Set<string>();

  const port: ScimStorePort = {
    async putScimToken(token: ScimToken, expectedVersion: number | null, audit: AuditEntry): Promise<void> {
      await base.transact(
        [base.put({ ...keys.scimToken(token.tenant), entity: 'ScimToken', ...token }, expectedVersion), ...auditItems(table, audit)],
        [createOrVersion(expectedVersion), 'exists'],
      );
    },
    async getScimToken(tenant: string): Promise<ScimToken | null> {
      const r = await db.send(new GetCommand({ TableName: table, Key: keys.scimToken(tenant), ConsistentRead: true }));
      return strip<ScimToken>(r.Item);
    },
    async deleteScimToken(tenant: string, audit: AuditEntry): Promise<void> {
      await base.transact([{ Delete: { TableName: table, Key: keys.scimToken(tenant) } }, ...auditItems(table, audit)], ['version', 'exists']);
    },
    async putScimRecord(record: ScimRecord, expectedVersion: number | null, audit: AuditEntry, previous?: ScimRecord): Promise<void> {
      const { take, drop } = claims(record, previous ?? null);
      await base.transact(
        [
          base.put({ ...keys.scimRecord(record.tenant, record.kind, record.id), entity: `Scim${record.kind}`, ...record }, expectedVersion),
          ...take,
          ...drop,
          ...auditItems(table, audit),
        ],
        [createOrVersion(expectedVersion), ...take.map(() => 'exists' as const), ...drop.map(() => 'unknown' as const), 'exists'],
      );
    },
    async getScimRecord(tenant: string, kind: ScimRecord['kind'], id: string): Promise<ScimRecord | null> {
      const r = await db.send(new GetCommand({ TableName: table, Key: keys.scimRecord(tenant, kind, id), ConsistentRead: true }));
      return strip<ScimRecord>(r.Item);
    },
    async listScimRecords(tenant: string, kind: ScimRecord['kind']): Promise<ScimRecord[]> {
      const k = keys.scimRecords(tenant, kind);
      return base.queryAll<ScimRecord>(k.pk, k.skPrefix, true);
    },
    async deleteScimRecord(record: ScimRecord, audit: AuditEntry): Promise<void> {
      await base.transact(
        [
          versioned(keys.scimRecord(record.tenant, record.kind, record.id), record.version),
          ...uniquesOf(record).map((v) => release(record, v)),
          ...auditItems(table, audit),
        ],
        ['version', ...uniquesOf(record).map(() => 'unknown' as const), 'exists'],
      );
    },
    async scimClaimsComplete(tenant: string): Promise<boolean> {
      // The mark is never taken back: once seen, this function instance does not read it again. Eventually consistent:
      // a read that misses a mark just written only gives the claims again.
      if (complete.has(tenant)) return true;
      if ((await db.send(new GetCommand({ TableName: table, Key: keys.scimClaimsComplete(tenant) }))).Item === undefined) return false;
      complete.add(tenant);
      return true;
    },
    async claimScimValue(record: ScimRecord, value: string): Promise<void> {
      const check: TxItem = { ConditionCheck: atVersion(keys.scimRecord(record.tenant, record.kind, record.id), record.version) };
      await base.transact([check, claim(record, value)], ['version', 'exists']);
    },
    async scimClaimHolders(tenant: string, values: string[]): Promise<(string | null)[]> {
      // One GetItem each, side by side (one or two claims: a batch read would save no unit).
      const read = (v: string) => db.send(new GetCommand({ TableName: table, Key: keys.scimUnique(tenant, v), ConsistentRead: true }));
      return (await Promise.all(values.map(read))).map((r) => (typeof r.Item?.owner === 'string' ? r.Item.owner : null));
    },
    async markScimClaimsComplete(tenant: string): Promise<void> {
      await base.transact([{ Put: { TableName: table, Item: { ...keys.scimClaimsComplete(tenant), entity: 'ScimClaims' } } }], ['unknown']);
      complete.add(tenant);
    },
  };
  return { port };
}
