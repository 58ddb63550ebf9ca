import type { ReadScope } from '#domain/access/app-keys';
import {
  INSTANCE_COUNTED_HEADER,
  INSTANCE_TTL_SECONDS,
  instanceFromContext,
  instanceSeen,
  notCountedBecause,
  type InstanceClaim,
} from '#domain/config/instances';
import type { ReadView } from '#domain/config/effective';
import type { InstanceSeen } from '#domain/config/ports';
import type { Deps } from '#domain/ports';
import { logger } from '../adapters/observability.ts';

/**
 * The read path's record of an instance (a fleet target counts them): called only on a 200, after the
 * answer is made. What this function instance last wrote for an instance is kept in memory (a Map: an
 * instance id is data, `__proto__` included), so a reader that re-reads the same version without a
 * validator (OFREP single-flag evaluations carry none) costs no write; past MEMO_MS the conditional put
 * decides again (another function instance may have written a different version since). A failed write
 * never fails the read.
 */
const MEMO_MS = 60_000;
const MAX_ENTRIES = 10_000;
const written = new Map<string, { fp: string; at: number }>();
/** What the read path did (the bench and tests count it): puts sent, puts the store refused (unchanged), memo hits. */
export const instanceStats = { puts: 0, unchanged: 0, memo: 0 };

/**
 * A 200 read: records the instance the read names (a header's claim, or an OFREP context's), if any and if the
 * read's credential is bound to the target it read. The headers the answer carries: `Stageline-Instance-Counted`
 * (`yes`, or `no; <why>`) when the read names an instance, none when it names none.
 */
export async function noteRead(
  deps: Deps,
  scope: ReadScope,
  view: ReadView,
  claim: InstanceClaim | { instanceId?: string; instanceVersion?: string } | undefined,
): Promise<Record<string, string>> {
  const c = claim && 'id' in claim ? claim : claim ? instanceFromContext(claim) : undefined;
  if (!c) return {};
  const why = notCountedBecause(scope, view);
  await noteInstance(deps, scope.tenant, instanceSeen(scope, view, c, deps.clock()));
  return { [INSTANCE_COUNTED_HEADER]: why === null ? 'yes' : `no; ${why}` };
}

export async function noteInstance(deps: Deps, tenant: string, seen: InstanceSeen | null, now = Date.now()): Promise<void> {
  if (!seen) return;
  const id = `${tenant}\u0000${seen.environment}\u0000${seen.target}\u0000${seen.instance}`;
  const fp = `${seen.version}|${seen.artifact ?? ''}`;
  const last = written.get(id);
  if (last && last.fp === fp && now - last.at < MEMO_MS) {
    instanceStats.memo++;
    return;
  }
  try {
    instanceStats.puts++;
    if (!(await deps.store.recordInstance(tenant, seen, INSTANCE_TTL_SECONDS))) instanceStats.unchanged++;
    written.delete(id);
    written.set(id, { fp, at: now });
    while (written.size > MAX_ENTRIES) written.delete(written.keys().next().value!);
  } catch (err) {
    logger.warn('instance not recorded', { error: String(err) });
  }
}

/** Forgets what was written (tests and the bench: a cold function instance). */
export function clearInstanceMemo(): void {
  written.clear();
}
