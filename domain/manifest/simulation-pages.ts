/**
 * A replay over a long history comes in pages (simulate.ts answers `next` when the look-back holds more than one
 * request replays): the CLI and the console follow `next` and add each page to what they show. Pure, so both
 * use the same sum.
 */

/** The part of a simulation answer the sum reads (functions/http/responses/manifest.ts documents all of it). */
export interface SimulationPage<C> {
  since: string;
  until: string;
  promotions: number;
  truncated: boolean;
  next: string | null;
  limit: number;
  reachedBack: string | null;
  coversLookBack: boolean;
  changesTruncated: boolean;
  rollbacksSkipped: number;
  summary: Record<'changed' | 'allowedToBlocked' | 'blockedToAllowed' | 'approvalsChanged' | 'newlyHeldByWindow' | 'digestsReproduced', number>;
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
