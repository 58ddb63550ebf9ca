import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startExporter, type Exporter } from '../../local/exporter.ts';
import { cliOf } from '../support/cli.ts';
import { approveIfAsked, waitFor } from '../support/promotions.ts';
import { startPrometheus, type LocalPrometheus } from '../support/prometheus.ts';
import { makeLine, startTestStack, type TestStack } from '../support/stack.ts';

/**
 * Analysis through the API on the local stack: templates measured during each target's bake by the real flow (a
 * Wait and a task per measurement), against a real Prometheus scraping a tiny exporter, and against a web endpoint
 * for a guarded wave's comparison with the targets not changed yet. A failed analysis rolls every changed target
 * back; an inconclusive one halts the rollout; a pre-promotion analysis of the source environment is a gate.
 */
let t: TestStack;
let prom: LocalPrometheus;
let exporter: Exporter;
/** per target of the web endpoint: the value it answers (a fixed noise added per call) */
const webValues = new Map<string, number>();
let web: Server;
let webUrl = '';
let calls = 0;

beforeAll(async () => {
  exporter = await startExporter();
  [t, prom] = await Promise.all([startTestStack(), startPrometheus([exporter.address])]);
  // A small, fixed noise (±2 %) so the samples have ranks without being random.
  const noise = [0, 0.012, -0.015, 0.007, -0.004, 0.018, -0.011, 0.003, -0.019, 0.009];
  web = createServer((req, res) => {
    const name = decodeURIComponent((req.url ?? '').replace(/^\/value\//, ''));
    const base = webValues.get(name);
    if (base === undefined) return void res.writeHead(404).end();
    const v = base * (1 + noise[calls++ % noise.length]!);
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ data: { value: v } }));
  });
  web.listen(0, '127.0.0.1');
  await new Promise((r) => web.once('listening', r));
  webUrl = `http://127.0.0.1:${(web.address() as AddressInfo).port}`;
  // The exporter has been scraped often enough for a rate over 5 s to have two points.
  exporter.setErrorRate('warmup', 0);
  for (let i = 0; i < 100; i++) {
    const r = await fetch(`${prom.url}/api/v1/query?query=${encodeURIComponent('sum(rate(requests_total[5s]))')}`).then((x) => x.json() as Promise<any>);
    if (r.data?.result?.length) break;
    await new Promise((res) => setTimeout(res, 200));
  }
}, 120_000);
afterAll(async () => {
  await Promise.all([t?.stop(), prom?.stop(), exporter?.stop(), new Promise((r) => web?.close(r))]);
});

const errorRate = (prefix: string) =>
  `sum(rate(errors_total{target="${prefix}-{{target.name}}"}[5s])) / sum(rate(requests_total{target="${prefix}-{{target.name}}"}[5s]))`;

async function putTemplate(token: string, name: string, body: Record<string, unknown>) {
  const r = await t.call('PUT', `/api/v1/analysis-templates/${name}`, { token, body });
  expect(r.status, JSON.stringify(r.body)).toBeLessThan(300);
}

/** dev → production, production in waves; `extra` is the environment's analysis settings. */
async function line(targets: { name: string; wave: number }[], extra: Record<string, unknown>) {
  const tenant = t.tenant();
  const u = await t.users(tenant);
  await makeLine(t, u.admin, ['dev']);
  return { tenant, u, create: (more: Record<string, unknown> = {}) => createProduction(u.admin, targets, { ...extra, ...more }) };
}

async function createProduction(token: string, targets: { name: string; wave: number }[], extra: Record<string, unknown>) {
  const r = await t.call('POST', '/api/v1/environments', { token, body: { name: 'production', position: 1, bakeSeconds: 3, targets, ...extra } });
  expect(r.status, JSON.stringify(r.body)).toBe(201);
}

async function promote(u: Awaited<ReturnType<TestStack['users']>>): Promise<string> {
  expect((await t.call('POST', '/api/v1/environments/dev/configs', { token: u.deployer, body: { key: 'feature.x', value: true } })).status).toBe(201);
  const p = await t.call('POST', '/api/v1/promotions', { token: u.deployer, body: { sourceEnvironment: 'dev', targetEnvironment: 'production' } });
  expect(p.status, JSON.stringify(p.body)).toBe(201);
  await approveIfAsked(t, u, p.body.id as string, ['EXECUTING', 'COMPLETED', 'APPROVED', 'VALIDATION_FAILED']);
  return p.body.id as string;
}

const detail = async (token: string, id: string) => (await t.call('GET', `/api/v1/promotions/${id}`, { token })).body;
const runsOf = (d: any) => Object.fromEntries(d.rollout.waves.flatMap((w: any) => w.targets.map((x: any) => [x.name, x.analysis ?? []])));
const statesOf = (d: any) => Object.fromEntries(d.rollout.waves.flatMap((w: any) => w.targets.map((x: any) => [x.name, x.state])));

const THREE = [
  { name: 'canary', wave: 1 },
  { name: 'us-east-1', wave: 2 },
  { name: 'eu-west-1', wave: 2 },
];

describe('analysis during the bake: a real Prometheus', () => {
  it('rolls wave 2 back when its error rate rises, with the measurements as evidence', async () => {
    const { u, create } = await line(THREE, {});
    await putTemplate(u.admin, 'error-rate', {
      provider: { type: 'prometheus', address: prom.url, query: errorRate('bad') },
      intervalSeconds: 1,
      count: 2,
      failureCondition: 'result > 0.05',
    });
    await create({ analysis: [{ template: 'error-rate' }] });
    exporter.setErrorRate('bad-canary', 0);
    exporter.setErrorRate('bad-us-east-1', 0.2);
    exporter.setErrorRate('bad-eu-west-1', 0);
    await new Promise((r) => setTimeout(r, 6000)); // the new series have a rate over 5 s
    const id = await promote(u);
    await waitFor(t, u.viewer, id, ['ROLLED_BACK', 'COMPLETED', 'FAILED'], 120_000);
    const d = await detail(u.viewer, id);
    expect(d.status).toBe('ROLLED_BACK');
    expect(statesOf(d)).toMatchObject({ canary: 'ROLLED_BACK', 'us-east-1': 'ROLLED_BACK' });
    const runs = runsOf(d);
    expect(runs.canary[0]).toMatchObject({ template: 'error-rate', phase: 'Successful', thresholds: { failure: 'result > 0.05' } });
    expect(runs.canary[0].measurements).toHaveLength(2);
    const bad = runs['us-east-1'][0];
    expect(bad.phase).toBe('Failed');
    expect(bad.measurements.at(-1).value).toBeGreaterThan(0.1);
    expect(d.error.message).toMatch(/analysis 'error-rate' of 'us-east-1' failed/);
    // The decision record keeps the same evidence.
    const record = (await t.call('GET', `/api/v1/promotions/${id}/decision`, { token: u.viewer })).body;
    expect(JSON.stringify(record)).toContain('"template":"error-rate"');
    // The CLI says each analysis with its values (promotions show).
    const shown = await cliOf(t)(u.viewer, 'promotions', 'show', id);
    expect(shown.stdout).toMatch(/✗ us-east-1 error-rate: failed/);
    expect(shown.stdout).toMatch(/✓ canary error-rate: successful after 2 measurements/);
  }, 180_000);

  it('completes when the error rate stays low: every target measured count times', async () => {
    const { u, create } = await line(THREE, {});
    await putTemplate(u.admin, 'error-rate', {
      provider: { type: 'prometheus', address: prom.url, query: errorRate('good') },
      intervalSeconds: 1,
      count: 2,
      failureCondition: 'result > 0.05',
    });
    await create({ analysis: [{ template: 'error-rate' }] });
    for (const n of THREE) exporter.setErrorRate(`good-${n.name}`, 0.01);
    await new Promise((r) => setTimeout(r, 6000));
    const id = await promote(u);
    await waitFor(t, u.viewer, id, ['ROLLED_BACK', 'COMPLETED', 'FAILED'], 120_000);
    const d = await detail(u.viewer, id);
    expect(d.status, JSON.stringify(d.error)).toBe('COMPLETED');
    for (const n of THREE) {
      const [r] = runsOf(d)[n.name];
      expect(r.phase).toBe('Successful');
      expect(r.measurements.length).toBe(2);
      for (const m of r.measurements) expect(m.value).toBeLessThan(0.05);
    }
  }, 180_000);
});

describe('a guarded wave: the changed targets compared with the ones not changed yet', () => {
  const FOUR = [
    { name: 'c1', wave: 1 },
    { name: 'd1', wave: 2 },
    { name: 'd2', wave: 2 },
    { name: 'd3', wave: 2 },
  ];
  const guarded = async (prefix: string, regression: number) => {
    const { u, create } = await line(FOUR, {});
    await putTemplate(u.admin, 'latency', {
      provider: { type: 'web', url: `${webUrl}/value/${prefix}-{{target.name}}`, jsonPath: '$.data.value' },
      intervalSeconds: 1,
      count: 5,
      successCondition: 'result >= 0',
    });
    await create({
      bakeSeconds: 1,
      rollout: { waves: [{ wave: 1, bakeSeconds: 6, compare: { template: 'latency', minSamples: 5, maxRegression: 0.1 } }] },
    });
    webValues.set(`${prefix}-c1`, 100 * (1 + regression));
    for (const n of ['d1', 'd2', 'd3']) webValues.set(`${prefix}-${n}`, 100);
    const id = await promote(u);
    await waitFor(t, u.viewer, id, ['ROLLED_BACK', 'COMPLETED', 'FAILED'], 120_000);
    return { d: await detail(u.viewer, id) };
  };

  it('rolls back at a 20 % regression', async () => {
    const { d } = await guarded('g20', 0.2);
    expect(d.status).toBe('ROLLED_BACK');
    const [r] = runsOf(d).c1;
    expect(r).toMatchObject({ scope: 'canary', phase: 'Failed', controls: ['d1', 'd2', 'd3'] });
    expect(r.comparison.verdict).toBe('regression');
    expect(r.comparison.relativeDifference).toBeGreaterThan(0.15);
    expect(r.comparison.p).toBeLessThan(0.05);
    expect(statesOf(d)).toMatchObject({ c1: 'ROLLED_BACK', d1: 'PENDING' });
  }, 120_000);

  it('completes at a 1 % difference', async () => {
    const { d } = await guarded('g1', 0.01);
    expect(d.status, JSON.stringify(d.error)).toBe('COMPLETED');
    const [r] = runsOf(d).c1;
    expect(r.comparison.verdict).toBe('pass');
    expect(r.comparison.samples.canary).toBeGreaterThanOrEqual(5);
    expect(r.comparison.samples.control).toBeGreaterThanOrEqual(15);
  }, 120_000);
});

describe('inconclusive and pre-promotion analyses', () => {
  it('halts the rollout when an analysis is inconclusive; resume goes on', async () => {
    const { u, create } = await line(THREE, {});
    await putTemplate(u.admin, 'between', {
      provider: { type: 'web', url: `${webUrl}/value/mid-{{target.name}}`, jsonPath: '$.data.value' },
      intervalSeconds: 1,
      count: 1,
      successCondition: 'result < 0.05',
      failureCondition: 'result > 0.5',
    });
    await create({ rollout: { waves: [{ wave: 1, analysis: [{ template: 'between' }] }] } });
    webValues.set('mid-canary', 0.2);
    const id = await promote(u);
    for (let i = 0; i < 200; i++) {
      const d = await detail(u.viewer, id);
      if (d.rollout?.halted || ['COMPLETED', 'ROLLED_BACK', 'FAILED'].includes(d.status)) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    const d = await detail(u.viewer, id);
    expect(d.rollout.halted?.reason).toMatch(/analysis 'between' of 'canary' is inconclusive/);
    expect(runsOf(d).canary[0].phase).toBe('Inconclusive');
    expect(statesOf(d)['us-east-1']).toBe('PENDING');
    expect((await t.call('POST', `/api/v1/promotions/${id}/resume`, { token: u.deployer, body: {} })).status).toBe(200);
    await waitFor(t, u.viewer, id, ['COMPLETED', 'ROLLED_BACK', 'FAILED'], 60_000);
    expect((await detail(u.viewer, id)).status).toBe('COMPLETED');
  }, 120_000);

  it('checks the source environment before the promotion: an unhealthy one fails the gate with what it measured', async () => {
    const { u, create } = await line(THREE, {});
    await putTemplate(u.admin, 'dev-errors', {
      provider: { type: 'prometheus', address: prom.url, query: errorRate('pre') },
      intervalSeconds: 1,
      count: 1,
      failureCondition: 'result > 0.05',
    });
    await create({ preAnalysis: [{ template: 'dev-errors', lookbackSeconds: 60 }] });
    exporter.setErrorRate('pre-default', 0.3);
    await new Promise((r) => setTimeout(r, 6000));
    const id = await promote(u);
    await waitFor(t, u.viewer, id, ['VALIDATION_FAILED', 'AWAITING_APPROVAL', 'EXECUTING', 'COMPLETED'], 60_000);
    const d = await detail(u.viewer, id);
    expect(d.status).toBe('VALIDATION_FAILED');
    const gate = d.gates.find((g: any) => g.gate === 'analysis:dev-errors');
    expect(gate).toMatchObject({ verdict: 'FAIL', blocking: true });
    expect(gate.reason).toMatch(/'dev' was not healthy over the last 1 min/);
    expect(gate.measurements[0]).toMatchObject({ target: 'default', phase: 'Failed' });
  }, 120_000);
});
