/**
 * A provider's error text is shown on an Error measurement: the tenant's secrets a query read are cut
 * out of it before it is shortened, on every provider, so not even a prefix of a long token reaches a
 * viewer (a provider that echoes the request's header, a proxy that repeats the token it refused).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SecretResolver } from '../../domain/kernel/ports.ts';
import type { MeasureAt } from '../../domain/verification/ports.ts';
import { celReady, type MetricsProvider } from '../../domain/verification/template.ts';
import { overrideConfig } from '../../functions/configuration-overrides.ts';
import { CloudWatchMetrics } from '../../functions/adapters/metrics/cloudwatch.ts';
import { ProviderMetrics } from '../../functions/adapters/metrics/index.ts';
import { redactSecrets } from '../../functions/adapters/metrics/bounds.ts';
import { serveJson } from '../support/json-endpoint.ts';

const undoConfig = overrideConfig({ STAGELINE_ALLOW_LOOPBACK_OUTBOUND: 'true' });
afterAll(() => undoConfig());
beforeAll(celReady);

// Longer than any cut of an error text: a prefix of it must not survive either.
const TOKEN = `tok_${'A1b2C3d4E5'.repeat(40)}`;
const secrets: SecretResolver = { resolve: async (tenant, name, purpose) => (tenant === 'acme' && purpose === 'metrics' ? `${TOKEN}-${name}` : null) };
const now = (): MeasureAt => ({ lookbackSeconds: 60, now: new Date('2026-11-27T06:00:00Z') });

/** No 12 characters in a row of any of the values the test's secrets resolve to. */
function expectNoPiece(message: string, ...values: string[]) {
  for (const v of values) for (let i = 0; i + 12 <= v.length; i += 6) expect(message, `a piece of a secret at ${i}`).not.toContain(v.slice(i, i + 12));
}

async function failure(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error('the query did not fail');
}

describe('provider error text is redacted before it is cut', () => {
  it('Prometheus: an error that echoes the bearer token shows no piece of it', async () => {
    const server = await serveJson((_, h) => ({
      status: 400,
      body: JSON.stringify({ status: 'error', errorType: 'bad_data', error: `refused ${h.authorization} for this query` }),
    }));
    try {
      const p: MetricsProvider = { type: 'prometheus', address: server.url, query: 'up', tokenSecret: 'PROM' };
      const message = await failure(new ProviderMetrics(secrets).query('acme', p, { query: 'up' }, now()));
      expect(message).toMatch(/^Prometheus: bad_data: refused Bearer \*{5} for this query$/);
      expectNoPiece(message, `${TOKEN}-PROM`);
    } finally {
      await server.stop();
    }
  });

  it("Datadog: an HTTP error's errors and an error status that echo the keys show no piece of them", async () => {
    let mode: 'http' | 'status' = 'http';
    const server = await serveJson((_, h) =>
      mode === 'http'
        ? { status: 403, body: JSON.stringify({ errors: [`key ${String(h['dd-api-key'])} is not valid`, `app key ${String(h['dd-application-key'])}`] }) }
        : { status: 200, body: JSON.stringify({ status: 'error', error: `query with ${String(h['dd-application-key'])} failed` }) },
    );
    const undo = overrideConfig({ DATADOG_API_URL: server.url });
    try {
      const p: MetricsProvider = { type: 'datadog', query: 'avg:errors{*}', site: 'datadoghq.com', apiKeySecret: 'DD_API', appKeySecret: 'DD_APP' };
      const metrics = new ProviderMetrics(secrets);
      const http = await failure(metrics.query('acme', p, { query: 'avg:errors{*}' }, now()));
      expect(http).toMatch(/^Datadog answered HTTP 403: key \*{5} is not valid; app key \*{5}$/);
      expectNoPiece(http, `${TOKEN}-DD_API`, `${TOKEN}-DD_APP`);
      mode = 'status';
      const status = await failure(metrics.query('acme', p, { query: 'avg:errors{*}' }, now()));
      expect(status).toMatch(/^Datadog: query with \*{5} failed$/);
      expectNoPiece(status, `${TOKEN}-DD_APP`);
    } finally {
      undo();
      await server.stop();
    }
  });

  it('web: an encoded echo of a secret header (URL-encoded, base64) is redacted too', async () => {
    const server = await serveJson(() => ({ status: 500, body: '{}' }));
    try {
      const p: MetricsProvider = { type: 'web', url: server.url, jsonPath: '$.v', headers: [{ name: 'X-Token', value: '${WEB}' }], timeoutSeconds: 5 };
      const message = await failure(new ProviderMetrics(secrets).query('acme', p, { url: server.url, headers: p.headers }, now()));
      expect(message).toBe('the endpoint answered HTTP 500');
    } finally {
      await server.stop();
    }
    const value = `${TOKEN}/+=-WEB`;
    const text = `a ${value} b ${encodeURIComponent(value)} c ${Buffer.from(value).toString('base64')} d ${JSON.stringify(value)}`;
    const out = redactSecrets(text, [value]);
    expectNoPiece(out, value, encodeURIComponent(value), Buffer.from(value).toString('base64'));
    expect(out.length).toBeLessThanOrEqual(250);
  });

  it("CloudWatch: a failed result's messages are cut to the bound, as every provider's", async () => {
    const client = { send: async () => ({ MetricDataResults: [{ Id: 'm', StatusCode: 'Forbidden', Messages: [{ Code: 'x', Value: 'y'.repeat(1000) }] }] }) };
    // A CloudWatch read goes through the role the tenant registered for the account (its session, here a fixed one).
    const sts = {
      send: async () => ({ Credentials: { AccessKeyId: 'AKIA', SecretAccessKey: 's', SessionToken: 't', Expiration: new Date('2030-01-01T00:00:00Z') } }),
    };
    const metrics = new ProviderMetrics(
      secrets,
      new CloudWatchMetrics(
        () => client as never,
        () => sts as never,
      ),
    );
    const role = { roleArn: 'arn:aws:iam::111122223333:role/stageline-metrics', externalId: 'stageline:acme' };
    const at: MeasureAt = { ...now(), account: '111122223333', role };
    const message = await failure(metrics.query('acme', { type: 'cloudwatch', query: 'SELECT 1' } as MetricsProvider, { query: 'SELECT 1' }, at));
    expect(message).toMatch(/^CloudWatch: Forbidden: y+…$/);
    expect(message.length).toBeLessThanOrEqual(250);
  });
});
