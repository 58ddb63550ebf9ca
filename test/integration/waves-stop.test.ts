import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalWorkflow } from '../../local/workflow.ts';
import { approveIfAsked, waitFor } from '../support/promotions.ts';
import { productionLine } from '../support/line.ts';
import { startTestStack, type TestStack } from '../support/stack.ts';
import { states } from '../support/waves.ts';

/**
 * Once a rollout decides to stop (a guarded wave's regression, a failed analysis), no later wave starts and no
 * target of it changes, and the history says only what happened: the flow is the one writer that ends a
 * promotion, and a step that would change a target asks it first, in the same conditional write.
 */
let t: TestStack;
/** per "<prefix>-<target>": the value the web endpoint answers */
const values = new Map<string, number>();
let web: Server;
let webUrl = '';
let calls = 0;

beforeAll(async () => {
  t = await startTestStack();
  const noise = [0, 0.012, -0.015, 0.007, -0.004, 0.018, -0.011, 0.003, -0.019, 0.009];
  web = createServer((req, res) => {
    const base = values.get(decodeURIComponent((req.url ?? '').replace(/^\/value\//, '')));
    if (base === undefined) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ data: { value: base * (1 + noise[calls++ % noise.length]!) } }));
  });
  web.listen(0, '127.0.0.1');
  await new Promise((r) => web.once('listening', r));
  webUrl = `http://127.0.0.1:${(web.address() as AddressInfo).port}`;
}, 120_000);
afterAll(async () => {
  await Promise.all([t?.stop(), new Promise((r) => web?.close(r))]);
});

const TARGETS = [
  { name: 'canary', wave: 1 },
  { name: 'us-east-1', wave: 2 },
  { name: 'eu-west-1', wave: 2 },
  { name: 'cell-1', wave: 3 },
  { name: 'cell-2', wave: 3 },
];

/** What a target serves of feature.x: 'new' once the release reached it, 'old' (production has none) otherwise. */
/** dev → production over three waves with `production`'s settings, the template `latency` reading `prefix`'s values; the promotion of feature.x, ended. */
async function stopped(prefix: string, production: Record<string, unknown>, template: Record<string, unknown>) {
  const tenant = t.tenant();
  const u = await t.users(tenant);
  const put = await t.call('PUT', '/api/v1/analysis-templates/latency', {
    token: u.admin,
    body: { provider: { type: 'web', url: `${webUrl}/value/${prefix}-{{target.name}}`, jsonPath: '$.data.value' }, intervalSeconds: 1, ...template },
  });
  expect(put.status, JSON.stringify(put.body)).toBeLessThan(300);
  await productionLine(t, { bakeSeconds: 1, targets: TARGETS, ...production }, tenant);
  expect((await t.call('POST', '/api/v1/environments/dev/configs', { token: u.deployer, body: { key: 'feature.x', value: 'new' } })).status).toBe(201);
  const p = await t.call('POST', '/api/v1/promotions', { token: u.deployer, body: { sourceEnvironment: 'dev', targetEnvironment: 'production' } });
  expect(p.status, JSON.stringify(p.body)).toBe(201);
  const id = p.body.id as string;
  await approveIfAsked(t, u, id, ['EXECUTING', 'COMPLETED', 'APPROVED']);
  const ended = await waitFor(t, u.viewer, id, ['ROLLED_BACK', 'COMPLETED', 'FAILED'], 120_000);
  // The flow ran to its end: whatever it still did after the decision is written by now.
  await t.stack.workflow.done(LocalWorkflow.executionId({ tenant, promotionId: id }));
  await t.stack.stream.idle();
  const d = (await t.call('GET', `/api/v1/promotions/${id}`, { token: u.viewer })).body;
  const audit = (await t.call('GET', `/api/v1/audit?entityType=promotion&entityId=${id}&limit=100`, { token: u.viewer })).body.items as {
    action: string;
    reason?: string;
  }[];
  const served = async (target: string) =>
    (await t.call('GET', `/api/v1/environments/production/effective?target=${target}`, { token: u.viewer })).body.configs['feature.x'] ?? 'old';
  return { ended, d, audit, served, tenant, u, id };
}

/** What no target of a wave after `last` may show: it was never changed, it serves the old value, no entry says it started. */
async function untouchedAfter(r: Awaited<ReturnType<typeof stopped>>, last: number) {
  const later = TARGETS.filter((x) => x.wave > last);
  for (const x of later) {
    expect(states(r.d)[x.name], x.name).toBe('PENDING');
    expect(await r.served(x.name), x.name).toBe('old');
  }
  const text = r.audit.map((e) => `${e.action}: ${e.reason ?? ''}`);
  for (let w = last + 1; w <= 3; w++) {
    expect(text.filter((s) => s.startsWith('promotion.wave.start') && new RegExp(`wave ${w}:`).test(s))).toEqual([]);
    expect(text.filter((s) => s.startsWith('promotion.target.apply') && new RegExp(`wave ${w}:`).test(s))).toEqual([]);
  }
  // The wave it stopped in never completed.
  expect(text.filter((s) => new RegExp(`wave ${last} complete`).test(s))).toEqual([]);
  // Nothing was written after the decision to stop but the rollback's own end.
  expect(r.audit.filter((e) => e.action === 'promotion.rollback.auto')).toHaveLength(1);
}

describe('a rollout that decides to stop stops', () => {
  it('a 20 % regression in guarded wave 1: only the canary changed and was put back; waves 2 and 3 never start', async () => {
    values.set('g-canary', 120);
    for (const n of ['us-east-1', 'eu-west-1', 'cell-1', 'cell-2']) values.set(`g-${n}`, 100);
    const r = await stopped(
      'g',
      { rollout: { waves: [{ wave: 1, bakeSeconds: 6, compare: { template: 'latency', minSamples: 5, maxRegression: 0.1 } }] } },
      { count: 5, successCondition: 'result >= 0' },
    );
    expect(r.ended.status).toBe('ROLLED_BACK');
    expect(states(r.d).canary).toBe('ROLLED_BACK');
    expect(await r.served('canary')).toBe('old');
    await untouchedAfter(r, 1);
  }, 180_000);

  it('an analysis failing in wave 2: wave 2 never completes, wave 3 never starts', async () => {
    for (const n of ['canary', 'eu-west-1', 'cell-1', 'cell-2']) values.set(`f-${n}`, 100);
    values.set('f-us-east-1', 500);
    const r = await stopped('f', { bakeSeconds: 3, analysis: [{ template: 'latency' }] }, { count: 2, failureCondition: 'result > 200' });
    expect(r.ended.status).toBe('ROLLED_BACK');
    expect(r.d.error.message).toMatch(/analysis 'latency' of 'us-east-1' failed/);
    for (const n of ['canary', 'us-east-1']) expect(await r.served(n), n).toBe('old');
    await untouchedAfter(r, 2);
  }, 180_000);
});
