import { describe, expect, it } from 'vitest';
import { LocalWorkflow, WAVE_MACHINE } from '../../local/workflow.ts';
import { waitFor } from '../support/promotions.ts';
import { productionLine } from '../support/line.ts';
import { useTestStack } from '../support/stack.ts';
import { alarmArn, alarmEvent } from '../support/alarms.ts';
import { rollouts, states } from '../support/waves.ts';
import { fleetFlowCounts } from '../../local/measure/fleet-model.ts';
import { ROLLBACK_BATCH } from '../../domain/promotion/rollout/rollback.ts';

/**
 * A fleet rollout: each wave of more than 25 immediate targets runs as a child execution of its own
 * (statemachines/wave.asl.json), its targets in batches, its history bounded; a child that fails or is stopped is
 * caught by the parent, which rolls every changed target back, newest wave first, and changes no later wave.
 */

/** The fault seam: the runner's call of the step Lambda (what a test makes fail or stop), per test. */
const hooks = new Map<string, (payload: { step?: string; wave?: number; offset?: number; promotionId?: string }) => void | Promise<void>>();
const t = useTestStack({
  beforeStep: async (payload) => {
    const p = payload as { promotionId?: string };
    await hooks.get(p.promotionId ?? '')?.(p);
  },
});
const { store, promote } = rollouts(t);

const pad = (i: number) => String(i).padStart(4, '0');
/** `n` targets named c-0001… in `waves` waves of equal size (immediate confirmation), the given ones monitored. */
const fleet = (n: number, waves: number, monitors: Record<string, string[]> = {}) =>
  Array.from({ length: n }, (_, i) => ({
    name: `c-${pad(i + 1)}`,
    wave: 1 + Math.floor((i * waves) / n),
    ...(monitors[`c-${pad(i + 1)}`] ? { monitors: monitors[`c-${pad(i + 1)}`] } : {}),
  }));

/** The wave child executions of a promotion. */
const children = (id: string) => t.stack.workflow.executions(WAVE_MACHINE).filter((e) => e.input.promotionId === id);

async function start(targets: ReturnType<typeof fleet>, bakeSeconds = 0) {
  const { tenant, u } = await productionLine(t, { bakeSeconds, targets, rollout: { maxParallel: 10 } });
  const cfg = await t.call('POST', '/api/v1/environments/dev/configs', { token: u.deployer, body: { key: 'feature.x', value: true } });
  expect(cfg.status, JSON.stringify(cfg.body)).toBe(201);
  return { tenant, u };
}

/** Waits for the promotion's end, then checks what must hold however a fleet rollout ended. */
async function ended(tenant: string, token: string, id: string, ms: number) {
  const done = await waitFor(t, token, id, ['COMPLETED', 'ROLLED_BACK', 'FAILED'], ms);
  // Every child answered its parent: none left running.
  await t.stack.bus.idle();
  for (const c of children(id)) expect(c.status, c.id).not.toBe('RUNNING');
  const parent = LocalWorkflow.executionId({ tenant, promotionId: id });
  const histories = [parent, ...children(id).map((c) => c.id)].map((x) => t.stack.workflow.events(x));
  return { done, parent, histories };
}

/** The targets of a rollout by wave: wave → target states. */
const byWave = (d: any) => new Map<number, string[]>(d.rollout.waves.map((w: any) => [w.wave, w.targets.map((x: any) => x.state)]));

describe('a fleet rollout: each wave its own execution (local Step Functions on DynamoDB Local)', () => {
  it('a wave that fails in its child execution (a task crashed at the runner’s seam) is caught by the parent: waves 1-2 are put back, wave 3 and later never change', async () => {
    const { tenant, u } = await start(fleet(300, 10));
    const crashed: number[] = [];
    const id = await promote(u);
    hooks.set(id, (p) => {
      if (p.step === 'wave-apply' && p.wave === 3 && p.offset === 0) {
        crashed.push(3);
        throw new Error('injected: the wave-apply task crashed');
      }
    });
    const { done, histories } = await ended(tenant, u.viewer, id, 300_000);
    expect(done.status, JSON.stringify(done.error)).toBe('ROLLED_BACK');
    expect(crashed.length).toBeGreaterThan(0);
    const waves = byWave(done);
    for (const w of [1, 2]) expect(new Set(waves.get(w)), `wave ${w}`).toEqual(new Set(['ROLLED_BACK']));
    for (const w of [3, 4, 5, 6, 7, 8, 9, 10]) expect(new Set(waves.get(w)), `wave ${w}`).toEqual(new Set(['PENDING']));
    expect(done.error.message).toContain('injected: the wave-apply task crashed');
    expect(Math.max(...histories)).toBeLessThan(1000);
    hooks.delete(id);
  }, 320_000);

  it('a child execution that is stopped (StopExecution) is caught by the parent through the status-change rule and rolled back', async () => {
    const { tenant, u } = await start(fleet(300, 10));
    const id = await promote(u);
    let stopped = false;
    hooks.set(id, (p) => {
      if (p.step === 'wave-apply' && p.wave === 2 && p.offset === 0 && !stopped) {
        const child = children(id).find((c) => c.input.wave === 2 && c.status === 'RUNNING');
        if (child) {
          stopped = true;
          // As StopExecution from the console: the child ends ABORTED, without a word to its parent.
          void t.stack.workflow.stopExecution(child.id);
        }
      }
    });
    const { done } = await ended(tenant, u.viewer, id, 300_000);
    expect(stopped).toBe(true);
    expect(done.status, JSON.stringify(done.error)).toBe('ROLLED_BACK');
    expect(children(id).find((c) => c.input.wave === 2)?.status).toBe('ABORTED');
    expect(done.error.message).toMatch(/wave 2 ended ABORTED/);
    const waves = byWave(done);
    expect(new Set(waves.get(1))).toEqual(new Set(['ROLLED_BACK']));
    for (const w of [3, 4, 5, 6, 7, 8, 9, 10]) expect(new Set(waves.get(w)), `wave ${w}`).toEqual(new Set(['PENDING']));
    // Nothing of wave 2 stays changed: whatever the stopped batch wrote was put back.
    expect(waves.get(2)!.every((s) => s === 'ROLLED_BACK' || s === 'PENDING')).toBe(true);
    hooks.delete(id);
  }, 320_000);

  it('an alarm in wave 7 of 10 puts every changed target back, newest wave first, and no target of waves 8-10 changes', async () => {
    const tenant = t.tenant();
    const alarm = alarmArn(`${tenant}/c-0181-5xx`);
    // 300 targets in 10 waves of 30: c-0181 is the first of wave 7.
    const targets = fleet(300, 10, { 'c-0181': [alarm] });
    expect(targets.find((x) => x.name === 'c-0181')!.wave).toBe(7);
    const { u } = await productionLine(t, { bakeSeconds: 0, targets, rollout: { maxParallel: 10 } }, tenant);
    expect((await t.call('POST', '/api/v1/environments/dev/configs', { token: u.deployer, body: { key: 'feature.x', value: true } })).status).toBe(201);
    expect((await t.call('POST', '/dev/events', { body: alarmEvent(alarm, '5xx > 1% on c-0181') })).status).toBe(202);
    const id = await promote(u);
    // Each run of the flow's fail step (MarkFailed), and what was put back before it ran.
    const fails: string[][] = [];
    hooks.set(id, async (p) => {
      if (p.step !== 'fail') return;
      const items = await store().listRolloutTargets(tenant, id);
      fails.push(items.filter((x) => x.state === 'ROLLED_BACK').map((x) => x.name));
    });
    const { done } = await ended(tenant, u.viewer, id, 300_000);
    hooks.delete(id);
    expect(done.status, JSON.stringify(done.error)).toBe('ROLLED_BACK');
    // 210 changed targets, at most ROLLBACK_BATCH put back per run of the fail step: the flow runs it again until all are back,
    // each run the next batch, newest wave first and, within a wave, the last target first.
    const order = Array.from({ length: 210 }, (_, i) => ({ name: `c-${pad(i + 1)}`, wave: 1 + Math.floor(i / 30) }))
      .sort((a, b) => b.wave - a.wave || b.name.localeCompare(a.name))
      .map((x) => x.name);
    expect(fails).toHaveLength(Math.ceil(210 / ROLLBACK_BATCH));
    fails.forEach((back, i) => expect(back.sort(), `before run ${i + 1}`).toEqual(order.slice(0, i * ROLLBACK_BATCH).sort()));
    const waves = byWave(done);
    for (const w of [1, 2, 3, 4, 5, 6, 7]) expect(new Set(waves.get(w)), `wave ${w}`).toEqual(new Set(['ROLLED_BACK']));
    for (const w of [8, 9, 10]) expect(new Set(waves.get(w)), `wave ${w}`).toEqual(new Set(['PENDING']));
    // No target of waves 8-10 has an item, a head or a deployment: nothing of them was ever changed.
    const items = await store().listRolloutTargets(tenant, id);
    expect(items.filter((x) => x.wave >= 8)).toEqual([]);
    expect(items).toHaveLength(210);
    // Newest wave first: the rolled-back event names the waves in reverse order.
    await t.stack.stream.idle();
    const event = t.stack.bus.published.find((e) => e.detail.promotionId === id && e['detail-type'] === 'Promotion Rolled Back');
    expect(event?.detail.waves).toEqual([7, 6, 5, 4, 3, 2, 1]);
    expect(done.error.message).toContain('c-0181');
  }, 320_000);

  it('a wave of many targets planned to pause halts before it; the resume starts its child execution (the same path as an inline wave), and the rollout completes', async () => {
    const tenant = t.tenant();
    const { u } = await productionLine(t, { bakeSeconds: 0, targets: fleet(90, 3), rollout: { maxParallel: 10, waves: [{ wave: 2, pause: true }] } }, tenant);
    expect((await t.call('POST', '/api/v1/environments/dev/configs', { token: u.deployer, body: { key: 'feature.x', value: true } })).status).toBe(201);
    const id = await promote(u);
    const { until } = rollouts(t);
    const parked = await until(u.viewer, id, (d) => d.rollout.phase === 'HALTED', 'the rollout halts before wave 2', 120_000);
    expect(new Set(byWave(parked).get(1))).toEqual(new Set(['DONE']));
    expect(new Set(byWave(parked).get(2))).toEqual(new Set(['PENDING']));
    expect(children(id).map((c) => c.input.wave)).toEqual([1]);
    const resumed = await t.call('POST', `/api/v1/promotions/${id}/resume`, { token: u.deployer, body: { reason: 'wave 1 looks fine' } });
    expect(resumed.status, JSON.stringify(resumed.body)).toBe(200);
    const { done } = await ended(tenant, u.viewer, id, 120_000);
    expect(done.status, JSON.stringify(done.error)).toBe('COMPLETED');
    expect(Object.values(states(done)).every((x) => x === 'DONE')).toBe(true);
    expect(children(id).map((c) => [c.input.wave, c.status])).toEqual([
      [1, 'SUCCEEDED'],
      [2, 'SUCCEEDED'],
      [3, 'SUCCEEDED'],
    ]);
  }, 300_000);

  it('1,000 targets in 10 waves complete: one child execution per wave, each history bounded, the audit one entry per wave', async () => {
    const { tenant, u } = await start(fleet(1000, 10));
    const started = Date.now();
    const id = await promote(u);
    const { done, parent, histories } = await ended(tenant, u.viewer, id, 900_000);
    const elapsed = Date.now() - started;
    expect(done.status, JSON.stringify(done.error)).toBe('COMPLETED');
    // A plan of 1,000 targets is paged: the detail says per wave how many targets it has and how many are in each state.
    expect(done.rollout.waves.map((w: any) => w.count)).toEqual(Array(10).fill(100));
    expect(done.rollout.waves.reduce((n: number, w: any) => n + (w.states?.DONE ?? 0), 0)).toBe(1000);
    const kids = children(id);
    expect(kids.map((c) => c.input.wave).sort((a, b) => Number(a) - Number(b))).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(kids.every((c) => c.status === 'SUCCEEDED')).toBe(true);
    const transitions = t.stack.workflow.transitions(parent) + kids.reduce((s, c) => s + t.stack.workflow.transitions(c.id), 0);
    const largest = Math.max(...histories);
    console.log(
      `fleet rollout of 1000 targets in 10 waves: ${transitions} state transitions (${(transitions / 1000).toFixed(3)} per target), largest execution history ${largest} events (limit 25,000), ${elapsed} ms`,
    );
    expect(transitions / 1000).toBeLessThanOrEqual(4);
    // The bench's model (the same ASL on the runner, steps answering as these did) counts what this run took: only a
    // retried task (a lost race) adds to the real count.
    const model = await fleetFlowCounts(1000, 10);
    expect(transitions).toBeGreaterThanOrEqual(model.transitions);
    expect(transitions).toBeLessThanOrEqual(model.transitions + 10);
    expect(largest).toBeGreaterThanOrEqual(model.largestHistory);
    expect(largest).toBeLessThanOrEqual(model.largestHistory + 20);
    // Bounded by the batches, not the targets: a wave of 100 is one batch to apply and one to read.
    expect(largest).toBeLessThan(500);
    // The audit records each wave once, with its counts and a bounded page of names; no entry per target.
    const audit = await store().queryAudit(tenant, { entityType: 'promotion', entityId: id, limit: 100 } as never);
    const actions = audit.items.map((e) => e.action);
    expect(actions.filter((a) => a === 'promotion.target.apply')).toEqual([]);
    const waveEntries = audit.items.filter((e) => e.action === 'promotion.wave.apply');
    expect(waveEntries).toHaveLength(10);
    for (const e of waveEntries) {
      expect(e.reason).toMatch(/: 100 of 100 targets changed \(100 DONE\): c-\d{4}(, c-\d{4}){49} and 50 more$/);
    }
  }, 900_000);
});
