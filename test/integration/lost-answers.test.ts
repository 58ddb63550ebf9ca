import { randomUUID } from 'node:crypto';
import { TransactionCanceledException, TransactionConflictException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { DynamoStore, documentClient } from '../../functions/adapters/dynamo-store.ts';
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
