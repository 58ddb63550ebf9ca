import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { GroupMapEntry } from '#domain/access/group-mapping';
import { assertedEmail, connectionFacts, scimEmailClaim, scimGroupNames, type SignInRecord } from '#domain/access/sign-in';
import { keys, type Key } from './keys.ts';
import * as env from '../configuration.ts';

let db: DynamoDBDocumentClient | undefined;

/** The most pages of the tenant's SCIM groups one sign-in reads (1 MB each): past that the sign-in fails, saying so. */
const MAX_GROUP_PAGES = 20;

/**
 * The pre-token trigger's reads, for decideSignIn (domain/access/sign-in.ts): of the tenant named by the provider,
 * consistent GetItems of its identity provider connection (the fields the decision reads), its group mapping, and
 * the SCIM claim of the asserted address (keys.scimUnique); when a SCIM user holds it, that user's item (whether
 * active); when the connection takes groups from SCIM and the user is active, one Query of the tenant's SCIM groups
 * (only those the user is a member of come back). The items the store writes (functions/adapters/store/tenants.ts,
 * store/scim.ts), read without the store so the trigger's bundle holds nothing else: its role may GetItem and Query
 * these partitions alone (infra/background-writes.ts).
 */
export async function readSignInRecord(tenant: string, rawEmail: unknown): Promise<SignInRecord> {
  const table = env.TABLE_NAME();
  if (!table) throw new Error('TABLE_NAME is not set');
  db ??= DynamoDBDocumentClient.from(new DynamoDBClient({}));
  const client = db;
  const get = (Key: Key, ProjectionExpression?: string, names?: Record<string, string>) =>
    client.send(
      new GetCommand({
        TableName: table,
        Key,
        ConsistentRead: true,
        ...(ProjectionExpression ? { ProjectionExpression } : {}),
        ...(names ? { ExpressionAttributeNames: names } : {}),
      }),
    );
  const email = assertedEmail(rawEmail);
  const [conn, map, claim] = await Promise.all([
    get(keys.identityProvider(tenant), '#p, #k, #d, #g, #s.#e', {
      '#p': 'providerName',
      '#k': 'kind',
      '#d': 'emailDomains',
      '#g': 'groupsFrom',
      '#s': 'saml',
      '#e': 'entityId',
    }),
    get(keys.groupMapping(tenant)),
    email ? get(keys.scimUnique(tenant, scimEmailClaim(email)), '#o', { '#o': 'owner' }) : Promise.resolve({ Item: undefined }),
  ]);
  const connection = conn.Item ? connectionFacts(conn.Item as Parameters<typeof connectionFacts>[0]) : null;
  let person: SignInRecord['person'] = null;
  const owner = claim.Item?.owner;
  if (typeof owner === 'string') {
    const user = (await get(keys.scimRecord(tenant, 'User', owner), '#a', { '#a': 'active' })).Item;
    if (user)
      person = {
        active: user.active === true,
        ...(user.active === true && connection?.groupsFrom === 'scim' ? { groups: await groupsOf(tenant, owner) } : {}),
      };
  }
  return { connection, mapping: map.Item ? ((map.Item.entries ?? []) as GroupMapEntry[]) : null, person };
}

/** The names of the tenant's SCIM groups the user is a member of (their displayName and externalId). */
async function groupsOf(tenant: string, userId: string): Promise<string[]> {
  const k = keys.scimRecords(tenant, 'Group');
  const names: string[] = [];
  let start: Record<string, unknown> | undefined;
  for (let page = 0; page < MAX_GROUP_PAGES; page++) {
    const r = await db!.send(
      new QueryCommand({
        TableName: env.TABLE_NAME(),
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :sk)',
        FilterExpression: 'contains(#m, :id)',
        ProjectionExpression: '#n, #a.#x',
        ExpressionAttributeNames: { '#m': 'members', '#n': 'displayName', '#a': 'attributes', '#x': 'externalId' },
        ExpressionAttributeValues: { ':pk': k.pk, ':sk': k.skPrefix, ':id': userId },
        ConsistentRead: true,
        ...(start ? { ExclusiveStartKey: start } : {}),
      }),
    );
    for (const g of r.Items ?? []) names.push(...scimGroupNames({ displayName: String(g.displayName ?? ''), attributes: g.attributes ?? {} }));
    start = r.LastEvaluatedKey;
    if (!start) return names;
  }
  throw new Error(`tenant ${tenant} has more SCIM groups than ${MAX_GROUP_PAGES} pages of 1 MB: sign-in refused`);
}
