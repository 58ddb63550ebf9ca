import { describe, expect, it } from 'vitest';
import { entryRef } from '../../../domain/audit/audit.ts';
import type { ChainHead, ChainLink } from '../../../domain/kernel/model.ts';
import { allPages, audit, conflict, refused, type Contract } from './fixtures.ts';

const link = (seq: number, entry: string, hash = `h${seq}`): ChainLink => ({
  seq,
  entry,
  entryHash: `e${seq}`,
  prevHash: `h${seq - 1}`,
  hash,
  linkedAt: '2030-01-01T00:00:00.000Z',
});

/** The audit trail: entries written with every change, and the chain the stream consumer links them into. */
export function auditContract(c: Contract) {
  describe('audit', () => {
    it('writes an entry once (exists) and reads it back newest first: all, by entity, by actor, by entity type, by time, a page at a time', async () => {
      const t = c.tenant();
      const e1 = audit(t, { actorName: 'alice@x.test', entityType: 'environment', entityId: 'dev', action: 'environment.create' });
      const e2 = audit(t, { actorName: 'bob@x.test', entityType: 'config', entityId: 'dev/a', reason: 'why', requestId: 'r-1' });
      const e3 = audit(t, { actorName: 'alice@x.test', entityType: 'config', entityId: 'dev/a', before: 'sha256:1', after: 'sha256:2' });
      const e4 = audit(t, { actorName: 'bob@x.test', entityType: 'config', entityId: 'dev/b' });
      for (const e of [e1, e2, e3, e4]) await c.store().commit(t, [{ kind: 'audit', entry: e }]);
      expect(await conflict(c.store().commit(t, [{ kind: 'audit', entry: e2 }]))).toBe('exists');
      const read = async (q: Omit<Parameters<ReturnType<Contract['store']>['queryAudit']>[1], 'limit' | 'cursor'>) =>
        (await allPages((cursor) => c.store().queryAudit(t, { ...q, limit: 2, cursor }))).items;
      expect(await read({})).toEqual([e4, e3, e2, e1]);
      expect(await read({ entityType: 'config', entityId: 'dev/a' })).toEqual([e3, e2]);
      expect(await read({ actor: 'alice@x.test' })).toEqual([e3, e1]);
      expect(await read({ entityType: 'config' })).toEqual([e4, e3, e2]);
      expect(await read({ entityType: 'config', actor: 'bob@x.test' })).toEqual([e4, e2]);
      expect(await read({ entityType: 'config', entityId: 'dev/a', actor: 'bob@x.test' })).toEqual([e2]);
      // A time range: `from` takes an entry at that instant; `to` is given past the last entry wanted.
      expect(await read({ from: e2.at, to: new Date(Date.parse(e3.at) + 1).toISOString() })).toEqual([e3, e2]);
      expect(await read({ actor: 'alice@x.test', from: e2.at })).toEqual([e3]);
      expect((await c.store().queryAudit(c.tenant(), { limit: 10 })).items).toEqual([]);
    });

    it('takes entries at exactly `from` and `to` (the bounds are inclusive), on every index; reads a repeated reference once', async () => {
      const t = c.tenant();
      const e = audit(t, { actorName: 'carol@x.test', entityType: 'environment', entityId: 'qa' });
      await c.store().commit(t, [{ kind: 'audit', entry: e }]);
      const at = { from: e.at, to: e.at };
      expect((await c.store().queryAudit(t, { ...at, limit: 10 })).items).toEqual([e]);
      expect((await c.store().queryAudit(t, { ...at, actor: 'carol@x.test', limit: 10 })).items).toEqual([e]);
      expect((await c.store().queryAudit(t, { ...at, entityType: 'environment', entityId: 'qa', limit: 10 })).items).toEqual([e]);
      const ref = entryRef(e);
      expect([...(await c.store().getAuditEntries(t, [ref, ref])).keys()]).toEqual([ref]);
    });

    it('refuses a cursor of another listing or tenant', async () => {
      const t = c.tenant();
      for (let i = 0; i < 3; i++) await c.store().commit(t, [{ kind: 'audit', entry: audit(t, { actorName: 'alice@x.test' }) }]);
      const all = await c.store().queryAudit(t, { limit: 1 });
      const byActor = await c.store().queryAudit(t, { limit: 1, actor: 'alice@x.test' });
      expect(await refused(c.store().queryAudit(t, { limit: 1, actor: 'alice@x.test', cursor: all.nextCursor }))).toMatch(/another listing/);
      expect(await refused(c.store().queryAudit(t, { limit: 1, cursor: byActor.nextCursor }))).toMatch(/not a cursor this API returned/);
      expect(await refused(c.store().queryAudit(t, { limit: 1, actor: 'bob@x.test', cursor: byActor.nextCursor }))).toMatch(/another listing/);
      expect(await refused(c.store().queryAudit(c.tenant(), { limit: 1, cursor: all.nextCursor }))).toMatch(/not a cursor this API returned/);
    });

    it('reads entries by reference, and every reference oldest first a page at a time', async () => {
      const t = c.tenant();
      const entries = [audit(t), audit(t, { via: { channel: 'slack', teamId: 'T1', userId: 'U1', linkId: 'slk_1' } }), audit(t)];
      await c.store().commit(t, [
        { kind: 'audit', entry: entries[0]! },
        { kind: 'audit', entry: entries[1]! },
      ]);
      await c.store().commit(t, [{ kind: 'audit', entry: entries[2]! }]);
      const refs = entries.map(entryRef);
      const found = await c.store().getAuditEntries(t, [refs[1]!, refs[0]!, '2030-01-01T00:00:00.000Z#missing']);
      expect([...found.keys()].sort()).toEqual([refs[0], refs[1]].sort());
      expect(found.get(refs[1]!)).toEqual({ entry: entries[1], indexMismatch: undefined });
      expect((await allPages((cursor) => c.store().auditRefs(t, 2, cursor))).items).toEqual(refs);
    });

    it('moves the chain head on the head read (chain otherwise), carrying its links until they are written; reads links in order', async () => {
      const t = c.tenant();
      expect(await c.store().chainHead(t)).toBeNull();
      const [l1, l2, l3] = [link(1, 'r1'), link(2, 'r2'), link(3, 'r3')];
      const h2: ChainHead = { seq: 2, hash: 'h2', at: '2030-01-01T00:00:02.000Z' };
      await c.store().appendLinks(t, null, h2, [l1, l2]);
      expect(await c.store().chainHead(t)).toEqual({ ...h2, pending: [l1, l2] });
      expect(await conflict(c.store().appendLinks(t, null, h2, [l1, l2]))).toBe('chain');
      expect(await conflict(c.store().appendLinks(t, { ...h2, hash: 'forged' }, { ...h2, seq: 3 }, [l3]))).toBe('chain');
      const h3: ChainHead = { seq: 3, hash: 'h3', at: '2030-01-01T00:00:03.000Z' };
      await c.store().appendLinks(t, h2, h3, [l3]);
      expect(await c.store().chainHead(t)).toEqual({ ...h3, pending: [l3] });
      expect((await allPages((cursor) => c.store().readChainLinks(t, 2, cursor))).items).toEqual([l1, l2, l3]);
      expect((await c.store().readChainLinks(t, 10, undefined, 2)).items).toEqual([l2, l3]);
      expect((await c.store().readChainLinks(c.tenant(), 10)).items).toEqual([]);
    });

    it('tells which entries are linked and which pending links are not fully written; never takes another link at a seq as written', async () => {
      const t = c.tenant();
      await c.store().writeLinks(t, [link(1, 'r1'), link(2, 'r2')]);
      const pending = [link(2, 'r2'), link(3, 'r3'), link(1, 'r1', 'other')];
      const state = await c.store().linkState(t, ['r1', 'r2', 'r4'], pending);
      expect([...state.linked].sort()).toEqual(['r1', 'r2']);
      expect(state.unwritten).toEqual([link(3, 'r3')]);
      expect((await c.store().linkState(t, [])).unwritten).toEqual([]);
    });

    it('keeps the anchor’s marks outside any tenant: a newer mark stays, an older gives way; cleared only when covered', async () => {
      const [t, u] = [c.tenant(), c.tenant()];
      const mine = async () =>
        (await c.store().unanchored(1000)).filter((m) => m.tenant === t || m.tenant === u).sort((a, b) => a.tenant.localeCompare(b.tenant));
      await c.store().markUnanchored(t, 5, '2030-01-01T00:00:05.000Z');
      await c.store().markUnanchored(t, 4, '2030-01-01T00:00:09.000Z');
      await c.store().markUnanchored(u, 2, '2030-01-01T00:00:02.000Z');
      expect(await mine()).toEqual(
        [
          { tenant: t, seq: 5, at: '2030-01-01T00:00:05.000Z' },
          { tenant: u, seq: 2, at: '2030-01-01T00:00:02.000Z' },
        ].sort((a, b) => a.tenant.localeCompare(b.tenant)),
      );
      await c.store().markUnanchored(t, 7, '2030-01-01T00:00:07.000Z');
      await c.store().clearUnanchored(t, 6);
      expect((await mine()).find((m) => m.tenant === t)?.seq).toBe(7);
      await c.store().clearUnanchored(t, 7);
      await c.store().clearUnanchored(t, 8);
      expect((await mine()).map((m) => m.tenant)).toEqual([u]);
      expect((await c.store().unanchored(1)).length).toBe(1);
    });
  });
}
