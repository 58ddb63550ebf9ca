import type { GitHttpRequest, GitHttpResponse, HttpClient } from 'isomorphic-git';
import { guardedFetch, HOST_RETRY, OutboundRefused, sleep, transientWait } from './outbound.ts';

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
 *
 * A remote's transient answer is tried again here, as the hosts' APIs and the registries are (HOST_RETRY), so one
 * hiccup costs a wait, not a new clone by the flow: a read (the refs, `git-upload-pack`, which only fetches) after no
 * answer, a 5xx or a rate limit; a push (`git-receive-pack`) only after a rate limit, which says it was not processed.
 * A push that may have landed is the writer's to find out (it reads the branch again).
 */
export const guardedGitHttp = (timeoutMs = 60_000, wait: (ms: number) => Promise<unknown> = sleep): HttpClient => ({
  async request(req: GitHttpRequest): Promise<GitHttpResponse> {
    const body = await collect(req.body as AsyncIterableIterator<Uint8Array> | undefined);
    const method = req.method ?? 'GET';
    const read = method === 'GET' || new URL(req.url).pathname.endsWith('/git-upload-pack');
    // Tries again only within one request's time limit in all: a host that hangs fails the step's try, not the step.
    const started = Date.now();
    for (let attempt = 0; ; attempt++) {
      let res: Response | null = null;
      let failure: unknown = null;
      try {
        res = await guardedFetch(req.url, { method, headers: req.headers, ...(body ? { body } : {}), timeoutMs });
      } catch (err) {
        // A refused URL (the outbound guard) is no hiccup: it is thrown as it is.
        if (err instanceof OutboundRefused) throw err;
        failure = err;
      }
      const ms = attempt < HOST_RETRY.retries ? transientWait(res, attempt, { noAnswer: read, serverError: read }) : null;
      if (ms !== null && ms <= HOST_RETRY.maxWaitMs && Date.now() - started + ms < timeoutMs) {
        if (res?.body) await res.body.cancel().catch(() => undefined);
        await wait(ms);
        continue;
      }
      if (!res) throw failure;
      const headers: Record<string, string> = {};
      res.headers.forEach((v, k) => (headers[k] = v));
      return { url: req.url, method: req.method, statusCode: res.status, statusMessage: res.statusText, headers, body: bounded(res.body, GIT_READ_MAX) };
    }
  },
});
