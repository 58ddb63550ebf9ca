import { randomUUID } from 'node:crypto';
import { PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, inject } from 'vitest';
import { DynamoStore, documentClient } from '../../functions/adapters/dynamo-store.ts';
import { ensureTable, LOCAL_REGION, localCredentials } from '../../local/dynamodb.ts';
import { storeContract } from '../support/store-contract.ts';

/** The DynamoDB store keeps the Store contract, on a fresh table of the shared DynamoDB Local (the memory store runs the same cases). */
let db: DynamoDBDocumentClient | undefined;
afterAll(() => db?.destroy());

const table = `contract-${randomUUID().slice(0, 8)}`;
storeContract(
  'DynamoDB',
  async () => {
    const endpoint = inject('dynamoEndpoint');
    await ensureTable(endpoint, table);
    db = documentClient({ endpoint, region: LOCAL_REGION, credentials: localCredentials });
    return new DynamoStore(db, table);
  },
  async (_store, item) => {
    await db!.send(new PutCommand({ TableName: table, Item: item }));
  },
);
