import { ConcurrentModification } from './errors.ts';
import { WriteConflict } from './ports.ts';

const MAX_ATTEMPTS = 25;

/**
 * Runs a read-decide-write step until its conditional write wins. Every attempt
 * re-reads, so a lost race that turns into a real conflict (stale version, name
 * taken) surfaces as that domain error on the next attempt.
 */
export async function retryOnConflict<T>(step: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await step();
    } catch (err) {
      if (!(err instanceof WriteConflict)) throw err;
      if (attempt >= MAX_ATTEMPTS) {
        throw new ConcurrentModification('Too many concurrent changes to the same data; retry the request');
      }
      // Full jitter keeps a burst of writers on one tenant from colliding in lockstep.
      await new Promise((r) => setTimeout(r, Math.random() * Math.min(400, 10 * 2 ** Math.min(attempt, 6))));
    }
  }
}
