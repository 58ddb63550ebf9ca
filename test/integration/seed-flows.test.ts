import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor, waitForToken } from '../support/promotions.ts';
import { makeLine, startTestStack, type TestStack } from '../support/stack.ts';

/**
 * The seeds' own request bodies and call sequences, sent verbatim through the API.
 * Seed 000: create → validate → approve → execute on /api/v1/config/promotions.
 * Seed 002: rules and the agent-shaped promotion body on /api/v1/promotions.
 */
let t: TestStack;
beforeAll(async () => {
  t = await startTestStack();
});
afterAll(() => t.stop());

// Seed 000's tenant and user headers; the tenant header must match the token's tenant.
const SEED_TENANT = '550e8400-e29b-41d4-a716-446655440000';
const seedHeaders = { 'X-Tenant-ID': SEED_TENANT, 'X-User-ID': '550e8400-e29b-41d4-a716-446655440001', 'X-User-Email': 'dev@acme.com' };

describe('seed 000: config promotions as written', () => {
  it('create (SELECTIVE with ids and patterns) → validate → approve → execute, in the seed order', async () => {
    const u = await t.users(SEED_TENANT);
    await makeLine(t, u.admin);
    // staging has query changes; production is behind.
    await t.call('POST', '/api/v1/environments/staging/items/batch', {
      token: u.deployer,
      body: {
        set: [
          { key: 'query.timeout', value: '180s' },
          { key: 'ai.new-model', value: 'gpt-4-turbo' },
        ],
      },
    });
    // Production is protected: its starting state is set by an admin break-glass.
    await t.call('POST', '/api/v1/environments/production/items/batch', {
      token: u.admin,
      headers: { 'x-break-glass-reason': 'initial production config' },
      body: { set: [{ key: 'query.timeout', value: '120s' }] },
    });
    // Production (the last environment) needs one approver by default. The seed's body is sent as is.
    const created = await t.call('POST', '/api/v1/config/promotions', {
      token: u.deployer,
      headers: seedHeaders,
      body: {
        sourceEnvironment: 'staging',
        targetEnvironment: 'production',
        promotionType: 'SELECTIVE',
        configIds: ['770e8400-...'],
        flagIds: ['880e8400-...'],
        keyPatterns: ['query.*'],
        notes: 'Promoting query timeout changes verified in staging',
      },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    // As the seed shows: created, then waiting for validate.
    expect(created.body.status).toBe('PENDING');
    // The union: the pattern selects query.timeout; the placeholder ids select nothing and are reported.
    expect(created.body.changeSummary).toMatchObject({ modified: 1, added: 0, keys: ['config:query.timeout'], unmatchedIds: ['770e8400-...', '880e8400-...'] });
    const id = created.body.id;

    // validate: production's default gates need no evidence (the seed's line has none configured here).
    const validated = await t.call('POST', `/api/v1/config/promotions/${id}/validate`, { token: u.deployer, headers: seedHeaders });
    expect(validated.status, JSON.stringify(validated.body)).toBe(202);
    const waiting = await waitForToken(t, u.viewer, id);
    expect(waiting.status).toBe('AWAITING_APPROVAL');
    expect(waiting.approvals).toMatchObject({ given: [], required: 1, remaining: 1, separationOfDuties: true });

    const approved = await t.call('POST', `/api/v1/config/promotions/${id}/approve`, { token: u.approver, headers: { 'X-Tenant-ID': SEED_TENANT } });
    expect(approved.status, JSON.stringify(approved.body)).toBe(200);
    expect(approved.body.approvals.given).toMatchObject([{ by: `approver@${SEED_TENANT}.test`, counts: true }]);

    // execute: an on-approval promotion is already executing; the call answers, and the promotion completes.
    const executed = await t.call('POST', `/api/v1/config/promotions/${id}/execute`, { token: u.deployer, headers: seedHeaders });
    expect([202, 409]).toContain(executed.status);
    const done = await waitFor(t, u.viewer, id, ['COMPLETED', 'FAILED']);
    expect(done.status).toBe('COMPLETED');
    const diff = await t.call('GET', '/api/v1/config/promotions/diff?source=staging&target=production', {
      token: u.viewer,
      headers: { 'X-Tenant-ID': SEED_TENANT },
    });
    expect(diff.body.modified).toEqual([]);
    expect(diff.body.added.map((a: { key: string }) => a.key)).toEqual(['ai.new-model']);
  });

  it('a promotion whose gates failed is validated again after new evidence, and the policy is read at validation', async () => {
    const tenant = t.tenant();
    const u = await t.users(tenant);
    await makeLine(t, u.admin);
    await t.call('PATCH', '/api/v1/environments/production', { token: u.admin, body: { gates: { tests: true }, version: 1 } });
    await t.call('POST', '/api/v1/environments/staging/configs', { token: u.deployer, body: { key: 'query.timeout', value: '180s' } });
    const created = await t.call('POST', '/api/v1/config/promotions', {
      token: u.deployer,
      body: { sourceEnvironment: 'staging', targetEnvironment: 'production', promotionType: 'FULL' },
    });
    expect(created.body.status).toBe('PENDING');
    // The admin tightens the rule after the request: validation must apply the new one.
    const rule = await t.call('POST', '/api/v1/promotions/rules', {
      token: u.admin,
      body: { name: 'two for prod', source_environment: 'staging', target_environment: 'production', required_approvers: 2 },
    });
    expect(rule.status, JSON.stringify(rule.body)).toBe(201);
    await t.call('POST', `/api/v1/config/promotions/${created.body.id}/validate`, { token: u.deployer });
    const failed = await waitFor(t, u.viewer, created.body.id, ['VALIDATION_FAILED', 'AWAITING_APPROVAL']);
    expect(failed.status).toBe('VALIDATION_FAILED');
    // Evidence arrives; validate again: gates pass, and two approvals are needed (the rule of now).
    const ev = await t.call('POST', `/api/v1/promotions/${created.body.id}/evidence`, {
      token: u.deployer,
      body: { type: 'test_results', payload: { passed: 10, failed: 0 } },
    });
    expect(ev.status).toBe(201);
    const again = await t.call('POST', `/api/v1/config/promotions/${created.body.id}/validate`, { token: u.deployer });
    expect(again.status, JSON.stringify(again.body)).toBe(202);
    const waiting = await waitForToken(t, u.viewer, created.body.id);
    expect(waiting.status).toBe('AWAITING_APPROVAL');
    expect(waiting.policy.requiredApprovers).toBe(2);
    expect(waiting.approvals).toMatchObject({ required: 2, remaining: 2 });
    expect(waiting.transitions.map((x: { status: string }) => x.status)).toEqual([
      'PENDING',
      'VALIDATING',
      'VALIDATION_FAILED',
      'VALIDATING',
      'AWAITING_APPROVAL',
    ]);
    const decision = await t.call('GET', `/api/v1/promotions/${created.body.id}/decision`, { token: u.viewer });
    expect(JSON.stringify(decision.body)).toContain(waiting.policyDigest);
    await t.call('POST', `/api/v1/promotions/${created.body.id}/approve`, { token: u.approver, body: { comment: 'first' } });
    const one = await t.call('GET', `/api/v1/promotions/${created.body.id}`, { token: u.viewer });
    expect(one.body.status).toBe('AWAITING_APPROVAL');
    expect(one.body.approvals).toMatchObject({ given: [{ comment: 'first', counts: true }], required: 2, remaining: 1 });
  });

  it('a promotion not validated in time expires instead of running', async () => {
    const tenant = t.tenant();
    const u = await t.users(tenant);
    await makeLine(t, u.admin);
    await t.call('POST', '/api/v1/environments/dev/configs', { token: u.deployer, body: { key: 'a', value: 1 } });
    const created = await t.call('POST', '/api/v1/config/promotions', { token: u.deployer, body: { sourceEnvironment: 'dev', targetEnvironment: 'staging' } });
    const restore = t.stack.configure({ STAGELINE_PENDING_EXPIRY_HOURS: '0.000001' });
    try {
      await new Promise((r) => setTimeout(r, 20));
      const v = await t.call('POST', `/api/v1/config/promotions/${created.body.id}/validate`, { token: u.deployer });
      expect(v.status).toBe(409);
      expect(v.body.error.message).toMatch(/expired/);
    } finally {
      restore();
    }
    expect((await t.call('GET', `/api/v1/promotions/${created.body.id}`, { token: u.viewer })).body.status).toBe('EXPIRED');
  });

  it('a promotion nobody validates is expired by the scheduler at its deadline', async () => {
    const tenant = t.tenant();
    const u = await t.users(tenant);
    await makeLine(t, u.admin);
    await t.call('POST', '/api/v1/environments/dev/configs', { token: u.deployer, body: { key: 'a', value: 1 } });
    const restore = t.stack.configure({ STAGELINE_PENDING_EXPIRY_HOURS: String(1 / 3600) }); // one second
    try {
      const created = await t.call('POST', '/api/v1/config/promotions', {
        token: u.deployer,
        body: { sourceEnvironment: 'dev', targetEnvironment: 'staging' },
      });
      expect(created.body.status).toBe('PENDING');
      const done = await waitFor(t, u.viewer, created.body.id, ['EXPIRED']);
      expect(done.error.message).toMatch(/not validated before/);
      await t.stack.stream.idle();
      expect(t.stack.bus.published.some((e) => e['detail-type'] === 'Promotion Expired' && e.detail.promotionId === created.body.id)).toBe(true);
    } finally {
      restore();
    }
  });
});

describe('seed 002: agent promotions as written', () => {
  it('rule, create with the agent body, approve, execute; status filters take the lower-case names', async () => {
    const tenant = t.tenant();
    const u = await t.users(tenant);
    // Seed 002's line: development → staging → production.
    await makeLine(t, u.admin, ['development', 'staging', 'production']);
    const rule = await t.call('POST', '/api/v1/promotions/rules', {
      token: u.admin,
      body: {
        name: 'Auto-promote to Staging',
        source_environment: 'development',
        target_environment: 'staging',
        requires_approval: false,
        auto_promote: true,
        conditions: {
          all: [
            { field: 'tests.pass_rate', op: 'gte', value: 100 },
            { field: 'metrics.error_rate', op: 'lte', value: 0.01 },
          ],
        },
      },
    });
    expect(rule.status, JSON.stringify(rule.body)).toBe(201);
    // A second rule for the same pair, and a rule for an unknown environment, are refused.
    const twin = await t.call('POST', '/api/v1/promotions/rules', {
      token: u.admin,
      body: { name: 'again', source_environment: 'development', target_environment: 'staging' },
    });
    expect(twin.status).toBe(409);
    expect(twin.body.error.message).toContain(rule.body.id);
    const unknown = await t.call('POST', '/api/v1/promotions/rules', {
      token: u.admin,
      body: { name: 'x', source_environment: 'dev', target_environment: 'staging' },
    });
    expect(unknown.status).toBe(422);
    expect(unknown.body.error.message).toContain('development → staging → production');

    // The agent's release: published into development (a deployment record), promoted to staging.
    const digest = `sha256:${'c'.repeat(64)}`;
    const pub = await t.call('POST', '/api/v1/artifacts/agent-123/versions', {
      token: u.deployer,
      body: { version: 'v1.0.0', digest, gitBranch: 'main', sourceCommit: 'abc1234' },
    });
    expect(pub.status, JSON.stringify(pub.body)).toBe(201);
    const history = await t.call('GET', '/api/v1/platform/deployments/history?environment=development&limit=1', { token: u.viewer });
    const devDeployment = history.body[0];
    expect(devDeployment).toMatchObject({ imageTag: 'v1.0.0', gitBranch: 'main' });
    const toStaging = await t.call('POST', '/api/v1/promotions', {
      token: u.deployer,
      body: { agent_id: 'agent-123', source_deployment_id: devDeployment.id, target_gateway_id: 'gw-stg', target_environment: 'staging' },
    });
    expect(toStaging.status, JSON.stringify(toStaging.body)).toBe(201);
    const staged = await waitFor(t, u.viewer, toStaging.body.id, ['COMPLETED', 'FAILED']);
    expect(staged.status).toBe('COMPLETED');
    const stagingDeployment = (await t.call('GET', '/api/v1/platform/deployments/history?environment=staging&limit=1', { token: u.viewer })).body[0];
    expect(stagingDeployment).toMatchObject({ gateway: 'gw-stg', artifact: 'agent-123', gitBranch: 'main', promotionId: toStaging.body.id });

    // The seed's own body, verbatim in shape: its source deployment is the staging one.
    const created = await t.call('POST', '/api/v1/promotions', {
      token: u.deployer,
      body: { agent_id: 'agent-123', source_deployment_id: stagingDeployment.id, target_gateway_id: 'gw-789', target_environment: 'production' },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body).toMatchObject({
      sourceEnvironment: 'staging',
      targetEnvironment: 'production',
      targetGateway: 'gw-789',
      sourceDeploymentId: stagingDeployment.id,
    });
    const waiting = await waitForToken(t, u.viewer, created.body.id);
    expect(waiting.status).toBe('AWAITING_APPROVAL');
    // ?status=pending covers AWAITING_APPROVAL (lifecycle.ts STATUS_ALIASES).
    const pending = await t.call('GET', '/api/v1/promotions?status=pending', { token: u.viewer });
    expect(pending.body.items.map((p: { id: string }) => p.id)).toEqual([created.body.id]);
    const approved = await t.call('POST', `/api/v1/promotions/${created.body.id}/approve`, { token: u.approver });
    expect(approved.status).toBe(200);
    const executed = await t.call('POST', `/api/v1/promotions/${created.body.id}/execute`, { token: u.deployer });
    expect([202, 409]).toContain(executed.status);
    const done = await waitFor(t, u.viewer, created.body.id, ['COMPLETED', 'FAILED']);
    expect(done.status).toBe('COMPLETED');
    const prod = (await t.call('GET', '/api/v1/platform/deployments/history?environment=production&limit=1', { token: u.viewer })).body[0];
    expect(prod).toMatchObject({ id: done.result.deploymentId, gateway: 'gw-789', imageTag: 'v1.0.0' });
    const completed = await t.call('GET', '/api/v1/promotions?status=completed', { token: u.viewer });
    expect(completed.body.items.map((p: { id: string }) => p.id).sort()).toEqual([created.body.id, toStaging.body.id].sort());
    expect((await t.call('GET', '/api/v1/promotions?status=pending', { token: u.viewer })).body.items).toEqual([]);

    // Reject with the seed's body on another release.
    const unknownDep = await t.call('POST', '/api/v1/promotions', {
      token: u.deployer,
      body: { agent_id: 'agent-123', source_deployment_id: 'dep-456', target_gateway_id: 'gw-789', target_environment: 'production' },
    });
    expect(unknownDep.status).toBe(404);
    expect(unknownDep.body.error.message).toContain('dep-456');
  });
});

describe('auto-promotion is evaluated by the system when its inputs change (no client polling)', () => {
  it('new evidence, then a completed promotion into the source, each trigger the rules through the bus', async () => {
    const tenant = t.tenant();
    const u = await t.users(tenant);
    await makeLine(t, u.admin, ['development', 'staging', 'production']);
    await t.call('POST', '/api/v1/promotions/rules', {
      token: u.admin,
      body: {
        name: 'Auto-promote to Staging',
        source_environment: 'development',
        target_environment: 'staging',
        requires_approval: false,
        auto_promote: true,
        conditions: { all: [{ field: 'tests.pass_rate', op: 'gte', value: 100 }] },
      },
    });
    await t.call('POST', '/api/v1/promotions/rules', {
      token: u.admin,
      body: {
        name: 'Prod after staging',
        source_environment: 'staging',
        target_environment: 'production',
        requires_approval: true,
        required_approvers: 1,
        auto_promote: true,
        conditions: { all: [] },
      },
    });
    await t.call('POST', '/api/v1/artifacts/agent-7/versions', { token: u.deployer, body: { version: 'v2.0.0', digest: `sha256:${'d'.repeat(64)}` } });
    // Nothing yet: the conditions do not hold.
    expect((await t.call('GET', '/api/v1/promotions', { token: u.viewer })).body.items).toEqual([]);
    // Evidence arrives: the auto-promoter (subscribed to the bus) promotes to staging by itself.
    await t.call('POST', '/api/v1/artifacts/agent-7/versions/v2.0.0/evidence', {
      token: u.deployer,
      body: { type: 'test_results', payload: { passed: 20, failed: 0 } },
    });
    const find = async (target: string) => {
      for (let i = 0; i < 200; i++) {
        const list = await t.call('GET', `/api/v1/promotions?target=${target}`, { token: u.viewer });
        if (list.body.items.length) return list.body.items[0];
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`no promotion into ${target}`);
    };
    const toStaging = await find('staging');
    expect(toStaging).toMatchObject({ autoPromoted: true, requestedBy: { name: 'auto-promoter' } });
    expect((await waitFor(t, u.viewer, toStaging.id, ['COMPLETED', 'FAILED'])).status).toBe('COMPLETED');
    // Its completion into staging triggers the staging → production rule: it waits for a person.
    const toProd = await find('production');
    expect(toProd).toMatchObject({ autoPromoted: true, sourceEnvironment: 'staging' });
    expect((await waitForToken(t, u.viewer, toProd.id)).status).toBe('AWAITING_APPROVAL');
    await t.stack.stream.idle();
    expect(t.stack.bus.published.some((e) => e['detail-type'] === 'Evidence Added' && e.detail.tenant === tenant)).toBe(true);
  });

  it('an auto-promotion whose gates failed is validated again when the missing evidence arrives', async () => {
    const tenant = t.tenant();
    const u = await t.users(tenant);
    await makeLine(t, u.admin, ['dev', 'staging', 'production']);
    await t.call('PATCH', '/api/v1/environments/staging', { token: u.admin, body: { version: 1, gates: { tests: true, security_scan: true } } });
    await t.call('POST', '/api/v1/promotions/rules', {
      token: u.admin,
      body: {
        name: 'auto',
        source_environment: 'dev',
        target_environment: 'staging',
        requires_approval: false,
        auto_promote: true,
        conditions: { all: [{ field: 'tests.pass_rate', op: 'gte', value: 100 }] },
      },
    });
    await t.call('POST', '/api/v1/artifacts/web/versions', { token: u.deployer, body: { version: 'v1.0.0', digest: `sha256:${'f'.repeat(64)}` } });
    await t.call('POST', '/api/v1/artifacts/web/versions/v1.0.0/evidence', {
      token: u.deployer,
      body: { type: 'test_results', payload: { passed: 5, failed: 0 } },
    });
    let first: any;
    for (let i = 0; i < 200 && !first; i++) {
      first = (await t.call('GET', '/api/v1/promotions?target=staging', { token: u.viewer })).body.items[0];
      if (!first) await new Promise((r) => setTimeout(r, 50));
    }
    expect((await waitFor(t, u.viewer, first.id, ['VALIDATION_FAILED', 'COMPLETED'])).status).toBe('VALIDATION_FAILED');
    await t.call('POST', '/api/v1/artifacts/web/versions/v1.0.0/evidence', {
      token: u.deployer,
      body: { type: 'security_scan', payload: { critical: 0, high: 0, signatureVerified: true } },
    });
    expect((await waitFor(t, u.viewer, first.id, ['COMPLETED', 'FAILED'])).status).toBe('COMPLETED');
    expect((await t.call('GET', '/api/v1/promotions?target=staging', { token: u.viewer })).body.items).toHaveLength(1);
  });

  it('a time-based condition (deployment.duration_hours) is checked again by the scheduler when it comes due', async () => {
    const tenant = t.tenant();
    const u = await t.users(tenant);
    await makeLine(t, u.admin, ['dev', 'staging', 'production']);
    // 0.0005 h = 1.8 s in dev before it may go on.
    await t.call('POST', '/api/v1/promotions/rules', {
      token: u.admin,
      body: {
        name: 'bake in dev',
        source_environment: 'dev',
        target_environment: 'staging',
        requires_approval: false,
        auto_promote: true,
        conditions: { all: [{ field: 'deployment.duration_hours', op: 'gte', value: 0.0005 }] },
      },
    });
    await t.call('POST', '/api/v1/artifacts/svc/versions', { token: u.deployer, body: { version: 'v3.0.0', digest: `sha256:${'a1'.repeat(32)}` } });
    // The deployment record's event triggers a check: too early, so it schedules the next one.
    await t.call('POST', '/api/v1/artifacts/svc/versions/v3.0.0/evidence', {
      token: u.deployer,
      body: { type: 'test_results', payload: { passed: 1, failed: 0 } },
    });
    expect((await t.call('GET', '/api/v1/promotions?target=staging', { token: u.viewer })).body.items).toEqual([]);
    let found: any;
    for (let i = 0; i < 200 && !found; i++) {
      found = (await t.call('GET', '/api/v1/promotions?target=staging', { token: u.viewer })).body.items[0];
      if (!found) await new Promise((r) => setTimeout(r, 50));
    }
    expect(found).toMatchObject({ autoPromoted: true, requestedBy: { name: 'auto-promoter' } });
  });
});
