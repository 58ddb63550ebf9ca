import { expect } from 'vitest';
import { waitFor } from './promotions.ts';
import { makeLine, type TestStack } from './stack.ts';

/**
 * DORA's scenario on a test stack (test/integration/dora.test.ts, dora-console.test.ts): promotions into a tenant's
 * staging that complete, roll back (its alarm while baking), fail (its alarm blocks the execution), recover, and a
 * rollback promotion; the stack's clock is moved between them, never waited for.
 */
const H = 3_600_000;
const arn = (name: string) => `arn:aws:cloudwatch:us-east-1:000000000000:alarm:${name}`;
const alarmEvent = (t: TestStack, alarm: string, state: 'ALARM' | 'OK') => ({
  source: 'aws.cloudwatch',
  'detail-type': 'CloudWatch Alarm State Change',
  account: '000000000000',
  region: 'us-east-1',
  time: new Date(t.stack.clock.now()).toISOString(),
  resources: [alarm],
  detail: {
    alarmName: alarm.split(':alarm:')[1],
    state: { value: state, reason: state === 'ALARM' ? 'p99 > 800 ms' : 'ok', timestamp: new Date(t.stack.clock.now()).toISOString() },
    previousState: { value: state === 'ALARM' ? 'OK' : 'ALARM' },
  },
});
const alarm = async (t: TestStack, name: string, state: 'ALARM' | 'OK') =>
  expect((await t.call('POST', '/dev/events', { body: alarmEvent(t, name, state) })).status).toBe(202);
const BAKE = 60;
const endedAt = (p: { transitions: { at: string }[] }) => Date.parse(p.transitions.at(-1)!.at);

export interface DoraRun {
  tenant: string;
  u: Awaited<ReturnType<TestStack['users']>>;
  from: string;
  ended: { status: string; at: number; rollback: boolean; liveAt?: number }[];
  expected: { deployments: number; changeFailed: number; rework: number; recoveryMs: number; recoveries: number };
}

/**
 * A tenant's staging (baking BAKE seconds, watched by one alarm) through: a completed promotion; one rolled
 * back by its alarm; a fix-forward two hours later (recovers, rework); one blocked by the alarm (FAILED); a
 * success 30 hours later (recovers, not rework); a completed one and the rollback of it (rework, recovers
 * from when it went live). What the five must say is computed from the promotions' own ends.
 */
export async function runDoraScenario(t: TestStack): Promise<DoraRun> {
  const tenant = t.tenant();
  const u = await t.users(tenant);
  await makeLine(t, u.admin);
  const watch = arn(`${tenant}/p99`);
  const r = await t.call('PATCH', '/api/v1/environments/staging', { token: u.admin, body: { version: 1, bakeSeconds: BAKE, monitors: [watch] } });
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  let n = 0;
  const promote = async (how: 'complete' | 'alarm-while-baking' | 'blocked', rollbackOf?: string) => {
    let id: string;
    if (rollbackOf) {
      const rb = await t.call('POST', `/api/v1/promotions/${rollbackOf}/rollback`, { token: u.deployer, body: { reason: 'INC-7 bad change' } });
      expect(rb.status, JSON.stringify(rb.body)).toBe(200);
      id = rb.body.promotion.id;
    } else {
      await t.call('POST', '/api/v1/environments/dev/configs', { token: u.deployer, body: { key: `feature.f${++n}`, value: true } });
      const p = await t.call('POST', '/api/v1/promotions', { token: u.deployer, body: { sourceEnvironment: 'dev', targetEnvironment: 'staging' } });
      expect(p.status, JSON.stringify(p.body)).toBe(201);
      id = p.body.id;
    }
    if (how !== 'blocked') {
      await waitFor(t, u.viewer, id, ['EXECUTING']);
      for (let i = 0; i < 100 && !(await t.call('GET', `/api/v1/promotions/${id}`, { token: u.viewer })).body.result; i++)
        await new Promise((r) => setTimeout(r, 50));
      if (how === 'alarm-while-baking') await alarm(t, watch, 'ALARM');
      else {
        // The bake's Wait may start after a move of the clock: move it again until the promotion ends (its end is read back, not assumed).
        for (let i = 0; i < 20; i++) {
          t.stack.clock.advance((BAKE + 1) * 1000);
          const now = (await t.call('GET', `/api/v1/promotions/${id}`, { token: u.viewer })).body.status;
          if (now !== 'EXECUTING') break;
          await new Promise((r) => setTimeout(r, 250));
        }
      }
    }
    const done = await waitFor(t, u.viewer, id, ['COMPLETED', 'FAILED', 'ROLLED_BACK']);
    return done;
  };
  const p1 = await promote('complete');
  expect(p1.status).toBe('COMPLETED');
  const from = p1.transitions[0].at.slice(0, 10);
  t.stack.clock.advance(H);
  const p2 = await promote('alarm-while-baking');
  expect(p2.status, JSON.stringify(p2.error)).toBe('ROLLED_BACK');
  await alarm(t, watch, 'OK');
  t.stack.clock.advance(2 * H);
  const p3 = await promote('complete');
  expect(p3.status, JSON.stringify(p3.error)).toBe('COMPLETED');
  await alarm(t, watch, 'ALARM');
  const p4 = await promote('blocked');
  expect(p4.status).toBe('FAILED');
  await alarm(t, watch, 'OK');
  t.stack.clock.advance(30 * H);
  const p5 = await promote('complete');
  expect(p5.status, JSON.stringify(p5.error)).toBe('COMPLETED');
  const p6 = await promote('complete');
  expect(p6.status, JSON.stringify(p6.error)).toBe('COMPLETED');
  t.stack.clock.advance(H / 2);
  const back = await promote('complete', p6.id);
  expect(back.status, JSON.stringify(back.error)).toBe('COMPLETED');
  const recoveryMs = endedAt(p3) - endedAt(p2) + (endedAt(p5) - endedAt(p4)) + (endedAt(back) - endedAt(p6));
  return {
    tenant,
    u,
    from,
    ended: [p1, p2, p3, p4, p5, p6, back].map((p) => ({ status: p.status, at: endedAt(p), rollback: !!p.rollback })),
    // Seven deployments (the blocked one counts: a change that failed); p2, p4 and p6 (put back) failed; p3 fixed forward and the rollback is rework.
    expected: { deployments: 7, changeFailed: 3, rework: 2, recoveryMs, recoveries: 3 },
  };
}
