import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { ScimGroup, ScimUser } from '../../domain/access/scim-model.ts';
import { documentClient } from '../../functions/adapters/dynamo-store.ts';
import { keys } from '../../functions/adapters/keys.ts';
import { ensureTable, LOCAL_REGION, localCredentials } from '../../local/dynamodb.ts';
import { fakeUserPool } from '../../local/measure/cognito-pool.ts';
import { RequestCounter, totalRequests, type Counts } from '../../local/measure/counter.ts';
import { PATCH_OP, SCHEMA_GROUP, scimClient } from '../../local/measure/scim-client.ts';

/**
 * SCIM uniqueness by claims, on the real SCIM endpoint's code and store over DynamoDB Local (the client of
 * bench/scim.ts): a create reads the same few items with 10 users as with 300 (counted on the DynamoDB client),
 * two concurrent creates of one userName give one 201 and one 409, a rename or a delete frees the old name, and
 * records written before claims were kept are given theirs on the tenant's first write, so they stay unique.
 */
let db: DynamoDBDocumentClient;
let table: string;
let pool: ReturnType<typeof fakeUserPool>;
const counter = new RequestCounter();
const stamp = () => `${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;

/** Read units and requests of what `step` sends. */
async function cost(step: () => Promise<unknown>) {
  counter.reset();
  await step();
  const c: Counts = counter.take();
  const reads = Object.entries(c).filter(([command]) => !/(Write|Put|Update|Delete)/.test(command));
  return { rru: reads.reduce((n, [, s]) => n + s.capacity, 0), reads: reads.reduce((n, [, s]) => n + s.requests, 0), requests: totalRequests(c) };
}

beforeAll(async () => {
  const endpoint = inject('dynamoEndpoint');
  table = `scim-claims-${stamp()}`;
  await ensureTable(endpoint, table);
  db = documentClient({ endpoint, region: LOCAL_REGION, credentials: localCredentials });
  counter.attach(db);
  pool = fakeUserPool();
}, 60_000);
afterAll(() => {
  pool?.restore();
  db?.destroy();
});

describe('SCIM uniqueness by claims', () => {
  it('a create, and the userName filter Entra ID sends before it, read the same with 10 users as with 300 (no read of the tenant’s users)', async () => {
    const scim = await scimClient(db, table, pool, `flat-${stamp()}`);
    // Entra ID's step for each user: GET /Users?filter=userName eq "…" (none), then POST /Users.
    const create = async (i: number, active = true) => {
      const body = scim.user(i, active);
      const found = await scim.send('GET', 'Users', { filter: `userName eq "${body.userName.toUpperCase()}"` });
      expect(found.body).toMatchObject({ totalResults: 0 });
      return scim.send('POST', 'Users', { body });
    };
    for (let i = 0; i < 10; i++) expect((await create(i, false)).status).toBe(201);
    await create(10); // the tenant's first write looks whether its records hold their claims (they do: marked once)
    const at10 = await cost(async () => expect((await create(11)).status).toBe(201));
    for (let i = 12; i < 300; i++) expect((await create(i, false)).status).toBe(201);
    const at300 = await cost(async () => expect((await create(300)).status).toBe(201));
    expect(at300).toEqual(at10);
    expect(at10.reads).toBeLessThanOrEqual(8);
    // Taken names and addresses are still refused, at the same cost.
    const dup = { ...scim.user(7), emails: [] };
    const refused = await cost(async () =>
      expect(await scim.send('POST', 'Users', { body: { ...dup, userName: dup.userName.toUpperCase() } })).toMatchObject({ status: 409 }),
    );
    expect(refused.reads).toBeLessThanOrEqual(at10.reads);
    // The filter finds a user in any case, and a group by its displayName, as when it read them all.
    const found = await scim.send('GET', 'Users', { filter: `userName eq "${scim.user(150).userName.toUpperCase()}" and active eq false` });
    expect(found.body).toMatchObject({ totalResults: 1, Resources: [{ userName: scim.user(150).userName }] });
    expect(await scim.send('GET', 'Users', { filter: `userName eq "${scim.user(150).userName}" and active eq true` })).toMatchObject({
      body: { totalResults: 0 },
    });
    expect((await scim.send('POST', 'Groups', { body: { schemas: [SCHEMA_GROUP], displayName: 'Team-1' } })).status).toBe(201);
    const group = await cost(async () =>
      expect(await scim.send('GET', 'Groups', { filter: 'displayName eq "team-1"' })).toMatchObject({ body: { totalResults: 1 } }),
    );
    expect(group.reads).toBeLessThanOrEqual(3);
  }, 180_000);

  it('two concurrent creates of one userName: one 201, one 409 uniqueness; a rename frees the old name and a delete frees it again', async () => {
    const scim = await scimClient(db, table, pool, `race-${stamp()}`);
    const body = scim.user(1);
    const both = await Promise.all([
      scim.send('POST', 'Users', { body }),
      scim.send('POST', 'Users', { body: { ...body, userName: body.userName.toUpperCase() } }),
    ]);
    expect(both.map((a) => a.status).sort()).toEqual([201, 409]);
    expect(both.find((a) => a.status === 409)!.body).toMatchObject({ scimType: 'uniqueness' });
    const id = (both.find((a) => a.status === 201)!.body as { id: string }).id;
    // Renamed: the old name is free, the new one taken (in any case); deleted, its name and address are free.
    const renamed = `renamed@${scim.domain}`;
    const patch = await scim.send('PATCH', 'Users', {
      id,
      body: { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'userName', value: renamed }] },
    });
    expect(patch.status, JSON.stringify(patch.body)).toBe(200);
    const again = await scim.send('POST', 'Users', { body: { ...scim.user(2), userName: body.userName } });
    expect(again.status, JSON.stringify(again.body)).toBe(201);
    expect((await scim.send('POST', 'Users', { body: { ...scim.user(3), userName: renamed.toUpperCase() } })).status).toBe(409);
    expect((await scim.send('DELETE', 'Users', { id })).status).toBe(204);
    expect((await scim.send('POST', 'Users', { body: { ...body, userName: renamed } })).status).toBe(201);
    // Groups alike: a rename frees the old displayName.
    const group = await scim.send('POST', 'Groups', { body: { schemas: [SCHEMA_GROUP], displayName: 'Ops' } });
    expect(group.status).toBe(201);
    expect((await scim.send('POST', 'Groups', { body: { schemas: [SCHEMA_GROUP], displayName: 'OPS' } })).status).toBe(409);
    const gid = (group.body as { id: string }).id;
    expect((await scim.send('PUT', 'Groups', { id: gid, body: { schemas: [SCHEMA_GROUP], displayName: 'Platform' } })).status).toBe(200);
    expect((await scim.send('POST', 'Groups', { body: { schemas: [SCHEMA_GROUP], displayName: 'ops' } })).status).toBe(201);
    expect((await scim.send('POST', 'Groups', { body: { schemas: [SCHEMA_GROUP], displayName: 'platform' } })).status).toBe(409);
  }, 60_000);

  it('records from before claims were kept get theirs on the tenant’s first write: their names and addresses stay unique, and free once they go', async () => {
    const scim = await scimClient(db, table, pool, `old-${stamp()}`);
    const tenant = scim.ctx.principal.tenant;
    const now = new Date().toISOString();
    // As the store wrote them then: the record alone (no claim items), a user without the `email` it keeps now.
    const old = async (r: ScimUser | ScimGroup) =>
      db.send(new PutCommand({ TableName: table, Item: { ...keys.scimRecord(tenant, r.kind, r.id), entity: `Scim${r.kind}`, ...r } }));
    const legacy = (id: string, userName: string, address: string): ScimUser => ({
      tenant,
      kind: 'User',
      id,
      userName,
      active: false,
      attributes: { emails: [{ value: address, primary: true }] },
      created: now,
      lastModified: now,
      version: 1,
    });
    await old(legacy('old-1', 'Old.One', `one@${scim.domain}`));
    await old(legacy('old-2', 'old-two', `two@${scim.domain}`));
    await old({ tenant, kind: 'Group', id: 'old-g', displayName: 'Legacy', members: [], attributes: {}, created: now, lastModified: now, version: 1 });
    const user = (userName: string, address: string) =>
      scim.send('POST', 'Users', { body: { ...scim.user(9), userName, emails: [{ value: address, primary: true }] } });
    const byName = await user('OLD.ONE', `new@${scim.domain}`);
    expect(byName.status, JSON.stringify(byName.body)).toBe(409);
    expect(byName.body).toMatchObject({ scimType: 'uniqueness' });
    expect((await user('someone', `TWO@${scim.domain}`)).status).toBe(409);
    expect((await scim.send('POST', 'Groups', { body: { schemas: [SCHEMA_GROUP], displayName: 'legacy' } })).status).toBe(409);
    // Found by the filter on their name (now by their claim), in any case.
    expect(await scim.send('GET', 'Users', { filter: 'userName eq "old.one"' })).toMatchObject({ body: { totalResults: 1, Resources: [{ id: 'old-1' }] } });
    // Since, a create reads a few items, not the tenant's records.
    const next = await cost(async () => expect((await user('fresh', `fresh@${scim.domain}`)).status).toBe(201));
    expect(next.reads).toBeLessThanOrEqual(5);
    // An old record renamed frees its old name; deleted, it frees its address.
    const rename = await scim.send('PATCH', 'Users', {
      id: 'old-1',
      body: { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'userName', value: 'old-one-renamed' }] },
    });
    expect(rename.status, JSON.stringify(rename.body)).toBe(200);
    expect((await user('old.one', `other@${scim.domain}`)).status).toBe(201);
    expect((await user('x-1', `one@${scim.domain}`)).status).toBe(409);
    expect((await scim.send('DELETE', 'Users', { id: 'old-2' })).status).toBe(204);
    expect((await user('old-two', `two@${scim.domain}`)).status).toBe(201);
  }, 60_000);
});
