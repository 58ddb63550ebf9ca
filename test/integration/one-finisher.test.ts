import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalWorkflow } from '../../local/workflow.ts';
import { alarmArn, alarmEvent } from '../support/alarms.ts';
import { approveIfAsked, waitFor } from '../support/promotions.ts';
import { productionLine } from '../support/line.ts';
import { makeLine, startTestStack, type TestStack } from '../support/stack.ts';
import { states, waitUntil } from '../support/waves.ts';

/**
 * One writer ends a promotion: its flow. A monitor going to ALARM while a promotion bakes does not end it: the alarm's
 * function records the alarm (and a rollout's decision to stop) and answers the flow's waiting bake with a failure;
 * the flow's MarkFailed puts the targets back at once, not when the bake's timer would have ended.
 *
 * What each step of the flow found when it began is read through the API (as the promotion's viewer), at the step
 * seam the cloud has (the local workflow runs every task through it): the promotion was still EXECUTING when the
 * flow's `fail` step (MarkFailed) began, so that step, and no other actor, wrote its end.
 */
let t: TestStack;
/** per promotion: the viewer's token (set when the test starts it), and each step as it began with the status it found */
const viewers = new Map<string, string>();
const seen = new Map<string, { step: string; target?: string; status: string }[]>();

beforeAll(async () => {
  t = await startTestStack({
    beforeStep: async (payload) => {
      const p = payload as { step: string; promotionId: string; target?: string };
      const token = viewers.get(p.promotionId);
      if (!token) return;
      const status = (await t.call('GET', `/api/v1/promotions/${p.promotionId}`, { token })).body.status as string;
      seen.set(p.promotionId, [...(seen.get(p.promotionId) ?? []), { step: p.step, ...(p.target ? { target: p.target } : {}), status }]);
    },
  });
}, 120_000);
afterAll(() => t?.stop());

const stepsOf = (id: string) => seen.get(id) ?? [];
const BAKE_SECONDS = 60;

describe('an alarm during a bake asks the flow, which ends the promotion (one writer)', () => {
  it('one target: the bake is cut short, MarkFailed finds the promotion EXECUTING and rolls it back long before the bake time', async () => {
    const tenant = t.tenant();
    const u = await t.users(tenant);
    await makeLine(t, u.admin);
    const alarm = alarmArn(`${tenant}/latency`);
    const patched = await t.call('PATCH', '/api/v1/environments/staging', {
      token: u.admin,
      body: { version: 1, bakeSeconds: BAKE_SECONDS, monitors: [alarm] },
    });
    expect(patched.status, JSON.stringify(patched.body)).toBe(200);
    await t.call('POST', '/api/v1/environments/dev/configs', { token: u.deployer, body: { key: 'feature.x', value: true } });
    const before = (await t.call('GET', '/api/v1/environments/staging', { token: u.viewer })).body.snapshot;
    const p = await t.call('POST', '/api/v1/promotions', { token: u.deployer, body: { sourceEnvironment: 'dev', targetEnvironment: 'staging' } });
    expect(p.status, JSON.stringify(p.body)).toBeLessThan(300);
    const id = p.body.id as string;
    viewers.set(id, u.viewer);
    // The flow bakes: its Bake task began (its token kept on the promotion).
    await waitUntil(() => stepsOf(id).some((s) => s.step === 'bake'), 15_000);
    expect(stepsOf(id).map((s) => s.step)).toContain('bake');
    expect((await t.call('POST', '/dev/events', { body: alarmEvent(alarm, 'p99 > 800 ms') })).status).toBe(202);
    const done = await waitFor(t, u.viewer, id, ['ROLLED_BACK', 'FAILED', 'COMPLETED']);
    expect(done.status).toBe('ROLLED_BACK');
    expect(done.error.message).toContain(`monitor '${tenant}/latency' went to ALARM`);
    // The flow ended with it: its MarkFailed found the promotion still EXECUTING, and no Verify ran (the bake did not run out).
    expect(await t.stack.workflow.done(LocalWorkflow.executionId({ tenant, promotionId: id }))).toBe('SUCCEEDED');
    expect(stepsOf(id).filter((s) => s.step === 'fail')).toEqual([{ step: 'fail', status: 'EXECUTING' }]);
    expect(stepsOf(id).map((s) => s.step)).not.toContain('verify');
    // Long before the bake would have ended, by the promotion's own times: executed at `executing`, ended at `ended`.
    const at = (status: string) => Date.parse(done.transitions.findLast((x: { status: string }) => x.status === status).at);
    expect(at('ROLLED_BACK') - at('EXECUTING')).toBeLessThan(BAKE_SECONDS * 1000 - 30_000);
    expect((await t.call('GET', '/api/v1/environments/staging', { token: u.viewer })).body.snapshot.digest).toBe(before.digest);
    // One end in the audit trail, after the alarm recorded by the alarm's function.
    const audit = (await t.call('GET', `/api/v1/audit?entityType=promotion&entityId=${id}&limit=100`, { token: u.viewer })).body.items as { action: string }[];
    expect(audit.filter((e) => e.action === 'promotion.alarm')).toHaveLength(1);
    expect(audit.filter((e) => /^promotion\.(rollback\.auto|fail|complete)$/.test(e.action)).map((e) => e.action)).toEqual(['promotion.rollback.auto']);
  }, 60_000);

  it('a rollout: an alarm of a wave-2 target while wave 2 bakes fails every baking target’s wait; MarkFailed rolls back at once, before the bake’s end', async () => {
    const tenant = t.tenant();
    const alarm = alarmArn(`${tenant}/us-east-1-5xx`);
    const { u } = await productionLine(
      t,
      {
        bakeSeconds: 1,
        targets: [
          { name: 'canary', wave: 1 },
          { name: 'us-east-1', wave: 2, monitors: [alarm] },
          { name: 'eu-west-1', wave: 2 },
          { name: 'cell-1', wave: 3 },
        ],
        rollout: { maxParallel: 2, waves: [{ wave: 2, bakeSeconds: BAKE_SECONDS }] },
      },
      tenant,
    );
    expect((await t.call('POST', '/api/v1/environments/dev/configs', { token: u.deployer, body: { key: 'feature.x', value: true } })).status).toBe(201);
    const p = await t.call('POST', '/api/v1/promotions', { token: u.deployer, body: { sourceEnvironment: 'dev', targetEnvironment: 'production' } });
    expect(p.status, JSON.stringify(p.body)).toBe(201);
    const id = p.body.id as string;
    viewers.set(id, u.viewer);
    await approveIfAsked(t, u, id, ['EXECUTING', 'COMPLETED', 'APPROVED']);
    // Both targets of wave 2 bake (each TargetBake task began).
    const baking = () => stepsOf(id).filter((s) => s.step === 'target-bake' && s.target !== 'canary').length === 2;
    await waitUntil(baking, 20_000);
    expect(baking()).toBe(true);
    expect((await t.call('POST', '/dev/events', { body: alarmEvent(alarm, 'p99 > 800 ms in us-east-1') })).status).toBe(202);
    const done = await waitFor(t, u.viewer, id, ['ROLLED_BACK', 'FAILED', 'COMPLETED']);
    expect(done.status).toBe('ROLLED_BACK');
    expect(states(done)).toEqual({ canary: 'ROLLED_BACK', 'us-east-1': 'ROLLED_BACK', 'eu-west-1': 'ROLLED_BACK', 'cell-1': 'PENDING' });
    expect(await t.stack.workflow.done(LocalWorkflow.executionId({ tenant, promotionId: id }))).toBe('SUCCEEDED');
    // The flow's MarkFailed wrote the end: the promotion was EXECUTING when it began; no wave-2 target reached TargetBaked.
    expect(stepsOf(id).filter((s) => s.step === 'fail')).toEqual([{ step: 'fail', status: 'EXECUTING' }]);
    expect(stepsOf(id).filter((s) => s.step === 'target-baked' && s.target !== 'canary')).toEqual([]);
    // Before the bake would have ended, by the times the promotion records: the bake window of us-east-1 (planned 60 s) and the end.
    const us = done.rollout.waves[1].targets.find((x: { name: string }) => x.name === 'us-east-1');
    expect(Date.parse(us.bake.until) - Date.parse(us.bake.from)).toBe(BAKE_SECONDS * 1000);
    const ended = Date.parse(done.transitions.findLast((x: { status: string }) => x.status === 'ROLLED_BACK').at);
    expect(ended).toBeLessThan(Date.parse(us.bake.until) - 30_000);
    expect(us.alarm).toMatchObject({ arn: alarm, reason: 'p99 > 800 ms in us-east-1' });
    expect(done.error.message).toMatch(/us-east-1-5xx/);
    const audit = (await t.call('GET', `/api/v1/audit?entityType=promotion&entityId=${id}&limit=100`, { token: u.viewer })).body.items as { action: string }[];
    expect(audit.filter((e) => /^promotion\.(rollback\.auto|fail|complete)$/.test(e.action)).map((e) => e.action)).toEqual(['promotion.rollback.auto']);
  }, 60_000);
});
