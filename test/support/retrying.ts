import type { TestStack } from './stack.ts';

/**
 * A request as a documented client sends it: an answer the API marks as "nothing changed, try again"
 * is sent again after its Retry-After (1 s when absent, with jitter so retries spread out), at most
 * `attempts` times in all. Retried: 503 (the write ran out of time before it was saved, or the stack is
 * not ready yet) and 409 CONCURRENT_MODIFICATION (too many concurrent changes to the same data).
 * Everything else, 409 VERSION_CONFLICT included, is the answer. Under load (a busy machine, other
 * jobs) these are fair answers; a test that asserts every write lands uses this, not a bare call.
 */
export async function callRetrying<T = any>(t: TestStack, method: string, path: string, opts: Parameters<TestStack['call']>[2] = {}, attempts = 6) {
  for (let i = 1; ; i++) {
    const r = await t.call<T>(method, path, opts);
    if (i >= attempts || !retryable(r.status, r.body)) return r;
    const after = Number(r.headers.get('retry-after'));
    const seconds = Number.isFinite(after) && after > 0 ? Math.min(after, 10) : 1;
    await new Promise((res) => setTimeout(res, seconds * 1000 * (0.5 + Math.random() / 2)));
  }
}

/** What the API says may be sent again unchanged. */
export function retryable(status: number, body: unknown): boolean {
  return status === 503 || (status === 409 && (body as { error?: { code?: string } } | null)?.error?.code === 'CONCURRENT_MODIFICATION');
}
