import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPrometheus, type LocalPrometheus } from '../support/prometheus.ts';
import { cliOf, outcome } from '../support/cli.ts';
import { makeLine, startTestStack, type TestStack } from '../support/stack.ts';
import { runDoraScenario } from '../support/dora.ts';

/**
 * DORA's five metrics through the API: promotions that complete, roll back (an alarm while
 * baking), fail (an alarm blocks the execution), recover (the next success), and a rollback promotion, on
 * the local stack; the stack's clock is moved between them, never waited for.
 */
let t: TestStack;
beforeAll(async () => {
  t = await startTestStack();
});
afterAll(() => t.stop());

const H = 3_600_000;

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
      leadTimeSeconds: expect.any(Number),
      changeFailureRate: Math.round((e.changeFailed / e.deployments) * 10_000) / 10_000,
      recoveryTimeHours: Math.round((e.recoveryMs / e.recoveries / H) * 100) / 100,
      recoveryTimeSeconds: Math.round(e.recoveryMs / e.recoveries / 1000),
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
    expect(await staging('dora_failed_deployment_recovery_time_seconds')).toBe(Math.round(e.recoveryMs / e.recoveries / 1000));
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
