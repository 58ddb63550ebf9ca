import type { AuditEntry } from '../../../domain/kernel/model.ts';
import type { AuditStreamRepo, ShipBacklog } from '../../../domain/audit/ports.ts';
import type { AuditDestination, ShipCursor, StoredDestination } from '../../../domain/audit/stream.ts';
import { WriteConflict } from '../../../domain/kernel/retry.ts';
import { keys } from '../../../functions/adapters/keys.ts';
import { strip } from '../../../functions/adapters/store/base.ts';
import type { MemoryState } from './area.ts';
import { auditWrite } from './audit.ts';
import { create, createOrVersion, versioned, type Item, type Write } from './table.ts';

/** The audit stream's destinations, as the DynamoDB store keeps them (functions/adapters/store/audit-stream.ts): settings and cursor, an item each. */
export function auditStreamArea({ table }: MemoryState) {
  const cursorWrite = (c: ShipCursor, expectedRev: number | null): Write => {
    const item: Item = { ...keys.auditCursor(c.tenant, c.name), entity: 'AuditCursor', ...c };
    return expectedRev === null
      ? create(item)
      : { key: keys.auditCursor(c.tenant, c.name), when: (cur) => cur?.rev === expectedRev, to: item, reason: 'version' };
  };
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
      const items = table.query(keys.auditDestinations(tenant).pk);
      const of = (entity: string) => items.filter((i) => i.entity === entity);
      return pair(
        of('AuditDestination').map((i) => strip<AuditDestination>(i)!),
        of('AuditCursor').map((i) => strip<ShipCursor>(i)!),
      );
    },
    async getAuditDestination(tenant: string, name: string): Promise<StoredDestination | null> {
      const d = strip<AuditDestination>(table.get(keys.auditDestination(tenant, name)));
      const c = strip<ShipCursor>(table.get(keys.auditCursor(tenant, name)));
      return d ? pair([d], c ? [c] : [])[0]! : null;
    },
    async putAuditDestination(d: AuditDestination, expectedVersion: number | null, cursor: ShipCursor | null, audit: AuditEntry): Promise<void> {
      table.transact([
        versioned(
          { ...keys.auditDestination(d.tenant, d.name), entity: 'AuditDestination', ...d },
          expectedVersion,
          'version',
          createOrVersion(expectedVersion),
        ),
        ...(cursor ? [cursorWrite(cursor, null)] : []),
        auditWrite(audit),
      ]);
    },
    async deleteAuditDestination(d: AuditDestination, audit: AuditEntry): Promise<void> {
      table.transact([
        { key: keys.auditDestination(d.tenant, d.name), when: (cur) => cur?.version === d.version, to: null, reason: 'version' },
        { key: keys.auditCursor(d.tenant, d.name), to: null, reason: 'unknown' },
        auditWrite(audit),
      ]);
    },
    async moveAuditCursor(cursor: ShipCursor, expectedRev: number, audit?: AuditEntry): Promise<boolean> {
      try {
        table.transact([cursorWrite(cursor, expectedRev), ...(audit ? [auditWrite(audit)] : [])]);
        return true;
      } catch (err) {
        if (err instanceof WriteConflict && err.reason === 'version') return false;
        throw err;
      }
    },
    async markShipBacklog(tenant: string, at: string): Promise<void> {
      table.put({ ...keys.shipBacklog(tenant), entity: 'ShipBacklog', tenant, at });
    },
    async shipBacklogs(limit: number): Promise<ShipBacklog[]> {
      return table
        .query(keys.shipBacklogAll.pk, { prefix: keys.shipBacklogAll.skPrefix })
        .slice(0, limit)
        .map((i) => ({ tenant: i.tenant as string, at: i.at as string }));
    },
    async clearShipBacklog(tenant: string, at: string): Promise<void> {
      table.write({ key: keys.shipBacklog(tenant), when: (cur) => cur?.at === at, to: null, reason: 'unknown' });
    },
  };
  return { port };
}
