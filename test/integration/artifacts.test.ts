import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../support/promotions.ts';
import { makeLine, startTestStack, type TestStack } from '../support/stack.ts';

let t: TestStack;
beforeAll(async () => {
  t = await startTestStack();
});
afterAll(() => t.stop());

const digest = (c: string) => `sha256:${c.repeat(64).slice(0, 64)}`;

async function setup() {
  const tenant = t.tenant();
  const u = await t.users(tenant);
  await makeLine(t, u.admin);
  return { tenant, u };
}

describe('artifact promotions', () => {
  it('publishes into the first environment and promotes the same digest onward', async () => {
    const { u } = await setup();
    const pub = await t.call('POST', '/api/v1/artifacts/platform/versions', {
      token: u.deployer,
      body: { version: 'v1.2.3', digest: digest('a'), sourceCommit: 'abc1234', gitBranch: 'main' },
    });
    expect(pub.status).toBe(201);
    expect(pub.body).toMatchObject({ environment: 'dev', created: true });
    const same = await t.call('POST', '/api/v1/artifacts/platform/versions', { token: u.deployer, body: { version: 'v1.2.3', digest: digest('a') } });
    expect(same.body.created).toBe(false);
    const clash = await t.call('POST', '/api/v1/artifacts/platform/versions', { token: u.deployer, body: { version: 'v1.2.3', digest: digest('b') } });
    expect(clash.status).toBe(409);
    expect(
      (await t.call('POST', '/api/v1/artifacts/platform/versions', { token: u.deployer, body: { version: '1.2', digest: 'md5:x' } })).body.error.issues,
    ).toHaveLength(2);

    const r = await t.call('POST', '/api/v1/promotions', {
      token: u.deployer,
      body: { sourceEnvironment: 'dev', targetEnvironment: 'staging', artifact: 'platform', version: 'v1.2.3' },
    });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    expect(r.body.releaseDigest).toBe(digest('a'));
    const done = await waitFor(t, u.viewer, r.body.id, ['COMPLETED', 'FAILED', 'VALIDATION_FAILED']);
    expect(done.status).toBe('COMPLETED');
    expect(done.result).toMatchObject({ digest: digest('a'), previous: { digest: null } });
    const twice = await t.call('POST', '/api/v1/promotions', {
      token: u.deployer,
      body: { sourceEnvironment: 'dev', targetEnvironment: 'staging', artifact: 'platform', version: 'v1.2.3' },
    });
    expect(twice.status).toBe(422);
    const notThere = await t.call('POST', '/api/v1/promotions', {
      token: u.deployer,
      body: { sourceEnvironment: 'dev', targetEnvironment: 'staging', artifact: 'platform', version: 'v9.9.9' },
    });
    expect(notThere.status).toBe(404);
    const list = await t.call('GET', '/api/v1/promotions?subject=platform', { token: u.viewer });
    expect(list.body.items.map((p: any) => p.id)).toEqual([r.body.id]);
  });

  it('auto-promotes when the rule conditions hold, and not into a paused environment', async () => {
    const { u } = await setup();
    await t.call('POST', '/api/v1/artifacts/platform/versions', { token: u.deployer, body: { version: 'v2.0.0', digest: digest('c') } });
    const rule = await t.call('POST', '/api/v1/promotions/rules', {
      token: u.admin,
      body: {
        name: 'Auto-promote to Staging',
        source_environment: 'dev',
        target_environment: 'staging',
        requires_approval: false,
        auto_promote: true,
        conditions: {
          all: [
            { field: 'tests.pass_rate', op: 'gte', value: 100 },
            {
              any: [
                { field: 'metrics.error_rate', op: 'lte', value: 0.01 },
                { field: 'metrics.error_rate', op: 'exists', value: false },
              ],
            },
          ],
        },
      },
    });
    expect(rule.status, JSON.stringify(rule.body)).toBe(201);
    const check = () =>
      t.call('POST', '/api/v1/promotions/auto-check', { token: u.deployer, body: { sourceEnvironment: 'dev', artifact: 'platform', version: 'v2.0.0' } });
    const none = await check();
    expect(none.body.checks).toEqual([{ ruleId: rule.body.id, targetEnvironment: 'staging', eligible: false, reasons: ['tests.pass_rate gte 100'] }]);

    // Paused target: the evidence that makes the release eligible promotes nothing.
    const staging = await t.call('GET', '/api/v1/environments/staging', { token: u.admin });
    await t.call('PATCH', '/api/v1/environments/staging', { token: u.admin, body: { version: staging.body.version, autoPromotionPaused: true } });
    await t.call('POST', '/api/v1/artifacts/platform/versions/v2.0.0/evidence', {
      token: u.deployer,
      body: { type: 'test_results', payload: { passed: 10, failed: 0 } },
    });
    // The evidence's own event is an auto-promotion trigger too: let it be evaluated while staging is paused
    // (relayed and handled), or it may race the check below once staging is unpaused and promote first.
    await t.stack.stream.idle();
    expect((await check()).body.checks[0]).toMatchObject({ eligible: false, reasons: ["auto-promotion into 'staging' is paused"] });
    await t.call('PATCH', '/api/v1/environments/staging', { token: u.admin, body: { version: staging.body.version + 1, autoPromotionPaused: false } });

    const go = await check();
    expect(go.body.checks[0], JSON.stringify(go.body)).toMatchObject({ eligible: true, promotionId: expect.stringMatching(/^prm_/) });
    const done = await waitFor(t, u.viewer, go.body.checks[0].promotionId, ['COMPLETED', 'FAILED']);
    // The person who triggered the check is the requester (separation of duties applies to them).
    expect(done).toMatchObject({ status: 'COMPLETED', autoPromoted: true, requestedBy: { name: expect.stringMatching(/^deployer@/) } });
    const rules = await t.call('GET', '/api/v1/approval-policies', { token: u.viewer });
    expect(rules.body.items[0]).toMatchObject({ id: rule.body.id, autoPromote: true, separationOfDuties: true });
  });

  it('rules: full CRUD with optimistic locking and validated conditions', async () => {
    const { u } = await setup();
    const bad = await t.call('POST', '/api/v1/promotions/rules', {
      token: u.admin,
      body: { name: 'x', sourceEnvironment: 'dev', targetEnvironment: 'staging', conditions: { all: [{ field: 'a', op: 'near', value: 1 }] } },
    });
    expect(bad.status).toBe(400);
    const r = await t.call('POST', '/api/v1/promotions/rules', {
      token: u.admin,
      body: { name: 'prod gate', sourceEnvironment: 'staging', targetEnvironment: 'production', requiredApprovers: 2 },
    });
    expect(r.body).toMatchObject({ requiresApproval: true, requiredApprovers: 2, approverGroups: ['approver', 'admin'], version: 1, status: 'active' });
    expect(
      (await t.call('PUT', `/api/v1/promotions/rules/${r.body.id}`, { token: u.admin, body: { version: 1, required_approvers: 3 } })).body.requiredApprovers,
    ).toBe(3);
    expect((await t.call('PUT', `/api/v1/promotions/rules/${r.body.id}`, { token: u.admin, body: { version: 1, requiredApprovers: 4 } })).status).toBe(409);
    expect((await t.call('PUT', `/api/v1/promotions/rules/${r.body.id}`, { token: u.deployer, body: { version: 2 } })).status).toBe(403);
    expect((await t.call('GET', `/api/v1/approval-policies/${r.body.id}`, { token: u.viewer })).body.requiredApprovers).toBe(3);
    expect((await t.call('DELETE', `/api/v1/promotions/rules/${r.body.id}`, { token: u.admin })).status).toBe(204);
    expect((await t.call('GET', `/api/v1/promotions/rules/${r.body.id}`, { token: u.viewer })).status).toBe(404);
  });
});

describe('tags and version pinning', () => {
  it('promotion creates the immutable <version>-<env> tag and moves latest-<env>', async () => {
    const { u } = await setup();
    await t.call('POST', '/api/v1/artifacts/web/versions', { token: u.deployer, body: { version: 'v1.2.3', digest: digest('1') } });
    await t.call('POST', '/api/v1/artifacts/web/versions', { token: u.deployer, body: { version: 'v1.3.0', digest: digest('2') } });
    expect((await t.call('GET', '/api/v1/artifacts/web/tags/latest-dev', { token: u.viewer })).body).toMatchObject({ version: 'v1.3.0', mutable: true });
    expect((await t.call('GET', '/api/v1/artifacts/web/tags/v1.2.3-dev', { token: u.viewer })).body).toMatchObject({
      version: 'v1.2.3',
      digest: digest('1'),
      mutable: false,
    });
    const r = await t.call('POST', '/api/v1/promotions', {
      token: u.deployer,
      body: { sourceEnvironment: 'dev', targetEnvironment: 'staging', artifact: 'web', version: 'v1.3.0' },
    });
    await waitFor(t, u.viewer, r.body.id, ['COMPLETED']);
    expect((await t.call('GET', '/api/v1/artifacts/web/tags/v1.3.0-staging', { token: u.viewer })).body.digest).toBe(digest('2'));
    expect((await t.call('GET', '/api/v1/artifacts/web/tags/latest-staging', { token: u.viewer })).body.version).toBe('v1.3.0');
    expect((await t.call('GET', '/api/v1/artifacts/web/tags/v9-staging', { token: u.viewer })).status).toBe(404);
    const inDev = await t.call('GET', '/api/v1/artifacts/web/versions?environment=dev', { token: u.viewer });
    expect(inDev.body).toMatchObject({
      latest: { version: 'v1.3.0' },
      versions: [
        { version: 'v1.3.0', current: true },
        { version: 'v1.2.3', current: false },
      ],
    });
    const all = await t.call('GET', '/api/v1/artifacts/web/versions', { token: u.viewer });
    expect(all.body.versions.map((v: any) => v.version)).toEqual(['v1.3.0', 'v1.2.3']);
  });

  it('resolves exact pins, ranges, carets and mutable tags (with a warning)', async () => {
    const { u } = await setup();
    for (const [v, c] of [
      ['v1.2.3', '1'],
      ['v1.3.0', '2'],
      ['v2.0.0', '3'],
    ] as const) {
      await t.call('POST', '/api/v1/artifacts/core/versions', { token: u.deployer, body: { version: v, digest: digest(c) } });
    }
    const resolve = (constraint: string, env = '') =>
      t.call('GET', `/api/v1/artifacts/core/resolve?constraint=${encodeURIComponent(constraint)}${env ? `&environment=${env}` : ''}`, { token: u.viewer });
    expect((await resolve('>=1.2.0, <2.0.0')).body).toMatchObject({ kind: 'range', version: 'v1.3.0' });
    expect((await resolve('^1.2.0')).body).toMatchObject({ kind: 'caret', version: 'v1.3.0' });
    expect((await resolve('1.2.3')).body).toMatchObject({ kind: 'exact', version: 'v1.2.3', digest: digest('1') });
    const tag = await resolve('latest-dev');
    expect(tag.body).toMatchObject({ kind: 'tag', version: 'v2.0.0' });
    expect(tag.body.warning).toContain('mutable');
    expect((await resolve('^1.0.0', 'staging')).status).toBe(404);
    expect((await resolve('not a range!')).status).toBe(400);
    const put = await t.call('PUT', '/api/v1/artifacts/core/consumers/orders-pipeline', {
      token: u.deployer,
      body: { constraint: '>=1.2.0, <2.0.0', environment: 'production' },
    });
    expect(put.body).toMatchObject({ name: 'orders-pipeline', kind: 'range' });
    expect((await t.call('PUT', '/api/v1/artifacts/core/consumers/bad', { token: u.deployer, body: { constraint: '~~' } })).status).toBe(400);
    expect((await t.call('GET', '/api/v1/artifacts/core/consumers', { token: u.viewer })).body.items).toHaveLength(1);
  });
});

describe('one promotion per target at a time', () => {
  it("'reject' refuses a second promotion into a busy target; 'supersede' cancels the older one", async () => {
    const { u } = await setup();
    await t.call('POST', '/api/v1/environments/dev/configs', { token: u.deployer, body: { key: 'a', value: 1 } });
    const staging = await t.call('GET', '/api/v1/environments/staging', { token: u.admin });
    await t.call('PATCH', '/api/v1/environments/staging', { token: u.admin, body: { version: staging.body.version, concurrency: 'reject' } });
    const first = await t.call('POST', '/api/v1/promotions', {
      token: u.deployer,
      body: { sourceEnvironment: 'dev', targetEnvironment: 'staging', trigger: 'manual' },
    });
    await waitFor(t, u.viewer, first.body.id, ['APPROVED']);
    await t.call('POST', '/api/v1/environments/dev/configs', { token: u.deployer, body: { key: 'b', value: 2 } });
    const second = await t.call('POST', '/api/v1/promotions', { token: u.deployer, body: { sourceEnvironment: 'dev', targetEnvironment: 'staging' } });
    expect(second.status).toBe(409);
    expect(second.body.error).toMatchObject({ code: 'TARGET_BUSY', blockedBy: first.body.id });

    await t.call('PATCH', '/api/v1/environments/staging', { token: u.admin, body: { version: staging.body.version + 1, concurrency: 'supersede' } });
    const third = await t.call('POST', '/api/v1/promotions', { token: u.deployer, body: { sourceEnvironment: 'dev', targetEnvironment: 'staging' } });
    expect(third.status).toBe(201);
    expect((await waitFor(t, u.viewer, first.body.id, ['CANCELLED'])).error.message).toContain(`superseded by ${third.body.id}`);
    expect((await waitFor(t, u.viewer, third.body.id, ['COMPLETED', 'FAILED'])).status).toBe('COMPLETED');
    // Events are published right after the state change commits, so they may trail the status by a moment.
    await t.stack.stream.idle();
    const events = () =>
      t.stack.bus.published.filter((e) => [first.body.id, third.body.id].includes(e.detail.promotionId as string)).map((e) => e['detail-type']);
    await expect.poll(events).toEqual(expect.arrayContaining(['Promotion Requested', 'Promotion Cancelled', 'Promotion Completed']));
  });
});
