/**
 * The narrowed write grants of background functions (infra/background-writes.ts) against what their
 * code writes: each function's domain code runs on the local stack (DynamoDB Local) with a store
 * that records every write, and each write (a transaction's items one by one, as IAM authorises
 * them) must be allowed by the function's grants: one of its actions, on a partition key its
 * `dynamodb:LeadingKeys` patterns match. test/infra/stack.test.ts checks the template grants exactly
 * these. No AWS account: the IAM evaluation is that of a StringLike condition on each item's key.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { onEcrPush } from '../../domain/artifacts/discovery-ecr.ts';
import { onAlarmStateChange } from '../../domain/promotion/rollout/alarms.ts';
import type { Deps } from '../../domain/ports.ts';
import { DynamoStore, documentClient } from '../../functions/adapters/dynamo-store.ts';
import { localDeps, type AllDeps } from '../../functions/http/deps.ts';
import { NARROW_WRITES } from '../../infra/background-writes.ts';
import { waitFor } from '../support/promotions.ts';
import { makeLine, startTestStack, type TestStack } from '../support/stack.ts';

let t: TestStack;
beforeAll(async () => {
  t = await startTestStack();
});
afterAll(() => t.stop());

interface Write {
  action: string;
  pk: string;
  sk: string;
}

const keyOf = (item: Record<string, unknown> | undefined) => ({ pk: String(item?.pk), sk: String(item?.sk) });

/** The IAM actions a write command is authorised by, one per item, with the item's key. */
function writesOf(command: { constructor: { name: string }; input: Record<string, any> }): Write[] {
  const { input } = command;
  switch (command.constructor.name) {
    case 'PutCommand':
      return [{ action: 'dynamodb:PutItem', ...keyOf(input.Item) }];
    case 'UpdateCommand':
      return [{ action: 'dynamodb:UpdateItem', ...keyOf(input.Key) }];
    case 'DeleteCommand':
      return [{ action: 'dynamodb:DeleteItem', ...keyOf(input.Key) }];
    case 'BatchWriteCommand':
      return Object.values(
        input.RequestItems as Record<string, { PutRequest?: { Item: Record<string, unknown> }; DeleteRequest?: { Key: Record<string, unknown> } }[]>,
      )
        .flat()
        .map((r) =>
          r.PutRequest
            ? { action: 'dynamodb:BatchWriteItem', ...keyOf(r.PutRequest.Item) }
            : { action: 'dynamodb:BatchWriteItem', ...keyOf(r.DeleteRequest!.Key) },
        );
    case 'TransactWriteCommand':
      return (input.TransactItems as Record<string, { Item?: Record<string, unknown>; Key?: Record<string, unknown> }>[]).map((item) => {
        const [kind, body] = Object.entries(item)[0]!;
        const action = { Put: 'dynamodb:PutItem', Update: 'dynamodb:UpdateItem', Delete: 'dynamodb:DeleteItem', ConditionCheck: 'dynamodb:ConditionCheckItem' }[
          kind
        ]!;
        return { action, ...keyOf(body.Item ?? body.Key) };
      });
    default:
      return []; // reads: every background function reads as before
  }
}

/** The local deps with a store over a client that records every write. */
function recording(): { deps: AllDeps; writes: Write[] } {
  const writes: Write[] = [];
  const db = documentClient({ endpoint: t.stack.dynamo.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  const send = db.send.bind(db) as (c: unknown) => Promise<unknown>;
  (db as { send: unknown }).send = (command: Parameters<typeof writesOf>[0]) => {
    writes.push(...writesOf(command));
    return send(command);
  };
  return { deps: { ...localDeps(), store: new DynamoStore(db, t.stack.tableName) as unknown as Deps['store'] }, writes };
}

/** IAM's StringLike: `*` any run of characters, `?` one. */
const like = (pattern: string, value: string) =>
  new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
  ).test(value);

/** The writes the function's grants refuse. */
const refused = (fn: string, writes: Write[]) =>
  writes
    .filter((w) => !NARROW_WRITES[fn]!.some((g) => g.actions.includes(w.action) && g.partitions.some((p) => like(p, w.pk))))
    .map((w) => `${w.action} ${w.pk} ${w.sk}`);

const alarmArn = (name: string) => `arn:aws:cloudwatch:us-east-1:000000000000:alarm:${name}`;
const alarmEvent = (alarm: string) => ({
  source: 'aws.cloudwatch',
  'detail-type': 'CloudWatch Alarm State Change',
  account: '000000000000',
  region: 'us-east-1',
  time: '2026-11-23T10:00:00Z',
  resources: [alarm],
  detail: {
    alarmName: alarm.split(':alarm:')[1],
    state: { value: 'ALARM', reason: 'p99 > 800 ms', timestamp: '2026-11-23T10:00:00.000+0000' },
    previousState: { value: 'OK' },
  },
});
const digest = (c: string) => `sha256:${c.repeat(64)}`;

/** A tenant's line whose staging bakes for a minute under one alarm of its own. */
async function bakingLine() {
  const tenant = t.tenant();
  const u = await t.users(tenant);
  await makeLine(t, u.admin);
  const alarm = alarmArn(`${tenant}/latency`);
  const env = await t.call('GET', '/api/v1/environments/staging', { token: u.viewer });
  const r = await t.call('PATCH', '/api/v1/environments/staging', { token: u.admin, body: { version: env.body.version, bakeSeconds: 60, monitors: [alarm] } });
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return { tenant, u, alarm };
}

/** Starts the promotion and waits until it bakes (executed, its result recorded). */
async function baking(u: Awaited<ReturnType<TestStack['users']>>, body: Record<string, unknown>) {
  const p = await t.call('POST', '/api/v1/promotions', { token: u.deployer, body: { sourceEnvironment: 'dev', targetEnvironment: 'staging', ...body } });
  expect([200, 201, 202], JSON.stringify(p.body)).toContain(p.status);
  await waitFor(t, u.viewer, p.body.id, ['EXECUTING']);
  for (let i = 0; i < 100 && !(await t.call('GET', `/api/v1/promotions/${p.body.id}`, { token: u.viewer })).body.result; i++)
    await new Promise((r) => setTimeout(r, 100));
  return p.body.id as string;
}

describe('alarm-state writes only what infra/background-writes.ts grants it', () => {
  // It records the alarm and asks the flow; the flow's MarkFailed (the promotion step) puts the target back and ends it.
  it('an automatic rollback of a config promotion (the alarm recorded; the snapshot put back by the flow)', async () => {
    const { u, alarm } = await bakingLine();
    await t.call('POST', '/api/v1/environments/dev/configs', { token: u.deployer, body: { key: 'feature.x', value: true } });
    const id = await baking(u, {});
    const { deps: d, writes } = recording();
    const r = await onAlarmStateChange(d, alarmEvent(alarm));
    expect(r.rolledBack.map((x) => x.promotionId)).toEqual([id]);
    expect((await waitFor(t, u.viewer, id, ['ROLLED_BACK', 'FAILED', 'COMPLETED'])).status).toBe('ROLLED_BACK');
    // The promotion with its audit entry; nothing of the rollback (no snapshot, environment, deployment, lease).
    expect(writes.length).toBeGreaterThanOrEqual(2);
    expect(new Set(writes.map((w) => w.action))).toEqual(new Set(['dynamodb:PutItem']));
    expect(writes.filter((w) => /#(SNAP|ENV|DEP)/.test(w.pk) || w.sk.startsWith('LOCK#'))).toEqual([]);
    expect(refused('alarm-state', writes)).toEqual([]);
  });

  it('an automatic rollback of an artifact promotion (the alarm recorded; the pointer put back by the flow)', async () => {
    const { u, alarm } = await bakingLine();
    const env = await t.call('GET', '/api/v1/environments/staging', { token: u.viewer });
    // v1 runs in staging (no bake), v2 bakes there when the alarm fires.
    const unbaked = await t.call('PATCH', '/api/v1/environments/staging', { token: u.admin, body: { version: env.body.version, bakeSeconds: 0 } });
    expect(unbaked.status, JSON.stringify(unbaked.body)).toBe(200);
    const publish = async (version: string, c: string) =>
      expect((await t.call('POST', '/api/v1/artifacts/platform/versions', { token: u.deployer, body: { version, digest: digest(c) } })).status).toBeLessThan(
        300,
      );
    await publish('v1.0.0', '1');
    const first = await t.call('POST', '/api/v1/promotions', {
      token: u.deployer,
      body: { sourceEnvironment: 'dev', targetEnvironment: 'staging', artifact: 'platform', version: 'v1.0.0' },
    });
    expect(first.body.id, JSON.stringify(first.body)).toBeDefined();
    expect((await waitFor(t, u.viewer, first.body.id, ['COMPLETED', 'FAILED'])).status).toBe('COMPLETED');
    await publish('v2.0.0', '2');
    const now = await t.call('GET', '/api/v1/environments/staging', { token: u.viewer });
    const baked = await t.call('PATCH', '/api/v1/environments/staging', { token: u.admin, body: { version: now.body.version, bakeSeconds: 60 } });
    expect(baked.status, JSON.stringify(baked.body)).toBe(200);
    const id = await baking(u, { artifact: 'platform', version: 'v2.0.0' });
    const { deps: d, writes } = recording();
    expect((await onAlarmStateChange(d, alarmEvent(alarm))).rolledBack.map((x) => x.promotionId)).toEqual([id]);
    expect((await waitFor(t, u.viewer, id, ['ROLLED_BACK', 'FAILED', 'COMPLETED'])).status).toBe('ROLLED_BACK');
    expect(writes.some((w) => w.sk.startsWith('PTR#staging#platform'))).toBe(false);
    // Put back by the flow: staging's release tag names v1 again.
    expect((await t.call('GET', '/api/v1/artifacts/platform/tags/latest-staging', { token: u.viewer })).body.version).toBe('v1.0.0');
    expect(refused('alarm-state', writes)).toEqual([]);
  });
});

describe('registry-push writes only what infra/background-writes.ts grants it', () => {
  it('a push to a linked ECR repository publishes the version', async () => {
    const tenant = t.tenant();
    const u = await t.users(tenant);
    await makeLine(t, u.admin);
    const registry = '000000000000.dkr.ecr.us-east-1.amazonaws.com';
    const repository = `${tenant.toLowerCase()}/platform`;
    expect((await t.call('POST', '/api/v1/artifacts/platform/links', { token: u.admin, body: { registry, repository } })).status).toBe(201);
    const { deps: d, writes } = recording();
    const event = {
      source: 'aws.ecr',
      'detail-type': 'ECR Image Action',
      account: '000000000000',
      region: 'us-east-1',
      time: new Date().toISOString(),
      resources: [],
      detail: { 'action-type': 'PUSH', result: 'SUCCESS', 'repository-name': repository, 'image-digest': digest('e'), 'image-tag': 'v3.0.0' },
    };
    const r = await onEcrPush(d, event);
    expect(r.results).toEqual([expect.objectContaining({ artifact: 'platform', version: 'v3.0.0', created: true })]);
    expect(writes.length).toBeGreaterThan(3);
    expect(refused('registry-push', writes)).toEqual([]);
  });
});

describe('the check itself', () => {
  it('refuses a write of another action or of another kind of item', () => {
    expect(refused('registry-push', [{ action: 'dynamodb:DeleteItem', pk: 'T#acme#ART#platform', sk: 'V#v1' }])).toHaveLength(1);
    expect(refused('registry-push', [{ action: 'dynamodb:PutItem', pk: 'T#acme#RULE', sk: 'R#1' }])).toHaveLength(1);
    expect(refused('registry-push', [{ action: 'dynamodb:PutItem', pk: 'T#acme#ART#platform', sk: 'V#v1' }])).toEqual([]);
  });
});
