import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WAVE_MACHINE } from '../../local/workflow.ts';
import { waitFor } from '../support/promotions.ts';
import { productionLine } from '../support/line.ts';
import { makeLine, useTestStack } from '../support/stack.ts';
import { rollouts, states } from '../support/waves.ts';
import { alarmArn, alarmEvent } from '../support/alarms.ts';

/**
 * A wave whose targets poll, wait for their deployer or measure runs as a child execution of its own
 * (statemachines/wave.asl.json) whatever its size: one task polls, reads or measures a batch of targets, one Wait per
 * loop for the whole wave, and past the loops its history allows the wave continues as a new execution, which answers
 * the parent once. Time is the stack's clock: the test moves it, the health answers are the test's.
 */
/** The steps the runner ran, per promotion (the runner's seam: what each task was given). */
const seen = new Map<string, { step: string; part?: number; batch?: { phase: string; offset: number; done: boolean } }[]>();
const t = useTestStack({
  beforeStep: (payload) => {
    const p = payload as { promotionId?: string; step: string };
    seen.get(p.promotionId ?? '')?.push(p as never);
  },
});
const { promote, until, store } = rollouts(t);

/** The health endpoint: 503 until the test says the fleet is healthy. */
let healthy = false;
let polls = 0;
let health: Server;
let healthUrl = '';
/** The analysis endpoint: the value each target answers. */
const values = new Map<string, number>();
beforeAll(async () => {
  health = createServer((req, res) => {
    if (req.url?.startsWith('/value/')) {
      const v = values.get(decodeURIComponent(req.url.slice('/value/'.length)));
      return void (v === undefined ? res.writeHead(404).end() : res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ v })));
    }
    polls++;
    res.writeHead(healthy ? 200 : 503).end(healthy ? 'ok' : 'starting');
  });
  await new Promise<void>((r) => health.listen(0, '127.0.0.1', () => r()));
  healthUrl = `http://127.0.0.1:${(health.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => health.close(() => r())));

const pad = (i: number) => String(i).padStart(4, '0');
const children = (id: string) => t.stack.workflow.executions(WAVE_MACHINE).filter((e) => e.input.promotionId === id);
/** Every one of the rollout's `n` targets is in `state`. */
const all = (d: any, state: string, n: number) => Object.values(states(d)).filter((s) => s === state).length === n;
const steps = (id: string, step: string) => (seen.get(id) ?? []).filter((s) => s.step === step);

/** The promotion has ended (completed, rolled back, failed). */
const ended = async (token: string, id: string) =>
  ['COMPLETED', 'ROLLED_BACK', 'FAILED'].includes((await t.call('GET', `/api/v1/promotions/${id}`, { token })).body.status);

/** Moves the stack's clock `seconds` at a time until `ok` holds (each move ends the child's Wait of that length). */
async function driveUntil(ok: () => boolean | Promise<boolean>, seconds: number, why: string, tries = 400) {
  for (let i = 0; i < tries; i++) {
    if (await ok()) return;
    t.stack.clock.advance(seconds * 1000);
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`never: ${why}`);
}

describe('child waves that poll, wait for callbacks and measure (local Step Functions on DynamoDB Local)', () => {
  it('a wave of 60 targets confirmed by health polling runs as a child: batched polls, its history bounded, continued as a new execution, the parent answered once', async () => {
    // A small history budget: 1 batch, (50 - 11 - 7) / 15 = 2 loops in the first execution, (50 - 11) / 15 = 2 in each continuation.
    const undo = t.stack.configure({ STAGELINE_WAVE_HISTORY_EVENTS: '50' });
    try {
      healthy = false;
      const confirm = { mode: 'health', url: `${healthUrl}/healthz`, timeoutSeconds: 3600, intervalSeconds: 60 };
      const targets = Array.from({ length: 60 }, (_, i) => ({ name: `h-${pad(i + 1)}`, wave: 1, confirm }));
      const { u } = await productionLine(t, { bakeSeconds: 0, targets, rollout: { maxParallel: 10 } });
      expect((await t.call('POST', '/api/v1/environments/dev/configs', { token: u.deployer, body: { key: 'feature.x', value: true } })).status).toBe(201);
      const id = await promote(u);
      seen.set(id, []);
      const waiting = await until(u.viewer, id, (d) => all(d, 'CONFIRMING', 60), 'every target waits for its health');
      expect(waiting.status).toBe('EXECUTING');
      // Polled over several loops (each a Wait of 60 s on the clock), across at least one continuation, then healthy.
      await driveUntil(() => steps(id, 'wave-confirm').length >= 6, 60, 'six polls of the wave');
      const before = polls;
      healthy = true;
      await driveUntil(() => ended(u.viewer, id), 60, 'the end');
      const done = await waitFor(t, u.viewer, id, ['COMPLETED', 'ROLLED_BACK', 'FAILED'], 60_000);
      expect(done.status, JSON.stringify(done.error)).toBe('COMPLETED');
      expect(Object.values(states(done))).toEqual(Array(60).fill('DONE'));
      expect(done.rollout.waves[0].targets[0].confirmation).toMatchObject({ mode: 'health', by: 'stageline', at: expect.any(String) });
      // One task polls a batch: each poll of the wave is ONE wave-confirm task for its 60 targets (60 requests).
      expect(polls - before).toBeGreaterThanOrEqual(60);
      expect(steps(id, 'target-health')).toEqual([]);
      // Continued: more than one execution of the wave, each its own name, all SUCCEEDED; the parent answered once (one wave-end).
      await t.stack.bus.idle();
      const kids = children(id);
      expect(kids.length).toBeGreaterThan(1);
      expect(new Set(kids.map((c) => c.id)).size).toBe(kids.length);
      expect(kids.map((c) => c.status)).toEqual(Array(kids.length).fill('SUCCEEDED'));
      expect(kids.map((c) => c.input.part)).toEqual(kids.map((_, i) => i));
      expect(steps(id, 'wave-continue')).toHaveLength(kids.length - 1);
      expect(steps(id, 'wave-end')).toHaveLength(1);
      // Each execution's history bounded by the budget, whatever the number of polls.
      const histories = kids.map((c) => t.stack.workflow.events(c.id));
      expect(Math.max(...histories), JSON.stringify(histories)).toBeLessThanOrEqual(50);
    } finally {
      undo();
    }
  }, 240_000);

  it('a wave of 30 callback targets completes when every one is confirmed through the API (no token per target)', async () => {
    const confirm = { mode: 'callback', timeoutSeconds: 3600 };
    const targets = Array.from({ length: 30 }, (_, i) => ({ name: `cb-${pad(i + 1)}`, wave: 1, confirm }));
    const { u } = await productionLine(t, { bakeSeconds: 0, targets, rollout: { maxParallel: 10 } });
    expect((await t.call('POST', '/api/v1/environments/dev/configs', { token: u.deployer, body: { key: 'feature.x', value: true } })).status).toBe(201);
    const id = await promote(u);
    seen.set(id, []);
    await until(u.viewer, id, (d) => all(d, 'CONFIRMING', 30), 'every target waits for its deployer');
    expect(children(id)).toHaveLength(1);
    const post = (name: string, token = u.deployer) =>
      t.call('POST', `/api/v1/promotions/${id}/targets/${name}/confirm`, { token, body: { note: 'looks fine' } });
    expect((await post('cb-0001', u.viewer)).status).toBe(403);
    for (const x of targets) {
      const r = await post(x.name);
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      expect(r.body).toMatchObject({ target: x.name, state: 'BAKING' });
    }
    // Confirmed already: 409, as inline.
    expect((await post('cb-0001')).status).toBe(409);
    await driveUntil(() => ended(u.viewer, id), 15, 'the end');
    const done = await waitFor(t, u.viewer, id, ['COMPLETED', 'ROLLED_BACK', 'FAILED'], 60_000);
    expect(done.status, JSON.stringify(done.error)).toBe('COMPLETED');
    expect(Object.values(states(done))).toEqual(Array(30).fill('DONE'));
    expect(done.rollout.waves[0].targets.find((x: any) => x.name === 'cb-0007').confirmation).toMatchObject({ mode: 'callback', by: expect.any(String) });
    expect(steps(id, 'target-apply')).toEqual([]);
    expect(steps(id, 'wave-end')).toHaveLength(1);
  }, 180_000);

  it('a wave with an analysis that fails fails its child; the parent rolls back every changed target of every wave', async () => {
    const tenant = t.tenant();
    const u = await t.users(tenant);
    await makeLine(t, u.admin, ['dev']);
    const tpl = await t.call('PUT', '/api/v1/analysis-templates/latency', {
      token: u.admin,
      body: {
        provider: { type: 'web', url: `${healthUrl}/value/${tenant}-{{target.name}}`, jsonPath: '$.v' },
        intervalSeconds: 30,
        count: 2,
        failureCondition: 'result > 100',
      },
    });
    expect(tpl.status, JSON.stringify(tpl.body)).toBeLessThan(300);
    // Wave 1: 2 immediate targets without analyses (inline); wave 2: 4 targets measured by the wave's analysis (a child, though small).
    const targets = [...['a1', 'a2'].map((name) => ({ name, wave: 1 })), ...['b1', 'b2', 'b3', 'b4'].map((name) => ({ name, wave: 2 }))];
    for (const x of targets) values.set(`${tenant}-${x.name}`, x.name === 'b3' ? 500 : 10);
    const env = await t.call('POST', '/api/v1/environments', {
      token: u.admin,
      body: { name: 'production', position: 1, bakeSeconds: 60, targets, rollout: { waves: [{ wave: 2, analysis: [{ template: 'latency' }] }] } },
    });
    expect(env.status, JSON.stringify(env.body)).toBe(201);
    expect((await t.call('POST', '/api/v1/environments/dev/configs', { token: u.deployer, body: { key: 'feature.x', value: true } })).status).toBe(201);
    const id = await promote(u);
    seen.set(id, []);
    await driveUntil(() => ended(u.viewer, id), 30, 'the end');
    const done = await waitFor(t, u.viewer, id, ['COMPLETED', 'ROLLED_BACK', 'FAILED'], 60_000);
    expect(done.status, JSON.stringify(done.error)).toBe('ROLLED_BACK');
    expect(states(done)).toEqual({ a1: 'ROLLED_BACK', a2: 'ROLLED_BACK', b1: 'ROLLED_BACK', b2: 'ROLLED_BACK', b3: 'ROLLED_BACK', b4: 'ROLLED_BACK' });
    expect(done.error.message).toMatch(/analysis 'latency' of 'b3' failed/);
    const b3 = done.rollout.waves[1].targets.find((x: any) => x.name === 'b3');
    expect(b3.analysis[0]).toMatchObject({ template: 'latency', phase: 'Failed' });
    // Wave 2 ran as a child (its measurements batched: no per-target measuring task), wave 1 inline.
    expect(children(id).map((c) => c.input.wave)).toEqual([2]);
    expect(steps(id, 'wave-baked').length).toBeGreaterThan(0);
    expect(steps(id, 'target-baked').map((s: any) => s.target)).toEqual(expect.arrayContaining(['a1', 'a2']));
    expect(steps(id, 'target-baked').filter((s: any) => s.target?.startsWith('b'))).toEqual([]);
    // A small child wave is audited as an inline one: an entry per changed target, no wave entry.
    const audit = await store().queryAudit(tenant, { entityType: 'promotion', entityId: id, limit: 100 } as never);
    const applied = audit.items.filter((e) => e.action === 'promotion.target.apply').map((e) => String(e.after).split(':')[0]);
    expect(applied.sort()).toEqual(['a1', 'a2', 'b1', 'b2', 'b3', 'b4']);
    expect(audit.items.filter((e) => e.action === 'promotion.wave.apply')).toEqual([]);
  }, 180_000);
  it('an alarm while a polled wave waits between polls ends its wait at once: the wave fails and the parent rolls back, the clock unmoved', async () => {
    const tenant = t.tenant();
    const alarm = alarmArn(`${tenant}/edge-5xx`);
    // Polled every 5 minutes: without the stop reaching the wave's wait, nothing would happen for 5 minutes.
    const confirm = { mode: 'health', url: `${healthUrl}/never`, timeoutSeconds: 3600, intervalSeconds: 300 };
    const targets = [1, 2, 3].map((i) => ({ name: `edge-${i}`, wave: 1, confirm, monitors: [alarm] }));
    const { u } = await productionLine(t, { bakeSeconds: 0, targets }, tenant);
    expect((await t.call('POST', '/api/v1/environments/dev/configs', { token: u.deployer, body: { key: 'feature.x', value: true } })).status).toBe(201);
    healthy = false;
    const id = await promote(u);
    seen.set(id, []);
    await until(u.viewer, id, (d) => all(d, 'CONFIRMING', 3) && steps(id, 'wave-wait').length > 0, 'the wave waits between its polls');
    const polled = steps(id, 'wave-confirm').length;
    expect((await t.call('POST', '/dev/events', { body: alarmEvent(alarm, '5xx > 1% on edge-2') })).status).toBe(202);
    const done = await waitFor(t, u.viewer, id, ['COMPLETED', 'ROLLED_BACK', 'FAILED'], 30_000);
    expect(done.status, JSON.stringify(done.error)).toBe('ROLLED_BACK');
    expect(Object.values(states(done))).toEqual(['ROLLED_BACK', 'ROLLED_BACK', 'ROLLED_BACK']);
    expect(done.error.message).toContain('edge-5xx');
    // The wave never polled again after the wait the stop ended.
    expect(steps(id, 'wave-confirm')).toHaveLength(polled);
    await t.stack.bus.idle();
    expect(children(id).map((c) => c.status)).toEqual(['FAILED']);
  }, 120_000);
});
