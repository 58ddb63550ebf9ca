import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scheduleName } from '../../domain/promotion/run/schedule-name.ts';
import { waitFor, waitForToken } from '../support/promotions.ts';
import { makeLine, startTestStack, type Res, type TestStack } from '../support/stack.ts';

let t: TestStack;
beforeAll(async () => {
  t = await startTestStack();
});
afterAll(() => t.stop());

async function tenantWithConfigs() {
  const tenant = t.tenant();
  const u = await t.users(tenant);
  await makeLine(t, u.admin);
  await t.call('POST', '/api/v1/environments/dev/items/batch', {
    token: u.deployer,
    body: {
      set: [
        { key: 'query.timeout', value: '180s' },
        { key: 'ai.model', value: 'gpt-4-turbo' },
        { kind: 'flag', key: 'new-ui', value: true },
      ],
    },
  });
  return { tenant, u };
}

describe('config promotions', () => {
  it('dev → staging needs no approval by default and completes through the state machine', async () => {
    const { u } = await tenantWithConfigs();
    const r = await t.call('POST', '/api/v1/config/promotions', {
      token: u.deployer,
      body: { autoStart: true, sourceEnvironment: 'dev', targetEnvironment: 'staging', promotionType: 'FULL', notes: 'first' },
    });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    const done = await waitFor(t, u.viewer, r.body.id, ['COMPLETED', 'FAILED', 'VALIDATION_FAILED']);
    expect(done.status, JSON.stringify(done)).toBe('COMPLETED');
    expect(done.transitions.map((x: any) => x.status)).toEqual(['PENDING', 'VALIDATING', 'APPROVED', 'EXECUTING', 'COMPLETED']);
    const diff = await t.call('GET', '/api/v1/config/promotions/diff?source=dev&target=staging', { token: u.viewer });
    expect(diff.body).toMatchObject({ added: [], modified: [], removed: [], unchanged: 3 });
  });

  it('staging → production waits for an approval that the requester cannot give', async () => {
    const { u } = await tenantWithConfigs();
    const first = await t.call('POST', '/api/v1/config/promotions', {
      token: u.deployer,
      body: { autoStart: true, sourceEnvironment: 'dev', targetEnvironment: 'staging' },
    });
    await waitFor(t, u.viewer, first.body.id, ['COMPLETED']);
    const r = await t.call('POST', '/api/v1/promotions', { token: u.deployer, body: { sourceEnvironment: 'staging', targetEnvironment: 'production' } });
    expect(r.status).toBe(201);
    const waiting = await waitForToken(t, u.viewer, r.body.id);
    expect(waiting.status).toBe('AWAITING_APPROVAL');
    const approved = await t.call('POST', `/api/v1/promotions/${r.body.id}/approve`, { token: u.approver, body: { comment: 'lgtm' } });
    expect(approved.status, JSON.stringify(approved.body)).toBe(200);
    const done = await waitFor(t, u.viewer, r.body.id, ['COMPLETED', 'FAILED']);
    expect(done.status).toBe('COMPLETED');
    expect(done.approvedBy).toEqual([`approver@${first.body.requestedBy.name.split('@')[1]}`]);
  });
});

async function rule(u: Record<string, string>, body: Record<string, unknown>) {
  const r = await t.call('POST', '/api/v1/promotions/rules', { token: u.admin!, body });
  if (r.status !== 201) throw new Error(JSON.stringify(r.body));
  return r.body;
}

describe('approvals', () => {
  it('needs N distinct approvers, never the requester; approving twice counts once', async () => {
    const { tenant, u } = await tenantWithConfigs();
    await rule(u, { name: 'two eyes', source_environment: 'dev', target_environment: 'staging', requires_approval: true, required_approvers: 2 });
    const both = await t.token({ sub: 'requester', email: 'req@x.test', tenant, groups: ['deployer', 'approver'] });
    const r = await t.call('POST', '/api/v1/promotions', { token: both, body: { sourceEnvironment: 'dev', targetEnvironment: 'staging' } });
    await waitForToken(t, u.viewer, r.body.id);
    const self = await t.call('POST', `/api/v1/promotions/${r.body.id}/approve`, { token: both, body: {} });
    expect(self.status).toBe(403);
    expect(self.body.error.code).toBe('SELF_APPROVAL_FORBIDDEN');
    const viewer = await t.call('POST', `/api/v1/promotions/${r.body.id}/approve`, { token: u.viewer, body: {} });
    expect(viewer.status).toBe(403);
    const a1 = await t.call('POST', `/api/v1/promotions/${r.body.id}/approve`, { token: u.approver, body: {} });
    const a1again = await t.call('POST', `/api/v1/promotions/${r.body.id}/approve`, { token: u.approver, body: {} });
    expect([a1.status, a1again.status]).toEqual([200, 200]);
    expect(a1again.body.status).toBe('AWAITING_APPROVAL');
    const decision = await t.call('GET', `/api/v1/promotions/${r.body.id}/decision`, { token: u.viewer });
    expect(decision.body).toMatchObject({ outcome: 'AWAITING_APPROVAL', approvalsRequired: 2, approvals: [{ counted: true }] });
    const a2 = await t.call('POST', `/api/v1/promotions/${r.body.id}/approve`, { token: u.approver2, body: {} });
    expect(a2.body.status).toBe('APPROVED');
    const done = await waitFor(t, u.viewer, r.body.id, ['COMPLETED', 'FAILED']);
    expect(done.status).toBe('COMPLETED');
    expect(done.approvedBy).toHaveLength(2);
    const again = await t.call('GET', `/api/v1/promotions/${r.body.id}/decision`, { token: u.viewer });
    const again2 = await t.call('GET', `/api/v1/promotions/${r.body.id}/decision`, { token: u.viewer });
    expect(again.body.outcome).toBe('ALLOWED');
    expect(again.body).toEqual(again2.body);
    expect(again.body.policyDigest).toMatch(/^sha256:/);
  });

  it('approver groups may be custom Cognito groups', async () => {
    const { tenant, u } = await tenantWithConfigs();
    await rule(u, { name: 'release managers', sourceEnvironment: 'dev', targetEnvironment: 'staging', approverGroups: ['release-managers'] });
    const r = await t.call('POST', '/api/v1/promotions', { token: u.deployer, body: { sourceEnvironment: 'dev', targetEnvironment: 'staging' } });
    await waitForToken(t, u.viewer, r.body.id);
    const plain = await t.call('POST', `/api/v1/promotions/${r.body.id}/approve`, { token: u.approver, body: {} });
    expect(plain.status).toBe(403);
    expect(plain.body.error.code).toBe('NOT_AN_APPROVER');
    const rm = await t.token({ sub: 'rm-1', email: 'rm@x.test', tenant, groups: ['approver', 'release-managers'] });
    expect((await t.call('POST', `/api/v1/promotions/${r.body.id}/approve`, { token: rm, body: {} })).body.status).toBe('APPROVED');
  });

  it('resumes the flow exactly once under 50 concurrent approvals', async () => {
    const { tenant, u } = await tenantWithConfigs();
    await rule(u, { name: 'quorum', sourceEnvironment: 'dev', targetEnvironment: 'staging', requiredApprovers: 3 });
    const r = await t.call('POST', '/api/v1/promotions', { token: u.deployer, body: { sourceEnvironment: 'dev', targetEnvironment: 'staging' } });
    await waitForToken(t, u.viewer, r.body.id);
    const wf = t.stack.workflow;
    const original = wf.sendTaskSuccess.bind(wf);
    let resumed = 0;
    wf.sendTaskSuccess = async (token, output) => {
      resumed++;
      return original(token, output);
    };
    try {
      const approvers = await Promise.all(
        Array.from({ length: 50 }, (_, i) => t.token({ sub: `ap-${i}`, email: `ap${i}@x.test`, tenant, groups: ['approver'] })),
      );
      const results = await Promise.all(approvers.map((tok) => t.call('POST', `/api/v1/promotions/${r.body.id}/approve`, { token: tok, body: {} })));
      expect(
        results.every((x) => x.status === 200 || x.status === 409),
        JSON.stringify(results.filter((x) => x.status >= 400 && x.status !== 409).map((x) => x.body)),
      ).toBe(true);
      const done = await waitFor(t, u.viewer, r.body.id, ['COMPLETED', 'FAILED']);
      expect(done.status).toBe('COMPLETED');
      expect(resumed).toBe(1);
      expect(done.transitions.filter((x: any) => x.status === 'APPROVED')).toHaveLength(1);
      expect(done.transitions.filter((x: any) => x.status === 'EXECUTING')).toHaveLength(1);
    } finally {
      wf.sendTaskSuccess = original;
    }
  });

  it('a rejection needs a reason, ends the flow and leaves the target as it was', async () => {
    const { tenant, u } = await tenantWithConfigs();
    await rule(u, { name: 'gate', sourceEnvironment: 'dev', targetEnvironment: 'staging' });
    const before = await t.call('GET', '/api/v1/environments/staging', { token: u.viewer });
    const r = await t.call('POST', '/api/v1/promotions', { token: u.deployer, body: { sourceEnvironment: 'dev', targetEnvironment: 'staging' } });
    await waitForToken(t, u.viewer, r.body.id);
    expect((await t.call('POST', `/api/v1/promotions/${r.body.id}/reject`, { token: u.approver, body: {} })).status).toBe(400);
    const rej = await t.call('POST', `/api/v1/promotions/${r.body.id}/reject`, { token: u.approver, body: { reason: 'tests not passing on staging' } });
    expect(rej.body).toMatchObject({ status: 'REJECTED', rejection: { reason: 'tests not passing on staging' } });
    expect(await t.stack.workflow.done(`promotion:${tenant}:${r.body.id}`)).toBe('SUCCEEDED');
    const after = await t.call('GET', '/api/v1/environments/staging', { token: u.viewer });
    expect(after.body.snapshot).toEqual(before.body.snapshot);
    const again = await t.call('POST', `/api/v1/promotions/${r.body.id}/approve`, { token: u.approver2, body: {} });
    expect(again.status).toBe(409);
    expect(again.body.error).toMatchObject({ code: 'TRANSITION_NOT_ALLOWED', status: 'REJECTED', allowedActions: [] });
    await t.stack.stream.idle();
    expect(t.stack.bus.published.some((e) => e['detail-type'] === 'Promotion Rejected' && e.detail.promotionId === r.body.id)).toBe(true);
  });

  it('approvals are bound to the release digest: rebasing onto a new source snapshot voids them', async () => {
    const { u } = await tenantWithConfigs();
    await rule(u, { name: 'two', sourceEnvironment: 'dev', targetEnvironment: 'staging', requiredApprovers: 2 });
    const r = await t.call('POST', '/api/v1/promotions', { token: u.deployer, body: { sourceEnvironment: 'dev', targetEnvironment: 'staging' } });
    await waitForToken(t, u.viewer, r.body.id);
    await t.call('POST', `/api/v1/promotions/${r.body.id}/approve`, { token: u.approver, body: {} });
    await t.call('POST', '/api/v1/environments/dev/configs', { token: u.deployer, body: { key: 'late.fix', value: 'v2' } });
    const rebased = await t.call('POST', `/api/v1/promotions/${r.body.id}/rebase`, { token: u.deployer });
    expect(rebased.status, JSON.stringify(rebased.body)).toBe(200);
    expect(rebased.body.releaseDigest).not.toBe(r.body.releaseDigest);
    const decision = await t.call('GET', `/api/v1/promotions/${r.body.id}/decision`, { token: u.viewer });
    expect(decision.body.approvals).toEqual([{ by: expect.stringContaining('approver@'), digest: r.body.releaseDigest, counted: false }]);
    expect((await t.call('POST', `/api/v1/promotions/${r.body.id}/approve`, { token: u.approver2, body: {} })).body.status).toBe('AWAITING_APPROVAL');
    expect((await t.call('POST', `/api/v1/promotions/${r.body.id}/approve`, { token: u.approver, body: {} })).body.status).toBe('APPROVED');
    expect((await waitFor(t, u.viewer, r.body.id, ['COMPLETED', 'FAILED'])).status).toBe('COMPLETED');
    const staging = await t.call('GET', '/api/v1/environments/staging/configs?limit=10', { token: u.viewer });
    expect(staging.body.items.map((i: any) => i.key)).toContain('late.fix');
  });

  it('expires when nobody approves in time', async () => {
    const { u } = await tenantWithConfigs();
    await rule(u, { name: 'fast', sourceEnvironment: 'dev', targetEnvironment: 'staging', approvalExpirySeconds: 1 });
    const r = await t.call('POST', '/api/v1/promotions', { token: u.deployer, body: { sourceEnvironment: 'dev', targetEnvironment: 'staging' } });
    const done = await waitFor(t, u.viewer, r.body.id, ['EXPIRED', 'COMPLETED'], 30_000); // the flow's timer: the 1 s window and its slack (deadlines.ts)
    expect(done.status).toBe('EXPIRED');
    expect((await t.call('POST', `/api/v1/promotions/${r.body.id}/approve`, { token: u.approver, body: {} })).status).toBe(409);
  });
});

describe('lifecycle rules', () => {
  it('goes forward only: backward is 422 (use rollback), skipping needs a rule', async () => {
    const { u } = await tenantWithConfigs();
    const back = await t.call('POST', '/api/v1/promotions', { token: u.deployer, body: { sourceEnvironment: 'staging', targetEnvironment: 'dev' } });
    expect(back.status).toBe(422);
    expect(back.body.error.message).toContain('roll');
    const skip = await t.call('POST', '/api/v1/promotions', { token: u.deployer, body: { sourceEnvironment: 'dev', targetEnvironment: 'production' } });
    expect(skip.status).toBe(422);
    expect(skip.body.error.message).toContain("'staging'");
    await rule(u, { name: 'hotfix lane', sourceEnvironment: 'dev', targetEnvironment: 'production', allowSkip: true, requiredApprovers: 1 });
    const ok = await t.call('POST', '/api/v1/promotions', { token: u.deployer, body: { sourceEnvironment: 'dev', targetEnvironment: 'production' } });
    expect(ok.status).toBe(201);
  });

  it('dry-run returns the diff, gates and approvals needed, and writes nothing', async () => {
    const { u } = await tenantWithConfigs();
    await t.stack.stream.idle();
    const auditBefore = await t.call('GET', '/api/v1/audit/verify', { token: u.viewer });
    const r = await t.call('POST', '/api/v1/config/promotions', {
      token: u.deployer,
      body: { sourceEnvironment: 'dev', targetEnvironment: 'staging', promotionType: 'PATTERN', keyPatterns: ['query.*'], dryRun: true },
    });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({
      dryRun: true,
      changes: [{ kind: 'config', key: 'query.timeout', action: 'add', to: '180s' }],
      approval: { required: false },
    });
    expect(r.body.gates.map((g: any) => g.gate)).toEqual(['policy_compliance', 'tests', 'security_scan', 'cost_analysis', 'performance_baseline']);
    await t.stack.stream.idle();
    expect((await t.call('GET', '/api/v1/audit/verify', { token: u.viewer })).body).toEqual(auditBefore.body);
    expect((await t.call('GET', '/api/v1/promotions', { token: u.viewer })).body.items).toEqual([]);
  });

  it('SELECTIVE promotes only the chosen ids; an action not allowed now answers 409 with the allowed ones', async () => {
    const { u } = await tenantWithConfigs();
    const flags = await t.call('GET', '/api/v1/environments/dev/flags', { token: u.viewer });
    const r = await t.call('POST', '/api/v1/config/promotions', {
      token: u.deployer,
      body: {
        autoStart: true,
        sourceEnvironment: 'dev',
        targetEnvironment: 'staging',
        promotionType: 'SELECTIVE',
        flagIds: [flags.body.items[0].id],
        notes: 'flag only',
      },
    });
    const done = await waitFor(t, u.viewer, r.body.id, ['COMPLETED', 'FAILED']);
    expect(done.status).toBe('COMPLETED');
    const stagingFlags = await t.call('GET', '/api/v1/environments/staging/flags', { token: u.viewer });
    const stagingConfigs = await t.call('GET', '/api/v1/environments/staging/configs', { token: u.viewer });
    expect(stagingFlags.body.items.map((i: any) => i.key)).toEqual(['new-ui']);
    expect(stagingConfigs.body.items).toEqual([]);
    const cancel = await t.call('DELETE', `/api/v1/promotions/${r.body.id}`, { token: u.deployer });
    expect(cancel.status).toBe(409);
    expect(cancel.body.error).toMatchObject({ status: 'COMPLETED', allowedActions: ['rollback'] });
    const listed = await t.call('GET', '/api/v1/config/promotions?status=completed', { token: u.viewer });
    expect(listed.body.items.map((p: any) => p.id)).toEqual([r.body.id]);
    expect(listed.body.items[0].gates.length).toBeGreaterThan(0); // the gate results (stored apart) come with the listing
    // Filters on top of an index (status, target, source, subject) see what they filter on.
    const ids = async (q: string) => (await t.call('GET', `/api/v1/promotions?${q}`, { token: u.viewer })).body.items.map((p: any) => p.id);
    expect(await ids('status=COMPLETED&target=staging')).toEqual([r.body.id]);
    expect(await ids('status=COMPLETED&target=production')).toEqual([]);
    expect(await ids('status=COMPLETED&source=dev&subject=config')).toEqual([r.body.id]);
    expect(await ids('status=COMPLETED&source=staging')).toEqual([]);
  });

  it('validates bodies and ids', async () => {
    const { u } = await tenantWithConfigs();
    const bad = await t.call('POST', '/api/v1/config/promotions', {
      token: u.deployer,
      body: { sourceEnvironment: 'dev', targetEnvironment: 'staging', promotionType: 'SELECTIVE' },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.issues[0].path).toBe('configIds');
    expect((await t.call('GET', '/api/v1/promotions/nope', { token: u.viewer })).status).toBe(400);
    const badStatus = await t.call('GET', '/api/v1/promotions?status=done', { token: u.viewer });
    expect(badStatus.status).toBe(400);
    expect(badStatus.body.error.issues[0].path).toBe('query.status');
    // Names every object has (the aliases are a plain object) are unknown statuses too, not a 500.
    for (const name of ['__proto__', 'constructor', 'toString', 'hasOwnProperty']) {
      expect((await t.call('GET', `/api/v1/promotions?status=${name}`, { token: u.viewer })).status, name).toBe(400);
    }
    expect((await t.call('GET', '/api/v1/promotions/prm_0000000000000000000', { token: u.viewer })).status).toBe(404);
    expect((await t.call('POST', '/api/v1/promotions', { token: u.viewer, body: { sourceEnvironment: 'dev', targetEnvironment: 'staging' } })).status).toBe(
      403,
    );
  });
});

describe('manual execution and scheduling', () => {
  it('a manual promotion waits for /execute; /schedule records the time', async () => {
    const { u } = await tenantWithConfigs();
    const r = await t.call('POST', '/api/v1/promotions', {
      token: u.deployer,
      body: { sourceEnvironment: 'dev', targetEnvironment: 'staging', trigger: 'manual' },
    });
    const parked = await waitForToken(t, u.viewer, r.body.id);
    expect(parked).toMatchObject({ status: 'APPROVED', waitingFor: 'execution' });
    const preview = await t.call('POST', `/api/v1/promotions/${r.body.id}/execute`, { token: u.deployer, body: { dryRun: true } });
    expect(preview.body.changes).toHaveLength(3);
    const past = await t.call('POST', `/api/v1/promotions/${r.body.id}/schedule`, { token: u.deployer, body: { at: '2001-01-01T00:00:00Z' } });
    expect(past.status).toBe(400);
    const at = new Date(Date.now() + 3600_000).toISOString();
    const sched = await t.call('POST', `/api/v1/promotions/${r.body.id}/schedule`, { token: u.deployer, body: { at } });
    expect(sched.body).toMatchObject({ status: 'SCHEDULED', scheduledAt: at });
    const go = await t.call('POST', `/api/v1/promotions/${r.body.id}/execute`, { token: u.deployer, body: {} });
    expect(go.status).toBe(202);
    expect((await waitFor(t, u.viewer, r.body.id, ['COMPLETED', 'FAILED'])).status).toBe('COMPLETED');
  });
});

describe('scheduled promotions', () => {
  it('a schedule fires the execution at its time; cancelling removes the schedule', async () => {
    const { tenant, u } = await tenantWithConfigs();
    const r = await t.call('POST', '/api/v1/promotions', {
      token: u.deployer,
      body: { sourceEnvironment: 'dev', targetEnvironment: 'staging', trigger: 'manual' },
    });
    await waitForToken(t, u.viewer, r.body.id);
    const at = new Date(Date.now() + 1500).toISOString();
    expect((await t.call('POST', `/api/v1/promotions/${r.body.id}/schedule`, { token: u.deployer, body: { at } })).body.status).toBe('SCHEDULED');
    expect(t.stack.scheduler.pending()).toContain(scheduleName({ tenant, id: r.body.id }));
    const done = await waitFor(t, u.viewer, r.body.id, ['COMPLETED', 'FAILED', 'CANCELLED'], 20_000);
    expect(done.status).toBe('COMPLETED');
    expect(done.transitions.map((x: any) => x.status)).toEqual(['PENDING', 'VALIDATING', 'APPROVED', 'SCHEDULED', 'EXECUTING', 'COMPLETED']);
    expect(t.stack.scheduler.pending()).not.toContain(scheduleName({ tenant, id: r.body.id }));

    await t.call('POST', '/api/v1/environments/dev/configs', { token: u.deployer, body: { key: 'later', value: 1 } });
    const r2 = await t.call('POST', '/api/v1/promotions', {
      token: u.deployer,
      body: { sourceEnvironment: 'dev', targetEnvironment: 'staging', trigger: 'manual' },
    });
    await waitForToken(t, u.viewer, r2.body.id);
    await t.call('POST', `/api/v1/promotions/${r2.body.id}/schedule`, { token: u.deployer, body: { at: new Date(Date.now() + 3600_000).toISOString() } });
    expect((await t.call('DELETE', `/api/v1/promotions/${r2.body.id}?reason=not%20tonight`, { token: u.deployer })).body.status).toBe('CANCELLED');
    expect(t.stack.scheduler.pending()).not.toContain(scheduleName({ tenant, id: r2.body.id }));
  });
});

describe('idempotency', () => {
  it('same key and body: same response, one promotion; same key, other body: 422', async () => {
    const { u } = await tenantWithConfigs();
    const body = { sourceEnvironment: 'dev', targetEnvironment: 'staging', trigger: 'manual' };
    const headers = { 'idempotency-key': 'req-123' };
    // The second request may arrive while the first still runs: it is told to retry (409, Retry-After), as a client would.
    const again = async (): Promise<Res> => {
      for (let i = 0; ; i++) {
        const r = await t.call('POST', '/api/v1/promotions', { token: u.deployer, body, headers });
        if (r.status !== 409 || i === 20) return r;
        expect(r.body.error.code).toBe('CONCURRENT_MODIFICATION');
        expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(0);
        await new Promise((res) => setTimeout(res, 100));
      }
    };
    const [a, b] = await Promise.all([
      t.call('POST', '/api/v1/promotions', { token: u.deployer, body, headers }),
      new Promise((r) => setTimeout(r, 100)).then(again),
    ]);
    expect(a.status).toBe(201);
    expect(b.status).toBe(201);
    expect(b.body.id).toBe(a.body.id);
    expect(b.headers.get('idempotent-replayed')).toBe('true');
    const other = await t.call('POST', '/api/v1/promotions', { token: u.deployer, body: { ...body, notes: 'different' }, headers });
    expect(other.status).toBe(422);
    expect((await t.call('GET', '/api/v1/promotions', { token: u.viewer })).body.items).toHaveLength(1);
    expect((await t.call('POST', '/api/v1/promotions', { token: u.deployer, body, headers: { 'idempotency-key': 'bad key!' } })).status).toBe(400);
  });
});

describe('rollback of a promotion', () => {
  it('puts back only what the promotion changed; refuses when those keys changed since', async () => {
    const { u } = await tenantWithConfigs();
    await t.call('POST', '/api/v1/environments/staging/configs', { token: u.deployer, body: { key: 'query.timeout', value: '60s' } });
    await t.call('POST', '/api/v1/environments/staging/configs', { token: u.deployer, body: { key: 'staging.only', value: true } });
    const r = await t.call('POST', '/api/v1/config/promotions', {
      token: u.deployer,
      body: { autoStart: true, sourceEnvironment: 'dev', targetEnvironment: 'staging', promotionType: 'PATTERN', keyPatterns: ['query.*', 'ai.*'] },
    });
    expect((await waitFor(t, u.viewer, r.body.id, ['COMPLETED', 'FAILED'])).status).toBe('COMPLETED');
    expect((await t.call('POST', `/api/v1/config/promotions/${r.body.id}/rollback`, { token: u.deployer, body: {} })).status).toBe(400);
    const dry = await t.call('POST', `/api/v1/config/promotions/${r.body.id}/rollback`, { token: u.deployer, body: { reason: 'bad timeout', dryRun: true } });
    expect(dry.body.reverts).toEqual([
      { kind: 'config', key: 'ai.model', from: 'gpt-4-turbo', action: 'remove' },
      { kind: 'config', key: 'query.timeout', from: '180s', to: '60s', action: 'modify' },
    ]);
    const rb = await t.call('POST', `/api/v1/config/promotions/${r.body.id}/rollback`, { token: u.deployer, body: { reason: 'bad timeout' } });
    expect(rb.status, JSON.stringify(rb.body)).toBe(200);
    // A rollback record run by the flow (dev → staging needs no approval), then the promotion is ROLLED_BACK.
    expect(rb.body.promotion).toMatchObject({ sourceEnvironment: 'staging', targetEnvironment: 'staging', rollback: { of: r.body.id } });
    expect((await waitFor(t, u.viewer, rb.body.promotion.id, ['COMPLETED', 'FAILED', 'VALIDATION_FAILED'])).status).toBe('COMPLETED');
    expect((await waitFor(t, u.viewer, r.body.id, ['ROLLED_BACK'])).status).toBe('ROLLED_BACK');
    const configs = await t.call('GET', '/api/v1/environments/staging/configs', { token: u.viewer });
    expect(Object.fromEntries(configs.body.items.map((i: any) => [i.key, i.value]))).toEqual({ 'query.timeout': '60s', 'staging.only': true });

    const again = await t.call('POST', '/api/v1/config/promotions', {
      token: u.deployer,
      body: { autoStart: true, sourceEnvironment: 'dev', targetEnvironment: 'staging', promotionType: 'PATTERN', keyPatterns: ['query.*'] },
    });
    await waitFor(t, u.viewer, again.body.id, ['COMPLETED']);
    const id = (await t.call('GET', '/api/v1/environments/staging/configs', { token: u.viewer })).body.items.find((i: any) => i.key === 'query.timeout').id;
    await t.call('PUT', `/api/v1/environments/staging/configs/${id}`, { token: u.deployer, body: { value: '999s' } });
    const conflict = await t.call('POST', `/api/v1/promotions/${again.body.id}/rollback`, { token: u.deployer, body: { reason: 'x' } });
    expect(conflict.status).toBe(409);
    expect(conflict.body.error.conflicts).toEqual(['config:query.timeout']);
  });
});

describe('listing by status', () => {
  it('filters by status through the by-status, by-target and all indexes alike (the indexes do not project status)', async () => {
    const { u } = await tenantWithConfigs();
    const create = async (sourceEnvironment: string, targetEnvironment: string, autoStart: boolean) => {
      const r = await t.call('POST', '/api/v1/config/promotions', { token: u.deployer, body: { autoStart, sourceEnvironment, targetEnvironment } });
      expect(r.status, JSON.stringify(r.body)).toBe(201);
      return r.body.id as string;
    };
    const changeDev = async (value: string) => {
      const r = await t.call('POST', '/api/v1/environments/dev/items/batch', { token: u.deployer, body: { set: [{ key: 'query.timeout', value }] } });
      expect(r.status, JSON.stringify(r.body)).toBe(200);
    };
    const completed = await create('dev', 'staging', true);
    expect((await waitFor(t, u.viewer, completed, ['COMPLETED', 'FAILED'])).status).toBe('COMPLETED');
    await changeDev('200s');
    const pendingStaging = await create('dev', 'staging', false);
    const pendingProduction = await create('staging', 'production', false);
    await changeDev('220s');
    const cancelled = await create('dev', 'staging', false);
    expect((await t.call('DELETE', `/api/v1/promotions/${cancelled}`, { token: u.deployer })).status).toBe(200);
    expect((await waitFor(t, u.viewer, cancelled, ['CANCELLED'])).status).toBe('CANCELLED');

    /** Every page of a listing (a page may hold fewer items than its limit: the status is filtered on the items). */
    const ids = async (q: string) => {
      const out: string[] = [];
      let cursor: string | undefined;
      do {
        const r = await t.call('GET', `/api/v1/promotions?${q}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, { token: u.viewer });
        expect(r.status, JSON.stringify(r.body)).toBe(200);
        out.push(...r.body.items.map((p: any) => p.id));
        cursor = r.body.nextCursor;
      } while (cursor);
      return out;
    };
    // Several statuses without a target: the all index (newest first).
    expect(await ids('status=pending')).toEqual([pendingProduction, pendingStaging]);
    expect(await ids('status=failed')).toEqual([cancelled]);
    expect(await ids('status=approved')).toEqual([]);
    expect(await ids('status=pending&source=dev')).toEqual([pendingStaging]);
    // Several statuses with a target: the by-target index.
    expect(await ids('status=pending&target=staging')).toEqual([pendingStaging]);
    expect(await ids('status=pending&target=production')).toEqual([pendingProduction]);
    expect(await ids('status=failed&target=staging')).toEqual([cancelled]);
    expect(await ids('status=failed&target=production')).toEqual([]);
    // One status: the by-status index.
    expect(await ids('status=PENDING')).toEqual([pendingProduction, pendingStaging]);
    expect(await ids('status=completed&target=staging')).toEqual([completed]);
    expect(await ids('status=CANCELLED&target=staging')).toEqual([cancelled]);
    // No status: everything into the target.
    expect(await ids('target=staging')).toEqual([cancelled, pendingStaging, completed]);
    // Pages of one: the cursor walks the index; pages the status filter empties still continue.
    const pages: number[] = [];
    let cursor: string | undefined;
    const walked: string[] = [];
    do {
      const r = await t.call('GET', `/api/v1/promotions?status=pending&target=staging&limit=1${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, {
        token: u.viewer,
      });
      pages.push(r.body.items.length);
      walked.push(...r.body.items.map((p: any) => p.id));
      cursor = r.body.nextCursor;
    } while (cursor);
    expect(walked).toEqual([pendingStaging]);
    expect(pages.every((n) => n <= 1)).toBe(true);
    expect(pages.length).toBeGreaterThanOrEqual(3); // the by-target index holds three promotions into staging
  });
});
