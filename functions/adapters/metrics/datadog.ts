import type { SecretResolver } from '#domain/kernel/ports';
import type { MeasureAt, RenderedQuery } from '#domain/verification/ports';
import type { MetricsProvider } from '#domain/verification/template';
import * as env from '../../configuration.ts';
import { guardedFetch, readBytesLimited } from '../outbound.ts';
import { DEFAULT_TIMEOUT_MS, keep, MAX_ANSWER_BYTES, metricsSecret, MetricsQueryFailed } from './bounds.ts';

type Datadog = Extract<MetricsProvider, { type: 'datadog' }>;

/**
 * fetch() for the Datadog client, on the guarded outbound client: the answer is read (at most
 * MAX_ANSWER_BYTES) before the client sees it, so a large or endless body cannot be buffered.
 */
async function boundedFetch(url: string, init: { method?: string; headers?: Record<string, string>; body?: string }): Promise<Response> {
  const res = await guardedFetch(url, { method: init.method, headers: init.headers, body: init.body, timeoutMs: DEFAULT_TIMEOUT_MS });
  const body = await readBytesLimited(res, MAX_ANSWER_BYTES);
  return new Response(res.status === 204 ? null : new Uint8Array(body), { status: res.status, headers: res.headers });
}

/**
 * The base URL Datadog is called at: `https://api.<site>` from the template's site (one of Datadog's,
 * which the schema enumerates), or, in local mode only (tests, `npm start`), DATADOG_API_URL: a local
 * stand-in answering the same API.
 */
function localBase(): string | undefined {
  return env.STAGELINE_ALLOW_LOOPBACK_OUTBOUND() ? env.DATADOG_API_URL() : undefined;
}

/**
 * A Datadog metrics query (v1 `GET /api/v1/query`, MetricsApi.queryMetrics) through Datadog's official
 * client, over the lookback window, with the API and application keys from the tenant's secrets
 * (purpose `metrics`) as the client sends them (DD-API-KEY, DD-APPLICATION-KEY headers). Every point of
 * every series, newest first, series after series; null points are left out. The client is loaded on
 * first use (a chunk of its own), and its requests go through the guarded outbound client.
 */
export async function queryDatadog(tenant: string, p: Datadog, rendered: RenderedQuery, at: MeasureAt, secrets: SecretResolver): Promise<number[]> {
  const [apiKey, appKey] = await Promise.all([metricsSecret(secrets, tenant, p.apiKeySecret), metricsSecret(secrets, tenant, p.appKeySecret)]);
  const common = await import('@datadog/datadog-api-client/dist/packages/datadog-api-client-common/index.js');
  const { MetricsApi } = await import('@datadog/datadog-api-client/dist/packages/datadog-api-client-v1/apis/MetricsApi.js');
  const base = localBase();
  const configuration = common.createConfiguration({
    authMethods: { apiKeyAuth: apiKey, appKeyAuth: appKey },
    fetch: boundedFetch,
    // Uncompressed answers: the guarded client hands bodies over as they come.
    httpConfig: { compress: false },
    enableRetry: false,
    ...(base ? { baseServer: new common.BaseServerConfiguration(base, {}) } : {}),
  });
  if (!base) configuration.setServerVariables({ site: p.site });
  const to = Math.floor(at.now.getTime() / 1000);
  let answer: Awaited<ReturnType<InstanceType<typeof MetricsApi>['queryMetrics']>>;
  try {
    answer = await new MetricsApi(configuration).queryMetrics({ from: to - Math.max(1, at.lookbackSeconds), to, query: rendered.query ?? p.query });
  } catch (err) {
    if (err instanceof common.ApiException) {
      const body = err.body as { errors?: unknown } | string | undefined;
      const errors = typeof body === 'object' && body && Array.isArray(body.errors) ? body.errors.map(String).join('; ') : '';
      throw new MetricsQueryFailed(`Datadog answered HTTP ${err.code}${errors ? `: ${errors}` : ''}`);
    }
    throw err;
  }
  if (answer.status === 'error') throw new MetricsQueryFailed(`Datadog: ${String(answer.error ?? 'the query failed')}`);
  const points = (answer.series ?? []).flatMap((s) => [...(s.pointlist ?? [])].reverse().map((pt) => pt?.[1]));
  return keep(points);
}
