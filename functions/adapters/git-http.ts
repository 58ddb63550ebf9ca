import type { GitHttpRequest, GitHttpResponse, HttpClient } from 'isomorphic-git';
import { guardedFetch, OutboundRefused } from './outbound.ts';

/** Largest answer read from a git remote (a shallow clone of one branch); more is refused. */
export const GIT_READ_MAX = 64 * 1024 * 1024;

async function collect(body: AsyncIterableIterator<Uint8Array> | undefined): Promise<Uint8Array | undefined> {
  if (!body) return undefined;
  const chunks: Uint8Array[] = [];
  for await (const c of body) chunks.push(c);
  return Buffer.concat(chunks);
}

async function* bounded(stream: ReadableStream<Uint8Array> | null, max: number): AsyncIterableIterator<Uint8Array> {
  if (!stream) return;
  const reader = stream.getReader();
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      size += value.length;
      if (size > max) throw new OutboundRefused(`the git remote sent more than ${max} bytes`);
      yield value;
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
}

/**
 * isomorphic-git's HTTP client on the outbound guard: the remote is a tenant-configured URL, so every
 * request is checked at connect time (public addresses only after DNS; loopback only in local mode),
 * never follows a redirect, has a time limit, and reads a bounded answer.
 */
export const guardedGitHttp = (timeoutMs = 60_000): HttpClient => ({
  async request(req: GitHttpRequest): Promise<GitHttpResponse> {
    const body = await collect(req.body as AsyncIterableIterator<Uint8Array> | undefined);
    const res = await guardedFetch(req.url, { method: req.method ?? 'GET', headers: req.headers, ...(body ? { body } : {}), timeoutMs });
    const headers: Record<string, string> = {};
    res.headers.forEach((v, k) => (headers[k] = v));
    return { url: req.url, method: req.method, statusCode: res.status, statusMessage: res.statusText, headers, body: bounded(res.body, GIT_READ_MAX) };
  },
});
