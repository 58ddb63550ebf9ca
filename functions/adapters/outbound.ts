import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import type { IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';
import { Readable } from 'node:stream';
import { readAddress } from '#domain/kernel/ip-ranges';
import { addressRefusal } from '#domain/kernel/url-policy';
import * as env from '../configuration.ts';
import { seams } from './seams.ts';

/**
 * The one way Stageline calls a URL a tenant configured (webhook gates, OCI registries, Slack).
 * Every such request leaves from our account, so it is guarded against SSRF:
 *
 * - the host is resolved and EVERY address it resolves to must be a public unicast address:
 *   loopback, private (RFC 1918), link-local (incl. 169.254.169.254, the metadata service),
 *   CGNAT, unique-local (fc00::/7), IPv4-mapped IPv6 of those, unspecified, multicast and
 *   reserved ranges are refused;
 * - the check runs in the connection's own DNS lookup (node:http's `lookup` option), so the
 *   address checked is the address connected to (a DNS answer that changes between check and
 *   connect — rebinding — cannot pass); plain node:http(s), no HTTP client library to bundle;
 * - redirects are never followed (the caller sees the 3xx and decides; see `assertSameOrigin`);
 * - https only, except loopback in local mode.
 *
 * Local mode: `STAGELINE_ALLOW_LOOPBACK_OUTBOUND=true` (given by the local stack for `npm start` and
 * the tests, never by the CDK stack) additionally allows loopback addresses, over http or https.
 * Nothing else (no private range, no metadata address) is ever allowed.
 */
export class OutboundRefused extends Error {
  override readonly name = 'OutboundRefused';
}

/** Local mode (functions/configuration.ts): the same setting the domain's tunables carry (allowLoopbackOutbound). */
const loopbackAllowed = () => env.STAGELINE_ALLOW_LOOPBACK_OUTBOUND();

/** Why an address may not be called, or null when it is a public unicast address (the save-time policy's rule, domain/kernel/url-policy.ts). */
export function refusedRange(address: string, allowLoopback = loopbackAllowed()): string | null {
  return addressRefusal(address, allowLoopback);
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/** A DNS lookup for outbound connections that refuses any non-public answer (the connection then fails). */
function guardedLookup(hostname: string, options: { all?: boolean; family?: number } | number, callback: LookupCallback): void {
  const opts = typeof options === 'number' ? { family: options } : options;
  dnsLookup(hostname, { all: true, family: opts.family ?? 0 }, (err, addresses) => {
    if (err) return callback(err, '');
    const list = addresses as { address: string; family: number }[];
    const bad = list.map((a) => ({ a, why: refusedRange(a.address) })).find((x) => x.why);
    if (bad || list.length === 0) {
      // The class of address, never the address: the message reaches delivery logs and gate reasons that
      // viewers read, and the address would let them map internal DNS through us.
      const e = new OutboundRefused(
        `${hostname} resolves to ${bad ? `a ${bad.why} address` : 'nothing'}; only public addresses may be called`,
      ) as NodeJS.ErrnoException;
      e.code = 'EOUTBOUNDREFUSED';
      return callback(e, '');
    }
    if (opts.all) return callback(null, list);
    callback(null, list[0]!.address, list[0]!.family);
  });
}

/**
 * Checks a URL's shape before any request: http(s), no user info, a host that is either a
 * public IP literal or a name (checked again at connect time). Throws OutboundRefused.
 */
export function checkUrl(raw: string | URL): URL {
  let url: URL;
  try {
    url = new URL(String(raw));
  } catch {
    throw new OutboundRefused('not a valid URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new OutboundRefused(`${url.protocol} URLs are not allowed; use https`);
  if (url.username || url.password) throw new OutboundRefused('URLs must not carry credentials');
  // The WHATWG parser already turns 0x7f000001, 2130706433 and 0177.0.0.1 into 127.0.0.1.
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const literal = isIP(host) !== 0;
  if (literal) {
    const why = refusedRange(host);
    if (why) throw new OutboundRefused(`${host} is a ${why} address; only public addresses may be called`);
  } else if (/^(localhost|.*\.localhost|.*\.internal|.*\.local)$/i.test(host) && !(loopbackAllowed() && /^localhost$/i.test(host))) {
    throw new OutboundRefused(`${host} is an internal name; only public hosts may be called`);
  }
  const loopbackTarget = literal ? readAddress(host)?.range === 'loopback' : /^localhost$/i.test(host);
  if (url.protocol === 'http:' && !(loopbackAllowed() && loopbackTarget)) throw new OutboundRefused('plain http is not allowed; use https');
  return url;
}

export interface GuardedInit {
  method?: string;
  headers?: Record<string, string>;
  /** a string, bytes, or a stream (sent chunked) */
  body?: string | Uint8Array | ReadableStream<Uint8Array>;
  /** accepted for fetch compatibility: streamed bodies are always sent half-duplex */
  duplex?: 'half';
  timeoutMs?: number;
  signal?: AbortSignal;
  /** https: trust this CA (PEM) for the server's certificate instead of the public roots (a private cluster's API server) */
  ca?: string;
}

const NO_BODY = new Set([101, 103, 204, 205, 304]);

/**
 * fetch() for tenant-configured URLs, on node:http(s): checked shape, checked addresses at connect,
 * no redirects (a 3xx comes back as it is), bounded time. Answers a standard `Response`.
 */
export async function guardedFetch(raw: string | URL, init: GuardedInit = {}): Promise<Response> {
  const url = checkUrl(raw);
  const seam = seams().outbound;
  return seam ? seam(url, (init.method ?? 'GET').toUpperCase(), () => send(url, init)) : send(url, init);
}

async function send(url: URL, init: GuardedInit): Promise<Response> {
  const signal = init.signal ?? AbortSignal.timeout(init.timeoutMs ?? 10_000);
  // node:http is loaded only for plain http (loopback, allowed locally): on Node 24 importing it loads
  // undici, http2 and worker_threads too, ~15 ms of module init for every function that can call out.
  const request = url.protocol === 'https:' ? httpsRequest : (await import('node:http')).request;
  const method = (init.method ?? 'GET').toUpperCase();
  return new Promise<Response>((resolve, reject) => {
    const tls = init.ca ? { ca: init.ca } : {};
    const req = request(url, { method, headers: init.headers, lookup: guardedLookup as never, signal, ...tls }, (res: IncomingMessage) => {
      const headers = new Headers();
      for (const [k, v] of Object.entries(res.headers)) {
        if (v === undefined) continue;
        for (const one of Array.isArray(v) ? v : [v]) headers.append(k, one);
      }
      const status = res.statusCode ?? 502;
      const body = method === 'HEAD' || NO_BODY.has(status) ? null : (Readable.toWeb(res) as ReadableStream<Uint8Array>);
      if (!body) res.resume();
      resolve(new Response(body, { status, statusText: res.statusMessage, headers }));
    });
    req.on('error', (err) => {
      const e = err as NodeJS.ErrnoException;
      if (e.code === 'EOUTBOUNDREFUSED' || err instanceof OutboundRefused) return reject(new OutboundRefused(err.message));
      // Abort by time-out reads as a TimeoutError, as fetch reports it.
      if (signal.aborted) return reject(signal.reason instanceof Error ? signal.reason : new DOMException('The operation timed out', 'TimeoutError'));
      reject(err);
    });
    const body = init.body;
    if (body === undefined) req.end();
    else if (typeof body === 'string' || body instanceof Uint8Array) req.end(body);
    else
      Readable.fromWeb(body as never)
        .on('error', (err) => req.destroy(err))
        .pipe(req);
  });
}

/**
 * How a remote's transient answers are retried (GitHub's, GitLab's and the registries' advice: back off
 * and try again on 5xx, 429 and secondary rate limits, honouring Retry-After): the attempts after the
 * first, and the longest Retry-After waited for within a step (longer: the answer stands). The first wait
 * (doubling each try) is `hostRetryWaitMs`.
 */
export const HOST_RETRY = { retries: 3, maxWaitMs: 20_000 };

/** The wait before try `attempt + 1` of a transient answer: STAGELINE_OUTBOUND_RETRY_BASE_MS (500 ms), doubling. */
export const hostRetryWaitMs = (attempt: number): number => env.STAGELINE_OUTBOUND_RETRY_BASE_MS() * 2 ** attempt;

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The wait a transient answer asks for (Retry-After seconds or date, GitHub's x-ratelimit-reset), or null
 * when it is not transient or may not be sent again: `noAnswer` (no response at all: a reset connection,
 * a time-out) and `serverError` (a 5xx) say whether this request may be replayed after each. A rate limit
 * means the request was not processed, so any request is sent again, after the time the remote names.
 */
export function transientWait(res: Response | null, attempt: number, replay: { noAnswer: boolean; serverError: boolean }): number | null {
  const backoff = hostRetryWaitMs(attempt);
  if (!res) return replay.noAnswer ? backoff : null;
  const after = res.headers.get('retry-after');
  const asked = after ? (/^\d+$/.test(after) ? Number(after) * 1000 : Math.max(0, Date.parse(after) - Date.now())) : null;
  const limited = res.status === 429 || (res.status === 403 && (after !== null || res.headers.get('x-ratelimit-remaining') === '0'));
  if (limited) {
    const reset = Number(res.headers.get('x-ratelimit-reset'));
    const wait = asked ?? (reset ? reset * 1000 - Date.now() : backoff);
    return Number.isFinite(wait) ? Math.max(wait, backoff) : backoff;
  }
  if (res.status >= 500 && replay.serverError) return asked ?? backoff;
  return null;
}

/** A Location (redirect or upload URL) must stay on the origin it came from. */
export function assertSameOrigin(location: string, base: string): string {
  const resolved = new URL(location, base);
  if (resolved.origin !== new URL(base).origin) throw new OutboundRefused(`refusing to follow ${resolved.origin}: it leaves ${new URL(base).origin}`);
  return resolved.href;
}

/** Reads at most `max` bytes of a body (a hostile server cannot make us buffer gigabytes). */
export async function readLimited(res: Response, max = 64 * 1024): Promise<string> {
  return (await readBytesLimited(res, max)).toString('utf8');
}

/** The bytes of a body, at most `max` of them: more is refused (OutboundRefused) and the rest is never read. */
export async function readBytesLimited(res: Response, max: number): Promise<Buffer> {
  const reader = res.body?.getReader();
  if (!reader) return Buffer.alloc(0);
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > max) {
      await reader.cancel();
      throw new OutboundRefused(`response larger than ${max} bytes`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks);
}
