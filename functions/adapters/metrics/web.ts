import type { SecretResolver } from '#domain/kernel/ports';
import type { RenderedQuery } from '#domain/verification/ports';
import { SECRET_IN_HEADER, type MetricsProvider } from '#domain/verification/template';
import { guardedFetch, readLimited } from '../outbound.ts';
import { keep, MAX_ANSWER_BYTES, metricsSecret, MetricsQueryFailed, parseJson } from './bounds.ts';

type Web = Extract<MetricsProvider, { type: 'web' }>;

/** One step of a JSON path: a member name, an index, or every element (`[*]`). */
type Step = { key: string } | { index: number } | { all: true };

/** The steps of a path like `$.data.errorRate`, `$.items[0].value`, `$['odd key']`, `$.series[*]` (the template's schema allows no other). */
export function parsePath(path: string): Step[] {
  const steps: Step[] = [];
  const re = /\.([A-Za-z_][A-Za-z0-9_-]*)|\[(\d{1,6})\]|\[(\*)\]|\['([^']{1,100})'\]|\["([^"]{1,100})"\]/y;
  if (!path.startsWith('$')) throw new MetricsQueryFailed('a JSON path starts with $');
  re.lastIndex = 1;
  while (re.lastIndex < path.length) {
    const m = re.exec(path);
    if (!m) throw new MetricsQueryFailed(`the JSON path ${path.slice(0, 100)} is not one of $.a.b, $.a[0], $['a'], $.a[*]`);
    if (m[1] !== undefined || m[4] !== undefined || m[5] !== undefined) steps.push({ key: (m[1] ?? m[4] ?? m[5])! });
    else if (m[2] !== undefined) steps.push({ index: Number(m[2]) });
    else steps.push({ all: true });
  }
  return steps;
}

/**
 * The values at a path of a JSON document: member names are looked up as data (own members only, so
 * `__proto__` or `constructor` find nothing the answer did not send), `[*]` takes every element.
 */
export function walkPath(doc: unknown, steps: Step[]): unknown[] {
  let current: unknown[] = [doc];
  for (const step of steps) {
    const next: unknown[] = [];
    for (const node of current) {
      if ('all' in step) {
        if (Array.isArray(node)) next.push(...node);
      } else if ('index' in step) {
        if (Array.isArray(node) && step.index < node.length) next.push(node[step.index]);
      } else if (node !== null && typeof node === 'object' && !Array.isArray(node) && Object.hasOwn(node, step.key)) {
        next.push((node as Record<string, unknown>)[step.key]);
      }
    }
    current = next;
  }
  return current.flatMap((v) => (Array.isArray(v) ? v : [v]));
}

/**
 * A web endpoint's JSON answer: a guarded GET (public addresses only, no redirects, the template's
 * time-out), headers whose `${NAME}` are the tenant's secrets (purpose `metrics`), the values at the
 * template's JSON path (a number, a numeric string, or a list of them). A non-2xx answer, a body that is
 * not JSON, or a path that leads to no number throws.
 */
export async function queryWeb(tenant: string, p: Web, rendered: RenderedQuery, secrets: SecretResolver): Promise<number[]> {
  const headers: Record<string, string> = { accept: 'application/json', 'user-agent': 'stageline-analysis' };
  for (const h of rendered.headers ?? p.headers) {
    let value = h.value;
    for (const name of new Set([...h.value.matchAll(SECRET_IN_HEADER)].map((m) => m[1]!)))
      value = value.replaceAll(`\${${name}}`, await metricsSecret(secrets, tenant, name));
    headers[h.name.toLowerCase()] = value;
  }
  const res = await guardedFetch(rendered.url ?? p.url, { method: 'GET', headers, timeoutMs: p.timeoutSeconds * 1000 });
  const text = await readLimited(res, MAX_ANSWER_BYTES);
  if (!res.ok) throw new MetricsQueryFailed(`the endpoint answered HTTP ${res.status}`);
  const found = walkPath(parseJson(text, 'the endpoint'), parsePath(p.jsonPath));
  const values = keep(found);
  if (found.length && !values.length) throw new MetricsQueryFailed(`${p.jsonPath} holds no number`);
  return values;
}
