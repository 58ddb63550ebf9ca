import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { auditEntry } from '../../domain/audit/audit.ts';
import { EMPTY_ROOTS } from '../../domain/config/environments.ts';
import { ValidationFailed } from '../../domain/kernel/errors.ts';
import type { Environment, Snapshot } from '../../domain/kernel/model.ts';
import { WriteConflict } from '../../domain/kernel/retry.ts';
import { DynamoStore, documentClient, eventsOf, openAuditEntry } from '../../functions/adapters/dynamo-store.ts';

const ddb = mockClient(DynamoDBDocumentClient);
afterEach(() => ddb.reset());

const store = () => new DynamoStore(documentClient({ region: 'local', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } }), 'tbl');

const env: Environment = {
  tenant: 'acme',
  name: 'dev',
  displayName: 'dev',
  position: 0,
  description: '',
  protected: false,
  gates: { policy_compliance: true, tests: false, security_scan: false, cost_analysis: false, performance_baseline: false },
  webhookGates: [],
  concurrency: 'queue',
  autoPromotionPaused: false,
  bakeSeconds: 0,
  registries: [],
  head: { seq: 3, digest: 'sha256:x', roots: EMPTY_ROOTS },
  itemCount: 0,
  version: 4,
  createdAt: '2026-01-01T00:00:00Z',
  createdBy: 'a',
  updatedAt: '2026-01-01T00:00:00Z',
  updatedBy: 'a',
};
const snapshot: Snapshot = {
  environment: 'dev',
  seq: 4,
  digest: 'sha256:y',
  roots: EMPTY_ROOTS,
  parentSeq: 3,
  itemCount: 0,
  createdAt: '2026-01-01T00:00:00Z',
  createdBy: 'a',
  change: { action: 'set', keys: [], count: 0 },
};
const audit = auditEntry(
  'acme',
  {
    actor: 'u',
    actorName: 'u@x',
    action: 'config.update',
    entityType: 'config',
    entityId: 'dev/k',
    before: 'a',
    after: 'b',
  },
  new Date('2026-01-02T00:00:00Z'),
);

describe('DynamoStore (aws-sdk-client-mock)', () => {
  it('commits a snapshot as one transaction: env conditioned on its version, snapshot, audit entry carrying the outbox event, never overwritten, no tenant-wide item', async () => {
    ddb.on(TransactWriteCommand).resolves({});
    const event = {
      id: 'e1',
      type: 'Break Glass Used',
      tenant: 'acme',
      detail: {
        tenant: 'acme',
        environment: 'dev',
        guard: 'protected-environment',
        action: 'config.update',
        actor: 'u@x',
        reason: 'hotfix',
        at: '2026-01-02T00:00:00Z',
      },
    };
    await store().commitSnapshot({ ...env, version: 5 }, env, snapshot, audit, [event]);
    const calls = ddb.commandCalls(TransactWriteCommand);
    expect(calls).toHaveLength(1);
    const items = calls[0]!.args[0].input.TransactItems!;
    expect(items).toHaveLength(3);
    expect(items[0]!.Put).toMatchObject({
      Item: { pk: 'T#acme#ENV', sk: 'ENV#dev', version: 5 },
      ConditionExpression: '#v = :v',
      ExpressionAttributeValues: { ':v': 4 },
    });
    expect(items[1]!.Put).toMatchObject({ Item: { pk: 'T#acme#SNAP#dev', sk: 'S#0000000004' }, ConditionExpression: 'attribute_not_exists(pk)' });
    expect(items[2]!.Put).toMatchObject({
      Item: { pk: 'T#acme#AUDIT', sk: `E#${audit.at}#${audit.id}`, gsi1pk: 'T#acme#AUDIT#E#config#dev/k', gsi2pk: 'T#acme#AUDIT#A#u@x' },
      ConditionExpression: 'attribute_not_exists(pk)',
    });
    // The event rides on the audit entry (no item of its own); the stream consumer takes it from there, and it is no part of the entry.
    const carried = items[2]!.Put!.Item!;
    expect(eventsOf(carried)).toEqual([event]);
    expect(carried).not.toHaveProperty('tenant'); // the key holds tenant, time and id
    expect(openAuditEntry(carried)).toEqual(audit);
    for (const i of items) expect(String(i.Put!.Item!.pk).startsWith('T#acme#')).toBe(true);
  });

  it('writes a change of one item as its own conditional write, not a transaction, and a failed condition is still a WriteConflict', async () => {
    ddb
      .on(PutCommand)
      .rejectsOnce(Object.assign(new Error('no'), { name: 'ConditionalCheckFailedException' }))
      .resolves({});
    const evidence = { id: 'ev1', type: 'test_results', payload: { passed: 1, failed: 0 }, submittedAt: '2026-01-02T00:00:00Z', submittedBy: 'ci' };
    const event = {
      id: 'e2',
      type: 'Evidence Added',
      tenant: 'acme',
      detail: { tenant: 'acme', owner: 'release:web@1.0.0', type: 'test_results', at: '2026-01-02T00:00:00Z' },
    };
    const ops = [
      { kind: 'evidence', owner: 'release:web@1.0.0', evidence },
      { kind: 'event', event },
    ] as Parameters<DynamoStore['commit']>[1];
    await expect(store().commit('acme', ops)).rejects.toSatisfy((e) => e instanceof WriteConflict && e.reason === 'exists');
    await store().commit('acme', ops);
    expect(ddb.commandCalls(TransactWriteCommand)).toHaveLength(0);
    const put = ddb.commandCalls(PutCommand)[1]!.args[0].input;
    expect(put).toMatchObject({ Item: { pk: 'T#acme#EVID#release:web@1.0.0', entity: 'Evidence' }, ConditionExpression: 'attribute_not_exists(pk)' });
    expect(eventsOf(put.Item!)).toEqual([event]);
  });

  it('turns a cancelled transaction into WriteConflict naming the condition that failed', async () => {
    ddb.on(TransactWriteCommand).rejects(
      new TransactionCanceledException({
        message: 'cancelled',
        $metadata: {},
        CancellationReasons: [{ Code: 'ConditionalCheckFailed' }, { Code: 'None' }, { Code: 'None' }],
      }),
    );
    await expect(store().commitSnapshot(env, env, snapshot, audit)).rejects.toSatisfy((e) => e instanceof WriteConflict && e.reason === 'version');
  });

  it('retries unprocessed keys when reading trie nodes', async () => {
    const node = JSON.stringify({ t: 'L', e: [] });
    ddb
      .on(BatchGetCommand)
      .resolvesOnce({ Responses: { tbl: [{ pk: 'T#acme#NODE#aaa', node }] }, UnprocessedKeys: { tbl: { Keys: [{ pk: 'T#acme#NODE#bbb', sk: 'N' }] } } })
      .resolvesOnce({ Responses: { tbl: [{ pk: 'T#acme#NODE#bbb', node }] } });
    const nodes = await store().nodes('acme').getNodes(['aaa', 'bbb', 'aaa']);
    expect([...nodes.keys()].sort()).toEqual(['aaa', 'bbb']);
    expect(ddb.commandCalls(BatchGetCommand)).toHaveLength(2);
    expect(ddb.commandCalls(BatchGetCommand)[0]!.args[0].input.RequestItems!.tbl!.Keys).toHaveLength(2);
  });

  it('refuses a cursor that points into another tenant', async () => {
    ddb.on(QueryCommand).resolves({ Items: [] });
    const foreign = Buffer.from(JSON.stringify({ pk: 'T#globex#AUDIT', sk: 'E#x' })).toString('base64url');
    await expect(store().readChainLinks('acme', 10, foreign)).rejects.toBeInstanceOf(ValidationFailed);
    await expect(store().readChainLinks('acme', 10, 'not-base64-json')).rejects.toBeInstanceOf(ValidationFailed);
    expect(ddb.commandCalls(QueryCommand)).toHaveLength(0);
  });

  it('reads environments with strongly consistent reads under the tenant prefix', async () => {
    ddb.on(GetCommand).resolves({ Item: { pk: 'T#acme#ENV', sk: 'ENV#dev', entity: 'Environment', ...env } });
    const got = await store().getEnvironment('acme', 'dev');
    expect(got).toEqual(env);
    expect(ddb.commandCalls(GetCommand)[0]!.args[0].input).toMatchObject({ Key: { pk: 'T#acme#ENV', sk: 'ENV#dev' }, ConsistentRead: true });
  });
});
