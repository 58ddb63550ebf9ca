import { createHmac } from 'node:crypto';
import type { GateProvider } from '#domain/ports';
import type { WebhookGate, WebhookOutcome } from '#domain/promotion/gates';

/**
 * Calls a tenant's webhook gate: POST JSON, signed with HMAC-SHA256 over
 * `<timestamp>.<body>` (headers X-Stageline-Timestamp / X-Stageline-Signature),
 * expecting `{"verdict": "PASS"|"FAIL", "reason": "..."}`. Anything else — a
 * non-2xx, bad JSON, a time-out, a network error — is an ERROR, which the gate
 * evaluation treats as a failure (fail closed).
 */
export class HttpGateProvider implements GateProvider {
  constructor(private readonly now: () => Date = () => new Date()) {}

  async call(hook: WebhookGate, body: Record<string, unknown>): Promise<WebhookOutcome> {
    const text = JSON.stringify(body);
    const ts = String(Math.floor(this.now().getTime() / 1000));
    const signature = createHmac('sha256', hook.secret).update(`${ts}.${text}`).digest('hex');
    try {
      const res = await fetch(hook.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-stageline-timestamp': ts, 'x-stageline-signature': `sha256=${signature}` },
        body: text,
        signal: AbortSignal.timeout(hook.timeoutMs),
      });
      if (!res.ok) return { name: hook.name, verdict: 'ERROR', reason: `gate answered HTTP ${res.status} (fails closed)` };
      const data = (await res.json().catch(() => null)) as { verdict?: unknown; reason?: unknown } | null;
      if (!data || (data.verdict !== 'PASS' && data.verdict !== 'FAIL')) {
        return { name: hook.name, verdict: 'ERROR', reason: 'gate answered without a PASS/FAIL verdict (fails closed)' };
      }
      return { name: hook.name, verdict: data.verdict, reason: typeof data.reason === 'string' ? data.reason.slice(0, 500) : data.verdict };
    } catch (err) {
      const timedOut = (err as { name?: string }).name === 'TimeoutError';
      return { name: hook.name, verdict: 'ERROR', reason: timedOut ? `no answer within ${hook.timeoutMs} ms (fails closed)` : 'gate unreachable (fails closed)' };
    }
  }
}
