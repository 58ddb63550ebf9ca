import { WriteConflict } from '../../../domain/kernel/retry.ts';
import type { IdempotencyClaim, IdempotencyStorePort } from '../../../domain/kernel/ports.ts';
import { keys, TABLE } from '../../../functions/adapters/keys.ts';
import { IDEMPOTENT_BODY_MAX } from '../../../functions/adapters/store/idempotency.ts';
import type { MemoryState } from './area.ts';
import { less } from './table.ts';

/** Idempotency keys of API requests and once-only claims of background work. */
export function idempotencyArea({ table }: MemoryState) {
  const port: IdempotencyStorePort = {
    async claimIdempotency(tenant: string, key: string, requestHash: string, now: Date, ttlSeconds: number, leaseSeconds: number): Promise<IdempotencyClaim> {
      const nowSec = Math.floor(now.getTime() / 1000);
      const claimed = table.write({
        key: keys.idempotency(tenant, key),
        // An expired record counts as absent (TTL deletion is lazy); an IN_PROGRESS claim whose lease ran out is taken over.
        when: (cur) => cur === undefined || less(cur[TABLE.ttlAttribute], nowSec) || (cur.state === 'IN_PROGRESS' && less(cur.leaseUntil, nowSec)),
        to: {
          ...keys.idempotency(tenant, key),
          entity: 'Idempotency',
          requestHash,
          state: 'IN_PROGRESS',
          leaseUntil: nowSec + leaseSeconds,
          [TABLE.ttlAttribute]: nowSec + ttlSeconds,
        },
        reason: 'unknown',
      });
      if (claimed) return { state: 'new' };
      const item = table.get(keys.idempotency(tenant, key));
      if (!item) return { state: 'in-progress' };
      if (item.requestHash !== requestHash) return { state: 'mismatch' };
      if (item.state !== 'DONE') return { state: 'in-progress' };
      if (item.tooLarge) {
        return {
          state: 'replay',
          statusCode: item.statusCode as number,
          body: JSON.stringify({ replayed: true, message: 'The first response to this key was too large to keep; read the resource for its current state' }),
        };
      }
      return { state: 'replay', statusCode: item.statusCode as number, body: item.body as string };
    },

    async completeIdempotency(tenant: string, key: string, requestHash: string, response: { statusCode: number; body: string }): Promise<void> {
      const tooLarge = Buffer.byteLength(response.body) > IDEMPOTENT_BODY_MAX;
      const done = table.write({
        key: keys.idempotency(tenant, key),
        when: (cur) => cur?.requestHash === requestHash,
        to: (cur) => {
          const { leaseUntil: _l, ...rest } = cur!;
          return { ...rest, state: 'DONE', statusCode: response.statusCode, ...(tooLarge ? { tooLarge: true } : { body: response.body }) };
        },
        reason: 'unknown',
      });
      // Only the request that claimed the key completes it.
      if (!done) throw new WriteConflict('version');
    },

    async releaseIdempotency(tenant: string, key: string): Promise<void> {
      table.delete(keys.idempotency(tenant, key));
    },

    async claimOnce(tenant: string, scope: string, id: string, ttlSeconds: number): Promise<boolean> {
      return table.write({
        key: keys.once(tenant, scope, id),
        when: (cur) => cur === undefined,
        to: { ...keys.once(tenant, scope, id), entity: 'Once', [TABLE.ttlAttribute]: Math.floor(Date.now() / 1000) + ttlSeconds },
        reason: 'unknown',
      });
    },

    async releaseOnce(tenant: string, scope: string, id: string): Promise<void> {
      table.delete(keys.once(tenant, scope, id));
    },
  };
  return { port };
}
