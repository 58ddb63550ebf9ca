import { describe, expect, it } from 'vitest';
import { createEnvironment } from '../../domain/config/environments.ts';
import { createItem } from '../../domain/config/items.ts';
import { createPromotion as promotionSchema } from '../../domain/kernel/promotion-schemas.ts';
import { createEnvironment as envSchema, createItem as itemSchema } from '../../domain/kernel/schemas.ts';
import type { Promotion } from '../../domain/kernel/promotion-model.ts';
import { ENGINE, patched } from '../../domain/promotion/aggregate.ts';
import { approvePromotion } from '../../domain/promotion/decide/approve.ts';
import { createPromotion } from '../../domain/promotion/request/request.ts';
import { changeTarget } from '../../domain/promotion/rollout/apply.ts';
import { rolloutStartStep } from '../../domain/promotion/rollout/begin.ts';
import { ROLLBACK_BATCH } from '../../domain/promotion/rollout/rollback.ts';
import { failStep } from '../../domain/promotion/step/fail.ts';
import { decideStep } from '../../domain/promotion/step/steps.ts';
import { writePromotion } from '../../domain/promotion/write.ts';
import { fleetTargets } from '../../local/measure/config-write.ts';
import { memoryDeps, userCtx } from '../support/memory-deps.ts';

/**
 * A fleet's rollback reads each target once: the fail step carries a cursor between its runs (the wave, how far into
 * its names, which are back), reads the targets' items by name from there, and never lists the rollout's targets
 * (which at 10,000 targets and 50 runs read 500,000 items). Memory store, its reads counted at the store's seam.
 */
async function fleetChanged(n: number, waves: number, changedWaves = waves) {
  const mem = memoryDeps();
  const { deps, store } = mem;
  const admin = userCtx('acme', 'alice', 'admin');
  await createEnvironment(deps, admin, envSchema.parse({ name: 'dev', position: 0, reason: 'test' }));
  await createEnvironment(
    deps,
    admin,
    envSchema.parse({ name: 'edge', position: 1, reason: 'test', targets: fleetTargets(n, waves), rollout: { maxParallel: 10 } }),
  );
  await createItem(deps, userCtx('acme', 'bob', 'deployer'), 'config', 'dev', itemSchema.parse({ key: 'feature.x', value: true }));
  const p = await createPromotion(deps, userCtx('acme', 'bob', 'deployer'), promotionSchema.parse({ sourceEnvironment: 'dev', targetEnvironment: 'edge' }));
  if ('dryRun' in p) throw new Error('not a dry run');
  if ((await decideStep(deps, 'acme', p.id, 'decide-token')).next === 'await-approval')
    await approvePromotion(deps, userCtx('acme', 'carol', 'approver'), p.id);
  await rolloutStartStep(deps, 'acme', p.id);
  // The waves started (as the flow's WaveStart writes them), then every target of them changed by the apply step's own change.
  await writePromotion(deps, 'acme', p.id, (cur) => ({
    next: patched(cur, deps.clock(), { rollout: { ...cur.rollout!, wave: changedWaves } }),
    action: null,
    by: ENGINE,
  }));
  for (const t of fleetTargets(n, waves).filter((t) => t.wave <= changedWaves)) {
    const cur: Promotion = (await store.getPromotion('acme', p.id))!;
    await changeTarget(deps, cur, t.name, '', { audit: false });
  }
  // Reads of the rollout's targets from here on, at the store's seam.
  const reads = { listed: 0, byName: new Map<string, number>() };
  const list = store.listRolloutTargets.bind(store);
  const byName = store.getRolloutTargets.bind(store);
  store.listRolloutTargets = async (tenant, id) => (reads.listed++, list(tenant, id));
  store.getRolloutTargets = async (tenant, id, names) => {
    for (const name of names) reads.byName.set(name, (reads.byName.get(name) ?? 0) + 1);
    return byName(tenant, id, names);
  };
  return { ...mem, id: p.id, reads };
}

/** MarkFailed as the flow runs it: again with its own answer as `{ Payload }` while it says more. */
async function rollBack(deps: ReturnType<typeof memoryDeps>['deps'], id: string, lose?: number) {
  let error: unknown = { Error: 'MonitorAlarm', Cause: JSON.stringify({ errorMessage: "monitor 'acme/latency' went to ALARM" }) };
  const answers = [];
  for (let run = 1; run < 50; run++) {
    const out = await failStep(deps, 'acme', id, error);
    answers.push(out);
    if (!out.more) return answers;
    // A lost answer: the flow runs the same step again with the input it had (the cursor before this run).
    if (run !== lose) error = { Payload: out };
  }
  throw new Error('the rollback still says more after 50 runs');
}

describe('a fleet’s rollback reads each target once', () => {
  it(`${2 * ROLLBACK_BATCH + 50} changed targets in 5 waves: 3 runs, each target read by name once, no listing; newest wave first; the promotion ROLLED_BACK naming all`, async () => {
    const n = 2 * ROLLBACK_BATCH + 50;
    const { deps, store, id, reads } = await fleetChanged(n, 5);
    const answers = await rollBack(deps, id);
    expect(answers.map((a) => a.more)).toEqual([true, true, false]);
    expect(reads.listed).toBe(0);
    expect(reads.byName.size).toBe(n);
    expect([...reads.byName.values()].every((c) => c === 1)).toBe(true);
    const items = await store.listRolloutTargets('acme', id);
    expect(items.filter((t) => t.state === 'ROLLED_BACK')).toHaveLength(n);
    // Newest wave first: each run's stamp, in order, puts back waves no newer than the run before.
    const stamps = [...new Set(items.map((t) => t.rolledBackAt!))].sort();
    const runs = stamps.map((at) => items.filter((t) => t.rolledBackAt === at).map((t) => t.wave));
    expect(runs).toHaveLength(3);
    for (let i = 1; i < runs.length; i++) expect(Math.max(...runs[i]!)).toBeLessThanOrEqual(Math.min(...runs[i - 1]!));
    expect(runs[0]).toContain(5);
    const end = (await store.getPromotion('acme', id))!;
    expect(end.status).toBe('ROLLED_BACK');
    expect(end.error!.message).toContain(`${n} targets rolled back in reverse wave order`);
    const event = store.outbox('acme').find((e) => e.type === 'Promotion Rolled Back')!;
    // The event names the targets newest wave first (the first of them: an event is bounded), each once.
    const named = (event.detail as { targets: string[] }).targets;
    expect(named[0]).toBe(`t-${n}`);
    expect(new Set(named).size).toBe(named.length);
    // The cursor is small: a bitmap per wave, not the names.
    expect(JSON.stringify(answers[1]!.cursor).length).toBeLessThan(400);
  });

  it('a lost answer (the same run again from the cursor before it) puts nothing back twice and ends as it would', async () => {
    const n = 2 * ROLLBACK_BATCH + 50;
    const { deps, store, id, reads } = await fleetChanged(n, 5);
    const answers = await rollBack(deps, id, 2);
    expect(answers.map((a) => a.more)).toEqual([true, true, false]);
    // The run after the lost one reads the lost run's batch again (found ROLLED_BACK), nothing else twice.
    expect([...reads.byName.values()].filter((c) => c === 2)).toHaveLength(ROLLBACK_BATCH);
    const items = await store.listRolloutTargets('acme', id);
    expect(items.filter((t) => t.state === 'ROLLED_BACK')).toHaveLength(n);
    const targets = (store.outbox('acme').find((e) => e.type === 'Promotion Rolled Back')!.detail as { targets: string[] }).targets;
    expect(new Set(targets).size).toBe(targets.length);
    expect((await store.getPromotion('acme', id))!.error!.message).toContain(`${n} targets rolled back`);
  });

  it('a cursor that is not one (an older flow’s answer, a forged shape, __proto__) starts again from the newest wave started', async () => {
    const { deps, store, id } = await fleetChanged(ROLLBACK_BATCH + 20, 3);
    const first = await failStep(deps, 'acme', id, { Error: 'MonitorAlarm', Cause: '{"errorMessage":"alarm"}' });
    expect(first.more).toBe(true);
    const forged = JSON.parse(
      `{"Payload":{"more":true,"Error":"RollingBack","Cause":"{\\"errorMessage\\":\\"alarm\\"}","cursor":{"wave":9,"at":-1,"back":[{"__proto__":{"x":1}}]}}}`,
    );
    const last = await failStep(deps, 'acme', id, forged);
    expect(last.more).toBe(false);
    expect((await store.listRolloutTargets('acme', id)).filter((t) => t.state === 'ROLLED_BACK')).toHaveLength(ROLLBACK_BATCH + 20);
    expect((await store.getPromotion('acme', id))!.status).toBe('ROLLED_BACK');
  });

  it('only the waves started are read: wave 3 of 3 never started, its targets are never read', async () => {
    const n = 300;
    const { deps, store, id, reads } = await fleetChanged(n, 3, 2);
    await rollBack(deps, id);
    const wave3 = fleetTargets(n, 3).filter((t) => t.wave === 3);
    expect(wave3.some((t) => reads.byName.has(t.name))).toBe(false);
    expect((await store.getPromotion('acme', id))!.status).toBe('ROLLED_BACK');
  });
});
