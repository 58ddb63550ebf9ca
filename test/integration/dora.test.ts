import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../support/promotions.ts';
import { startPrometheus, type LocalPrometheus } from '../support/prometheus.ts';
import { cliOf, outcome } from '../support/cli.ts';
import { makeLine, startTestStack, type TestStack } from '../support/stack.ts';

/**
 * DORA's five metrics through the API (issue 66 part 4): promotions that complete, roll back (an alarm while
 * baking), fail (an alarm blocks the execution), recover (the next success), and a rollback promotion, on
 * the local stack; the stack's clock is moved between them, never waited for.
 */
let t: TestStack;
beforeAll(async () => {
  t = await startTestStack();
});
afterAll(() => t.stop());

const H = 3_600_000;
const arn = (name: string) => `arn:aws:cloudwatch:us-east-1:000000000000:alarm:${name}`;
const alarmEvent = (alarm: string, state: 'ALARM' | 'OK') => ({
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
const alarm = async (name: string, state: 'ALARM' | 'OK') => expect((await t.call('POST', '/dev/events', { body: alarmEvent(name, state) })).status).toBe(202);
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
      if (how === 'alarm-while-baking') await alarm(watch, 'ALARM');
      else t.stack.clock.advance((BAKE + 1) * 1000);
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
  await alarm(watch, 'OK');
  t.stack.clock.advance(2 * H);
  const p3 = await promote('complete');
  expect(p3.status, JSON.stringify(p3.error)).toBe('COMPLETED');
  await alarm(watch, 'ALARM');
  const p4 = await promote('blocked');
  expect(p4.status).toBe('FAILED');
  await alarm(watch, 'OK');
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

describe("DORA's five metrics (GET /api/v1/platform/metrics)", () => {
  it('deployment frequency, lead time, change failure rate, recovery time and rework rate match the promotions that ran, per environment and over the line', async () => {
    const run = await runDoraScenario(t);
    const m = await t.call('GET', `/api/v1/platform/metrics?environment=staging&from=${run.from}T00:00:00Z&period=day`, { token: run.u.viewer });
    expect(m.status, JSON.stringify(m.body)).toBe(200);
    const staging = m.body.environments[0];
    const days = staging.periods.length ? (Date.parse(staging.to) - Date.parse(staging.from)) / 86_400_000 + 1 : 1;
    const { expected: e } = run;
    expect(staging.total.dora).toEqual({
      deploymentFrequencyPerDay: Math.round((e.deployments / days) * 10_000) / 10_000,
      leadTimeHours: expect.any(Number),
      changeFailureRate: Math.round((e.changeFailed / e.deployments) * 10_000) / 10_000,
      recoveryTimeHours: Math.round((e.recoveryMs / e.recoveries / H) * 100) / 100,
      reworkRate: Math.round((e.rework / e.deployments) * 10_000) / 10_000,
      deployments: e.deployments,
      changeFailures: e.changeFailed,
      recoveries: e.recoveries,
      reworkDeployments: e.rework,
    });
    // The periods add up to the total; the line (one environment asked) says the same.
    const sum = (k: string) => staging.periods.reduce((a: number, p: any) => a + p.dora[k], 0);
    expect([sum('deployments'), sum('changeFailures'), sum('recoveries'), sum('reworkDeployments')]).toEqual([
      e.deployments,
      e.changeFailed,
      e.recoveries,
      e.rework,
    ]);
    expect(m.body.line.dora).toEqual(staging.total.dora);
    // Every field the answer had before is still there.
    expect(staging.total).toMatchObject({ deployments: e.deployments, rolledBack: expect.any(Number), rollbackRate: expect.any(Number) });
    // Another tenant's environment of the same name counts nothing of these.
    const other = await t.users(t.tenant());
    await makeLine(t, other.admin);
    const theirs = await t.call('GET', `/api/v1/platform/metrics?environment=staging&from=${run.from}T00:00:00Z`, { token: other.viewer });
    expect(theirs.body.environments[0].total.dora).toMatchObject({ deployments: 0, changeFailures: 0, recoveries: 0, reworkDeployments: 0 });

    // The CLI prints the five per environment and for the line; --json is the API's answer.
    const cli = cliOf(t);
    const printed = (await cli(run.u.viewer, 'metrics', 'show', '--from', `${run.from}T00:00:00Z`)).stdout;
    const stagingRow = printed.split('\n').find((l) => l.startsWith('staging'))!;
    expect(stagingRow).toContain(`${Math.round((e.changeFailed / e.deployments) * 1000) / 10}% (${e.changeFailed}/${e.deployments})`);
    expect(stagingRow).toContain(`${Math.round((e.rework / e.deployments) * 1000) / 10}% (${e.rework}/${e.deployments})`);
    expect(stagingRow).toContain(`${staging.total.dora.recoveryTimeHours} h (${e.recoveries})`);
    expect(printed).toMatch(/^\(line\)/m);
    const json = JSON.parse((await cli(run.u.viewer, 'metrics', 'show', '--env', 'staging', '--from', `${run.from}T00:00:00Z`, '--json')).stdout);
    expect(json.environments[0].total.dora).toEqual(staging.total.dora);
    // A period the API does not know: refused before it is sent; a viewer may not mint the scrape token.
    expect((await outcome(cli(run.u.viewer, 'metrics', 'show', '--period', 'quarter'))).code).not.toBe(0);
    expect((await outcome(cli(run.u.viewer, 'metrics', 'token'))).stderr).toMatch(/403|admin/i);
    expect((await cli(run.u.admin, 'metrics', 'token')).stdout.trim()).toMatch(/^slm\.[^.]+\.[A-Za-z0-9_-]{43}$/);
  });

  it('a period or range that is not valid is 400 naming the field', async () => {
    const u = await t.users(t.tenant());
    for (const [q, field] of [
      ['period=quarter', 'period'],
      ['from=yesterday', 'from'],
      ['from=2026-11-20T00:00:00Z&to=2026-11-01T00:00:00Z', 'from'],
      ['to=2026-13-40', 'to'],
    ] as const) {
      const r = await t.call('GET', `/api/v1/platform/metrics?${q}`, { token: u.viewer });
      expect(r.status, `${q}: ${JSON.stringify(r.body)}`).toBe(400);
      expect(JSON.stringify(r.body.error.issues ?? r.body.error)).toContain(field);
    }
  });
});

describe("DORA's five scraped by Prometheus (GET /api/v1/platform/metrics/prometheus)", () => {
  let prometheus: LocalPrometheus | undefined;
  afterAll(async () => prometheus?.stop());

  it('without a token, with a wrong one or with another kind of credential: 401; a window that is not one: 400 naming days', async () => {
    const u = await t.users(t.tenant());
    const scrape = (headers: Record<string, string>, q = '') => t.call('GET', `/api/v1/platform/metrics/prometheus${q}`, { headers });
    expect((await scrape({})).status).toBe(401);
    expect((await scrape({ authorization: `Bearer ${u.viewer}` })).status).toBe(401);
    expect((await scrape({ authorization: `Bearer slm.${'x'.repeat(8)}.${'A'.repeat(43)}` })).status).toBe(401);
    const minted = await t.call('POST', '/api/v1/platform/metrics/token', { token: u.admin });
    expect(minted.status, JSON.stringify(minted.body)).toBe(201);
    expect(minted.body.token).toMatch(/^slm\./);
    // Not an admin: 403; the token's view never shows it again.
    expect((await t.call('POST', '/api/v1/platform/metrics/token', { token: u.viewer })).status).toBe(403);
    expect(JSON.stringify((await t.call('GET', '/api/v1/platform/metrics/token', { token: u.admin })).body)).not.toContain(minted.body.token.split('.')[2]);
    const ok = await scrape({ authorization: `Bearer ${minted.body.token}` });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-type')).toContain('text/plain');
    // Altered: 401. Replaced: the previous one stops at once.
    const altered = minted.body.token.slice(0, -1) + (minted.body.token.endsWith('A') ? 'B' : 'A');
    expect((await scrape({ authorization: `Bearer ${altered}` })).status).toBe(401);
    const rotated = await t.call('POST', '/api/v1/platform/metrics/token', { token: u.admin });
    expect((await scrape({ authorization: `Bearer ${minted.body.token}` })).status).toBe(401);
    for (const q of ['?days=0', '?days=91', '?days=week', '?window=7']) {
      const r = await scrape({ authorization: `Bearer ${rotated.body.token}` }, q);
      expect(r.status, q).toBe(400);
      expect(JSON.stringify(r.body), q).toContain(q.startsWith('?days') ? 'query.days' : 'window');
    }
  });

  it("Debian's Prometheus scrapes the five with the tenant's token: they match the promotions that ran; another tenant's token sees only its own; a wrong token is a failed scrape", async () => {
    const run = await runDoraScenario(t);
    const mine = await t.call('POST', '/api/v1/platform/metrics/token', { token: run.u.admin });
    const other = await t.users(t.tenant());
    await makeLine(t, other.admin);
    const theirs = await t.call('POST', '/api/v1/platform/metrics/token', { token: other.admin });
    const target = new URL(t.url).host;
    const path = '/api/v1/platform/metrics/prometheus';
    prometheus = await startPrometheus(
      [],
      [
        { name: 'mine', target, metricsPath: path, credentials: mine.body.token },
        { name: 'theirs', target, metricsPath: path, credentials: theirs.body.token },
        { name: 'wrong', target, metricsPath: path, credentials: `slm.${run.tenant}.${'A'.repeat(43)}` },
      ],
    );
    const query = async (q: string) => {
      const r = await fetch(`${prometheus!.url}/api/v1/query?query=${encodeURIComponent(q)}`);
      const body = (await r.json()) as { data: { result: { metric: Record<string, string>; value: [number, string] }[] } };
      return body.data.result;
    };
    // Until each job was scraped once (Prometheus scrapes every second).
    for (let i = 0; i < 300 && (await query('up')).length < 3; i++) await new Promise((r) => setTimeout(r, 100));
    for (let i = 0; i < 300 && (await query('dora_deployments{job="mine",environment="staging"}')).length === 0; i++)
      await new Promise((r) => setTimeout(r, 100));
    const value = async (q: string) => {
      const r = await query(q);
      expect(r, q).toHaveLength(1);
      return Number(r[0]!.value[1]);
    };
    const { expected: e } = run;
    const staging = (name: string) => value(`${name}{job="mine",environment="staging"}`);
    expect(await staging('dora_deployments')).toBe(e.deployments);
    expect(await staging('dora_deployment_frequency_per_day')).toBeCloseTo(e.deployments / 30, 3);
    expect(await staging('dora_change_failure_rate')).toBeCloseTo(e.changeFailed / e.deployments, 3);
    expect(await staging('dora_failed_deployment_recovery_time_seconds')).toBeCloseTo(e.recoveryMs / e.recoveries / 1000, -2);
    expect(await staging('dora_deployment_rework_rate')).toBeCloseTo(e.rework / e.deployments, 3);
    expect(await staging('dora_change_lead_time_seconds')).toBeGreaterThanOrEqual(0);
    expect(await staging('dora_recoveries')).toBe(e.recoveries);
    // The line: the same (only staging had deployments); dev and production: none, and no rate without deployments.
    expect(await value('dora_deployments{job="mine",line="all"}')).toBe(e.deployments);
    expect(await value('dora_deployments{job="mine",environment="production"}')).toBe(0);
    expect(await query('dora_change_failure_rate{job="mine",environment="production"}')).toEqual([]);
    // Another tenant's token reads that tenant: its own environments, none of these deployments.
    expect(await value('sum(dora_deployments{job="theirs"})')).toBe(0);
    // A wrong token: the scrape fails (401), so Prometheus has nothing from it.
    expect(await value('up{job="wrong"}')).toBe(0);
    expect(await value('up{job="mine"}')).toBe(1);
    expect(await query('dora_deployments{job="wrong"}')).toEqual([]);
  });
});
