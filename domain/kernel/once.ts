import type { IdempotencyStorePort } from './ports.ts';

/** How long a consumer remembers an event id: longer than any redelivery (stream records live 24 h). */
const REMEMBER_SECONDS = 3 * 86400;

/**
 * Runs `work` once per (consumer, event id): delivery is at least once (the
 * stream relay, EventBridge retries), the effect is once. A failed run gives
 * the claim back so a redelivery runs it again.
 */
export async function runOnce<T>(
  deps: { store: Pick<IdempotencyStorePort, 'claimOnce' | 'releaseOnce'> },
  tenant: string,
  consumer: string,
  eventId: string | undefined,
  work: () => Promise<T>,
): Promise<{ duplicate: true } | { duplicate: false; result: T }> {
  if (eventId && !(await deps.store.claimOnce(tenant, consumer, eventId, REMEMBER_SECONDS))) return { duplicate: true };
  try {
    return { duplicate: false, result: await work() };
  } catch (err) {
    if (eventId) await deps.store.releaseOnce(tenant, consumer, eventId);
    throw err;
  }
}
