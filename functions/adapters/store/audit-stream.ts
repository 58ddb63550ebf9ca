import { DeleteCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { WriteConflict } from '#domain/kernel/retry';
import type { AuditEntry } from '#domain/kernel/model';
import type { AuditStreamRepo, ShipBacklog } from '#domain/audit/ports';
import type { AuditDestination, ShipCursor, StoredDestination } from '#domain/audit/stream';
import { keys } from '../keys.ts';
import { createOrVersion, type Area } from './area.ts';
import { strip, type StoreBase, type TxItem } from './base.ts';
import { auditItems } from './audit.ts';

/**
 * The audit stream's destinations (domain/audit/stream.ts): per destination an item of its settings and sealed secrets
 * (versioned) and an item of its cursor (its `rev` the condition the shipper and a replay write on).
 */
export function auditStreamArea(base: StoreBase): Area<AuditStreamRepo> {
  const { table } = base;
  const cursorPut = (cursor: ShipCursor, expectedRev: number | null): TxItem => ({
    Put: {
      TableName: table,
      Item: { ...keys.auditCursor(cursor.tenant, cursor.name), entity: 'AuditCursor', ...cursor },
      ...(expectedRev === null
        ? { ConditionExpression: 'attribute_not_exists(pk)' }
        : { ConditionExpression: '#r = :r', ExpressionAttributeNames: { '#r': 'rev' }, ExpressionAttributeValues: { ':r': expectedRev } }),
    },
  });
  /** Destinations (stripped items) with their cursors (a destination without one: nothing shipped yet). */
  const pair = (settings: AuditDestination[], cursors: ShipCursor[]): StoredDestination[] =>
    settings.map((destination) => ({
      destination,
      cursor: cursors.find((c) => c.name === destination.name) ?? {
        tenant: destination.tenant,
        name: destination.name,
        seq: 0,
        state: 'active',
        rev: 0,
        deadLetters: [],
      },
    }));
  const port: AuditStreamRepo = {
    async listAuditDestinations(tenant: string): Promise<StoredDestination[]> {
      const pk = keys.auditDestinations(tenant).pk;
      const [settings, cursors] = await Promise.all([base.queryAll<AuditDestination>(pk, 'D#', true), base.queryAll<ShipCursor>(pk, 'C#', true)]);
      return pair(settings, cursors);
    },
    async getAuditDestination(tenant: string, name: string): Promise<StoredDestination | null> {
      const items = await base.batchGet([keys.auditDestination(tenant, name), keys.auditCursor(tenant, name)]);
      const of = (entity: string) => items.filter((i) => i.entity === entity);
      return (
        pair(
          of('AuditDestination').map((i) => strip<AuditDestination>(i)!),
          of('AuditCursor').map((i) => strip<ShipCursor>(i)!),
        )[0] ?? null
      );
    },
    async putAuditDestination(destination: AuditDestination, expectedVersion: number | null, cursor: ShipCursor | null, audit: AuditEntry): Promise<void> {
      const items = [
        base.put({ ...keys.auditDestination(destination.tenant, destination.name), entity: 'AuditDestination', ...destination }, expectedVersion),
        ...(cursor ? [cursorPut(cursor, null)] : []),
        ...auditItems(table, audit),
      ];
      await base.transact(items, [createOrVersion(expectedVersion), ...(cursor ? (['exists'] as const) : []), 'exists']);
    },
    async deleteAuditDestination(destination: AuditDestination, audit: AuditEntry): Promise<void> {
      await base.transact(
        [
          {
            Delete: {
              TableName: table,
              Key: keys.auditDestination(destination.tenant, destination.name),
              ConditionExpression: '#v = :v',
              ExpressionAttributeNames: { '#v': 'version' },
              ExpressionAttributeValues: { ':v': destination.version },
            },
          },
          { Delete: { TableName: table, Key: keys.auditCursor(destination.tenant, destination.name) } },
          ...auditItems(table, audit),
        ],
        ['version', 'unknown', 'exists'],
      );
    },
    async moveAuditCursor(cursor: ShipCursor, expectedRev: number, audit?: AuditEntry): Promise<boolean> {
      if (!audit) return base.conditional(new PutCommand(cursorPut(cursor, expectedRev).Put!));
      try {
        await base.transact([cursorPut(cursor, expectedRev), ...auditItems(table, audit)], ['version', 'exists']);
        return true;
      } catch (err) {
        if (err instanceof WriteConflict && err.reason === 'version') return false;
        throw err;
      }
    },
    async markShipBacklog(tenant: string, at: string): Promise<void> {
      // The newest mark wins: the drain clears a mark only while it is still the one it read (clearShipBacklog).
      await base.conditional(new PutCommand({ TableName: table, Item: { ...keys.shipBacklog(tenant), entity: 'ShipBacklog', tenant, at } }));
    },
    async shipBacklogs(limit: number): Promise<ShipBacklog[]> {
      const all = await base.queryAll<ShipBacklog>(keys.shipBacklogAll.pk, keys.shipBacklogAll.skPrefix, true);
      return all.slice(0, limit).map((i) => ({ tenant: i.tenant, at: i.at }));
    },
    async clearShipBacklog(tenant: string, at: string): Promise<void> {
      await base.conditional(
        new DeleteCommand({
          TableName: table,
          Key: keys.shipBacklog(tenant),
          ConditionExpression: '#at = :at',
          ExpressionAttributeNames: { '#at': 'at' },
          ExpressionAttributeValues: { ':at': at },
        }),
      );
    },
  };
  return { port };
}
