/**
 * The metric providers' adapters (functions/adapters/metrics/) against real or published servers:
 * Prometheus is Debian's real server (test/support/prometheus.ts) scraping the local exporter
 * (local/exporter.ts); CloudWatch is moto_server (GetMetricData after PutMetricData); Datadog is a local
 * stand-in answering the documented `GET /api/v1/query`, driven by Datadog's official client (whose
 * deserializer holds the answer to the published model); the web provider reads a local JSON endpoint.
 * Loopback is allowed as in local mode (STAGELINE_ALLOW_LOOPBACK_OUTBOUND), as every test runs.
 */
import { CloudWatchClient, PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import type { AwsCredentialIdentity } from '@smithy/types';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SecretResolver } from '../../domain/kernel/ports.ts';
import * as z from '../../domain/kernel/zod.ts';
import { measureOnce } from '../../domain/verification/measure.ts';
import type { MeasureAt } from '../../domain/verification/ports.ts';
import { analysisTemplate, celReady, type AnalysisTemplate, type MetricsProvider, type QueryContext } from '../../domain/verification/template.ts';
import { overrideConfig } from '../../functions/configuration-overrides.ts';
import { CloudWatchMetrics } from '../../functions/adapters/metrics/cloudwatch.ts';
import { ProviderMetrics } from '../../functions/adapters/metrics/index.ts';
import { startExporter, type Exporter } from '../../local/exporter.ts';
import { startPrometheus, type LocalPrometheus } from '../support/prometheus.ts';
import { serveJson } from '../support/json-endpoint.ts';
import { startMoto, type Moto } from '../support/moto.ts';

const undoConfig = overrideConfig({ STAGELINE_ALLOW_LOOPBACK_OUTBOUND: 'true' });
afterAll(() => undoConfig());
// The templates' conditions are compiled when parsed: the CEL library loads on first use.
beforeAll(celReady);

const SECRETS = new Map([
  ['acme/metrics/PROM_TOKEN', 'prom-s3cret-token'],
  ['acme/metrics/DD_API', 'dd-api-key-1234'],
  ['acme/metrics/DD_APP', 'dd-app-key-5678'],
  ['acme/metrics/WEB_TOKEN', 'web-s3cret-token'],
  ['acme/git-token/WEB_TOKEN', 'not-for-metrics'],
]);
const secrets: SecretResolver = { resolve: async (tenant, name, purpose) => SECRETS.get(`${tenant}/${purpose}/${name}`) ?? null };
const now = () => ({ lookbackSeconds: 60, now: new Date() }) satisfies MeasureAt;
const ctx: QueryContext = {
  target: { name: 'eu-1', region: 'eu-west-1', labels: {}, parameters: {} },
  environment: 'prod',
  release: { version: '1.0.0' },
  promotion: { id: 'p-1' },
  args: {},
};
const template = (provider: unknown, over: Record<string, unknown> = {}): AnalysisTemplate =>
  z.parse(analysisTemplate, { name: 'error-rate', provider, successCondition: 'result < 0.05', ...over });

const until = async <T>(probe: () => Promise<T>, ok: (v: T) => boolean, what: string, attempts = 120): Promise<T> => {
  let last: T | undefined;
  for (let i = 0; i < attempts; i++) {
    last = await probe();
    if (ok(last)) return last;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`${what}: last ${JSON.stringify(last)}`);
};

describe('Prometheus (the real server scraping the local exporter)', () => {
  let exporter: Exporter;
  let prometheus: LocalPrometheus;
  beforeAll(async () => {
    exporter = await startExporter(['eu-1', 'us-1']);
    prometheus = await startPrometheus([exporter.address]);
  }, 60_000);
  afterAll(async () => {
    await prometheus?.stop();
    await exporter?.stop();
  });

  it('measures the error rate of a target, which rises past the condition after setErrorRate; the other target stays at 0', async () => {
    const metrics = new ProviderMetrics(secrets);
    const rate = (t: string) => `sum(rate(errors_total{target="${t}"}[10s])) / sum(rate(requests_total{target="${t}"}[10s]))`;
    const eu = template({ type: 'prometheus', address: prometheus.url, query: rate('{{target.name}}') });
    const deps = { metrics, clock: () => new Date() } as never;
    // Two scrapes make a rate: until then the query answers an empty vector (Inconclusive).
    const first = await until(
      () => measureOnce(deps, 'acme', eu, ctx),
      (m) => m.phase !== 'Inconclusive',
      'a first rate',
    );
    expect(first).toMatchObject({ phase: 'Successful', value: 0 });
    exporter.setErrorRate('eu-1', 0.3);
    const failed = await until(
      () => measureOnce(deps, 'acme', eu, ctx),
      (m) => m.phase === 'Failed',
      'the error rate to rise',
    );
    expect(failed.value).toBeGreaterThan(0.05);
    expect(failed.value).toBeLessThanOrEqual(0.3 + 1e-9);
    const us = await metrics.query('acme', { type: 'prometheus', address: prometheus.url, query: rate('us-1') }, { query: rate('us-1') }, now());
    expect(us).toEqual([0]);
    // A vector of several series answers one value per series; scalar() answers one.
    const each = await metrics.query('acme', eu.provider, { query: 'requests_total' }, now());
    expect(each).toHaveLength(2);
    expect(await metrics.query('acme', eu.provider, { query: 'scalar(vector(0.25))' }, now())).toEqual([0.25]);
    // NaN (0/0) is left out.
    expect(await metrics.query('acme', eu.provider, { query: 'vector(0) / vector(0)' }, now())).toEqual([]);
    expect(exporter.scrapes()).toBeGreaterThan(2);
  }, 90_000);

  it("fails with Prometheus' own error text on a bad query, as an Error measurement", async () => {
    const metrics = new ProviderMetrics(secrets);
    await expect(metrics.query('acme', { type: 'prometheus', address: prometheus.url, query: 'sum(' }, { query: 'sum(' }, now())).rejects.toThrow(
      /Prometheus: bad_data: .*parse error/,
    );
    const m = await measureOnce(
      { metrics, clock: () => new Date() } as never,
      'acme',
      template({ type: 'prometheus', address: prometheus.url, query: 'sum(' }),
      ctx,
    );
    expect(m).toMatchObject({ phase: 'Error', value: null, error: expect.stringContaining('bad_data') });
  });

  it('sends the bearer token from the tenant secret (purpose metrics) and never shows it in an error', async () => {
    const server = await serveJson((_, h) =>
      h.authorization === 'Bearer prom-s3cret-token'
        ? { status: 200, body: JSON.stringify({ status: 'success', data: { resultType: 'scalar', result: [1, '0.5'] } }) }
        : { status: 401, body: 'unauthorized', type: 'text/plain' },
    );
    try {
      const metrics = new ProviderMetrics(secrets);
      const p: MetricsProvider = { type: 'prometheus', address: server.url, query: 'up', tokenSecret: 'PROM_TOKEN' };
      expect(await metrics.query('acme', p, { query: 'up' }, now())).toEqual([0.5]);
      expect(server.seen[0]!.path).toMatch(/^\/api\/v1\/query\?query=up&time=\d+(\.\d+)?$/);
      await expect(metrics.query('other', p, { query: 'up' }, now())).rejects.toThrow(
        "the secret 'PROM_TOKEN' does not exist for this tenant (purpose metrics)",
      );
      await expect(metrics.query('acme', { ...p, tokenSecret: undefined }, { query: 'up' }, now())).rejects.toThrow('Prometheus answered HTTP 401');
    } finally {
      await server.stop();
    }
  });
});

describe('CloudWatch (moto_server)', () => {
  let moto: Moto | undefined;
  let endpoint: string;
  beforeAll(async () => {
    moto = await startMoto();
    endpoint = moto.endpoint;
  }, 90_000);
  afterAll(() => moto?.stop());

  it("reads a metric's statistic over the lookback window in the target's region and account, with the session of the role the tenant registered there", async () => {
    const TENANT_ACCOUNT = '111122223333';
    const ROLE = `arn:aws:iam::${TENANT_ACCOUNT}:role/stageline-metrics`;
    const sts = () => new STSClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
    const clientOf = (credentials: AwsCredentialIdentity, region?: string) => new CloudWatchClient({ endpoint, region: region ?? 'us-east-1', credentials });
    /** The platform's own credentials: moto's default account. */
    const platform = { accessKeyId: 'x', secretAccessKey: 'x' };
    /** The customer's account: moto keeps the metrics of an assumed role's account apart. */
    const c = (await sts().send(new AssumeRoleCommand({ RoleArn: ROLE, RoleSessionName: 'seed', ExternalId: 'seed' }))).Credentials!;
    const customer = { accessKeyId: c.AccessKeyId!, secretAccessKey: c.SecretAccessKey!, sessionToken: c.SessionToken };
    const at = new Date();
    const put = (credentials: AwsCredentialIdentity, region: string, values: number[]) =>
      clientOf(credentials, region).send(
        new PutMetricDataCommand({
          Namespace: 'Stageline/Test',
          MetricData: values.map((v, i) => ({
            MetricName: 'Errors',
            Dimensions: [{ Name: 'FunctionName', Value: 'checkout-eu-1' }],
            Timestamp: new Date(at.getTime() - (values.length - i) * 60_000),
            Value: v,
          })),
        }),
      );
    await put(customer, 'eu-west-1', [1, 2, 3]);
    await put(customer, 'us-east-1', [50]);
    // The platform's account holds other values under the same name: a read with its credentials would see them.
    await put(platform, 'eu-west-1', [900, 901]);
    const reads: { region?: string; accessKeyId: string }[] = [];
    const metrics = new ProviderMetrics(
      secrets,
      new CloudWatchMetrics((credentials, region) => (reads.push({ region, accessKeyId: credentials.accessKeyId }), clientOf(credentials, region)), sts),
    );
    const store = { getMetricAccounts: async () => ({ accounts: [{ account: TENANT_ACCOUNT, roleArn: ROLE }], version: 1 }) };
    const deps = (now: Date) => ({ metrics, store, clock: () => now }) as never;
    const t = template(
      {
        type: 'cloudwatch',
        metric: {
          namespace: 'Stageline/Test',
          metricName: 'Errors',
          dimensions: [{ name: 'FunctionName', value: 'checkout-{{target.name}}' }],
          stat: 'Sum',
          periodSeconds: 60,
        },
      },
      { successCondition: 'results.all(x, x < 10.0)', lookbackSeconds: 600 },
    );
    const eu = { region: 'eu-west-1', account: TENANT_ACCOUNT };
    const m = await measureOnce(deps(at), 'acme', t, ctx, eu);
    expect(m.phase).toBe('Successful');
    expect([...(m.values ?? [])].sort()).toEqual([1, 2, 3]);
    // Newest first.
    expect(m.value).toBe(3);
    // Read with the assumed session (moto's assumed-role keys start ASIA), never the platform's key.
    expect(reads.map((r) => r.region)).toEqual(['eu-west-1']);
    expect(reads.every((r) => r.accessKeyId.startsWith('ASIA') && r.accessKeyId !== platform.accessKeyId)).toBe(true);
    const us = await measureOnce(deps(at), 'acme', t, ctx, { region: 'us-east-1', account: TENANT_ACCOUNT });
    expect(us).toMatchObject({ phase: 'Failed', value: 50 });
    // Outside the window: no data, Inconclusive.
    const later = await measureOnce(deps(new Date(at.getTime() + 3_600_000)), 'acme', t, ctx, eu);
    expect(later).toMatchObject({ phase: 'Inconclusive', value: null });
    // The same values through a Metrics Insights query (an Expression), its placeholder filled in.
    const insights = template(
      { type: 'cloudwatch', query: `SELECT SUM(Errors) FROM SCHEMA("Stageline/Test", FunctionName) WHERE FunctionName = 'checkout-{{target.name}}'` },
      { successCondition: 'results.all(x, x < 10.0)', lookbackSeconds: 600 },
    );
    const sql = await measureOnce(deps(at), 'acme', insights, ctx, eu);
    expect(sql).toMatchObject({ phase: 'Successful', value: 3 });
    expect([...(sql.values ?? [])].sort()).toEqual([1, 2, 3]);
    // An account the tenant registered no role for, or a target naming none: an Error saying what to set up, nothing read.
    const before = reads.length;
    const other = await measureOnce(deps(at), 'acme', t, ctx, { region: 'eu-west-1', account: '999988887777' });
    expect(other).toMatchObject({ phase: 'Error', value: null });
    expect(other.error).toContain('account 999988887777 has no registered role');
    const none = await measureOnce(deps(at), 'acme', t, ctx, { region: 'eu-west-1' });
    expect(none).toMatchObject({ phase: 'Error', value: null });
    expect(none.error).toContain('names no account to read');
    expect(reads.length).toBe(before);
  });
});

describe('Datadog (a local stand-in of the documented API, through the official client)', () => {
  it('queries /api/v1/query with the keys as headers, over the lookback window; the client accepts the answer and the points come back newest first', async () => {
    const to = Math.floor(Date.now() / 1000);
    const server = await serveJson((path) => {
      const q = new URL(path, 'http://x').searchParams;
      if (!path.startsWith('/api/v1/query')) return { status: 404, body: '{"errors":["Not found"]}' };
      if (q.get('query')!.includes('forbidden')) return { status: 403, body: JSON.stringify({ errors: ['Forbidden'] }) };
      return {
        status: 200,
        body: JSON.stringify({
          status: 'ok',
          res_type: 'time_series',
          query: q.get('query'),
          from_date: Number(q.get('from')) * 1000,
          to_date: Number(q.get('to')) * 1000,
          series: [
            {
              metric: 'trace.http.request.errors',
              display_name: 'trace.http.request.errors',
              scope: 'region:eu-west-1',
              expression: q.get('query'),
              aggr: 'avg',
              interval: 20,
              length: 3,
              start: (to - 60) * 1000,
              end: to * 1000,
              pointlist: [
                [(to - 40) * 1000, 0.01],
                [(to - 20) * 1000, null],
                [to * 1000, 0.03],
              ],
              tag_set: ['region:eu-west-1'],
            },
          ],
        }),
      };
    });
    const undo = overrideConfig({ DATADOG_API_URL: server.url });
    try {
      const metrics = new ProviderMetrics(secrets);
      const t = template(
        { type: 'datadog', query: 'avg:trace.http.request.errors{region:{{target.region}}}', apiKeySecret: 'DD_API', appKeySecret: 'DD_APP' },
        { lookbackSeconds: 120 },
      );
      const m = await measureOnce({ metrics, clock: () => new Date(to * 1000) } as never, 'acme', t, ctx);
      expect(m).toEqual({ at: expect.any(String), phase: 'Successful', value: 0.03, values: [0.03, 0.01] });
      const req = server.seen[0]!;
      expect(req.headers['dd-api-key']).toBe('dd-api-key-1234');
      expect(req.headers['dd-application-key']).toBe('dd-app-key-5678');
      const q = new URL(req.path, 'http://x').searchParams;
      expect([q.get('from'), q.get('to'), q.get('query')]).toEqual([String(to - 120), String(to), 'avg:trace.http.request.errors{region:eu-west-1}']);
      // An error answer: its errors, never the keys.
      const denied = await measureOnce({ metrics, clock: () => new Date() } as never, 'acme', template({ ...t.provider, query: 'forbidden' }), ctx);
      expect(denied).toMatchObject({ phase: 'Error', error: 'datadog: Datadog answered HTTP 403: Forbidden' });
      expect(JSON.stringify(denied)).not.toContain('dd-api-key-1234');
    } finally {
      undo();
      await server.stop();
    }
  });
});

describe('web (a local JSON endpoint)', () => {
  it('reads the number at the JSON path, with secret headers; a non-2xx or non-number answer is an error; loopback is refused outside local mode', async () => {
    let body = JSON.stringify({ data: { errorRate: 0.02, series: [0.01, '0.04'] } });
    const server = await serveJson((path, h) => (h['x-token'] === 'Bearer web-s3cret-token' ? { status: 200, body } : { status: 403, body: '{}' }));
    try {
      const metrics = new ProviderMetrics(secrets);
      const t = template({
        type: 'web',
        url: `${server.url}/m/{{target.name}}?env={{environment}}`,
        jsonPath: '$.data.errorRate',
        headers: [{ name: 'X-Token', value: 'Bearer ${WEB_TOKEN}' }],
      });
      expect(await measureOnce({ metrics, clock: () => new Date() } as never, 'acme', t, ctx)).toMatchObject({ phase: 'Successful', value: 0.02 });
      expect(server.seen[0]!.path).toBe('/m/eu-1?env=prod');
      const list = await metrics.query(
        'acme',
        { ...(t.provider as Extract<MetricsProvider, { type: 'web' }>), jsonPath: '$.data.series' },
        { url: server.url, headers: t.provider.type === 'web' ? t.provider.headers : [] },
        now(),
      );
      expect(list).toEqual([0.01, 0.04]);
      body = JSON.stringify({ data: { errorRate: 'high' } });
      await expect(metrics.query('acme', t.provider, { url: server.url, headers: t.provider.type === 'web' ? t.provider.headers : [] }, now())).rejects.toThrow(
        '$.data.errorRate holds no number',
      );
      const noSecret = await measureOnce({ metrics, clock: () => new Date() } as never, 'acme', template({ ...t.provider, headers: [] }), ctx);
      expect(noSecret).toMatchObject({ phase: 'Error', error: 'web: the endpoint answered HTTP 403' });
      const local = overrideConfig({ STAGELINE_ALLOW_LOOPBACK_OUTBOUND: 'false' });
      try {
        await expect(metrics.query('acme', t.provider, { url: server.url, headers: [] }, now())).rejects.toThrow(/loopback|plain http/);
      } finally {
        local();
      }
    } finally {
      await server.stop();
    }
  });
});
