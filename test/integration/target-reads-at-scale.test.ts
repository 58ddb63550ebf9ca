import { randomUUID } from 'node:crypto';
import { inject, describe, expect, it } from 'vitest';
import { readView } from '../../domain/config/effective.ts';
import { DynamoStore, documentClient } from '../../functions/adapters/dynamo-store.ts';
import { LOCAL_REGION, ensureTable, localCredentials } from '../../local/dynamodb.ts';
import { RequestCounter } from '../../local/measure/counter.ts';
import { audit, environment, snapshot, targets } from '../support/store-contract/fixtures.ts';

/**
 * Reads at scale: an application's read of ONE target (effective config, OFREP, a fleet count) reads
 * the environment's item, its targets item and that target's page, never the list: the same requests and the same
 * read units at 1,000 targets as at 1, cold (nothing known yet) and warm.
 */
describe('a read of one target costs the same at 1,000 targets as at 1', () => {
  it('cold and warm: the same requests and capacity units, whatever the number of targets', async () => {
    const endpoint = inject('dynamoEndpoint');
    const tableName = `trs-${randomUUID().slice(0, 8)}`;
    await ensureTable(endpoint, tableName);
    const db = documentClient({ endpoint, region: LOCAL_REGION, credentials: localCredentials });
    const counter = new RequestCounter();
    counter.attach(db);
    const store = new DynamoStore(db, tableName);
    const tenant = `trs${randomUUID().slice(0, 6)}`;
    try {
      await store.createEnvironment(environment(tenant, 'one', 0, { targets: targets(1) }), snapshot('one', 1), audit(tenant));
      await store.createEnvironment(environment(tenant, 'many', 1, { targets: targets(1000, 100) }), snapshot('many', 1), audit(tenant));
      /** One read of `target` as the app read path makes it: the environment with that target, then its view. */
      const read = async (env: string, target: string) => {
        counter.reset();
        const e = (await store.getEnvironment(tenant, env, { consistent: false, target }))!;
        const view = await readView(store, e, { tenant, environment: env, principal: 'app-key:test' } as never, target);
        const c = counter.take();
        return {
          requests: Object.values(c).reduce((n, s) => n + s.requests, 0),
          capacity: Object.values(c).reduce((n, s) => n + s.capacity, 0),
          view,
        };
      };
      const coldOne = await read('one', 't-001');
      const coldMany = await read('many', 't-777');
      expect(coldMany.view).toMatchObject({ target: 't-777', parameters: [{ key: 'endpoint', value: 'https://t-777.example.com' }] });
      expect({ requests: coldMany.requests, capacity: coldMany.capacity }).toEqual({ requests: coldOne.requests, capacity: coldOne.capacity });
      // Warm: the targets item and the page are known by digest and generation: the environment's item alone.
      const warmOne = await read('one', 't-001');
      const warmMany = await read('many', 't-777');
      expect(warmMany.requests).toBe(1);
      expect({ requests: warmMany.requests, capacity: warmMany.capacity }).toEqual({ requests: warmOne.requests, capacity: warmOne.capacity });
      // Another target of the same environment: its own page, still not the list.
      const other = await read('many', 't-042');
      expect(other.requests).toBeLessThanOrEqual(coldOne.requests);
      expect(other.capacity).toBeLessThanOrEqual(coldOne.capacity);
      // A target the environment lacks is a 404, not a walk of 1,000 names on every read.
      await expect(read('many', 'nowhere')).rejects.toMatchObject({ name: 'TargetNotFound' });
    } finally {
      db.destroy();
    }
  }, 120_000);
});
