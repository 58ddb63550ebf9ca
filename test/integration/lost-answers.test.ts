import { randomUUID } from 'node:crypto';
import { TransactionCanceledException, TransactionConflictException } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { DynamoStore, documentClient } from '../../functions/adapters/dynamo-store.ts';
import { storeBase, type StoreBase } from '../../functions/adapters/store/base.ts';
import { WriteConflict } from '../../domain/kernel/retry.ts';
import type { WebhookSubscription } from '../../domain/webhooks/model.ts';
import { ensureTable, LOCAL_REGION, localCredentials } from '../../local/dynamodb.ts';

/**
 * A write whose first try DynamoDB applied and whose answer was lost (the SDK sends it again), and whose next tries
 * meet a transaction on the item (the store sends those again itself): the write succeeded once, and the store says
 * so. Found by the CI run of the fault plan (test/integration/faults.test.ts, seed 5): the idempotency claim was
 * applied, the request answered 503, and the key stayed claimed until its lease ran out; a conditional Put took
 * its own first try for a lost race.
 */
type Act = 'applyAndLose' | 'conflict' | 'txBusy';

let db: DynamoDBDocumentClient;
let store: DynamoStore;
let base: StoreBase;
const table = `lost-${randomUUID().slice(0, 8)}`;
/** What the next tries meet, in order (each try the SDK sends takes one; then they go through). */
const script: Act[] = [];
let tries = 0;

beforeAll(async () => {
  const endpoint = inject('dynamoEndpoint');
  await ensureTable(endpoint, table);
  db = documentClient({ endpoint, region: LOCAL_REGION, credentials: localCredentials, maxAttempts: 3 });
  // At the step the fault plan uses (local/fault-seams.ts), inside the SDK's retries and the store's.
  db.middlewareStack.add(
    (next, context) => async (args) => {
      const command = String((context as { commandName?: string }).commandName ?? '');
      if (command.startsWith('Get')) return next(args);
      tries++;
      const act = script.shift();
      if (act === 'conflict') throw new TransactionConflictException({ message: 'scripted: Transaction is ongoing for the item', $metadata: {} });
      if (act === 'txBusy')
        throw new TransactionCanceledException({
          message: 'scripted: Transaction cancelled [None, TransactionConflict]',
          $metadata: {},
          CancellationReasons: [{ Code: 'None' }, { Code: 'TransactionConflict', Message: 'Transaction is ongoing for the item' }],
        });
      const out = await next(args);
      if (act === 'applyAndLose') throw Object.assign(new Error(`${command} applied, answer lost`), { name: 'TimeoutError', $metadata: {} });
      return out;
    },
    { step: 'deserialize', name: 'scriptedLostAnswers', priority: 'high' },
  );
  store = new DynamoStore(db, table);
  base = storeBase(db, table);
}, 60_000);
afterAll(() => db?.destroy());

/** The first try applied and lost; every try after it (the SDK's second, the store's three more) meets a transaction. */
const lostThenBusy = () => {
  script.length = 0;
  tries = 0;
  script.push('applyAndLose', 'conflict', 'conflict', 'conflict', 'conflict');
};

describe('a write applied on its first try, its answer lost, its next tries refused for a moment', () => {
  it('an Idempotency-Key claim is the claimer’s (not a 503 that leaves the key claimed)', async () => {
    lostThenBusy();
    const claim = await store.claimIdempotency('t-lost', 'k1', 'hash-1', new Date(), 3600, 30);
    expect(tries).toBe(5);
    expect(claim).toEqual({ state: 'new' });
    // …and it is the claimer’s alone: another request under the key is still told to wait.
    expect(await store.claimIdempotency('t-lost', 'k1', 'hash-1', new Date(), 3600, 30)).toEqual({ state: 'in-progress' });
  });

  it('a once-only claim (a conditional Put) is taken once, not lost to its own first try', async () => {
    // The first try applied and lost, the SDK's second and the store's next refused for a transaction, the last one
    // sent as written and refused by the first (the item exists): applied before, so the claim is taken.
    script.length = 0;
    tries = 0;
    script.push('applyAndLose', 'conflict', 'conflict');
    const id = randomUUID();
    expect(await store.claimOnce('t-lost', 'scope', id, 3600)).toBe(true);
    expect(tries).toBe(4);
    // …and a second claimer with no try of its own applied has lost the race.
    expect(await store.claimOnce('t-lost', 'scope', id, 3600)).toBe(false);
  });
});

/**
 * A write conditioned on the version it read, applied on its first try and its answer lost: the SDK's next try meets
 * the version its own first try wrote and is refused. Found under chaos seed 7 (a webhook change answered 409
 * VERSION_CONFLICT): the write carries its own mark, read back when a try after the first is refused.
 */
describe('a versioned write applied on its first try, its answer lost', () => {
  const key = () => ({ pk: `T#t-lost#V#${randomUUID()}`, sk: 'V' });
  const stored = async (k: Record<string, unknown>) => (await db.send(new GetCommand({ TableName: table, Key: k, ConsistentRead: true }))).Item;
  const seed = async (k: Record<string, unknown>) => {
    await db.send(new PutCommand({ TableName: table, Item: { ...k, entity: 'Versioned', note: 'first', version: 1 } }));
  };
  const versionedUpdate = (k: Record<string, unknown>, note: string) => ({
    TableName: table,
    Key: k,
    UpdateExpression: 'SET note = :n, version = :next',
    ConditionExpression: 'version = :v',
    ExpressionAttributeValues: { ':n': note, ':v': 1, ':next': 2 },
  });
  const lostOnce = () => {
    script.length = 0;
    tries = 0;
    script.push('applyAndLose');
  };

  it('an Update conditioned on the version (the single-item path of a transaction) succeeded once, not a conflict', async () => {
    const k = key();
    await seed(k);
    lostOnce();
    await expect(base.transact([{ Update: versionedUpdate(k, 'second') }], ['version'])).resolves.toBeUndefined();
    expect(tries).toBe(2);
    expect(await stored(k)).toMatchObject({ note: 'second', version: 2 });
    // …and another writer on the version it read (1) has lost the race.
    await expect(base.transact([{ Update: versionedUpdate(k, 'other') }], ['version'])).rejects.toThrow(WriteConflict);
  });

  it('a conditional Update on the version succeeded once, not a refused condition', async () => {
    const k = key();
    await seed(k);
    lostOnce();
    expect(await base.conditional(new UpdateCommand(versionedUpdate(k, 'second')))).toBe(true);
    expect(tries).toBe(2);
    expect(await base.conditional(new UpdateCommand(versionedUpdate(k, 'other')))).toBe(false);
  });

  it('a Put on the version read (a webhook change through the commit) succeeded once', async () => {
    const tenant = `t-${randomUUID().slice(0, 8)}`;
    const at = '2026-11-27T00:00:00.000Z';
    const sub: WebhookSubscription = {
      tenant,
      id: randomUUID(),
      url: 'https://hooks.example.com/a',
      events: ['promotion.completed'],
      environment: null,
      description: '',
      enabled: true,
      secrets: [],
      health: { status: 'ok', consecutiveFailures: 0, lastFailureAt: null, reason: null },
      version: 1,
      createdAt: at,
      createdBy: 'admin',
      updatedAt: at,
      updatedBy: 'admin',
    };
    await store.commit(tenant, [{ kind: 'webhook', sub, expectedVersion: null }]);
    lostOnce();
    await store.commit(tenant, [{ kind: 'webhook', sub: { ...sub, enabled: false, version: 2 }, expectedVersion: 1 }]);
    expect(tries).toBe(2);
    expect((await store.getWebhook(tenant, sub.id))?.version).toBe(2);
  });

  it('a writer whose own try was never applied is not taken for the one that was, even when it wrote the same item', async () => {
    // Two requests make the same change on version 1. The first is applied; the second's first try meets a
    // transaction (applied nothing), its next is refused by the first's write, which holds exactly what it would
    // have written: it lost the race all the same (the mark says whose write the item is).
    const k = key();
    await seed(k);
    const put = () => base.put({ ...k, entity: 'Versioned', note: 'same', version: 2 }, 1);
    await base.transact([put()], ['version']);
    script.length = 0;
    tries = 0;
    script.push('conflict');
    await expect(base.transact([put()], ['version'])).rejects.toThrow(WriteConflict);
    expect(tries).toBe(2);
  });
});

/**
 * A transaction DynamoDB refused because another transaction was on one of its items saved nothing, and nothing
 * stored refused it: the caller sends it again (409 CONCURRENT_MODIFICATION), it is no lost race a use case answers
 * as a version conflict. Found by the chaos run (seed 9): a webhook subscription created while the fault plan refused
 * its transaction answered 409 VERSION_CONFLICT ("changed meanwhile; read it again") to a create, and the tenant's
 * set-up stopped.
 */
describe('a transaction refused for another one on its items', () => {
  const sub = (id: string) =>
    ({
      tenant: 't-busy',
      id,
      url: 'https://hooks.example.com/x',
      events: ['promotion.completed'],
      environment: null,
      enabled: true,
      description: '',
      createdAt: new Date().toISOString(),
      createdBy: 'someone',
      version: 1,
    }) as unknown as Parameters<DynamoStore['putWebhook']>[0];
  const audit = (id: string) =>
    ({
      tenant: 't-busy',
      id: `a-${id}`,
      at: new Date().toISOString(),
      actor: 'u',
      actorName: 'u',
      action: 'webhook.create',
      entityType: 'webhook',
      entityId: id,
      before: null,
      after: null,
    }) as unknown as Parameters<DynamoStore['putWebhook']>[2];

  it("is a WriteConflict of reason 'busy' (nothing saved: send it again); a condition the stored item refused is not", async () => {
    script.length = 0;
    script.push('txBusy');
    const id = `wh_${randomUUID().slice(0, 8)}`;
    await expect(store.putWebhook(sub(id), null, audit(id))).rejects.toMatchObject({ name: 'WriteConflict', reason: 'busy' });
    // Nothing was saved: the same write goes through when sent again; written again as new, the item refuses it.
    await store.putWebhook(sub(id), null, audit(id));
    await expect(store.putWebhook(sub(id), null, audit(`${id}-2`))).rejects.toMatchObject({ name: 'WriteConflict', reason: 'exists' });
  });
});

/**
 * A counter update (the daily metric counters a deployment, a failure or a rollback adds to) has no condition of its
 * own: applied on its first try and its answer lost, the SDK's next try added again, and the day counted the one
 * deployment twice. It is sent conditioned on its own write mark, so the next try is refused by the first one and
 * read back as applied.
 */
describe('a counter update applied on its first try, its answer lost', () => {
  const delta = (environment: string, add: Record<string, number>) => ({ environment, day: '2026-11-27', add });
  const countersOf = async (tenant: string, env: string) => (await store.getMetrics(tenant, env, '2026-11-27', '2026-11-27'))[0]?.counters;

  it('counts once (the metric counters of a deployment, sent as their own single-item write)', async () => {
    const tenant = `t-${randomUUID().slice(0, 8)}`;
    script.length = 0;
    tries = 0;
    script.push('applyAndLose');
    await store.commit(tenant, [{ kind: 'metrics', delta: delta('prod', { deployments: 1, failed: 1 }) }]);
    expect(tries).toBe(2);
    expect(await countersOf(tenant, 'prod')).toEqual({ deployments: 1, failed: 1 });
    // …and the next effect on the same day still counts (the mark is the write's, not the day's).
    await store.commit(tenant, [{ kind: 'metrics', delta: delta('prod', { deployments: 1 }) }]);
    expect(await countersOf(tenant, 'prod')).toEqual({ deployments: 2, failed: 1 });
  });

  it('counts once when its next tries also meet a transaction on the item', async () => {
    const tenant = `t-${randomUUID().slice(0, 8)}`;
    lostThenBusy();
    script.length = 3; // applied and lost; the SDK's second and the store's next meet a transaction; the last goes through
    await store.commit(tenant, [{ kind: 'metrics', delta: delta('staging', { deployments: 1 }) }]);
    expect(tries).toBe(4);
    expect(await countersOf(tenant, 'staging')).toEqual({ deployments: 1 });
  });
});
