import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, inject } from 'vitest';
import { DynamoStore, documentClient } from '../../functions/adapters/dynamo-store.ts';
import { ensureTable, LOCAL_REGION, localCredentials } from '../../local/dynamodb.ts';
import { storeContract } from '../support/store-contract.ts';

/** The DynamoDB store keeps the Store contract, on a fresh table of the shared DynamoDB Local (the memory store runs the same cases). */
let db: DynamoDBDocumentClient | undefined;
/** A client without the store's own middleware (its schema version's stamp): it puts an item as an earlier version did. */
let earlier: DynamoDBDocumentClient | undefined;
afterAll(() => {
  db?.destroy();
  earlier?.destroy();
});

const table = `contract-${randomUUID().slice(0, 8)}`;
storeContract(
  'DynamoDB',
  async () => {
    const endpoint = inject('dynamoEndpoint');
    await ensureTable(endpoint, table);
    const config = { endpoint, region: LOCAL_REGION, credentials: localCredentials };
    db = documentClient(config);
    earlier = DynamoDBDocumentClient.from(new DynamoDBClient(config), { marshallOptions: { removeUndefinedValues: true } });
    return new DynamoStore(db, table);
  },
  async (_store, item) => {
    await earlier!.send(new PutCommand({ TableName: table, Item: item }));
  },
);
