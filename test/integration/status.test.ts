import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor, waitForToken } from '../support/promotions.ts';
import { makeLine, startTestStack, type TestStack } from '../support/stack.ts';

let t: TestStack;
beforeAll(async () => {
  t = await startTestStack();
});
afterAll(() => t.stop());

describe('status (seed 003 promote status)', () => {
  it('shows per environment what runs, promoted at/by, gate marks, and pending promotions with why they are blocked', async () => {
    const u = await t.users(t.tenant());
    await makeLine(t, u.admin);
    await t.call('PATCH', '/api/v1/environments/production', { token: u.admin, body: { version: 1, gates: { security_scan: true } } });
    await t.call('POST', '/api/v1/artifacts/web/versions', { token: u.deployer, body: { version: 'v1.2.4', digest: `sha256:${'4'.repeat(64)}` } });
    const toStaging = await t.call('POST', '/api/v1/promotions', {
      token: u.deployer,
      body: { sourceEnvironment: 'dev', targetEnvironment: 'staging', artifact: 'web', version: 'v1.2.4' },
    });
    await waitFor(t, u.viewer, toStaging.body.id, ['COMPLETED']);
    const blocked = await t.call('POST', '/api/v1/promotions', {
      token: u.deployer,
      body: { sourceEnvironment: 'staging', targetEnvironment: 'production', artifact: 'web', version: 'v1.2.4' },
    });
    await waitFor(t, u.viewer, blocked.body.id, ['VALIDATION_FAILED']);
    await t.call('POST', '/api/v1/environments/staging/configs', { token: u.deployer, body: { key: 'k', value: 1 } });
    const waiting = await t.call('POST', '/api/v1/config/promotions', {
      token: u.deployer,
      body: { autoStart: true, sourceEnvironment: 'staging', targetEnvironment: 'production', promotionType: 'FULL' },
    });
    await waitFor(t, u.viewer, waiting.body.id, ['VALIDATION_FAILED', 'AWAITING_APPROVAL']);

    const s = await t.call('GET', '/api/v1/status', { token: u.viewer });
    expect(s.status).toBe(200);
    expect(s.body.environments.map((e: any) => e.name)).toEqual(['dev', 'staging', 'production']);
    const staging = s.body.environments[1];
    expect(staging.artifacts).toEqual([
      expect.objectContaining({ artifact: 'web', version: 'v1.2.4', tag: 'v1.2.4-staging', promotedBy: expect.stringContaining('deployer@') }),
    ]);
    expect(staging.gates.marks).toBe('✓----');
    expect(s.body.pending).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          id: blocked.body.id,
          subject: 'web@v1.2.4',
          from: 'staging',
          to: 'production',
          why: expect.stringMatching(/^Security scan failed: /),
        }),
      ]),
    );
    const only = await t.call('GET', '/api/v1/status?env=production', { token: u.viewer });
    expect(only.body.environments).toHaveLength(1);
    expect((await t.call('GET', '/api/v1/status?env=nope', { token: u.viewer })).status).toBe(404);
  });

  it('explains a promotion that waits for approvals', async () => {
    const u = await t.users(t.tenant());
    await makeLine(t, u.admin);
    await t.call('POST', '/api/v1/environments/staging/configs', { token: u.deployer, body: { key: 'k', value: 1 } });
    const p = await t.call('POST', '/api/v1/promotions', { token: u.deployer, body: { sourceEnvironment: 'staging', targetEnvironment: 'production' } });
    await waitForToken(t, u.viewer, p.body.id);
    const s = await t.call('GET', '/api/v1/status', { token: u.viewer });
    expect(s.body.pending[0]).toMatchObject({
      id: p.body.id,
      status: 'AWAITING_APPROVAL',
      why: expect.stringMatching(/^waiting for 1 approval from approver\/admin \(expires /),
    });
  });

  it('counts the approvals given so far, and shows the last outcome of each environment however it ended', async () => {
    const u = await t.users(t.tenant());
    await makeLine(t, u.admin);
    await t.call('POST', '/api/v1/promotions/rules', {
      token: u.admin,
      body: { name: 'two', source_environment: 'staging', target_environment: 'production', required_approvers: 2 },
    });
    await t.call('POST', '/api/v1/environments/staging/configs', { token: u.deployer, body: { key: 'k', value: 1 } });
    const p = await t.call('POST', '/api/v1/promotions', { token: u.deployer, body: { sourceEnvironment: 'staging', targetEnvironment: 'production' } });
    await waitForToken(t, u.viewer, p.body.id);
    expect((await t.call('POST', `/api/v1/promotions/${p.body.id}/approve`, { token: u.approver, body: {} })).status).toBe(200);
    const s = await t.call('GET', '/api/v1/status', { token: u.viewer });
    // approvedBy is only written when the promotion is APPROVED: the status counts the approvals themselves.
    expect(s.body.pending[0].why).toMatch(/^1 of 2 approvals given; waiting for 1 more approval from approver\/admin \(expires /);
    expect((await t.call('POST', `/api/v1/promotions/${p.body.id}/reject`, { token: u.admin, body: { reason: 'not today' } })).status).toBe(200);
    const after = await t.call('GET', '/api/v1/status?env=production', { token: u.viewer });
    expect(after.body.environments[0].lastPromotion).toBeNull();
    expect(after.body.environments[0].lastOutcome).toMatchObject({
      id: p.body.id,
      status: 'REJECTED',
      reason: expect.stringMatching(/^rejected by admin@\S+: not today$/),
    });
  });

  it('answers a refresh that finds nothing new with 304 and no body, and a change with 200 and a new ETag (what the console polls)', async () => {
    const tenant = t.tenant();
    const u = await t.users(tenant);
    await makeLine(t, u.admin);
    // Plain fetch: the raw answer (the stack still checks it against the document).
    const get = (token: string, headers: Record<string, string> = {}) =>
      fetch(`${t.url}/api/v1/status`, { headers: { authorization: `Bearer ${token}`, ...headers } });
    const first = await get(u.viewer);
    expect(first.status).toBe(200);
    const body = await first.text();
    const etag = first.headers.get('etag')!;
    expect(etag).toMatch(/^W\/"[A-Za-z0-9_-]{22}"$/);
    // Never stored by a shared cache, revalidated before reuse, per caller.
    expect(first.headers.get('cache-control')).toBe('private, no-cache');
    expect(first.headers.get('vary')).toMatch(/authorization/i);
    expect(first.headers.get('access-control-expose-headers')).toContain('etag');
    for (const inm of [etag, `"nope", ${etag}`, etag.replace(/^W\//, ''), '*']) {
      const again = await get(u.viewer, { 'if-none-match': inm });
      expect(again.status, inm).toBe(304);
      expect(await again.text()).toBe('');
      expect(again.headers.get('etag')).toBe(etag);
      expect(again.headers.get('content-type')).toBeNull();
    }
    // The same answer for another person of the tenant: the same validator. A stale one gets the body.
    expect((await get(u.deployer, { 'if-none-match': etag })).status).toBe(304);
    const stale = await get(u.viewer, { 'if-none-match': 'W/"stale"' });
    expect(stale.status).toBe(200);
    expect(await stale.text()).toBe(body);
    // Another tenant's line of the same names is another answer.
    const other = await t.users(t.tenant());
    await makeLine(t, other.admin);
    expect((await get(other.viewer, { 'if-none-match': etag })).status).toBe(200);
    // A write that changes what the status shows: 200, a new ETag, and the new one revalidates.
    await t.call('POST', '/api/v1/environments/dev/configs', { token: u.deployer, body: { key: 'poll.k', value: 1 } });
    const changed = await get(u.viewer, { 'if-none-match': etag });
    expect(changed.status).toBe(200);
    const next = changed.headers.get('etag')!;
    expect(next).not.toBe(etag);
    expect(((await changed.json()) as { environments: { name: string; config: unknown }[] }).environments[0]!.name).toBe('dev');
    expect((await get(u.viewer, { 'if-none-match': next })).status).toBe(304);
    // Writes and errors carry no validator.
    const write = await t.call('POST', '/api/v1/environments/dev/configs', {
      token: u.deployer,
      body: { key: 'poll.k2', value: 2 },
      headers: { 'if-none-match': '*' },
    });
    expect(write.status).toBe(201);
    expect(write.headers.get('etag')).toBeNull();
    const missing = await t.call('GET', '/api/v1/status?env=nope', { token: u.viewer, headers: { 'if-none-match': '*' } });
    expect(missing.status).toBe(404);
    expect(missing.headers.get('etag')).toBeNull();
  });
});
