import type { SecretResolver } from '#domain/kernel/ports';
import type { MeasureAt, RenderedQuery } from '#domain/verification/ports';
import type { MetricsProvider } from '#domain/verification/template';
import { guardedFetch, readLimited } from '../outbound.ts';
import { DEFAULT_TIMEOUT_MS, keep, MAX_ANSWER_BYTES, metricsSecret, MetricsQueryFailed, parseJson } from './bounds.ts';

type Prometheus = Extract<MetricsProvider, { type: 'prometheus' }>;

interface Answer {
  status?: string;
  errorType?: string;
  error?: string;
  data?: { resultType?: string; result?: unknown };
}

/**
 * An instant query of Prometheus' HTTP API (`GET <address>/api/v1/query?query=…&time=…`) through the
 * guarded outbound client, with the tenant's bearer token when the template names one. A `vector`
 * answers one value per series, a `scalar` one value, a `matrix` (a range selector) every sample of
 * each series; NaN and ±Inf are left out. An error answer throws with Prometheus' own error text.
 */
export async function queryPrometheus(tenant: string, p: Prometheus, rendered: RenderedQuery, at: MeasureAt, secrets: SecretResolver): Promise<number[]> {
  // The API under the address's path (a Prometheus behind a path prefix), the address's own query string dropped.
  const url = new URL(p.address);
  url.pathname = `${url.pathname.replace(/\/+$/, '')}/api/v1/query`;
  url.search = '';
  url.hash = '';
  url.searchParams.set('query', rendered.query ?? p.query);
  url.searchParams.set('time', String(at.now.getTime() / 1000));
  const headers: Record<string, string> = { accept: 'application/json', 'user-agent': 'stageline-analysis' };
  if (p.tokenSecret) headers.authorization = `Bearer ${await metricsSecret(secrets, tenant, p.tokenSecret)}`;
  const res = await guardedFetch(url, { method: 'GET', headers, timeoutMs: DEFAULT_TIMEOUT_MS });
  const text = await readLimited(res, MAX_ANSWER_BYTES);
  const type = res.headers.get('content-type') ?? '';
  if (!res.ok && !type.includes('json')) throw new MetricsQueryFailed(`Prometheus answered HTTP ${res.status}`);
  const answer = parseJson(text, 'Prometheus') as Answer;
  if (answer.status !== 'success') {
    throw new MetricsQueryFailed(`Prometheus: ${answer.errorType ?? `HTTP ${res.status}`}: ${String(answer.error ?? 'no error text')}`);
  }
  const result = answer.data?.result;
  switch (answer.data?.resultType) {
    case 'scalar':
      return keep([Array.isArray(result) ? result[1] : undefined]);
    case 'vector':
      return keep(Array.isArray(result) ? result.map((s: { value?: unknown[] }) => s?.value?.[1]) : []);
    case 'matrix':
      return keep(Array.isArray(result) ? result.flatMap((s: { values?: unknown[][] }) => (Array.isArray(s?.values) ? s.values.map((v) => v?.[1]) : [])) : []);
    default:
      throw new MetricsQueryFailed(`Prometheus answered a ${String(answer.data?.resultType)} result: the query must answer numbers`);
  }
}
