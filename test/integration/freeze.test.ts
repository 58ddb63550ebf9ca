import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliOf } from '../support/cli.ts';
import { waitFor } from '../support/promotions.ts';
import { makeLine, startTestStack, type TestStack } from '../support/stack.ts';

let t: TestStack;
beforeAll(async () => {
  t = await startTestStack();
});
afterAll(() => t.stop());

/** A time on the stack's clock (local/clock.ts), which the tests move instead of waiting on the wall. */
const inSeconds = (s: number) => new Date(t.stack.clock.now() + s * 1000).toISOString();

async function tenantWithLine() {
  const tenant = t.tenant();
  const u = await t.users(tenant);
  await makeLine(t, u.admin);
  await t.call('POST', '/api/v1/environments/dev/items/batch', { token: u.deployer, body: { set: [{ key: 'a', value: 1 }] } });
  return { tenant, u };
}

describe('freeze windows', () => {
  it('are listed, added and removed through the API: roles, tenant isolation, clear errors', async () => {
    const { u } = await tenantWithLine();
    const weekend = await t.call('POST', '/api/v1/environments/production/freeze-windows', {
      token: u.admin,
      body: { reason: 'weekend', cron: '0 16 * * 5', endCron: '0 8 * * 1', timezone: 'Europe/Berlin' },
    });
    expect(weekend.status).toBe(201);
    expect(weekend.body).toMatchObject({
      id: expect.stringMatching(/^frz_/),
      scope: 'production',
      kind: 'recurring',
      next: { start: expect.any(String), end: expect.any(String) },
    });
    const xmas = await t.call('POST', '/api/v1/freeze-windows', {
      token: u.admin,
      body: { reason: 'holidays', start: '2026-12-24T00:00:00Z', end: '2027-01-02T00:00:00Z' },
    });
    expect(xmas.body.scope).toBe('*');
    const listed = await t.call('GET', '/api/v1/freeze-windows', { token: u.viewer });
    expect(listed.body.items.map((w: any) => w.id).sort()).toEqual([weekend.body.id, xmas.body.id].sort());
    const staging = await t.call('GET', '/api/v1/environments/staging/freeze-windows', { token: u.viewer });
    expect(staging.body.items.map((w: any) => w.id)).toEqual([xmas.body.id]); // tenant-wide applies; production's does not
    expect(staging.body).toMatchObject({ current: null, next: { id: xmas.body.id } });

    expect(
      (await t.call('POST', '/api/v1/freeze-windows', { token: u.deployer, body: { reason: 'x', start: inSeconds(10), end: inSeconds(20) } })).status,
    ).toBe(403);
    const bad = await t.call('POST', '/api/v1/freeze-windows', {
      token: u.admin,
      body: { reason: 'x', cron: '0 16 * * 5', endCron: '0 8 * * 1', timezone: 'Mars/Olympus' },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.issues[0]).toMatchObject({ path: 'timezone', message: expect.stringMatching(/IANA/) });
    expect(
      (await t.call('POST', '/api/v1/environments/nowhere/freeze-windows', { token: u.admin, body: { reason: 'x', start: inSeconds(10), end: inSeconds(20) } }))
        .status,
    ).toBe(404);

    const other = await t.users(t.tenant());
    expect((await t.call('GET', '/api/v1/freeze-windows', { token: other.admin })).body.items).toEqual([]);
    expect((await t.call('DELETE', `/api/v1/freeze-windows/${xmas.body.id}`, { token: other.admin })).status).toBe(404);
    expect((await t.call('DELETE', `/api/v1/freeze-windows/${xmas.body.id}`, { token: u.viewer })).status).toBe(403);
    expect((await t.call('DELETE', `/api/v1/freeze-windows/${xmas.body.id}`, { token: u.admin })).status).toBe(204);
    expect((await t.call('DELETE', `/api/v1/freeze-windows/${xmas.body.id}`, { token: u.admin })).status).toBe(404);
    expect((await t.call('DELETE', '/api/v1/freeze-windows/nope', { token: u.admin })).status).toBe(400);
    const audit = await t.call('GET', '/api/v1/audit?entityType=freeze-window', { token: u.viewer });
    expect(audit.body.items.map((e: any) => e.action).sort()).toEqual(['freeze.add', 'freeze.add', 'freeze.remove']);
  });

  it('holds a promotion that asked to wait (named by /validate gates, status and decision record), then the scheduler resumes it when the window ends', async () => {
    const { u } = await tenantWithLine();
    const w = await t.call('POST', '/api/v1/environments/staging/freeze-windows', {
      token: u.admin,
      body: { reason: 'load test', start: inSeconds(-1), end: inSeconds(3600) },
    });
    const status = await t.call('GET', '/api/v1/status', { token: u.viewer });
    expect(status.body.environments.find((e: any) => e.name === 'staging').freeze.current).toMatchObject({ id: w.body.id, reason: 'load test' });
    const p = await t.call('POST', '/api/v1/promotions', {
      token: u.deployer,
      body: { sourceEnvironment: 'dev', targetEnvironment: 'staging', whenFrozen: 'wait' },
    });
    expect(p.status).toBe(201);
    const held = await waitFor(t, u.viewer, p.body.id, ['SCHEDULED']);
    expect(held.heldBy).toMatchObject({ window: w.body.id, reason: 'load test', until: w.body.end });
    expect(held.gates.find((g: any) => g.gate === 'freeze_window')).toMatchObject({
      verdict: 'WARN',
      blocking: false,
      reason: expect.stringContaining('execution waits for its end'),
    });
    const decision = await t.call('GET', `/api/v1/promotions/${p.body.id}/decision`, { token: u.viewer });
    expect(decision.body.freeze).toMatchObject({ whenFrozen: 'wait', heldBy: { window: w.body.id } });
    // Held for the hour: nothing resumes it before the window's end, however long this machine takes.
    expect((await t.call('GET', `/api/v1/promotions/${p.body.id}`, { token: u.viewer })).body.status).toBe('SCHEDULED');
    // The window's end comes (the clock the scheduler and the handlers read moves there): the scheduler resumes it.
    t.stack.clock.advanceTo(Date.parse(w.body.end));
    const done = await waitFor(t, u.viewer, p.body.id, ['COMPLETED', 'FAILED', 'CANCELLED'], 30_000);
    expect(done.status).toBe('COMPLETED');
    expect(new Date(done.completedAt).getTime()).toBeGreaterThanOrEqual(new Date(w.body.end).getTime());
    expect(done.transitions.map((x: any) => x.status)).toEqual(['PENDING', 'VALIDATING', 'APPROVED', 'SCHEDULED', 'EXECUTING', 'COMPLETED']);
  });

  it('a window removed while it holds a promotion releases it at once, not at the end the hold was told', async () => {
    const { u } = await tenantWithLine();
    const w = await t.call('POST', '/api/v1/environments/staging/freeze-windows', {
      token: u.admin,
      body: { reason: 'quarter close', start: inSeconds(-1), end: inSeconds(2 * 3600) },
    });
    const p = await t.call('POST', '/api/v1/promotions', {
      token: u.deployer,
      body: { sourceEnvironment: 'dev', targetEnvironment: 'staging', whenFrozen: 'wait' },
    });
    expect(p.status).toBe(201);
    const held = await waitFor(t, u.viewer, p.body.id, ['SCHEDULED']);
    expect(held.heldBy).toMatchObject({ window: w.body.id, until: w.body.end });
    expect((await t.call('DELETE', `/api/v1/freeze-windows/${w.body.id}`, { token: u.admin })).status).toBe(204);
    const done = await waitFor(t, u.viewer, p.body.id, ['COMPLETED', 'FAILED', 'CANCELLED'], 10_000);
    expect(done.status).toBe('COMPLETED');
    expect(new Date(done.completedAt).getTime()).toBeLessThan(new Date(w.body.end).getTime());
  });

  it('cancels a promotion that did not ask to wait, naming the window; the target stays as it was', async () => {
    const { u } = await tenantWithLine();
    const w = await t.call('POST', '/api/v1/freeze-windows', { token: u.admin, body: { reason: 'quarter close', start: inSeconds(-1), end: inSeconds(600) } });
    const p = await t.call('POST', '/api/v1/promotions', { token: u.deployer, body: { sourceEnvironment: 'dev', targetEnvironment: 'staging' } });
    const done = await waitFor(t, u.viewer, p.body.id, ['CANCELLED', 'COMPLETED', 'FAILED']);
    expect(done.status).toBe('CANCELLED');
    expect(done.error).toMatchObject({ code: 'FROZEN', message: expect.stringContaining(`frozen by window ${w.body.id} (quarter close)`) });
    expect((await t.call('GET', '/api/v1/environments/staging', { token: u.viewer })).body.snapshot.seq).toBe(0);
  });

  it('refuses to schedule into a window, with the next allowed time', async () => {
    const { u } = await tenantWithLine();
    const p = await t.call('POST', '/api/v1/promotions', {
      token: u.deployer,
      body: { sourceEnvironment: 'dev', targetEnvironment: 'staging', trigger: 'manual' },
    });
    await waitFor(t, u.viewer, p.body.id, ['APPROVED']);
    const start = inSeconds(3600);
    const end = inSeconds(7200);
    await t.call('POST', '/api/v1/environments/staging/freeze-windows', { token: u.admin, body: { reason: 'maintenance', start, end } });
    const refused = await t.call('POST', `/api/v1/promotions/${p.body.id}/schedule`, { token: u.deployer, body: { at: inSeconds(5400) } });
    expect(refused.status).toBe(422);
    expect(refused.body.error.message).toMatch(/falls in freeze window frz_\w+ \(maintenance\)/);
    expect(refused.body.error.nextAllowed).toBe(new Date(end).toISOString());
    expect((await t.call('POST', `/api/v1/promotions/${p.body.id}/schedule`, { token: u.deployer, body: { at: inSeconds(9000) } })).status).toBe(200);
  });

  it('break-glass: an admin with a reason goes through a window (audited, evented, on the status page); a deployer cannot', async () => {
    const { u } = await tenantWithLine();
    await t.call('POST', '/api/v1/environments/staging/freeze-windows', {
      token: u.admin,
      body: { reason: 'freeze', start: inSeconds(-1), end: inSeconds(600) },
    });
    const refused = await t.call('POST', '/api/v1/promotions', {
      token: u.deployer,
      body: { sourceEnvironment: 'dev', targetEnvironment: 'staging' },
      headers: { 'x-break-glass-reason': 'hotfix' },
    });
    expect(refused.status).toBe(403);
    expect(refused.body.error.message).toMatch(/Break-glass needs the admin role/);
    const p = await t.call('POST', '/api/v1/promotions', {
      token: u.admin,
      body: { sourceEnvironment: 'dev', targetEnvironment: 'staging' },
      headers: { 'x-break-glass-reason': 'hotfix for incident 42' },
    });
    expect(p.status).toBe(201);
    const done = await waitFor(t, u.viewer, p.body.id, ['COMPLETED', 'CANCELLED', 'FAILED']);
    expect(done.status).toBe('COMPLETED');
    expect(done.freezeOverride).toMatchObject({ guard: 'freeze-window', reason: 'hotfix for incident 42', action: 'promotion.create' });
    const staging = (await t.call('GET', '/api/v1/status', { token: u.viewer })).body.environments.find((e: any) => e.name === 'staging');
    expect(staging.lastBreakGlass).toMatchObject({ guard: 'freeze-window', reason: 'hotfix for incident 42' });
    const audit = await t.call('GET', `/api/v1/audit?entityType=promotion&entityId=${p.body.id}`, { token: u.viewer });
    expect(audit.body.items.find((e: any) => e.action === 'breakglass.promotion.create').reason).toBe('break-glass (freeze-window): hotfix for incident 42');
    await t.stack.stream.idle();
    expect(
      t.stack.bus.published.some(
        (e: any) => e['detail-type'] === 'Break Glass Used' && e.detail.promotionId === p.body.id && e.detail.guard === 'freeze-window',
      ),
    ).toBe(true);
  });

  it('CLI: freeze add / list / remove', async () => {
    const { u } = await tenantWithLine();
    const cli = (...args: string[]) => cliOf(t)(u.admin, ...args);
    const added = await cli(
      'freeze',
      'add',
      '--env',
      'production',
      '--reason',
      'weekend',
      '--cron',
      '0 16 * * 5',
      '--end-cron',
      '0 8 * * 1',
      '--tz',
      'Europe/Berlin',
    );
    const id = added.stdout.match(/frz_\w+/)![0];
    expect(added.stdout).toMatch(/\(production\): (next |frozen now until )/); // a weekend window may be open right now
    const listed = await cli('freeze', 'list', '--env', 'production');
    expect(listed.stdout).toMatch(/^production: (open|FROZEN until)/m);
    expect(listed.stdout).toContain('0 16 * * 5 → 0 8 * * 1 (Europe/Berlin)');
    expect((await cli('freeze', 'remove', id)).stdout).toContain(`removed ${id}`);
    expect((await cli('freeze', 'list', '--json')).stdout).toContain('"items": []');
  });
});
