import { Webhook } from 'standardwebhooks';
import type { SendResult, WebhookSender } from '#domain/webhooks/ports';
import { guardedFetch, OutboundRefused } from './outbound.ts';

/** How long a receiver may take to answer (the spec suggests a few seconds; a slow one is a failed attempt, retried later). */
export const WEBHOOK_TIMEOUT_MS = 10_000;
/** Bytes of an answer read at most (the rest is dropped unread). */
const READ_MAX = 4096;

/** At most 200 characters of an answer, with anything that looks like a token or key redacted. */
export function redactExcerpt(text: string): string {
  return text
    .replace(/[\u0000-\u001f\u007f]+/g, ' ')
    .replace(/[A-Za-z0-9+/_=.-]{24,}/g, '[redacted]')
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, 200);
}

async function excerptOf(res: Response): Promise<string> {
  const reader = res.body?.getReader();
  if (!reader) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < READ_MAX) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.length;
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
  return redactExcerpt(Buffer.concat(chunks).subarray(0, READ_MAX).toString('utf8'));
}

/**
 * Standard Webhooks: `webhook-id`, `webhook-timestamp` (Unix seconds) and `webhook-signature`
 * (`v1,<base64 HMAC-SHA256 of id.timestamp.body>`, one per live secret, space-separated: during a
 * rotation's overlap both secrets sign), signed by the `standardwebhooks` library. Sent through the
 * outbound guard (public addresses only after DNS, no redirects, bounded time and reads).
 */
export const standardWebhookSender = (timeoutMs = WEBHOOK_TIMEOUT_MS): WebhookSender => ({
  async send({ url, id, timestamp, body, secrets }): Promise<SendResult> {
    const signature = secrets.map((s) => new Webhook(s).sign(id, timestamp, body)).join(' ');
    const started = performance.now();
    try {
      const res = await guardedFetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'Stageline-Webhooks/1',
          'webhook-id': id,
          'webhook-timestamp': String(Math.floor(timestamp.getTime() / 1000)),
          'webhook-signature': signature,
        },
        body,
        timeoutMs,
      });
      const excerpt = await excerptOf(res).catch(() => '');
      return { statusCode: res.status, ms: Math.round(performance.now() - started), ...(excerpt ? { excerpt } : {}) };
    } catch (err) {
      const why =
        err instanceof OutboundRefused
          ? `refused: ${err.message}`
          : (err as Error).name === 'TimeoutError'
            ? `no answer within ${timeoutMs} ms`
            : `unreachable: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`;
      return { statusCode: null, ms: Math.round(performance.now() - started), excerpt: redactExcerpt(why), error: why };
    }
  },
});
