import { ConcurrentModification, OutOfTime } from './errors.ts';
import type { Tunables } from './tunables.ts';

/**
 * Raised by a Store when a conditional write lost a race: `reason` names the condition the stored data refused, or
 * `busy` when DynamoDB refused the write because another transaction was on its items (nothing was saved and
 * nothing stored refused it: the same write may simply be sent again).
 */
export class WriteConflict extends Error {
  constructor(
    readonly reason: 'chain' | 'version' | 'exists' | 'position' | 'not-empty' | 'unknown' | 'busy',
    message?: string,
  ) {
    super(message ?? `write conflict (${reason})`);
    this.name = 'WriteConflict';
  }
}

/**
 * A conditional write the stored data refused (a version moved on, a name taken): not one DynamoDB refused for a
 * moment because another transaction was on its items (`busy`: send it again, 409 CONCURRENT_MODIFICATION). A use
 * case that answers a lost race as its own error (a version conflict, "already exists") asks this first.
 */
export const refusedByStored = (err: unknown): err is WriteConflict => err instanceof WriteConflict && err.reason !== 'busy';

/** Counters of this process (read as deltas by the HTTP middleware: a metric and a log field per request). */
export const writeStats = { retries: 0, givenUp: 0 };

/**
 * Runs a read-decide-write step until its conditional write wins. Every attempt
 * re-reads (only what the step reads: for a config write, the environment head,
 * then the changed trie path from shared, immutable nodes), so a lost race that
 * turns into a real conflict (stale version, name taken) surfaces as that domain
 * error on the next attempt. Retries are bounded by time, not by a small count,
 * with full-jitter backoff so a burst of writers on one environment spreads out:
 * for `retryBudgetMs` (the caller's deps.tunables), inside the API functions' 10 s
 * timeout with room for the response; then 409 with Retry-After.
 */
export async function retryOnConflict<T>({ retryBudgetMs }: Pick<Tunables, 'retryBudgetMs'>, step: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + retryBudgetMs;
  for (let attempt = 1; ; attempt++) {
    try {
      return await step();
    } catch (err) {
      if (!(err instanceof WriteConflict)) throw err;
      writeStats.retries++;
      const wait = Math.random() * Math.min(250, 5 * 2 ** Math.min(attempt, 6));
      if (Date.now() + wait > deadline) {
        writeStats.givenUp++;
        throw new ConcurrentModification(
          `Too many concurrent changes to the same data for ${Math.round(retryBudgetMs / 1000)} s (${attempt} attempts); retry after the Retry-After delay`,
        );
      }
      await new Promise((r) => setTimeout(r, wait));
    }
  }
}

const queues = new Map<string, Promise<unknown>>();

/**
 * Runs writes to the same key (an environment head) one after another within
 * this process, so concurrent requests served by one process queue instead of
 * colliding and retrying; writers in other processes (other Lambda instances)
 * still meet at the conditional write, and retryOnConflict settles those.
 */
export function serialised<T>(key: string, work: () => Promise<T>, waitBudgetMs?: number): Promise<T> {
  const prev = queues.get(key) ?? Promise.resolve();
  // A request that waited its whole budget in the queue leaves it without running: nothing is written for it,
  // and the ones behind it do not wait for it.
  let state: 'waiting' | 'running' | 'gave-up' = 'waiting';
  const go = () => {
    if (state === 'gave-up') return Promise.resolve(undefined as T);
    state = 'running';
    return work();
  };
  const run = prev.then(go, go);
  const tail = run.catch(() => undefined);
  queues.set(key, tail);
  void tail.then(() => {
    if (queues.get(key) === tail) queues.delete(key);
  });
  if (waitBudgetMs === undefined) return run;
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(
      () => {
        if (state !== 'waiting') return;
        state = 'gave-up';
        reject(
          new OutOfTime(
            'This write waited its turn behind other writes to the same environment until its time ran out: nothing changed. Retry after the Retry-After delay',
          ),
        );
      },
      Math.max(0, waitBudgetMs),
    );
    run.then(
      (v) => {
        clearTimeout(timer);
        if (state !== 'gave-up') resolve(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        if (state !== 'gave-up') reject(e);
      },
    );
  });
}
