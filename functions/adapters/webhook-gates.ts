import { createHmac } from 'node:crypto';
import type { GateProvider } from '#domain/promotion/ports';
import type { WebhookGate, WebhookOutcome } from '#domain/promotion/terms/gate-verdicts';
import { guardedFetch, OutboundRefused, readLimited } from './outbound.ts';
import { openSealed } from './secret-box.ts';

/** A gate's own reason, as a short single line of printable text (never a raw body). */
const summary = (v: unknown) =>
  typeof v === 'string'
    ? v
        .replace(/[^\x20-\x7e\u00a0-\uffff]+/g, ' ')
        .trim()
        .slice(0, 200)
    : '';

/**
 * Calls a tenant's webhook gate: POST JSON, signed with HMAC-SHA256 over
 * `<timestamp>.<body>` (headers X-Stageline-Timestamp / X-Stageline-Signature),
 * expecting `{"verdict": "PASS"|"FAIL", "reason": "..."}`. Anything else — a
 * non-2xx, bad JSON, a time-out, a network error — is an ERROR, which the gate
 * evaluation treats as a failure (fail closed). The call goes through the
 * SSRF guard (outbound.ts): public addresses only, no redirects; a 3xx is an
 * ERROR too.
 */
export class HttpGateProvider implements GateProvider {
  constructor(private readonly now: () => Date = () => new Date()) {}

  async call(hook: WebhookGate, body: Record<string, unknown>): Promise<WebhookOutcome> {
    const text = JSON.stringify(body);
    const ts = String(Math.floor(this.now().getTime() / 1000));
    // The secret is stored sealed and opened here, where it signs (only the functions calling gates hold the key).
    let key: string;
    try {
      key = await openSealed(hook.secret);
    } catch {
      return { name: hook.name, verdict: 'ERROR', reason: 'its secret could not be opened with the secrets key (this gate fails closed)' };
    }
    const signature = createHmac('sha256', key).update(`${ts}.${text}`).digest('hex');
    try {
      const res = await guardedFetch(hook.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-stageline-timestamp': ts, 'x-stageline-signature': `sha256=${signature}` },
        body: text,
        timeoutMs: hook.timeoutMs,
      });
      if (res.status >= 300 && res.status < 400) {
        await res.body?.cancel();
        return {
          name: hook.name,
          verdict: 'ERROR',
          reason: `it answered with a redirect (HTTP ${res.status}), which is not followed (this gate fails closed)`,
        };
      }
      if (!res.ok) {
        await res.body?.cancel();
        return { name: hook.name, verdict: 'ERROR', reason: `it answered HTTP ${res.status} (this gate fails closed)` };
      }
      type Answer = { verdict?: unknown; reason?: unknown } | null;
      const data: Answer = await readLimited(res, 16 * 1024)
        .then((text) => JSON.parse(text) as Answer)
        .catch(() => null);
      if (!data || (data.verdict !== 'PASS' && data.verdict !== 'FAIL')) {
        return { name: hook.name, verdict: 'ERROR', reason: 'it answered without a PASS or FAIL verdict (this gate fails closed)' };
      }
      return {
        name: hook.name,
        verdict: data.verdict,
        reason: summary(data.reason) || (data.verdict === 'PASS' ? 'it passed the release' : 'it failed the release, without saying why'),
      };
    } catch (err) {
      if (err instanceof OutboundRefused) return { name: hook.name, verdict: 'ERROR', reason: `its URL was refused: ${err.message} (this gate fails closed)` };
      const timedOut = (err as { name?: string }).name === 'TimeoutError';
      return {
        name: hook.name,
        verdict: 'ERROR',
        reason: timedOut ? `it did not answer within ${hook.timeoutMs} ms (this gate fails closed)` : 'it could not be reached (this gate fails closed)',
      };
    }
  }
}
