/**
 * Freeze windows: times in which nothing is promoted into an environment (or into any, for a
 * tenant-wide window). One-off windows have a start and an end; recurring ones a start cron and an
 * end cron in an IANA time zone ("every Friday 16:00 – Monday 08:00 Europe/Berlin" is
 * `0 16 * * 5` → `0 8 * * 1`), evaluated by cron-parser in that zone, so a window keeps its wall-
 * clock times across daylight-saving changes. A recurring window is open from a start occurrence
 * until the first end occurrence after it.
 *
 * The flow checks the target's windows when it is about to execute (domain/promotion/step/steps.ts):
 * a promotion that asked to wait (`whenFrozen: "wait"`) is held (SCHEDULED to the window's end, by
 * the scheduler); one that did not is cancelled naming the window. An admin may break glass with a
 * reason (domain/freeze/break-glass.ts, the same mechanism as protected environments).
 */
export interface FreezeWindow {
  id: string;
  tenant: string;
  /** '*' = every environment of the tenant */
  scope: string;
  reason: string;
  kind: 'once' | 'recurring';
  start?: string;
  end?: string;
  cron?: string;
  endCron?: string;
  timezone?: string;
  createdBy: string;
  createdAt: string;
}

/** A window's occurrence: when it opened (or opens) and closes. */
export interface Occurrence {
  window: FreezeWindow;
  start: Date;
  end: Date;
}
