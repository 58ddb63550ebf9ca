import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signedFetch } from '../support/sigv4.ts';
import { waitFor, waitForToken } from '../support/promotions.ts';
import { makeLine, startTestStack, type TestStack } from '../support/stack.ts';

/**
 * Issue: a deployer (or the pipeline over IAM) could change production directly, bypassing gates
 * and approvals. A protected environment (the last of the line by default, or flagged) changes only
 * through a promotion or a rollback — or an admin break-glass with a reason, audited and announced.
 */
let t: TestStack;
beforeAll(async () => {
  t = await startTestStack();
});
afterAll(() => t.stop());

describe('protected environments and break-glass', () => {
  it('what a read says of protected is what the write guard does: the last environment reads true (one, get, list, the one a write answers) and a direct write to it is 403', async () => {
    const u = await t.users(t.tenant());
    await makeLine(t, u.admin);
    const one = await t.call('GET', '/api/v1/environments/production', { token: u.viewer });
    expect(one.body.protected).toBe(true);
    const list = await t.call('GET', '/api/v1/environments', { token: u.viewer });
    expect(Object.fromEntries(list.body.items.map((e: { name: string; protected: boolean }) => [e.name, e.protected]))).toEqual({
      dev: false,
      staging: false,
      production: true,
    });
    const patched = await t.call('PATCH', '/api/v1/environments/production', {
      token: u.admin,
      body: { description: 'the last one', version: one.body.version },
    });
    expect(patched.status, JSON.stringify(patched.body)).toBe(200);
    expect(patched.body.protected).toBe(true);
    const write = await t.call('POST', '/api/v1/environments/production/configs', { token: u.deployer, body: { key: 'k', value: 1 } });
    expect(write.status).toBe(403);
    // A new last environment takes the guard over, and the read follows it.
    await t.call('POST', '/api/v1/environments', { token: u.admin, body: { name: 'dr', position: 3 } });
    const after = await t.call('GET', '/api/v1/environments', { token: u.viewer });
    const flags = Object.fromEntries(after.body.items.map((e: { name: string; protected: boolean }) => [e.name, e.protected]));
    expect(flags.dr).toBe(true);
    const writeProd = await t.call('POST', '/api/v1/environments/production/configs', { token: u.deployer, body: { key: 'k', value: 1 } });
    expect(flags.production).toBe(writeProd.status === 403);
  });

  it('refuses every direct write path into production, for deployers and the pipeline alike, and changes nothing', async () => {
    // The pipeline credential of the local stack is bound to tenant acme.
    const tenant = 'acme';
    const u = await t.users(tenant);
    await makeLine(t, u.admin);
    const before = await t.call('GET', '/api/v1/environments/production', { token: u.viewer });
    const attempts = [
      t.call('POST', '/api/v1/environments/production/configs', { token: u.deployer, body: { key: 'db.pool', value: 5 } }),
      t.call('POST', '/api/v1/environments/production/flags', { token: u.deployer, body: { key: 'kill-switch', value: true } }),
      t.call('POST', '/api/v1/environments/production/items/batch', { token: u.deployer, body: { set: [{ key: 'db.pool', value: 5 }] } }),
      // An admin without a reason is refused too: break-glass is explicit.
      t.call('POST', '/api/v1/environments/production/items/batch', { token: u.admin, body: { set: [{ key: 'db.pool', value: 5 }] } }),
      // A deployer cannot break glass, reason or not.
      t.call('POST', '/api/v1/environments/production/items/batch', {
        token: u.deployer,
        headers: { 'x-break-glass-reason': 'urgent' },
        body: { set: [{ key: 'db.pool', value: 5 }] },
      }),
      t.call('POST', '/api/v1/environments/production/snapshots/0/restore', { token: u.admin, body: { reason: 'go back' } }),
    ];
    for (const r of await Promise.all(attempts)) {
      expect(r.status, JSON.stringify(r.body)).toBe(403);
    }
    const machine = await signedFetch(
      t.url,
      'POST',
      '/api/v1/machine/environments/production/items/batch',
      { set: [{ key: 'db.pool', value: 5 }] },
      t.stack.iam[0]!,
    );
    expect(machine.status).toBe(403);
    expect(machine.body.error.message).toMatch(/protected environment: it changes only through a promotion or a rollback/);
    const after = await t.call('GET', '/api/v1/environments/production', { token: u.viewer });
    expect(after.body.snapshot).toEqual(before.body.snapshot);
    // Other environments are not protected unless flagged.
    expect((await t.call('POST', '/api/v1/environments/staging/configs', { token: u.deployer, body: { key: 'db.pool', value: 5 } })).status).toBe(201);
    const flagged = await t.call('PATCH', '/api/v1/environments/staging', {
      token: u.admin,
      body: { protected: true, version: (await t.call('GET', '/api/v1/environments/staging', { token: u.viewer })).body.version },
    });
    expect(flagged.status, JSON.stringify(flagged.body)).toBe(200);
    expect((await t.call('POST', '/api/v1/environments/staging/configs', { token: u.deployer, body: { key: 'db.size', value: 5 } })).status).toBe(403);
  });

  it('an admin break-glass with a reason goes through: audited as break-glass, announced on the bus, shown on the status page', async () => {
    const tenant = t.tenant();
    const u = await t.users(tenant);
    await makeLine(t, u.admin);
    const r = await t.call('POST', '/api/v1/environments/production/configs', {
      token: u.admin,
      headers: { 'x-break-glass-reason': 'INC-4711 hotfix: pool exhausted' },
      body: { key: 'db.pool', value: 50 },
    });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    const audit = await t.call('GET', '/api/v1/audit?limit=5', { token: u.viewer });
    expect(audit.body.items[0]).toMatchObject({ action: 'breakglass.config.create', reason: 'break-glass: INC-4711 hotfix: pool exhausted' });
    await t.stack.stream.idle();
    const event = t.stack.bus.published.find((e) => e['detail-type'] === 'Break Glass Used' && e.detail.tenant === tenant);
    expect(event?.detail).toMatchObject({
      environment: 'production',
      guard: 'protected-environment',
      action: 'config.create',
      reason: 'INC-4711 hotfix: pool exhausted',
    });
    const status = await t.call('GET', '/api/v1/status', { token: u.viewer });
    const prod = status.body.environments.find((e: { name: string }) => e.name === 'production');
    expect(prod).toMatchObject({
      protected: true,
      lastBreakGlass: { action: 'config.create', reason: 'INC-4711 hotfix: pool exhausted', guard: 'protected-environment' },
    });
    await t.stack.stream.idle();
    expect((await t.call('GET', '/api/v1/audit/verify', { token: u.viewer })).body.ok).toBe(true);
  });

  it('promotions and rollbacks still change a protected environment without break-glass', async () => {
    const tenant = t.tenant();
    const u = await t.users(tenant);
    await makeLine(t, u.admin, ['dev', 'production']);
    await t.call('POST', '/api/v1/environments/dev/configs', { token: u.deployer, body: { key: 'a', value: 1 } });
    await t.call('POST', '/api/v1/promotions/rules', {
      token: u.admin,
      body: { name: 'no approval', source_environment: 'dev', target_environment: 'production', requires_approval: false },
    });
    const p = await t.call('POST', '/api/v1/promotions', { token: u.deployer, body: { sourceEnvironment: 'dev', targetEnvironment: 'production' } });
    expect((await waitFor(t, u.viewer, p.body.id, ['COMPLETED', 'FAILED'])).status).toBe('COMPLETED');
    const rb = await t.call('POST', `/api/v1/promotions/${p.body.id}/rollback`, { token: u.deployer, body: { reason: 'undo' } });
    expect(rb.status, JSON.stringify(rb.body)).toBeLessThan(300);
  });

  it("rolling back a config promotion into production is a rollback record under production's approval policy: nothing changes until an approver approves", async () => {
    const tenant = t.tenant();
    const u = await t.users(tenant);
    await makeLine(t, u.admin, ['dev', 'production']);
    await t.call('POST', '/api/v1/environments/dev/configs', { token: u.deployer, body: { key: 'db.pool', value: 5 } });
    const p = await t.call('POST', '/api/v1/promotions', { token: u.deployer, body: { sourceEnvironment: 'dev', targetEnvironment: 'production' } });
    await waitForToken(t, u.viewer, p.body.id);
    expect((await t.call('POST', `/api/v1/promotions/${p.body.id}/approve`, { token: u.approver, body: { comment: 'ok' } })).status).toBe(200);
    expect((await waitFor(t, u.viewer, p.body.id, ['COMPLETED', 'FAILED'])).status).toBe('COMPLETED');
    const configs = async () =>
      Object.fromEntries((await t.call('GET', '/api/v1/environments/production/configs', { token: u.viewer })).body.items.map((i: any) => [i.key, i.value]));
    expect(await configs()).toEqual({ 'db.pool': 5 });

    // Act: a deployer asks to roll it back.
    const rb = await t.call('POST', `/api/v1/promotions/${p.body.id}/rollback`, { token: u.deployer, body: { reason: 'pool too small' } });

    // Assert: a new rollback promotion of production, gated by the impact analysis, waiting for one approver.
    expect(rb.status, JSON.stringify(rb.body)).toBe(200);
    expect(rb.body.promotion.id).not.toBe(p.body.id);
    expect(rb.body.impact).toMatchObject({ environment: 'production', recommendation: 'RISKY', breakingChanges: ["removes config 'db.pool'"] });
    const waiting = await waitForToken(t, u.viewer, rb.body.promotion.id);
    expect(waiting).toMatchObject({
      status: 'AWAITING_APPROVAL',
      sourceEnvironment: 'production',
      targetEnvironment: 'production',
      rollback: { reason: 'pool too small', of: p.body.id },
    });
    expect(waiting.gates.map((g: any) => g.gate)).toContain('rollback_impact');
    expect(await configs()).toEqual({ 'db.pool': 5 });
    expect((await t.call('GET', `/api/v1/promotions/${p.body.id}`, { token: u.viewer })).body.status).toBe('COMPLETED');

    // The deployer who asked cannot approve it; an approver can, and only then production changes.
    expect((await t.call('POST', `/api/v1/promotions/${rb.body.promotion.id}/approve`, { token: u.deployer, body: {} })).status).toBe(403);
    expect((await t.call('POST', `/api/v1/promotions/${rb.body.promotion.id}/approve`, { token: u.approver, body: { comment: 'go back' } })).status).toBe(200);
    expect((await waitFor(t, u.viewer, rb.body.promotion.id, ['COMPLETED', 'FAILED'])).status).toBe('COMPLETED');
    expect(await configs()).toEqual({});
    expect((await waitFor(t, u.viewer, p.body.id, ['ROLLED_BACK'])).status).toBe('ROLLED_BACK');
  });

  it('a promotion rollback that waited for approval fails, changing nothing, when its keys changed meanwhile', async () => {
    const tenant = t.tenant();
    const u = await t.users(tenant);
    await makeLine(t, u.admin, ['dev', 'production']);
    await t.call('POST', '/api/v1/environments/dev/configs', { token: u.deployer, body: { key: 'db.pool', value: 5 } });
    const p = await t.call('POST', '/api/v1/promotions', { token: u.deployer, body: { sourceEnvironment: 'dev', targetEnvironment: 'production' } });
    await waitForToken(t, u.viewer, p.body.id);
    await t.call('POST', `/api/v1/promotions/${p.body.id}/approve`, { token: u.approver, body: {} });
    expect((await waitFor(t, u.viewer, p.body.id, ['COMPLETED', 'FAILED'])).status).toBe('COMPLETED');
    const rb = await t.call('POST', `/api/v1/promotions/${p.body.id}/rollback`, { token: u.deployer, body: { reason: 'undo' } });
    await waitForToken(t, u.viewer, rb.body.promotion.id);
    const hotfix = await t.call('POST', '/api/v1/environments/production/items/batch', {
      token: u.admin,
      headers: { 'x-break-glass-reason': 'INC-9 pool exhausted' },
      body: { set: [{ key: 'db.pool', value: 9 }] },
    });
    expect(hotfix.status, JSON.stringify(hotfix.body)).toBeLessThan(300);
    await t.call('POST', `/api/v1/promotions/${rb.body.promotion.id}/approve`, { token: u.approver, body: {} });
    const done = await waitFor(t, u.viewer, rb.body.promotion.id, ['COMPLETED', 'FAILED']);
    expect(done.status).toBe('FAILED');
    expect(done.error.message).toContain('config:db.pool');
    const items = (await t.call('GET', '/api/v1/environments/production/configs', { token: u.viewer })).body.items;
    expect(items.map((i: any) => [i.key, i.value])).toEqual([['db.pool', 9]]);
    expect((await t.call('GET', `/api/v1/promotions/${p.body.id}`, { token: u.viewer })).body.status).toBe('COMPLETED');
  });
});

describe('guards on the other paths to the same state', () => {
  it('auto-check: the person who triggers it is the requester, and cannot approve it alone', async () => {
    const tenant = t.tenant();
    const u = await t.users(tenant);
    await makeLine(t, u.admin);
    await t.call('POST', '/api/v1/environments/staging/configs', { token: u.deployer, body: { key: 'a', value: 1 } });
    await t.call('POST', '/api/v1/promotions/rules', {
      token: u.admin,
      body: {
        name: 'auto to prod, approved',
        source_environment: 'staging',
        target_environment: 'production',
        requires_approval: true,
        required_approvers: 1,
        auto_promote: true,
        conditions: { all: [] },
      },
    });
    const both = await t.token({ sub: `mallory-${tenant}`, tenant, groups: ['deployer', 'approver'] });
    const check = await t.call('POST', '/api/v1/promotions/auto-check', { token: both, body: { sourceEnvironment: 'staging' } });
    const id = check.body.checks[0].promotionId;
    expect(id, JSON.stringify(check.body)).toMatch(/^prm_/);
    const waiting = await waitForToken(t, u.viewer, id);
    expect(waiting.requestedBy.id).toBe(`mallory-${tenant}`);
    const self = await t.call('POST', `/api/v1/promotions/${id}/approve`, { token: both, body: {} });
    expect(self.status).toBe(403);
    const audit = await t.call('GET', `/api/v1/audit?entityType=promotion&entityId=${id}`, { token: u.viewer });
    expect(audit.body.items.some((e: { action: string; actor: string }) => e.action === 'promotion.create' && e.actor === `mallory-${tenant}`)).toBe(true);
  });

  it('scheduling beyond the 7-day go window is refused with the latest allowed time', async () => {
    const tenant = t.tenant();
    const u = await t.users(tenant);
    await makeLine(t, u.admin);
    await t.call('POST', '/api/v1/environments/dev/configs', { token: u.deployer, body: { key: 'a', value: 1 } });
    const p = await t.call('POST', '/api/v1/promotions', {
      token: u.deployer,
      body: { sourceEnvironment: 'dev', targetEnvironment: 'staging', trigger: 'manual' },
    });
    await waitForToken(t, u.viewer, p.body.id);
    const far = new Date(Date.now() + 8 * 86_400_000).toISOString();
    const r = await t.call('POST', `/api/v1/promotions/${p.body.id}/schedule`, { token: u.deployer, body: { at: far } });
    expect(r.status).toBe(422);
    expect(r.body.error.message).toMatch(/at most 7 days after its approval/);
  });

  it('bad input never becomes a 500: forged cursors, deep JSON, numbers beyond 2^53', async () => {
    const tenant = t.tenant();
    const u = await t.users(tenant);
    await makeLine(t, u.admin);
    // A real cursor of another listing of the same tenant.
    for (let i = 0; i < 3; i++) await t.call('POST', '/api/v1/environments/dev/configs', { token: u.deployer, body: { key: `k${i}`, value: i } });
    const audit = await t.call('GET', '/api/v1/audit?limit=1', { token: u.viewer });
    const other = audit.body.nextCursor;
    expect(other).toBeTruthy();
    for (const path of [
      `/api/v1/promotions?cursor=${other}`,
      `/api/v1/environments/dev/snapshots?cursor=${other}`,
      `/api/v1/platform/deployments/history?environment=dev&cursor=${other}`,
      `/api/v1/audit?actor=x&cursor=${other}`,
    ]) {
      const r = await t.call('GET', path, { token: u.viewer });
      expect(r.status, path).toBe(400);
    }
    let deep: unknown = 1;
    for (let i = 0; i < 2500; i++) deep = { a: deep };
    for (const [path, body] of [
      ['/api/v1/environments/dev/configs', { key: 'deep', value: deep }],
      ['/api/v1/environments/dev/items/batch', { set: [{ key: 'deep', value: deep }] }],
      ['/api/v1/environments/dev/configs', { key: 'big', value: 2 ** 60 }],
      ['/api/v1/environments/dev/configs', { key: 'big', value: { n: -(2 ** 54) } }],
    ] as const) {
      const r = await t.call('POST', path, { token: u.deployer, body });
      expect(r.status, JSON.stringify(r.body).slice(0, 200)).toBe(400);
      expect(r.body.error.issues[0].message).toMatch(/deeper than 24 levels|out of range/);
    }
    const raw = await t.call('POST', '/api/v1/environments/dev/configs', {
      token: u.deployer,
      raw: '{"key":"inf","value":1e400}',
      headers: { 'content-type': 'application/json' },
    });
    expect(raw.status).toBe(400);
  });

  it('a replayed deployment record without an id is one record, not two', async () => {
    const u = await t.users('acme');
    const body = {
      imageTag: 'v9.9.9-abc1234',
      gitCommit: 'abc1234',
      gitBranch: 'main',
      environment: 'dev',
      status: 'DEPLOYED',
      deployedAt: '2026-03-01T10:00:00Z',
      completedAt: '2026-03-01T10:05:00Z',
    };
    const a = await signedFetch(t.url, 'POST', '/api/v1/platform/deployments', body, t.stack.iam[0]!);
    const b = await signedFetch(t.url, 'POST', '/api/v1/platform/deployments', body, t.stack.iam[0]!);
    expect([a.status, b.status]).toEqual([201, 200]);
    expect(b.body.id).toBe(a.body.id);
    const history = await t.call('GET', '/api/v1/platform/deployments/history?environment=dev&limit=50', { token: u.viewer });
    expect(history.body.filter((d: { imageTag: string }) => d.imageTag === 'v9.9.9-abc1234')).toHaveLength(1);
  });
});

describe('evidence carries its source; a policy decides whose evidence counts', () => {
  it('evidenceFrom=machine: the requester’s own test results do not pass the gate; the pipeline’s (IAM) do; the decision record shows each source', async () => {
    // The pipeline credential is bound to tenant acme.
    const tenant = 'acme';
    const u = await t.users(tenant);
    await t.call('PATCH', '/api/v1/environments/staging', {
      token: u.admin,
      body: { version: (await t.call('GET', '/api/v1/environments/staging', { token: u.viewer })).body.version, gates: { tests: true } },
    });
    const rules = await t.call('GET', '/api/v1/promotions/rules', { token: u.viewer });
    for (const r of rules.body.items.filter((x: { sourceEnvironment: string }) => x.sourceEnvironment === 'dev'))
      await t.call('DELETE', `/api/v1/promotions/rules/${r.id}`, { token: u.admin });
    const rule = await t.call('POST', '/api/v1/promotions/rules', {
      token: u.admin,
      body: { name: 'pipeline evidence only', source_environment: 'dev', target_environment: 'staging', requires_approval: false, evidence_from: 'machine' },
    });
    expect(rule.status, JSON.stringify(rule.body)).toBe(201);
    await t.call('POST', '/api/v1/environments/dev/configs', { token: u.deployer, body: { key: `ev-${Date.now()}`, value: 1 } });
    const p = await t.call('POST', '/api/v1/promotions', {
      token: u.deployer,
      body: { sourceEnvironment: 'dev', targetEnvironment: 'staging', autoStart: false },
    });
    expect(p.status, JSON.stringify(p.body)).toBe(201);
    await t.call('POST', `/api/v1/promotions/${p.body.id}/evidence`, { token: u.deployer, body: { type: 'test_results', payload: { passed: 10, failed: 0 } } });
    await t.call('POST', `/api/v1/promotions/${p.body.id}/validate`, { token: u.deployer });
    const failed = await waitFor(t, u.viewer, p.body.id, ['VALIDATION_FAILED', 'COMPLETED']);
    expect(failed.status).toBe('VALIDATION_FAILED');
    const fromPipeline = await signedFetch(
      t.url,
      'POST',
      `/api/v1/machine/promotions/${p.body.id}/evidence`,
      { type: 'test_results', payload: { passed: 10, failed: 0 } },
      t.stack.iam[0]!,
    );
    expect(fromPipeline.status, JSON.stringify(fromPipeline.body)).toBe(201);
    await t.call('POST', `/api/v1/promotions/${p.body.id}/validate`, { token: u.deployer });
    expect((await waitFor(t, u.viewer, p.body.id, ['COMPLETED', 'FAILED', 'VALIDATION_FAILED'])).status).toBe('COMPLETED');
    const decision = await t.call('GET', `/api/v1/promotions/${p.body.id}/decision`, { token: u.viewer });
    expect(decision.body.policy.evidenceFrom).toBe('machine');
    expect(decision.body.evidence.map((e: { source: { kind: string }; accepted: boolean }) => [e.source.kind, e.accepted]).sort()).toEqual([
      ['machine', true],
      ['user', false],
    ]);
  });
});

describe('a deleted environment', () => {
  it('its name can be used again, and the old snapshots are not readable through the new one', async () => {
    const tenant = t.tenant();
    const u = await t.users(tenant);
    await makeLine(t, u.admin);
    // The last environment of the line is always protected: an explicit false is refused, not stored and ignored.
    const refused = await t.call('POST', '/api/v1/environments', { token: u.admin, body: { name: 'tmp', position: 9, protected: false } });
    expect(refused.status).toBe(400);
    expect(refused.body.error.issues[0]).toMatchObject({ path: 'protected', message: expect.stringContaining('always protected') });
    expect((await t.call('POST', '/api/v1/environments', { token: u.admin, body: { name: 'tmp', position: 9 } })).status).toBe(201);
    // Nor can it be switched off later while tmp is last; an environment before it can.
    const v = (await t.call('GET', '/api/v1/environments/tmp', { token: u.viewer })).body.version;
    expect((await t.call('PATCH', '/api/v1/environments/tmp', { token: u.admin, body: { protected: false, version: v } })).status).toBe(400);
    const dev = (await t.call('GET', '/api/v1/environments/dev', { token: u.viewer })).body.version;
    expect((await t.call('PATCH', '/api/v1/environments/dev', { token: u.admin, body: { protected: false, version: dev } })).status).toBe(200);
    // An empty reason is not a break-glass: 400 naming the header (it was taken as no header).
    const empty = await t.call('POST', '/api/v1/environments/tmp/configs', {
      token: u.admin,
      headers: { 'x-break-glass-reason': '' },
      body: { key: 'k', value: 1 },
    });
    expect(empty.status).toBe(400);
    expect(empty.body.error.issues[0].path).toBe('header.x-break-glass-reason');
    // tmp is now the last environment, hence protected: the admin breaks glass to set it up.
    const glass = { 'x-break-glass-reason': 'test' };
    const made = await t.call('POST', '/api/v1/environments/tmp/configs', {
      token: u.admin,
      headers: glass,
      body: { key: 'secret.old', value: 'from the first tmp' },
    });
    expect(made.status).toBe(201);
    await t.call('DELETE', `/api/v1/environments/tmp/configs/${made.body.id}`, { token: u.admin, headers: glass });
    const tmp = await t.call('GET', '/api/v1/environments/tmp', { token: u.viewer });
    expect(tmp.body.itemCount).toBe(0);
    expect((await t.call('DELETE', '/api/v1/environments/tmp?reason=retired', { token: u.admin })).status).toBe(204);
    const again = await t.call('POST', '/api/v1/environments', { token: u.admin, body: { name: 'tmp', position: 9 } });
    expect(again.status, JSON.stringify(again.body)).toBe(201);
    const snaps = await t.call('GET', '/api/v1/environments/tmp/snapshots', { token: u.viewer });
    expect(snaps.body.items.map((s: { seq: number }) => s.seq)).toEqual([3]);
    expect((await t.call('GET', '/api/v1/environments/tmp/snapshots/1', { token: u.viewer })).status).toBe(404);
    expect((await t.call('GET', '/api/v1/snapshots/diff?from=tmp@1&to=tmp@3', { token: u.viewer })).status).toBe(404);
  });
});
