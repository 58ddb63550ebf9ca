import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alarmArn, alarmEvent } from '../support/alarms.ts';
import { productionLine } from '../support/line.ts';
import { approveIfAsked, waitFor } from '../support/promotions.ts';
import { startTestStack, type TestStack } from '../support/stack.ts';
import { states } from '../support/waves.ts';

/**
 * The waits between a wave's health polls and between its measurements end at once when a stop is decided, as a bake
 * does: a wave that polls or measures runs as a child execution (statemachines/wave.asl.json), whose waits
 * (WaveConfirmWait, WaveBake) are task-token waits whose timer is the interval, the token kept on the wave's first
 * target's item, and the alarm's question to the flow (askToStop) fails it. Were they Wait states, the step after the
 * wait would refuse up to one interval later, and the promotion would stay EXECUTING with its targets changed until then.
 *
 * Held by counts, not by a clock: the step that follows the wait (one more poll of the wave, one more pass of its
 * measuring loop) never runs after the stop, and the promotion ends ROLLED_BACK without it.
 */
let t: TestStack;
/** The steps the flow ran, per promotion: `<step> <target>`. */
const ran = new Map<string, string[]>();
let web: Server;
let webUrl = '';
/** Health answers and measured values per path. */
let answers: (path: string) => { status: number; body?: unknown } = () => ({ status: 404 });

beforeAll(async () => {
  t = await startTestStack({
    beforeStep: (payload) => {
      const p = payload as { promotionId?: string; step?: string; target?: string };
      if (!p.promotionId) return;
      const list = ran.get(p.promotionId) ?? [];
      list.push(`${p.step} ${p.target ?? ''}`.trim());
      ran.set(p.promotionId, list);
    },
  });
  web = createServer((req, res) => {
    const a = answers(req.url ?? '');
    res.writeHead(a.status, { 'content-type': 'application/json' }).end(JSON.stringify(a.body ?? {}));
  });
  web.listen(0, '127.0.0.1');
  await new Promise((r) => web.once('listening', r));
  webUrl = `http://127.0.0.1:${(web.address() as AddressInfo).port}`;
}, 120_000);
afterAll(async () => {
  await Promise.all([t?.stop(), new Promise((r) => web?.close(r))]);
});

/** How often a step of a wave's child execution (wave-confirm, wave-baked: a batch of the wave's targets each) ran. */
const stepsOf = (id: string, step: string) => (ran.get(id) ?? []).filter((s) => s === step).length;

async function until(cond: () => boolean | Promise<boolean>, what: string, ms = 60_000) {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`never: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function promote(u: Awaited<ReturnType<TestStack['users']>>) {
  expect((await t.call('POST', '/api/v1/environments/dev/configs', { token: u.deployer, body: { key: 'feature.x', value: 'new' } })).status).toBe(201);
  const p = await t.call('POST', '/api/v1/promotions', { token: u.deployer, body: { sourceEnvironment: 'dev', targetEnvironment: 'production' } });
  expect(p.status, JSON.stringify(p.body)).toBe(201);
  await approveIfAsked(t, u, p.body.id as string, ['EXECUTING', 'COMPLETED', 'ROLLED_BACK', 'FAILED']);
  return p.body.id as string;
}

describe('a stop decided while the flow waits between polls or measurements ends the wait at once', () => {
  it('an alarm while a health target waits out its 300 s poll interval: rolled back without another poll', async () => {
    const tenant = t.tenant();
    const alarm = alarmArn(`${tenant}/edge-5xx`);
    answers = (path) => (path === `/${tenant}/healthz` ? { status: 503 } : { status: 404 });
    const { u } = await productionLine(
      t,
      {
        bakeSeconds: 1,
        targets: [
          {
            name: 'edge',
            wave: 1,
            monitors: [alarm],
            confirm: { mode: 'health', url: `${webUrl}/${tenant}/healthz`, timeoutSeconds: 3600, intervalSeconds: 300 },
          },
          { name: 'core', wave: 2 },
        ],
      },
      tenant,
    );
    const id = await promote(u);
    // The first poll answered 503: the wave waits the interval before the next.
    await until(() => stepsOf(id, 'wave-confirm') === 1 && stepsOf(id, 'wave-wait') === 1, 'the first poll');
    await new Promise((r) => setTimeout(r, 300));
    expect((await t.call('POST', '/dev/events', { body: alarmEvent(alarm, 'edge answers 5xx') })).status).toBe(202);
    const done = await waitFor(t, u.viewer, id, ['COMPLETED', 'ROLLED_BACK', 'FAILED'], 60_000);
    expect(done.status, JSON.stringify(done.error)).toBe('ROLLED_BACK');
    expect(states(done)).toEqual({ edge: 'ROLLED_BACK', core: 'PENDING' });
    expect(done.error.message).toMatch(/edge-5xx/);
    // The wait ended with the stop: no second poll, ever.
    expect(stepsOf(id, 'wave-confirm')).toBe(1);
  }, 120_000);

  it('an alarm while a target waits out its measuring interval: rolled back without another pass of the measuring loop', async () => {
    const tenant = t.tenant();
    const alarm = alarmArn(`${tenant}/canary-latency`);
    answers = (path) => (path === `/${tenant}/value` ? { status: 200, body: { data: { value: 100 } } } : { status: 404 });
    const u = await t.users(tenant);
    // Measured every 4 s, 30 times: the bake (120 s) is spent in the measuring loop, one wait of 4 s after each measurement.
    const put = await t.call('PUT', '/api/v1/analysis-templates/latency', {
      token: u.admin,
      body: {
        provider: { type: 'web', url: `${webUrl}/${tenant}/value`, jsonPath: '$.data.value' },
        intervalSeconds: 4,
        count: 30,
        failureCondition: 'result > 1000',
      },
    });
    expect(put.status, JSON.stringify(put.body)).toBeLessThan(300);
    await productionLine(
      t,
      {
        bakeSeconds: 120,
        analysis: [{ template: 'latency' }],
        targets: [
          { name: 'canary', wave: 1, monitors: [alarm] },
          { name: 'core', wave: 2 },
        ],
      },
      tenant,
    );
    const id = await promote(u);
    // The first measurement is taken (a pass of WaveBaked, the canary still measuring): the wave waits the measuring interval.
    await until(() => stepsOf(id, 'wave-baked') === 1 && stepsOf(id, 'wave-wait') === 2, 'the first measurement');
    await new Promise((r) => setTimeout(r, 300));
    const passes = stepsOf(id, 'wave-baked');
    expect((await t.call('POST', '/dev/events', { body: alarmEvent(alarm, 'p99 > 800 ms') })).status).toBe(202);
    const done = await waitFor(t, u.viewer, id, ['COMPLETED', 'ROLLED_BACK', 'FAILED'], 60_000);
    expect(done.status, JSON.stringify(done.error)).toBe('ROLLED_BACK');
    expect(states(done)).toEqual({ canary: 'ROLLED_BACK', core: 'PENDING' });
    // The wait ended with the stop: no pass of the measuring loop after it.
    expect(stepsOf(id, 'wave-baked')).toBe(passes);
  }, 120_000);
});
