import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import type { GroupMapEntry, GroupMapping } from '#domain/access/group-mapping';
import { keys } from './keys.ts';
import * as env from '../configuration.ts';

let db: DynamoDBDocumentClient | undefined;

/**
 * The pre-token trigger's one read: the tenant's group mapping item, with one consistent GetItem (the item and
 * the read the store's getGroupMapping makes, functions/adapters/store/tenants.ts). Kept apart from the store so
 * the trigger's bundle holds nothing else: its role is granted this GetItem alone (infra/background-writes.ts).
 */
export async function readGroupMapping(tenant: string): Promise<GroupMapping | null> {
  const table = env.TABLE_NAME();
  if (!table) throw new Error('TABLE_NAME is not set');
  db ??= DynamoDBDocumentClient.from(new DynamoDBClient({}));
  const r = await db.send(new GetCommand({ TableName: table, Key: keys.groupMapping(tenant), ConsistentRead: true }));
  if (!r.Item) return null;
  return { entries: (r.Item.entries ?? []) as GroupMapEntry[], version: Number(r.Item.version) };
}
