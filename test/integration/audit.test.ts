import { UpdateItemCommand, DeleteItemCommand, QueryCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keys } from '../../functions/adapters/keys.ts';
import { localClient } from '../../local/dynamodb.ts';
import { makeLine, startTestStack, type TestStack } from '../support/stack.ts';

let t: TestStack;
beforeAll(async () => {
  t = await startTestStack();
});
afterAll(() => t.stop());

async function activity() {
  const tenant = t.tenant();
  const u = await t.users(tenant);
  await makeLine(t, u.admin);
  const c = await t.call('POST', '/api/v1/environments/dev/configs', { token: u.deployer, body: { key: 'a', value: 1, reason: 'first value' } });
  await t.call('PUT', `/api/v1/environments/dev/configs/${c.body.id}`, { token: u.deployer, body: { value: 2 } });
  await t.call('POST', '/api/v1/environments/dev/flags', { token: u.admin, body: { key: 'f', value: true } });
  await t.call('PATCH', '/api/v1/environments/staging', { token: u.admin, body: { version: 1, description: 'x', reason: 'docs' } });
  return { tenant, u };
}

describe('audit trail', () => {
  it('records every mutation with who, what, when, why and before/after digests', async () => {
    const { u } = await activity();
    const r = await t.call('GET', '/api/v1/audit?limit=50', { token: u.viewer });
    expect(r.status).toBe(200);
    expect(r.body.items.map((e: any) => e.action)).toEqual([
      'environment.update',
      'flag.create',
      'config.update',
      'config.create',
      'environment.create',
      'environment.create',
      'environment.create',
    ]);
    const create = r.body.items.find((e: any) => e.action === 'config.create');
    expect(create).toMatchObject({ actorName: expect.stringContaining('deployer@'), entityType: 'config', entityId: 'dev/a', reason: 'first value', before: expect.stringMatching(/^sha256:/), after: expect.stringMatching(/^sha256:/), seq: 4 });
    expect(create.before).not.toBe(create.after);
    const seqs = r.body.items.map((e: any) => e.seq);
    expect(seqs).toEqual([7, 6, 5, 4, 3, 2, 1]);
  });

  it('filters by entity, actor and time range, with cursor pagination', async () => {
    const { u } = await activity();
    const byEntity = await t.call('GET', '/api/v1/audit?entityType=config&entityId=dev/a', { token: u.viewer });
    expect(byEntity.body.items.map((e: any) => e.action)).toEqual(['config.update', 'config.create']);
    const all = await t.call('GET', '/api/v1/audit', { token: u.viewer });
    const actor = all.body.items.find((e: any) => e.action === 'flag.create').actorName;
    const byActor = await t.call('GET', `/api/v1/audit?actor=${encodeURIComponent(actor)}`, { token: u.viewer });
    expect(byActor.body.items.every((e: any) => e.actorName === actor)).toBe(true);
    expect(byActor.body.items).toHaveLength(5);
    const future = await t.call('GET', '/api/v1/audit?from=2999-01-01T00:00:00Z', { token: u.viewer });
    expect(future.body.items).toEqual([]);
    const mid = all.body.items[3].at;
    const until = await t.call('GET', `/api/v1/audit?to=${encodeURIComponent(mid)}`, { token: u.viewer });
    expect(until.body.items.every((e: any) => e.at <= mid)).toBe(true);
    const seen: number[] = [];
    let cursor: string | undefined;
    do {
      const p = await t.call('GET', `/api/v1/audit?limit=3${cursor ? `&cursor=${cursor}` : ''}`, { token: u.viewer });
      seen.push(...p.body.items.map((e: any) => e.seq));
      cursor = p.body.nextCursor;
    } while (cursor);
    expect(seen).toEqual([7, 6, 5, 4, 3, 2, 1]);
    expect((await t.call('GET', '/api/v1/audit?from=yesterday', { token: u.viewer })).status).toBe(400);
    expect((await t.call('GET', '/api/v1/audit?entityId=x', { token: u.viewer })).status).toBe(400);
  });

  it('has no route that updates or deletes an entry', async () => {
    const { u } = await activity();
    for (const method of ['PUT', 'PATCH', 'DELETE', 'POST']) {
      const r = await t.call(method, '/api/v1/audit', { token: u.admin, body: {} });
      expect(r.status).toBe(405);
    }
  });

  it('verify reports the first broken link when an entry is altered or removed behind the API', async () => {
    const { tenant, u } = await activity();
    expect((await t.call('GET', '/api/v1/audit/verify', { token: u.viewer })).body).toMatchObject({ ok: true, checked: 7, headSeq: 7 });
    const db = localClient(t.stack.dynamo.endpoint);
    const pk = keys.auditEntries(tenant).pk;
    const rows = await db.send(new QueryCommand({ TableName: t.stack.tableName, KeyConditionExpression: 'pk = :pk AND begins_with(sk, :e)', ExpressionAttributeValues: { ':pk': { S: pk }, ':e': { S: 'E#' } } }));
    const third = rows.Items![2]!;
    await db.send(
      new UpdateItemCommand({
        TableName: t.stack.tableName,
        Key: { pk: third.pk!, sk: third.sk! },
        UpdateExpression: 'SET actorName = :m',
        ExpressionAttributeValues: { ':m': { S: 'mallory@evil.example' } },
      }),
    );
    const broken = await t.call('GET', '/api/v1/audit/verify', { token: u.viewer });
    expect(broken.body).toMatchObject({ ok: false, checked: 2, firstBroken: { seq: 3, reason: expect.stringContaining('altered') } });

    const { tenant: t2, u: u2 } = await activity();
    const rows2 = await db.send(new QueryCommand({ TableName: t.stack.tableName, KeyConditionExpression: 'pk = :pk AND begins_with(sk, :e)', ExpressionAttributeValues: { ':pk': { S: keys.auditEntries(t2).pk }, ':e': { S: 'E#' } } }));
    const last = rows2.Items![rows2.Items!.length - 1]!;
    await db.send(new DeleteItemCommand({ TableName: t.stack.tableName, Key: { pk: last.pk!, sk: last.sk! } }));
    const cut = await t.call('GET', '/api/v1/audit/verify', { token: u2.viewer });
    expect(cut.body).toMatchObject({ ok: false, firstBroken: { seq: 7, reason: expect.stringContaining('removed') } });
    db.destroy();
  });
});
