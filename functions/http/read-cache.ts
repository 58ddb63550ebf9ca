import { createHash } from 'node:crypto';
import type { AppKey } from '#domain/access/model';
import type { Environment } from '#domain/kernel/model';
import type { Deps } from '#domain/ports';
import * as env from '../configuration.ts';

/**
 * What an app read (effective config, OFREP) checks on every poll, at the least cost a stated bound
 * allows: the app key's record is kept in the warm function's memory for APP_READ_CACHE_MS (1 s by
 * default; 0 turns it off), and the environment's head is read eventually consistently (half the
 * read capacity of a consistent read). The bounds, stated and tested: a key revoked or rotated away
 * is refused within 1 s on every instance; a promotion (a new head) is visible as soon as the read
 * sees it, within DynamoDB's eventual consistency (typically well under a second). A first read of a
 * key (or one after the bound) reads both consistently in one BatchGetItem, as before. The snapshot
 * contents are immutable and cached by digest already (domain/config/effective.ts).
 */
const TTL_MS = env.APP_READ_CACHE_MS();
/** The longest a revoked or rotated-away key keeps working on an instance that already saw it (ms). */
export const READ_CACHE_TTL_MS = TTL_MS;
const MAX_ENTRIES = 5_000;

type Found = { key: AppKey | null; env: Environment | null };
const keysSeen = new Map<string, { at: number; key: AppKey }>();
export const readCacheStats = { hits: 0, loads: 0 };

/**
 * `secret`: the presented key's secret (a newly rotated secret is a miss: its record is read again).
 * `target`: the target the read names, if any: the environment's targets are read only when the read
 * names one or the key is scoped to one (an unchanged poll of the whole environment reads one item).
 */
export async function keyAndEnvironment(
  deps: Deps,
  tenant: string,
  keyId: string,
  secret: string,
  environment: string,
  target: string | undefined,
  now = Date.now(),
): Promise<Found> {
  const id = `${tenant}\u0000${keyId}\u0000${createHash('sha256').update(secret).digest('base64url')}`;
  const seen = keysSeen.get(id);
  if (seen && now - seen.at < TTL_MS && seen.key.environment === environment) {
    readCacheStats.hits++;
    const targets = target !== undefined || seen.key.target !== undefined;
    const one = target ?? seen.key.target;
    return {
      key: seen.key,
      env: await deps.store.getEnvironment(tenant, environment, { consistent: false, targets, ...(one !== undefined ? { target: one } : {}) }),
    };
  }
  readCacheStats.loads++;
  const found = await deps.store.appKeyAndEnvironment(tenant, keyId, environment, {
    targets: target !== undefined,
    ...(target !== undefined ? { target } : {}),
  });
  if (TTL_MS > 0 && found.key) {
    keysSeen.delete(id);
    keysSeen.set(id, { at: now, key: found.key });
    while (keysSeen.size > MAX_ENTRIES) keysSeen.delete(keysSeen.keys().next().value!);
  }
  return found;
}

/** Forgets the keys seen (the bench, to measure a first read). */
export function clearReadCache(): void {
  keysSeen.clear();
}
