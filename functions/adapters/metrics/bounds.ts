import { MAX_VALUES } from '#domain/verification/analysis';
import type { SecretResolver } from '#domain/kernel/ports';

/** What a provider's answer may be: at most 1 MiB read, at most MAX_VALUES values kept, 10 s by default. */
export const MAX_ANSWER_BYTES = 1024 * 1024;
export { MAX_VALUES };
export const DEFAULT_TIMEOUT_MS = 10_000;

/** A provider's answer that cannot be used (an error status, a malformed body): its message is shown on the measurement. */
export class MetricsQueryFailed extends Error {
  override readonly name = 'MetricsQueryFailed';
}

/** A number from a provider's value (a number or its decimal text, as Prometheus sends them); null for NaN, ±Inf and anything else. */
export function finite(v: unknown): number | null {
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : Number.NaN;
  return Number.isFinite(n) ? n : null;
}

/** The finite numbers among the values, at most MAX_VALUES. */
export function keep(values: Iterable<unknown>): number[] {
  const out: number[] = [];
  for (const v of values) {
    const n = finite(v);
    if (n !== null) out.push(n);
    if (out.length >= MAX_VALUES) break;
  }
  return out;
}

/** The most characters of a failed query's message an Error measurement shows (after redaction). */
export const MAX_ERROR_CHARS = 250;

/**
 * A failed query's message as a viewer may see it: every secret the query read is cut out first (as
 * sent, URL-encoded, JSON-escaped, base64), then the message is shortened to MAX_ERROR_CHARS. Cutting
 * first would leave a prefix of a long token that no longer matches it; so every provider's error text
 * goes through here whole, and nothing shortens it before.
 */
export function redactSecrets(text: string, secrets: readonly string[], max = MAX_ERROR_CHARS): string {
  let out = text;
  for (const s of secrets) {
    if (s.length < 4) continue;
    const forms = [s, encodeURIComponent(s), JSON.stringify(s).slice(1, -1), Buffer.from(s).toString('base64'), Buffer.from(s).toString('base64url')];
    for (const form of new Set(forms.map((f) => f.replace(/=+$/, '')))) out = out.replaceAll(form, '*****');
  }
  return out.length > max ? `${out.slice(0, max - 1)}…` : out;
}

/** A tenant secret of the purpose `metrics`; a missing one fails the measurement, naming it (never its value). */
export async function metricsSecret(secrets: SecretResolver, tenant: string, name: string): Promise<string> {
  const value = await secrets.resolve(tenant, name, 'metrics');
  if (value === null || value === '') throw new MetricsQueryFailed(`the secret '${name}' does not exist for this tenant (purpose metrics)`);
  return value;
}

/** Parses a JSON body, naming the provider when it is not JSON (the body itself is never repeated: it may echo a request). */
export function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new MetricsQueryFailed(`${what} did not answer JSON`);
  }
}
