import { describe, expect, it } from 'vitest';
import { createEnvironment } from '../../domain/config/environments.ts';
import { createItem } from '../../domain/config/items.ts';
import { createPromotion as promotionSchema } from '../../domain/kernel/promotion-schemas.ts';
import { createEnvironment as envSchema, createItem as itemSchema } from '../../domain/kernel/schemas.ts';
import { approvePromotion } from '../../domain/promotion/decide/approve.ts';
import { createPromotion } from '../../domain/promotion/request/request.ts';
import { alarmRollback } from '../../domain/promotion/rollout/alarms.ts';
import { bakeStep, verifyStep } from '../../domain/promotion/run/complete.ts';
import { failStep } from '../../domain/promotion/step/fail.ts';
import { decideStep, executeStep } from '../../domain/promotion/step/steps.ts';
import { sweepPromotion } from '../../domain/promotion/sweep/sweep.ts';
import { memoryDeps, userCtx } from '../support/memory-deps.ts';

/**
 * One writer ends a promotion: its flow. An alarm and the sweep ask it (they fail the token its bake waits on) and
 * end nothing themselves; only a flow that answers nothing (gone) is ended by the sweep, its backstop. Time is the
 * memory clock.
 */
const BAKE = 300;
const alarm = {
  arn: 'arn:aws:cloudwatch:us-east-1:000000000000:alarm:acme/latency',
  name: 'acme/latency',
  reason: 'p99 > 800 ms',
  at: '2030-01-01T09:10:00.000Z',
};

/** dev → prod (a bake of BAKE seconds), a key promoted, approved, executed: the flow's Bake keeps `bake-token`. */
async function baking() {
  const mem = memoryDeps();
  const { deps, store } = mem;
  const admin = userCtx('acme', 'alice', 'admin');
  const bob = userCtx('acme', 'bob', 'deployer');
  await createEnvironment(deps, admin, envSchema.parse({ name: 'dev', position: 0, reason: 'test' }));
  await createEnvironment(deps, admin, envSchema.parse({ name: 'prod', position: 1, reason: 'test', bakeSeconds: BAKE }));
  await createItem(deps, bob, 'config', 'dev', itemSchema.parse({ key: 'feature.x', value: true }));
  const p = await createPromotion(deps, bob, promotionSchema.parse({ sourceEnvironment: 'dev', targetEnvironment: 'prod' }));
  if ('dryRun' in p) throw new Error('not a dry run');
  if ((await decideStep(deps, 'acme', p.id, 'decide-token')).next === 'await-approval')
    await approvePromotion(deps, userCtx('acme', 'carol', 'approver'), p.id);
  await executeStep(deps, 'acme', p.id, true);
  expect(await store.getPromotion('acme', p.id)).toMatchObject({ status: 'EXECUTING', result: expect.any(Object) });
  await bakeStep(deps, 'acme', p.id, 'bake-token');
  expect((await store.getPromotion('acme', p.id))!.taskToken).toBe('bake-token');
  return { ...mem, id: p.id };
}

describe('one writer ends a promotion: the flow', () => {
  it('an alarm during the bake records itself and fails the bake’s token; it ends nothing, the flow’s MarkFailed does', async () => {
    const { deps, store, answered, id } = await baking();
    expect(await alarmRollback(deps, 'acme', id, alarm)).toBe(true);
    expect(answered.filter((a) => a.token === 'bake-token')).toEqual([{ token: 'bake-token', error: 'MonitorAlarm' }]);
    const after = (await store.getPromotion('acme', id))!;
    expect(after).toMatchObject({ status: 'EXECUTING', monitorAlarm: alarm });
    // The flow's next step refuses to complete after it (a Verify that read before the alarm, or a Bake entered after it).
    await expect(verifyStep(deps, 'acme', id)).rejects.toMatchObject({
      name: 'PromotionFailed',
      message: expect.stringContaining("monitor 'acme/latency' went to ALARM"),
    });
    await expect(bakeStep(deps, 'acme', id, 'another-token')).rejects.toMatchObject({ name: 'PromotionFailed' });
    expect((await store.getPromotion('acme', id))!.status).toBe('EXECUTING');
    // MarkFailed (the Catch hands it the failure the alarm sent): the one end.
    await failStep(deps, 'acme', id, { Error: 'MonitorAlarm', Cause: `post-deploy verification failed: monitor 'acme/latency' went to ALARM` });
    expect((await store.getPromotion('acme', id))!.status).toBe('ROLLED_BACK');
  });

  it('the sweep asks a live flow (its bake’s token failed) and leaves the end to it; a flow that answers nothing is ended by the sweep', async () => {
    const live = await baking();
    live.advance(BAKE + 86_400);
    const asked = await sweepPromotion(live.deps, 'acme', live.id);
    expect(asked).toMatchObject({ swept: true, status: 'EXECUTING', reason: expect.stringMatching(/its flow was asked to end it$/) });
    expect(live.answered.filter((a) => a.token === 'bake-token')).toEqual([{ token: 'bake-token', error: 'Swept' }]);
    expect((await live.store.getPromotion('acme', live.id))!.status).toBe('EXECUTING');

    // Gone: its token resumes nothing (the execution ended or was lost), so the sweep ends the promotion itself.
    const gone = await baking();
    gone.deps.workflow.sendTaskFailure = async () => false;
    gone.advance(BAKE + 86_400);
    const swept = await sweepPromotion(gone.deps, 'acme', gone.id);
    expect(swept).toMatchObject({ swept: true, status: 'ROLLED_BACK', reason: expect.stringMatching(/its flow is gone; swept/) });
  });
});
