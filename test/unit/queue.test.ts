import { describe, expect, it } from 'vitest';
import { createEnvironment } from '../../domain/config/environments.ts';
import { createItem } from '../../domain/config/items.ts';
import { Frozen, TargetBusy } from '../../domain/kernel/errors.ts';
import { createPromotion as promotionSchema } from '../../domain/kernel/promotion-schemas.ts';
import { createEnvironment as envSchema, createItem as itemSchema } from '../../domain/kernel/schemas.ts';
import { approvePromotion } from '../../domain/promotion/decide/approve.ts';
import { cancelPromotion } from '../../domain/promotion/decide/cancel.ts';
import { verifyStep } from '../../domain/promotion/run/complete.ts';
import { describeHolder, QUEUE_RECHECK_SECONDS } from '../../domain/promotion/run/queue.ts';
import { createPromotion } from '../../domain/promotion/request/request.ts';
import { scheduleName } from '../../domain/promotion/run/schedule-name.ts';
import { fireSchedule } from '../../domain/promotion/step/fire.ts';
import { awaitGoStep, decideStep, executeStep } from '../../domain/promotion/step/steps.ts';
import type { Promotion } from '../../domain/kernel/promotion-model.ts';
import { memoryDeps, userCtx } from '../support/memory-deps.ts';

/**
 * The queue of an environment (domain/promotion/run/queue.ts) on the memory store: a promotion approved while
 * another one executes and bakes is held behind it, short contention stays TargetBusy, and the holder's end
 * wakes the first held one.
 */
async function setup(bakeSeconds = 600) {
  const m = memoryDeps();
  const admin = userCtx('acme', 'alice', 'admin');
  const bob = userCtx('acme', 'bob', 'deployer');
  const carol = userCtx('acme', 'carol', 'approver');
  await createEnvironment(m.deps, admin, envSchema.parse({ name: 'dev', position: 0, reason: 'test' }));
  await createEnvironment(m.deps, admin, envSchema.parse({ name: 'prod', position: 1, reason: 'test', bakeSeconds }));
  let n = 0;
  /** A new release in dev, requested into prod, its gates run and approved: APPROVED, ready to execute. */
  const approved = async (): Promise<string> => {
    await createItem(m.deps, bob, 'config', 'dev', itemSchema.parse({ key: `k${n++}`, value: 'v' }));
    const p = await createPromotion(m.deps, bob, promotionSchema.parse({ sourceEnvironment: 'dev', targetEnvironment: 'prod' }));
    if ('dryRun' in p) throw new Error('not a dry run');
    if ((await decideStep(m.deps, 'acme', p.id, `decide-${p.id}`)).next === 'await-approval') await approvePromotion(m.deps, carol, p.id);
    m.advance(1);
    return p.id;
  };
  const get = async (id: string) => (await m.store.getPromotion('acme', id)) as Promotion;
  return { ...m, bob, approved, get };
}

describe('a promotion queued behind another one executing into the same environment', () => {
  it('is held behind a baking execution (SCHEDULED, heldBy, a re-check schedule, Frozen), once in the audit trail; the holder’s end answers its parked go task at once', async () => {
    const { deps, store, schedules, answered, approved, get, advance } = await setup();
    const first = await approved();
    expect(await executeStep(deps, 'acme', first, true)).toEqual({ next: 'execute' });
    expect((await get(first)).status).toBe('EXECUTING');

    const second = await approved();
    await expect(executeStep(deps, 'acme', second, true)).rejects.toBeInstanceOf(Frozen);
    const held = await get(second);
    expect(held).toMatchObject({
      status: 'SCHEDULED',
      taskToken: null,
      heldBy: { promotion: first, reason: `waits for promotion ${first}, executing into prod (baking 600 s)` },
    });
    const recheck = schedules.get(scheduleName({ tenant: 'acme', id: second }))!;
    expect(recheck.payload).toEqual({ tenant: 'acme', promotionId: second });
    expect(recheck.at.toISOString()).toBe(held.heldBy!.until);
    expect(recheck.at.getTime() - new Date(held.updatedAt).getTime()).toBe(QUEUE_RECHECK_SECONDS * 1000);

    // The flow parks in its go wait; the re-check fires while the first still bakes: held again, not news.
    await awaitGoStep(deps, 'acme', second, 'go-1');
    advance(QUEUE_RECHECK_SECONDS);
    await expect(executeStep(deps, 'acme', second, true)).rejects.toBeInstanceOf(Frozen);
    await awaitGoStep(deps, 'acme', second, 'go-2');
    const holds = (await store.queryAudit('acme', { limit: 50, entityType: 'promotion' })).items.filter((e) => e.action === 'promotion.hold');
    expect(holds.map((e) => e.entityId)).toEqual([second]);
    expect(new Date((await get(second)).heldBy!.until).getTime()).toBeGreaterThan(new Date(held.heldBy!.until).getTime());

    // The first completes: its lease is released and the second's parked go task answered (execute), at once.
    advance(600);
    expect(await verifyStep(deps, 'acme', first)).toEqual({ next: 'done' });
    expect((await get(first)).status).toBe('COMPLETED');
    expect(answered.filter((a) => a.token === 'go-2')).toEqual([{ token: 'go-2', output: expect.objectContaining({ next: 'execute' }) }]);
    expect(await executeStep(deps, 'acme', second, true)).toEqual({ next: 'execute' });
    // Executing, it waits behind no one any more (the hold stays in its audit trail).
    expect(await get(second)).toMatchObject({ status: 'EXECUTING', heldBy: null });
  });

  it('wakes the first held one by request time only; a held one cancelled loses its schedule, and if the lease is free the next one is woken', async () => {
    const { deps, schedules, answered, approved, get, bob } = await setup();
    const first = await approved();
    await executeStep(deps, 'acme', first, true);
    const [second, third] = [await approved(), await approved()];
    for (const [id, token] of [
      [third, 'go-3'],
      [second, 'go-2'],
    ] as const) {
      await expect(executeStep(deps, 'acme', id, true)).rejects.toBeInstanceOf(Frozen);
      await awaitGoStep(deps, 'acme', id, token);
    }
    // Go tasks answered "execute" (a cancel's failure to a token already answered is not a wake).
    const woken = () => answered.filter((a) => a.token.startsWith('go-') && a.output?.next === 'execute').map((a) => a.token);
    await verifyStep(deps, 'acme', first);
    expect(woken()).toEqual(['go-2']);

    // The woken one is cancelled before it takes the lease: its schedule goes, and the next one held goes on.
    await cancelPromotion(deps, bob, second, 'not now');
    expect((await get(second)).status).toBe('CANCELLED');
    expect(schedules.has(scheduleName({ tenant: 'acme', id: second }))).toBe(false);
    expect(woken()).toEqual(['go-2', 'go-3']);
  });

  it('keeps the bounded retry (TargetBusy) for short contention: a holder that has ended, one that does not bake, an unknown holder', async () => {
    const { deps, store, approved, get, advance } = await setup(0);
    const waiting = await approved();
    const other = await approved();
    const now = () => deps.clock();
    // A holder without a bake (EXECUTING, bakeSeconds 0).
    await store.acquireLock('acme', 'prod', other, now(), 60);
    const executing = await get(other);
    await store.commit('acme', [
      { kind: 'promotion', promotion: { ...executing, status: 'EXECUTING', version: executing.version + 1 }, expectedVersion: executing.version },
    ]);
    await expect(executeStep(deps, 'acme', waiting, true)).rejects.toBeInstanceOf(TargetBusy);
    // A lease of a promotion that is not there (or has ended without releasing it).
    await store.releaseLock('acme', 'prod', other);
    await store.acquireLock('acme', 'prod', 'prm_gone', now(), 60);
    await expect(executeStep(deps, 'acme', waiting, true)).rejects.toBeInstanceOf(TargetBusy);
    expect((await get(waiting)).status).toBe('APPROVED');
    expect((await get(waiting)).heldBy ?? null).toBeNull();
    // The lease ran out: it is taken over.
    advance(61);
    expect(await executeStep(deps, 'acme', waiting, true)).toEqual({ next: 'execute' });
  });

  it('a one-step execution (no bake) never changes an environment another promotion executes into: held behind it, its lease freed once it has ended, retried when the lease is taken between its read and its write', async () => {
    const { deps, store, approved, get, advance } = await setup(0);
    const waiting = await approved();
    const other = await approved();
    // Another promotion executes into prod and bakes (EXECUTING, holding the lease): the one-step one is held behind it, unchanged.
    await store.acquireLock('acme', 'prod', other, deps.clock(), 900);
    const executing = await get(other);
    await store.commit('acme', [
      {
        kind: 'promotion',
        promotion: { ...executing, status: 'EXECUTING', bakeSeconds: 600, version: executing.version + 1 },
        expectedVersion: executing.version,
      },
    ]);
    await expect(executeStep(deps, 'acme', waiting, false)).rejects.toBeInstanceOf(Frozen);
    expect(await get(waiting)).toMatchObject({ status: 'SCHEDULED', result: null, heldBy: { promotion: other } });
    // It has ended but its lease was not released (its flow stopped in between): the lease is freed, the next try takes over.
    const baking = await get(other);
    await store.commit('acme', [
      { kind: 'promotion', promotion: { ...baking, status: 'COMPLETED', version: baking.version + 1 }, expectedVersion: baking.version },
    ]);
    await expect(executeStep(deps, 'acme', waiting, false)).rejects.toBeInstanceOf(TargetBusy);
    expect(await store.getLock('acme', 'prod')).toBeNull();
    // The lease is taken after the step looked and before its transaction: the transaction is refused, it looks again and retries.
    const commit = store.commit.bind(store);
    let raced = 0;
    store.commit = async (tenant, ops) => {
      if (!raced++ && ops.some((o) => o.kind === 'leaseFree')) await store.acquireLock('acme', 'prod', 'prm_gone', deps.clock(), 60);
      return commit(tenant, ops);
    };
    await expect(executeStep(deps, 'acme', waiting, false)).rejects.toBeInstanceOf(TargetBusy);
    expect((await get(waiting)).status).toBe('SCHEDULED');
    // An artifact's one step delivers under the lease (APPROVED, not yet EXECUTING): held behind it, as behind a bake.
    advance(61);
    const delivering = await approved();
    await store.acquireLock('acme', 'prod', delivering, deps.clock(), 900);
    const artifact = await get(delivering);
    await store.commit('acme', [
      {
        kind: 'promotion',
        promotion: {
          ...artifact,
          subject: { type: 'artifact', name: 'web', version: '1.2.0', digest: `sha256:${'a'.repeat(64)}` },
          version: artifact.version + 1,
        },
        expectedVersion: artifact.version,
      },
    ]);
    await expect(executeStep(deps, 'acme', waiting, false)).rejects.toBeInstanceOf(Frozen);
    expect((await get(waiting)).heldBy).toMatchObject({ promotion: delivering, reason: `waits for promotion ${delivering}, delivering an artifact into prod` });
    // The lease is released: it completes in one step.
    await store.releaseLock('acme', 'prod', delivering);
    expect(await executeStep(deps, 'acme', waiting, false)).toEqual({ next: 'done' });
    expect((await get(waiting)).status).toBe('COMPLETED');
  });

  it('says what the holder does: the wave of a rollout, halted, waiting for a start window, or its bake', () => {
    const base = { id: 'prm_1', targetEnvironment: 'production', bakeSeconds: 0 } as Promotion;
    const waves = [1, 2, 3].map((wave) => ({ wave, targets: [`t${wave}`], bakeSeconds: 60, maxParallel: 1 }));
    expect(describeHolder({ ...base, rollout: { waves, wave: 2 } })).toBe('waits for promotion prm_1, rolling out into production (wave 2 of 3)');
    expect(describeHolder({ ...base, rollout: { waves, wave: 0 } })).toBe('waits for promotion prm_1, rolling out into production (wave 1 of 3)');
    expect(describeHolder({ ...base, rollout: { waves, wave: 1, halted: { by: 'bob', at: '', reason: 'x' } } })).toBe(
      'waits for promotion prm_1, rolling out into production (halted in wave 1 of 3)',
    );
    expect(describeHolder({ ...base, rollout: { waves, wave: 1, waiting: { reason: 'r', until: '' } } })).toBe(
      'waits for promotion prm_1, rolling out into production (wave 1 of 3, waiting for a start window)',
    );
    expect(describeHolder({ ...base, bakeSeconds: 900 })).toBe('waits for promotion prm_1, executing into production (baking 900 s)');
  });
});

describe('a go whose time came before the flow parked for it', () => {
  it('the schedule fires while the flow is on its way to its go wait (and gives up): parking after the time answers the go itself; before it, it waits', async () => {
    const { deps, answered, approved, get, advance } = await setup();
    const first = await approved();
    await executeStep(deps, 'acme', first, true);
    const second = await approved();
    await expect(executeStep(deps, 'acme', second, true)).rejects.toBeInstanceOf(Frozen);

    // Parked before its time: it waits for the schedule.
    await awaitGoStep(deps, 'acme', second, 'go-early');
    expect(answered.filter((a) => a.token === 'go-early')).toEqual([]);

    // Its time comes; the first has ended meanwhile. The flow is held again and the schedule fires before it parks.
    advance(QUEUE_RECHECK_SECONDS);
    await expect(executeStep(deps, 'acme', second, true)).rejects.toBeInstanceOf(Frozen);
    advance(600);
    await verifyStep(deps, 'acme', first);
    advance(QUEUE_RECHECK_SECONDS);
    await expect(fireSchedule(deps, 'acme', second)).rejects.toThrow(/not waiting for its go signal yet/);
    // The scheduler has given up; the flow parks now, past the time: the go is answered at once, and it executes.
    expect((await get(second)).status).toBe('SCHEDULED');
    await awaitGoStep(deps, 'acme', second, 'go-late');
    expect(answered.filter((a) => a.token === 'go-late')).toEqual([{ token: 'go-late', output: expect.objectContaining({ next: 'execute' }) }]);
    expect(await executeStep(deps, 'acme', second, true)).toEqual({ next: 'execute' });
    expect((await get(second)).status).toBe('EXECUTING');
  });
});

describe('a schedule that fires at a go token no longer waiting', () => {
  it('throws so the scheduler tries again (its task was retried: a newer token is stored), and the next firing answers the newer one', async () => {
    const { deps, answered, approved, get, advance } = await setup();
    const first = await approved();
    await executeStep(deps, 'acme', first, true);
    const second = await approved();
    await expect(executeStep(deps, 'acme', second, true)).rejects.toBeInstanceOf(Frozen);
    await awaitGoStep(deps, 'acme', second, 'go-dead');
    advance(600);
    await verifyStep(deps, 'acme', first);
    advance(QUEUE_RECHECK_SECONDS);
    // The go task's attempt that stored go-dead timed out: Step Functions no longer takes it.
    const dead = new Set(['go-dead']);
    const workflow = {
      ...deps.workflow,
      sendTaskSuccess: async (token: string, output: Record<string, unknown>) => !dead.has(token) && deps.workflow.sendTaskSuccess(token, output),
    };
    await expect(fireSchedule({ ...deps, workflow }, 'acme', second)).rejects.toThrow(/no longer waiting/);
    expect((await get(second)).status).toBe('SCHEDULED');
    // The retried task stores its token; the scheduler's next try answers it.
    await awaitGoStep({ ...deps, workflow }, 'acme', second, 'go-retried');
    if (!answered.some((a) => a.token === 'go-retried')) await fireSchedule({ ...deps, workflow }, 'acme', second);
    expect(answered.filter((a) => a.token === 'go-retried')).toEqual([{ token: 'go-retried', output: expect.objectContaining({ next: 'execute' }) }]);
  });
});
