/**
 * A replay over a long history comes in pages (simulate.ts answers `next` when the look-back holds more than one
 * request replays): the CLI and the console follow `next` and add each page to what they show. Pure, so both
 * use the same sum.
 */

/** A simulation's answer, one page of the look-back (functions/http/responses/manifest.ts documents it for the API). */
export interface SimulationPage<C> {
  since: string;
  until: string;
  promotions: number;
  /** the look-back holds older promotions than this answer replayed: `next` continues with them */
  truncated: boolean;
  /** where another request continues (`cursor`), or null when the look-back is replayed to its end */
  next: string | null;
  /** promotions this request would replay at most */
  limit: number;
  /**
   * How far back the replay reached: the request time of the oldest promotion replayed (null: none in the
   * look-back), and whether the stored history covers the whole look-back (false: nothing older is stored,
   * so the replay could not go further back than `reachedBack`).
   */
  reachedBack: string | null;
  coversLookBack: boolean;
  /** more changed promotions than are listed in `changes` (the newest SIMULATE_MAX_LISTED are; the summary counts all) */
  changesTruncated: boolean;
  /** rollbacks are decided by their impact analysis, not by the setup: not replayed */
  rollbacksSkipped: number;
  summary: Record<(typeof SUMMED)[number], number>;
  /** the promotions whose decision would change, newest first */
  changes: C[];
}

const SUMMED = ['changed', 'allowedToBlocked', 'blockedToAllowed', 'approvalsChanged', 'newlyHeldByWindow', 'digestsReproduced'] as const;

/** Changed promotions listed at most, over all pages (as one answer lists them). */
export const LISTED_AT_MOST = 1000;

/** `a` (the newer pages) followed by `b` (the next page, older): counts added, changes listed newest first. */
export function addPage<C, P extends SimulationPage<C>>(a: P, b: P): P {
  const changes = [...a.changes, ...b.changes];
  const summary: SimulationPage<C>['summary'] = { ...a.summary };
  for (const k of SUMMED) summary[k] += b.summary[k];
  return {
    ...b,
    since: a.since,
    until: a.until,
    promotions: a.promotions + b.promotions,
    rollbacksSkipped: a.rollbacksSkipped + b.rollbacksSkipped,
    reachedBack: b.reachedBack ?? a.reachedBack,
    changesTruncated: a.changesTruncated || b.changesTruncated || changes.length > LISTED_AT_MOST,
    summary,
    changes: changes.slice(0, LISTED_AT_MOST),
  };
}
