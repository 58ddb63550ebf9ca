import { secretBox } from '../adapters/secret-box.ts';

/**
 * What keeps the review page's links and forms honest: a per-address limit on unknown-link
 * lookups, and the per-page nonce that lets only a page this service served post a decision.
 */

/** Unknown-token lookups per source address and minute, per instance (API Gateway throttles the route as a whole). */
const misses = new Map<string, { minute: number; n: number }>();
const MISSES_PER_MINUTE = 20;

export function limited(ip: string): boolean {
  const minute = Math.floor(Date.now() / 60_000);
  const m = misses.get(ip);
  return !!m && m.minute === minute && m.n >= MISSES_PER_MINUTE;
}

export function missed(ip: string): void {
  const minute = Math.floor(Date.now() / 60_000);
  const m = misses.get(ip);
  misses.set(ip, m && m.minute === minute ? { minute, n: m.n + 1 } : { minute, n: 1 });
  if (misses.size > 10_000) misses.clear();
}

/** A per-page nonce: the link's hash and an expiry, sealed (AES-GCM) with the service's key, so only a page we served can post. */
export async function makeNonce(hash: string): Promise<string> {
  const box = await secretBox();
  if (!box) throw new Error('no secrets key configured: review pages cannot make a nonce');
  return box.seal(`${hash}|${Date.now() + 30 * 60_000}`);
}

export async function nonceOk(nonce: string | undefined, hash: string): Promise<boolean> {
  const box = await secretBox();
  if (!box || !nonce || !nonce.startsWith('enc:v1:')) return false;
  try {
    const [h, until] = box.open(nonce).split('|');
    return h === hash && Number(until) > Date.now();
  } catch {
    return false;
  }
}

/** The decision a review form posts: approve, or reject with a reason (cut to 1,000 characters); a refusal page's words otherwise. */
export function readForm(
  body: string | undefined,
  base64: boolean | undefined,
):
  | { ok: true; what: 'approve' | 'reject'; reason: string | undefined; nonce: string | undefined }
  | { ok: false; title: string; message: string; whatToDo: string } {
  const raw = body ? (base64 ? Buffer.from(body, 'base64').toString('utf8') : body) : '';
  const form = new URLSearchParams(raw);
  const what = form.get('action');
  if (what !== 'approve' && what !== 'reject')
    return { ok: false, title: 'Nothing to do', message: 'The form did not say approve or reject.', whatToDo: 'Open the link again and use its buttons.' };
  const reason = form.get('reason')?.trim();
  if (what === 'reject' && !reason)
    return {
      ok: false,
      title: 'A reason is needed',
      message: 'Rejecting needs a reason the requester can act on.',
      whatToDo: 'Go back, write why, and reject again.',
    };
  return { ok: true, what, reason: reason?.slice(0, 1000), nonce: form.get('nonce') ?? undefined };
}

/**
 * A decision must come from a page of this service, not from another site's form or script: the
 * browser's `Sec-Fetch-Site: same-origin`, or an `Origin` naming this service (its public URL, or
 * the host the request came to — the gateway checks the Host locally; on AWS it is the API's own
 * domain). The review page sends no referrer, so a browser's Origin on its form post is `null`;
 * Sec-Fetch-Site still says same-origin. Neither header (not a browser, or a very old one) is refused.
 */
export function fromOwnOrigin(headers: Record<string, string | undefined> | undefined, domainName: string | undefined, publicUrl: string | undefined): boolean {
  const site = headers?.['sec-fetch-site'];
  if (site !== undefined) return site === 'same-origin';
  const origin = headers?.origin;
  if (!origin || origin === 'null') return false;
  let host: string;
  try {
    const u = new URL(origin);
    if (u.origin !== origin.replace(/\/$/, '')) return false;
    host = u.host;
  } catch {
    return false;
  }
  const own = new Set<string>();
  if (domainName) own.add(domainName.toLowerCase());
  if (publicUrl) {
    try {
      own.add(new URL(publicUrl).host);
    } catch {
      /* not a URL: no origin from it */
    }
  }
  return own.has(host);
}
