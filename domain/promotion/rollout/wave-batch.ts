import type { Deps } from '../../kernel/deps.ts';
import { waveTargets } from './plan.ts';
import { WAVE_BATCH } from './wave-go.ts';

/** A child wave's batches (rollout/wave-run.ts, rollout/wave-loop.ts): a batch of the wave's names, run a few at once. */

/** Targets of a batch changed (or read) at once inside one task: bounded so one task stays within the store's throughput. */
export const BATCH_PARALLEL = 10;

/** The error a child wave answers the parent with when the rollout stopped under it (the parent's MarkFailed rolls back). */
export class RolloutStopped extends Error {
  override name = 'RolloutStopped';
}

/** The batch of a wave's targets from `offset` on, and where the next one starts (and the wave's names). */
export async function batchOf(deps: Pick<Deps, 'store'>, tenant: string, id: string, wave: number, offset: number) {
  const names = await waveTargets(deps, tenant, id, wave);
  const batch = names.slice(offset, offset + WAVE_BATCH);
  const next = offset + batch.length;
  return { names, batch, next, done: next >= names.length };
}

/** Runs `fn` over `items`, at most `n` at once; the first failure is thrown once every started one settled. */
export async function eachLimited<T>(items: readonly T[], n: number, fn: (item: T) => Promise<void>): Promise<void> {
  let i = 0;
  const errors: unknown[] = [];
  const worker = async () => {
    while (i < items.length && !errors.length) {
      const item = items[i++]!;
      try {
        await fn(item);
      } catch (err) {
        errors.push(err);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, worker));
  if (errors.length) throw errors[0];
}
