import { CreateTableCommand, DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { randomUUID } from 'node:crypto';
import { describe, expect, it, inject } from 'vitest';
import { TABLE } from '../../functions/adapters/keys.ts';
import { ensureTable, localClient } from '../../local/dynamodb.ts';

describe('local table', () => {
  it('is created from the keys module, and an older data folder gets the indexes added since', async () => {
    const endpoint = inject('dynamoEndpoint');
    const name = `old-${randomUUID().slice(0, 8)}`;
    const db = localClient(endpoint);
    const [first] = TABLE.indexes;
    await db.send(
      new CreateTableCommand({
        TableName: name,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: ['pk', 'sk', first.partitionKey, first.sortKey].map((a) => ({ AttributeName: a, AttributeType: 'S' })),
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }, { AttributeName: 'sk', KeyType: 'RANGE' }],
        GlobalSecondaryIndexes: [{ IndexName: first.name, KeySchema: [{ AttributeName: first.partitionKey, KeyType: 'HASH' }, { AttributeName: first.sortKey, KeyType: 'RANGE' }], Projection: { ProjectionType: 'ALL' } }],
      }),
    );
    await ensureTable(endpoint, name);
    const t = await db.send(new DescribeTableCommand({ TableName: name }));
    expect((t.Table?.GlobalSecondaryIndexes ?? []).map((i) => i.IndexName).sort()).toEqual(TABLE.indexes.map((i) => i.name).sort());
    db.destroy();
  }, 240_000);
});
