import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import type { GroupMapEntry, GroupMapping } from '#domain/access/group-mapping';
import { keys } from './keys.ts';
import * as env from '../configuration.ts';

let db: DynamoDBDocumentClient | undefined;

/** What the pre-token trigger reads of a tenant: its identity provider connection's provider name, and its group mapping. */
export interface SignInRecord {
  /** null: the tenant has no identity provider connected */
  connection: { providerName?: unknown } | null;
  /** null: no mapping saved yet */
  mapping: Pick<GroupMapping, 'entries'> | null;
}

/**
 * The pre-token trigger's reads: the tenant's identity provider connection (its provider name alone) and its
 * group mapping item, two consistent GetItems of exactly those keys (the items the store's getIdentityProvider
 * and getGroupMapping read, functions/adapters/store/tenants.ts). Kept apart from the store so the trigger's
 * bundle holds nothing else: its role is granted GetItem on these two kinds of item alone (infra/background-writes.ts).
 */
export async function readSignInRecord(tenant: string): Promise<SignInRecord> {
  const table = env.TABLE_NAME();
  if (!table) throw new Error('TABLE_NAME is not set');
  db ??= DynamoDBDocumentClient.from(new DynamoDBClient({}));
  const client = db;
  const [conn, map] = await Promise.all([
    client.send(new GetCommand({ TableName: table, Key: keys.identityProvider(tenant), ConsistentRead: true, ProjectionExpression: 'providerName' })),
    client.send(new GetCommand({ TableName: table, Key: keys.groupMapping(tenant), ConsistentRead: true })),
  ]);
  return {
    connection: conn.Item ? { providerName: conn.Item.providerName } : null,
    mapping: map.Item ? { entries: (map.Item.entries ?? []) as GroupMapEntry[] } : null,
  };
}
