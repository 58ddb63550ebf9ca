import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchWriteCommand, DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { DynamoStore, documentClient } from '../../functions/adapters/dynamo-store.ts';
import { keys } from '../../functions/adapters/keys.ts';
import { SCHEMA_VERSION } from '../../functions/adapters/store/schema.ts';
import { upgradeItem } from '../../functions/adapters/store/upgrades.ts';
import { ensureTable, LOCAL_REGION, localCredentials } from '../../local/dynamodb.ts';

/**
 * Stored items carry their schema version (functions/adapters/store/schema.ts): every item the store puts is stamped,
 * and an item an earlier version wrote is read in the current shape, upgraded in one place (store/upgrades.ts), before
 * any area reads it. The earlier items are put past the store, by a client without the stamp (as that version did).
 */
const table = `schema-${randomUUID().slice(0, 8)}`;
let db: DynamoDBDocumentClient;
let plain: DynamoDBDocumentClient;
let store: DynamoStore;
beforeAll(async () => {
  const endpoint = inject('dynamoEndpoint');
  await ensureTable(endpoint, table);
  const config = { endpoint, region: LOCAL_REGION, credentials: localCredentials };
  db = documentClient(config);
  plain = DynamoDBDocumentClient.from(new DynamoDBClient(config), { marshallOptions: { removeUndefinedValues: true } });
  store = new DynamoStore(db, table);
});
afterAll(() => {
  db?.destroy();
  plain?.destroy();
});

const raw = async (key: { pk: string; sk: string }) => (await plain.send(new GetCommand({ TableName: table, Key: key, ConsistentRead: true }))).Item;
const tenant = () => `ten-${randomUUID().slice(0, 8)}`;

describe('the schema version of stored items', () => {
  it('stamps every item put (a Put, a transaction’s Put, a batch’s Put) and leaves an update’s item at its version', async () => {
    const t = tenant();
    const k = (n: number) => ({ pk: `T#${t}#X`, sk: `${n}` });
    await db.send(new PutCommand({ TableName: table, Item: { ...k(1), entity: 'Probe' } }));
    await db.send(
      new TransactWriteCommand({
        TransactItems: [
          { Put: { TableName: table, Item: { ...k(2), entity: 'Probe' } } },
          { Update: { TableName: table, Key: k(1), UpdateExpression: 'SET a = :a', ExpressionAttributeValues: { ':a': 1 } } },
        ],
      }),
    );
    await db.send(new BatchWriteCommand({ RequestItems: { [table]: [{ PutRequest: { Item: { ...k(3), entity: 'Probe' } } }] } }));
    await plain.send(new PutCommand({ TableName: table, Item: { ...k(4), entity: 'Probe' } }));
    await db.send(new UpdateCommand({ TableName: table, Key: k(4), UpdateExpression: 'SET a = :a', ExpressionAttributeValues: { ':a': 2 } }));
    expect((await raw(k(1)))?.sv).toBe(SCHEMA_VERSION);
    expect((await raw(k(2)))?.sv).toBe(SCHEMA_VERSION);
    expect((await raw(k(3)))?.sv).toBe(SCHEMA_VERSION);
    // An update rewrites only what it names: the rest is still in the shape the earlier version wrote.
    expect(await raw(k(4))).toEqual({ ...k(4), entity: 'Probe', a: 2 });
  });

  it('stamps what a use case writes through the store, and keeps the version out of every domain object', async () => {
    const t = tenant();
    await store.commit(t, [{ kind: 'artifactVersion', artifact: artifact(t, { region: 'eu' }) }]);
    const items =
      (
        await plain.send(
          new QueryCommand({
            TableName: table,
            KeyConditionExpression: 'pk = :pk',
            ExpressionAttributeValues: { ':pk': keys.artifactVersion(t, 'api', '1.0.0').pk },
          }),
        )
      ).Items ?? [];
    expect(items.length).toBeGreaterThan(0);
    for (const item of items) expect(item.sv, `${item.sk}`).toBe(SCHEMA_VERSION);
    const read = await store.getArtifactVersion(t, 'api', '1.0.0');
    expect(read).toEqual(artifact(t, { region: 'eu' }));
    expect(read).not.toHaveProperty('sv');
  });

  it('reads an artifact version an earlier version wrote (its metadata a native map) in the current shape, by Get and by listing', async () => {
    const t = tenant();
    const { metadata, ...rest } = artifact(t, { region: 'eu', replicas: 3 });
    await plain.send(new PutCommand({ TableName: table, Item: { ...keys.artifactVersion(t, 'api', '1.0.0'), entity: 'ArtifactVersion', ...rest, metadata } }));
    expect(await store.getArtifactVersion(t, 'api', '1.0.0')).toEqual({ ...rest, metadata });
    expect(await store.listArtifactVersions(t, 'api')).toEqual([{ ...rest, metadata }]);
    // Nothing stored changed: the read upgraded it, the next put rewrites it.
    expect((await raw(keys.artifactVersion(t, 'api', '1.0.0')))?.metadataJson).toBeUndefined();
  });

  it('reads notification settings an earlier version wrote: the Slack signing secret and user map dropped, a plain webhook given its origin', async () => {
    const t = tenant();
    await plain.send(
      new PutCommand({
        TableName: table,
        Item: {
          ...keys.notifySettings(t, 'tenant'),
          entity: 'NotifySettings',
          tenant: t,
          scope: 'tenant',
          slack: { webhook: 'https://hooks.slack.com/services/T0/B0/x', channels: ['#deploys'], signingSecret: 'shh-secret', users: { U1: 'a@b.c' } },
          teams: { webhook: 'https://contoso.example/workflows/1?sig=abc' },
        },
      }),
    );
    const read = await store.getNotificationSettings(t, 'tenant');
    expect(read?.slack).toEqual({ webhook: 'https://hooks.slack.com/services/T0/B0/x', origin: 'https://hooks.slack.com', channels: ['#deploys'] });
    expect(read?.teams).toEqual({ webhook: 'https://contoso.example/workflows/1?sig=abc', origin: 'https://contoso.example' });
    expect(JSON.stringify(await store.listNotificationSettings(t))).not.toContain('shh-secret');
  });

  it('reads the number, not only the shape: an item at the current version is read as it is stored', async () => {
    const t = tenant();
    const { metadata, ...rest } = artifact(t, {});
    await plain.send(
      new PutCommand({
        TableName: table,
        Item: { ...keys.artifactVersion(t, 'api', '1.0.0'), entity: 'ArtifactVersion', ...rest, metadataJson: '{"a":1}', metadata, sv: SCHEMA_VERSION },
      }),
    );
    expect((await store.getArtifactVersion(t, 'api', '1.0.0'))?.metadata).toEqual({ a: 1 });
  });

  it('upgrades each entity to a shape it then leaves as it is (an item an update made carries no version: its shape says)', () => {
    const old = { entity: 'ArtifactVersion', metadata: { a: 1 } };
    const once = upgradeItem(old);
    expect(once).toEqual({ entity: 'ArtifactVersion', metadataJson: '{"a":1}' });
    expect(upgradeItem(once)).toEqual(once);
    const notify = upgradeItem({ entity: 'NotifySettings', slack: { webhook: 'enc:sealed', origin: 'https://hooks.slack.com', channels: [] } });
    expect(upgradeItem(notify)).toEqual(notify);
    // An entity with no upgrade, or one named as a property every object has, is read as it is.
    expect(upgradeItem({ entity: '__proto__', a: 1 })).toEqual({ entity: '__proto__', a: 1 });
    expect(upgradeItem({ entity: 'toString' })).toEqual({ entity: 'toString' });
  });
});

function artifact(t: string, metadata: Record<string, unknown>) {
  void t;
  return {
    name: 'api',
    version: '1.0.0',
    digest: `sha256:${'a'.repeat(64)}`,
    sourceCommit: 'abc1234',
    metadata,
    publishedAt: '2026-11-29T00:00:00.000Z',
    publishedBy: 'ci@example.com',
  };
}
