import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { waitFor, waitForToken } from '../support/promotions.ts';
import { makeLine, startTestStack } from '../support/stack.ts';

describe('local restart', () => {
  it('resumes every unfinished promotion after a stop mid-flow; each converges with nothing done twice', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'stageline-recovery-'));
    const shared = { tableName: `t-${randomUUID().slice(0, 8)}`, journalFile: join(dir, 'executions.json') };
    let crash: (() => void) | undefined;
    let release: (() => void) | undefined;
    const released = new Promise<void>((r) => (release = r));
    let hang = false;
    const first = await startTestStack({
      ...shared,
      beforeStep: async (payload) => {
        // Stop the stack when the first promotion has executed but not yet been verified.
        if ((payload as { step: string }).step === 'verify' && !hang) {
          hang = true;
          crash?.();
          // The process "dies" here: the step never completes; the stop below ends it.
          await released;
          throw new Error('process killed');
        }
      },
    });
    const tenant = first.tenant();
    const u = await first.users(tenant);
    await makeLine(first, u.admin);
    // Staging bakes (execute, bake, verify: the crash lands between execute and verify); production has no bake time (one step).
    expect((await first.call('PATCH', '/api/v1/environments/staging', { token: u.admin, body: { version: 1, bakeSeconds: 1 } })).status).toBe(200);
    await first.call('POST', '/api/v1/environments/dev/items/batch', {
      token: u.deployer,
      body: {
        set: [
          { key: 'a', value: 1 },
          { key: 'b', value: 2 },
        ],
      },
    });

    // B waits for approval (staging → production), C waits for its manual go; A will crash between execute and verify.
    const a = await first.call('POST', '/api/v1/promotions', { token: u.deployer, body: { sourceEnvironment: 'dev', targetEnvironment: 'staging' } });
    const crashed = new Promise<void>((r) => (crash = r));
    await crashed;
    await waitFor(first, u.viewer, a.body.id, ['EXECUTING']);
    const stagingAfterExecute = await first.call('GET', '/api/v1/environments/staging', { token: u.viewer });
    const b = await first.call('POST', '/api/v1/promotions', { token: u.deployer, body: { sourceEnvironment: 'staging', targetEnvironment: 'production' } });
    await waitForToken(first, u.viewer, b.body.id);
    await first.call('POST', '/api/v1/environments/dev/configs', { token: u.deployer, body: { key: 'c', value: 3 } });
    const c = await first.call('POST', '/api/v1/promotions', {
      token: u.deployer,
      body: { sourceEnvironment: 'dev', targetEnvironment: 'staging', trigger: 'manual' },
    });
    await waitForToken(first, u.viewer, c.body.id);
    const stopping = first.stop();
    release?.();
    await stopping;

    const second = await startTestStack(shared);
    const u2 = { ...u };
    // Tokens of the first issuer are not valid for the second: mint new ones for the same users.
    u2.viewer = await second.token({ sub: `viewer-${tenant}`, email: `viewer@${tenant}.test`, tenant, groups: ['viewer'] });
    u2.deployer = await second.token({ sub: `deployer-${tenant}`, email: `deployer@${tenant}.test`, tenant, groups: ['deployer'] });
    u2.approver = await second.token({ sub: `approver-${tenant}`, email: `approver@${tenant}.test`, tenant, groups: ['approver'] });
    expect((await waitFor(second, u2.viewer, a.body.id, ['COMPLETED', 'FAILED'])).status).toBe('COMPLETED');
    await waitForToken(second, u2.viewer, b.body.id);
    expect((await second.call('POST', `/api/v1/promotions/${b.body.id}/approve`, { token: u2.approver, body: {} })).status).toBe(200);
    await waitForToken(second, u2.viewer, c.body.id);
    expect((await second.call('POST', `/api/v1/promotions/${c.body.id}/execute`, { token: u2.deployer, body: {} })).status).toBe(202);
    for (const p of [b, c]) expect((await waitFor(second, u2.viewer, p.body.id, ['COMPLETED', 'FAILED'])).status).toBe('COMPLETED');

    // Nothing twice: one execute per baked promotion (B executes and completes in one step), one completion each,
    // and A's snapshot is the one written before the crash.
    const audit = await second.call('GET', '/api/v1/audit?entityType=promotion&limit=200', { token: u2.viewer });
    for (const p of [a, b, c]) {
      expect(audit.body.items.filter((e: any) => e.entityId === p.body.id && e.action === 'promotion.execute')).toHaveLength(p === b ? 0 : 1);
      expect(audit.body.items.filter((e: any) => e.entityId === p.body.id && e.action === 'promotion.complete')).toHaveLength(1);
    }
    const snaps = await second.call('GET', '/api/v1/environments/staging/snapshots', { token: u2.viewer });
    expect(snaps.body.items.map((s: any) => s.seq)).toEqual([2, 1, 0]);
    expect(snaps.body.items[1].digest).toBe(stagingAfterExecute.body.snapshot.digest);
    await second.stack.stream.idle();
    expect((await second.call('GET', '/api/v1/audit/verify', { token: u2.viewer })).body.ok).toBe(true);
    await second.stop();
  });
});
