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
    // An old table lacking only the newest index (one index is built at a time per table).
    const present = TABLE.indexes.slice(0, -1);
    await db.send(
      new CreateTableCommand({
        TableName: name,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: ['pk', 'sk', ...present.flatMap((i) => [i.partitionKey, i.sortKey])].map((a) => ({ AttributeName: a, AttributeType: 'S' })),
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
        GlobalSecondaryIndexes: present.map((i) => ({
          IndexName: i.name,
          KeySchema: [
            { AttributeName: i.partitionKey, KeyType: 'HASH' as const },
            { AttributeName: i.sortKey, KeyType: 'RANGE' as const },
          ],
          Projection: { ProjectionType: 'ALL' as const },
        })),
      }),
    );
    await ensureTable(endpoint, name);
    const t = await db.send(new DescribeTableCommand({ TableName: name }));
    expect((t.Table?.GlobalSecondaryIndexes ?? []).map((i) => i.IndexName).sort()).toEqual(TABLE.indexes.map((i) => i.name).sort());
    db.destroy();
  });
});
