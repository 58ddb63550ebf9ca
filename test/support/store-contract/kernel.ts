import { WriteConflict } from '../../../domain/kernel/retry.ts';
import { describe, expect, it } from 'vitest';
import type { WriteOp } from '../../../domain/ports.ts';
import { audit, conflict, deployment, environment, event, pointer, snapshot, tag, uid, type Contract } from './fixtures.ts';

/** Idempotency claims, once-only claims, the outbox, and the commit as one transaction. */
export function kernelContract(c: Contract) {
  describe('idempotency', () => {
    const now = new Date('2030-01-01T00:00:00.000Z');
    const at = (s: number) => new Date(now.getTime() + s * 1000);

    it('claims a key: new, then in progress, mismatch for another request, replay once completed; free again once released', async () => {
      const t = c.tenant();
      const key = uid('idem-');
      expect(await c.store().claimIdempotency(t, key, 'h1', now, 86400, 30)).toEqual({ state: 'new' });
      expect(await c.store().claimIdempotency(t, key, 'h1', at(1), 86400, 30)).toEqual({ state: 'in-progress' });
      expect(await c.store().claimIdempotency(t, key, 'h2', at(1), 86400, 30)).toEqual({ state: 'mismatch' });
      await c.store().completeIdempotency(t, key, 'h1', { statusCode: 201, body: '{"id":"x"}' });
      expect(await c.store().claimIdempotency(t, key, 'h1', at(2), 86400, 30)).toEqual({ state: 'replay', statusCode: 201, body: '{"id":"x"}' });
      expect(await c.store().claimIdempotency(t, key, 'h2', at(2), 86400, 30)).toEqual({ state: 'mismatch' });
      // A completed key stays done past the lease; only the record's expiry frees it.
      expect(await c.store().claimIdempotency(t, key, 'h1', at(60), 86400, 30)).toMatchObject({ state: 'replay' });
      await c.store().releaseIdempotency(t, key);
      expect(await c.store().claimIdempotency(t, key, 'h2', at(3), 86400, 30)).toEqual({ state: 'new' });
      expect(await c.store().claimIdempotency(c.tenant(), key, 'h1', at(3), 86400, 30)).toEqual({ state: 'new' });
    });

    it('takes over a claim whose lease ran out (a crashed request), and a record past its expiry', async () => {
      const t = c.tenant();
      const [crashed, old] = [uid('idem-'), uid('idem-')];
      await c.store().claimIdempotency(t, crashed, 'h1', now, 86400, 30);
      expect(await c.store().claimIdempotency(t, crashed, 'h1', at(30), 86400, 30)).toEqual({ state: 'in-progress' });
      expect(await c.store().claimIdempotency(t, crashed, 'h2', at(31), 86400, 30)).toEqual({ state: 'new' });
      await c.store().claimIdempotency(t, old, 'h1', now, 100, 30);
      await c.store().completeIdempotency(t, old, 'h1', { statusCode: 200, body: '{}' });
      expect(await c.store().claimIdempotency(t, old, 'h2', at(100), 100, 30)).toEqual({ state: 'mismatch' });
      expect(await c.store().claimIdempotency(t, old, 'h2', at(101), 100, 30)).toEqual({ state: 'new' });
    });

    it('replays a response too large to keep as a note to read the resource; completes only the claim of the same request', async () => {
      const t = c.tenant();
      const key = uid('idem-');
      await c.store().claimIdempotency(t, key, 'h1', now, 86400, 30);
      await expect(c.store().completeIdempotency(t, key, 'h2', { statusCode: 200, body: '{}' })).rejects.toThrow(WriteConflict);
      await c.store().completeIdempotency(t, key, 'h1', { statusCode: 200, body: JSON.stringify({ blob: 'x'.repeat(300_001) }) });
      const replay = await c.store().claimIdempotency(t, key, 'h1', at(1), 86400, 30);
      expect(replay).toMatchObject({ state: 'replay', statusCode: 200 });
      expect(JSON.parse((replay as { body: string }).body)).toMatchObject({ replayed: true });
    });

    it('claims background work once per scope and id, until given back', async () => {
      const t = c.tenant();
      const id = uid('evt-');
      expect(await c.store().claimOnce(t, 'notify', id, 3600)).toBe(true);
      expect(await c.store().claimOnce(t, 'notify', id, 3600)).toBe(false);
      expect(await c.store().claimOnce(t, 'webhooks', id, 3600)).toBe(true);
      await c.store().releaseOnce(t, 'notify', id);
      expect(await c.store().claimOnce(t, 'notify', id, 3600)).toBe(true);
    });
  });

  describe('outbox and commit', () => {
    it('commits events alone (each once: exists) or riding on the commit’s fact item; an event of another shape is refused, writing nothing', async () => {
      const t = c.tenant();
      const e = event(t);
      await c.store().commit(t, [{ kind: 'event', event: e }]);
      await c.store().commit(t, [
        { kind: 'event', event: event(t) },
        { kind: 'event', event: event(t) },
      ]);
      expect(await conflict(c.store().commit(t, [{ kind: 'event', event: e }]))).toBe('exists');
      // Riding on an audit entry, the same event id is the entry's business: a new entry is written.
      const entry = audit(t);
      await c.store().commit(t, [
        { kind: 'event', event: e },
        { kind: 'audit', entry },
      ]);
      expect((await c.store().queryAudit(t, { limit: 10 })).items).toEqual([entry]);
      const bad = { ...event(t), detail: { tenant: t } };
      await expect(
        c.store().commit(t, [
          { kind: 'audit', entry: audit(t) },
          { kind: 'event', event: bad },
        ]),
      ).rejects.toThrow();
      await expect(c.store().commit(t, [{ kind: 'event', event: bad }])).rejects.toThrow();
      expect((await c.store().queryAudit(t, { limit: 10 })).items).toEqual([entry]);
    });

    it('writes all of a commit or nothing, and names the first condition that failed, in op order', async () => {
      const t = c.tenant();
      const dev = environment(t, 'dev', 0);
      await c.store().createEnvironment(dev, snapshot('dev', 1), audit(t));
      await c.store().commit(t, [{ kind: 'pointer', pointer: pointer('dev', 'web', 'v1', 1), expectedVersion: null }]);
      const d = deployment('dev', '2030-01-01T12:00:00.000Z');
      const entry = audit(t);
      const ops = (pointerVersion: number): WriteOp[] => [
        { kind: 'tag', tag: tag('web', 'dev', 'release', 'v2') },
        { kind: 'pointer', pointer: pointer('dev', 'web', 'v2', pointerVersion + 1), expectedVersion: pointerVersion },
        { kind: 'deployment', deployment: d, metrics: { environment: 'dev', day: '2030-01-01', add: { deployments: 1 } } },
        { kind: 'environment', env: { ...dev, bakeSeconds: 30, version: 2 }, expectedVersion: 1 },
        { kind: 'audit', entry },
      ];
      // A stale pointer: nothing of the commit is written.
      expect(await conflict(c.store().commit(t, ops(7)))).toBe('version');
      expect(await c.store().getTag(t, 'web', 'dev', 'release', 'v2')).toBeNull();
      expect(await c.store().findDeployment(t, d.id)).toBeNull();
      expect(await c.store().getMetrics(t, 'dev', '2030-01-01', '2030-01-01')).toEqual([]);
      expect((await c.store().getEnvironment(t, 'dev'))?.version).toBe(1);
      expect((await c.store().queryAudit(t, { limit: 10 })).items).toHaveLength(1);
      // The first failing condition names the conflict: the tag's (exists) before the stale environment's (version).
      await c.store().commit(t, [{ kind: 'tag', tag: tag('web', 'dev', 'release', 'v2', 'sha256:other') }]);
      expect(await conflict(c.store().commit(t, ops(1)))).toBe('exists');
      await c.store().commit(t, [{ kind: 'environment', env: { ...dev, version: 2 }, expectedVersion: 1 }]);
      expect(await conflict(c.store().commit(t, ops(1).slice(1)))).toBe('version');
      expect((await c.store().getPointer(t, 'dev', 'web'))?.version).toBe('v1');
    });
  });
}
