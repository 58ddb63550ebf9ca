import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeLine, startTestStack, type TestStack } from '../support/stack.ts';

let t: TestStack;
beforeAll(async () => {
  t = await startTestStack();
});
afterAll(() => t.stop());

/** A Prometheus error-rate template: 30 s delay + 60 s × 5 = 330 s of measuring. */
const errorRate = {
  provider: {
    type: 'prometheus',
    address: 'https://prometheus.example.com',
    query: 'sum(rate(http_requests_total{service="{{args.service}}",code=~"5.."}[1m]))',
  },
  args: [{ name: 'service' }],
  initialDelaySeconds: 30,
  intervalSeconds: 60,
  count: 5,
  successCondition: 'result < 0.01',
  failureLimit: 1,
};

const issuesOf = (r: { body: any }) => (r.body.error.issues as { path: string; message: string }[]) ?? [];

async function setUp() {
  const tenant = t.tenant();
  const u = await t.users(tenant);
  await makeLine(t, u.admin);
  return u;
}

describe('analysis templates API', () => {
  it('puts, reads, lists and deletes a template; a stale version answers 409; only admins write', async () => {
    const u = await setUp();
    expect((await t.call('GET', '/api/v1/analysis-templates', { token: u.viewer })).body).toEqual({ templates: [], version: 0 });
    expect((await t.call('PUT', '/api/v1/analysis-templates/error-rate', { token: u.deployer, body: errorRate })).status).toBe(403);
    const put = await t.call('PUT', '/api/v1/analysis-templates/error-rate', { token: u.admin, body: errorRate });
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject({ name: 'error-rate', provider: { type: 'prometheus' }, count: 5, version: 1 });
    const same = await t.call('PUT', '/api/v1/analysis-templates/latency', {
      token: u.admin,
      body: { ...errorRate, name: 'latency', successCondition: 'result < 0.5', version: 1 },
    });
    expect(same.status).toBe(200);
    expect(same.body.version).toBe(2);
    const stale = await t.call('PUT', '/api/v1/analysis-templates/latency', { token: u.admin, body: { ...errorRate, version: 1 } });
    expect(stale.status).toBe(409);
    const other = await t.call('PUT', '/api/v1/analysis-templates/latency', { token: u.admin, body: { ...errorRate, name: 'other' } });
    expect(other.status).toBe(400);
    expect(issuesOf(other)[0]!.path).toBe('name');
    const list = await t.call('GET', '/api/v1/analysis-templates', { token: u.viewer });
    expect(list.body.templates.map((x: any) => x.name)).toEqual(['error-rate', 'latency']);
    expect(list.body.version).toBe(2);
    const one = await t.call('GET', '/api/v1/analysis-templates/latency', { token: u.viewer });
    expect(one.body).toMatchObject({ name: 'latency', successCondition: 'result < 0.5', version: 2 });
    expect((await t.call('GET', '/api/v1/analysis-templates/nope', { token: u.viewer })).status).toBe(404);
    expect((await t.call('DELETE', '/api/v1/analysis-templates/latency', { token: u.deployer })).status).toBe(403);
    expect((await t.call('DELETE', '/api/v1/analysis-templates/latency', { token: u.admin })).status).toBe(204);
    expect((await t.call('DELETE', '/api/v1/analysis-templates/latency', { token: u.admin })).status).toBe(404);
    expect((await t.call('GET', '/api/v1/analysis-templates', { token: u.viewer })).body.templates.map((x: any) => x.name)).toEqual(['error-rate']);
    const audit = await t.call('GET', '/api/v1/audit?entityType=analysis-template', { token: u.admin });
    expect(audit.body.items.map((e: any) => e.action).sort()).toEqual(['analysis_template.delete', 'analysis_template.put', 'analysis_template.put']);
  });

  it('refuses a template naming the field: an unknown provider type, a condition that does not compile, a placeholder that is no argument', async () => {
    const u = await setUp();
    const provider = await t.call('PUT', '/api/v1/analysis-templates/x', {
      token: u.admin,
      body: { ...errorRate, provider: { type: 'graphite', query: 'x' } },
    });
    expect(provider.status).toBe(400);
    expect(
      issuesOf(provider)
        .map((i) => i.path)
        .join(' '),
    ).toContain('provider.type');
    const condition = await t.call('PUT', '/api/v1/analysis-templates/x', { token: u.admin, body: { ...errorRate, successCondition: 'result < (0.01' } });
    expect(condition.status).toBe(400);
    expect(issuesOf(condition).map((i) => i.path)).toContain('successCondition');
    const placeholder = await t.call('PUT', '/api/v1/analysis-templates/x', { token: u.admin, body: { ...errorRate, args: [] } });
    expect(placeholder.status).toBe(400);
    expect(
      issuesOf(placeholder)
        .map((i) => `${i.path} ${i.message}`)
        .join(' '),
    ).toContain('service');
    expect((await t.call('GET', '/api/v1/analysis-templates', { token: u.viewer })).body.templates).toEqual([]);
  });

  it('refuses an environment attaching a template it does not have, or one measuring longer than the bake; keeps attachments a partial update leaves out', async () => {
    const u = await setUp();
    const undefinedRef = await t.call('PATCH', '/api/v1/environments/staging', {
      token: u.admin,
      body: { version: 1, bakeSeconds: 600, analysis: [{ template: 'error-rate', args: [{ name: 'service', value: 'web' }] }] },
    });
    expect(undefinedRef.status).toBe(400);
    expect(issuesOf(undefinedRef)[0]!.path).toBe('analysis.0.template');
    await t.call('PUT', '/api/v1/analysis-templates/error-rate', { token: u.admin, body: errorRate });
    const tooShort = await t.call('PATCH', '/api/v1/environments/staging', {
      token: u.admin,
      body: { version: 1, bakeSeconds: 300, analysis: [{ template: 'error-rate' }] },
    });
    expect(tooShort.status).toBe(400);
    expect(issuesOf(tooShort)[0]).toMatchObject({ path: 'analysis.0.template', message: expect.stringMatching(/330 s.*300 s/) });
    const waveTooShort = await t.call('PATCH', '/api/v1/environments/production', {
      token: u.admin,
      body: {
        version: 1,
        bakeSeconds: 600,
        targets: [
          { name: 'canary', wave: 1 },
          { name: 'eu-west-1', wave: 2, analysis: [{ template: 'error-rate' }] },
        ],
        rollout: { waves: [{ wave: 2, bakeSeconds: 120 }] },
      },
    });
    expect(waveTooShort.status).toBe(400);
    expect(issuesOf(waveTooShort)[0]).toMatchObject({ path: 'targets.1.analysis.0.template', message: expect.stringContaining('120 s') });
    const ok = await t.call('PATCH', '/api/v1/environments/staging', {
      token: u.admin,
      body: {
        version: 1,
        bakeSeconds: 600,
        analysis: [{ template: 'error-rate', args: [{ name: 'service', value: 'web' }] }],
        preAnalysis: [{ template: 'error-rate', lookbackSeconds: 1800 }],
      },
    });
    expect(ok.status).toBe(200);
    expect(ok.body.analysis).toEqual([{ template: 'error-rate', args: [{ name: 'service', value: 'web' }] }]);
    const partial = await t.call('PATCH', '/api/v1/environments/staging', { token: u.admin, body: { version: 2, description: 'kept' } });
    expect(partial.body.analysis).toHaveLength(1);
    expect(partial.body.preAnalysis).toEqual([{ template: 'error-rate', args: [], lookbackSeconds: 1800 }]);
    // A longer template no longer fits the bake that attaches it.
    const longer = await t.call('PUT', '/api/v1/analysis-templates/error-rate', { token: u.admin, body: { ...errorRate, count: 20 } });
    expect(longer.status).toBe(400);
    expect(issuesOf(longer)[0]!.path).toBe('environments.staging.analysis.0.template');
    // In use: 409 naming where.
    const inUse = await t.call('DELETE', '/api/v1/analysis-templates/error-rate', { token: u.admin });
    expect(inUse.status).toBe(409);
    expect(inUse.body.error.message).toContain('staging.analysis.0');
    expect(inUse.body.error.message).toContain('staging.preAnalysis.0');
    await t.call('PATCH', '/api/v1/environments/staging', { token: u.admin, body: { version: 3, analysis: [], preAnalysis: [] } });
    expect((await t.call('DELETE', '/api/v1/analysis-templates/error-rate', { token: u.admin })).status).toBe(204);
  });

  it('takes __proto__ as data: refused as a template or argument name, never walked', async () => {
    const u = await setUp();
    const name = await t.call('PUT', '/api/v1/analysis-templates/__proto__', { token: u.admin, body: errorRate });
    expect(name.status).toBe(400);
    const arg = await t.call('PUT', '/api/v1/analysis-templates/x', {
      token: u.admin,
      body: { ...errorRate, args: [{ name: '__proto__' }, { name: 'service' }] },
    });
    expect(arg.status).toBe(400);
    const ref = await t.call('PATCH', '/api/v1/environments/dev', { token: u.admin, body: { version: 1, analysis: [{ template: '__proto__' }] } });
    expect(ref.status).toBe(400);
    expect(({} as Record<string, unknown>).service).toBeUndefined();
  });

  it('is part of the manifest: plan names the template, apply writes it with its attachments, export round-trips, a missing or removed template is refused by path', async () => {
    const u = await setUp();
    const doc = (promotion: Record<string, unknown>) => JSON.stringify({ artifacts: { promotion } });
    const document = doc({
      analysis_templates: [{ name: 'error-rate', ...errorRate }],
      environment_settings: {
        staging: { bake_seconds: 600, analysis: [{ template: 'error-rate', args: [{ name: 'service', value: 'web' }] }] },
        production: { pre_analysis: [{ template: 'error-rate', lookbackSeconds: 1800 }] },
      },
    });
    const plan = await t.call('POST', '/api/v1/manifest/plan', { token: u.viewer, body: { document } });
    expect(plan.status).toBe(200);
    expect(plan.body.changes).toContainEqual(expect.objectContaining({ op: 'add', path: 'analysis_templates.error-rate' }));
    expect(plan.body.changes).toContainEqual(expect.objectContaining({ op: 'add', path: 'environment_settings.staging.analysis' }));
    const applied = await t.call('POST', '/api/v1/manifest/apply', { token: u.admin, body: { document, expectedDigest: plan.body.digest } });
    expect(applied.status).toBe(200);
    expect((await t.call('GET', '/api/v1/analysis-templates/error-rate', { token: u.viewer })).body).toMatchObject({ name: 'error-rate', count: 5 });
    expect((await t.call('GET', '/api/v1/environments/staging', { token: u.viewer })).body.analysis).toEqual([
      { template: 'error-rate', args: [{ name: 'service', value: 'web' }] },
    ]);
    expect((await t.call('GET', '/api/v1/environments/production', { token: u.viewer })).body.preAnalysis).toHaveLength(1);
    const exported = await t.call('GET', '/api/v1/manifest', { token: u.viewer });
    expect(exported.body).toContain('analysis_templates:');
    expect(exported.body).toContain('pre_analysis:');
    const again = await t.call('POST', '/api/v1/manifest/apply', { token: u.admin, body: { document: exported.body } });
    expect(again.body).toMatchObject({ applied: false, changes: [] });
    expect((await t.call('GET', '/api/v1/manifest', { token: u.viewer })).body.replace(/digest sha256:[0-9a-f]+/, '')).toBe(
      exported.body.replace(/digest sha256:[0-9a-f]+/, ''),
    );
    const missing = await t.call('POST', '/api/v1/manifest/plan', {
      token: u.viewer,
      body: { document: doc({ environment_settings: { dev: { bake_seconds: 900, analysis: [{ template: 'latency' }] } } }) },
    });
    expect(missing.status).toBe(400);
    expect(issuesOf(missing).map((i) => i.path)).toContain('document.artifacts.promotion.environment_settings.dev.analysis.0.template');
    const removed = await t.call('POST', '/api/v1/manifest/plan', { token: u.viewer, body: { document: doc({ analysis_templates: [] }) } });
    expect(removed.status).toBe(400);
    expect(issuesOf(removed)[0]).toMatchObject({ path: 'document.artifacts.promotion.analysis_templates', message: expect.stringContaining('staging') });
    const schema = await t.call('GET', '/api/v1/manifest/schema.json', { token: u.viewer });
    expect(JSON.stringify(schema.body)).toContain('analysis_templates');
  });
});

describe('a Prometheus query is parsed when the template is saved', () => {
  it("refuses a query Prometheus' own parser cannot parse with 400 naming provider.query; placeholders anywhere in a valid one pass", async () => {
    const u = await setUp();
    for (const query of ['sum(rate(http_requests_total[1m]', 'not a query at all', 'rate(x[5m]) >', '']) {
      const r = await t.call('PUT', '/api/v1/analysis-templates/broken', {
        token: u.admin,
        body: { ...errorRate, provider: { ...errorRate.provider, query } },
      });
      expect(r.status, `${query}: ${JSON.stringify(r.body)}`).toBe(400);
      expect(issuesOf(r)[0]!.path).toBe('provider.query');
    }
    expect((await t.call('GET', '/api/v1/analysis-templates/broken', { token: u.viewer })).status).toBe(404);
    const placeholders = await t.call('PUT', '/api/v1/analysis-templates/windowed', {
      token: u.admin,
      body: {
        ...errorRate,
        provider: { ...errorRate.provider, query: 'sum(rate({{args.metric}}{service="{{args.service}}"}[{{args.window}}])) > {{args.floor}}' },
        args: [{ name: 'service' }, { name: 'metric' }, { name: 'window' }, { name: 'floor' }],
      },
    });
    expect(placeholders.status, JSON.stringify(placeholders.body)).toBe(200);
  });
});
