import { canonicalJson } from '../kernel/canonical.ts';
import type { WriteOp, With } from '../kernel/deps.ts';
import type { RecurringPromotion } from '../kernel/promotion-model.ts';
import { retireSchedule, armSchedule } from '../promotion/request/recurring.ts';
import { recurringDoc, type Current, type Setup } from './sections.ts';

/**
 * The manifest's recurring promotions (`recurring_promotions`): by name, each changed in place (its runs and
 * creation kept, its version moved on), added or removed in the apply's one transaction; their schedules are
 * made, changed or retired after it committed, as the API does (domain/promotion/request/recurring.ts).
 */
export interface RecurringChanges {
  ops: WriteOp[];
  /** the calendars written: their schedules are put */
  put: RecurringPromotion[];
  /** the names removed: their schedules are retired */
  removed: string[];
}

export function recurringOps(cur: Current, want: Setup, by: string, at: string): RecurringChanges {
  const have = new Map(cur.recurring.map((r) => [r.name, r]));
  const out: RecurringChanges = { ops: [], put: [], removed: [] };
  for (const d of want.recurring_promotions) {
    const r = have.get(d.name);
    if (r && canonicalJson(recurringDoc(r)) === canonicalJson(d)) continue;
    const next: RecurringPromotion = {
      name: d.name,
      source: d.source,
      target: d.target,
      ...(d.artifact ? { artifact: d.artifact } : {}),
      cron: d.cron,
      timeZone: d.timezone,
      paused: d.paused ?? false,
      ...(d.notes ? { notes: d.notes } : {}),
      lastRuns: r?.lastRuns ?? [],
      version: (r?.version ?? 0) + 1,
      rev: (r?.rev ?? 0) + 1,
      createdAt: r?.createdAt ?? at,
      createdBy: r?.createdBy ?? by,
      updatedAt: at,
      updatedBy: by,
    };
    out.ops.push({ kind: 'recurringPromotion', recurring: next, expectedRev: r?.rev ?? null });
    out.put.push(next);
  }
  const wanted = new Set(want.recurring_promotions.map((d) => d.name));
  for (const r of cur.recurring) {
    if (wanted.has(r.name)) continue;
    out.ops.push({ kind: 'deleteRecurringPromotion', name: r.name, expectedRev: r.rev });
    out.removed.push(r.name);
  }
  return out;
}

/** After the commit: each written calendar's schedule put (disabled while paused), each removed one's retired. */
export async function scheduleRecurring(deps: With<'scheduler'>, tenant: string, changes: RecurringChanges, now: Date): Promise<void> {
  for (const r of changes.put) await armSchedule(deps, r, tenant);
  for (const name of changes.removed) await retireSchedule(deps, tenant, name, now);
}
