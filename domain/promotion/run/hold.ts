import type { Deps } from '../../kernel/deps.ts';
import type { HeldBy, Promotion } from '../../kernel/promotion-model.ts';
import { ENGINE, moved, patched, waitsToExecute } from '../aggregate.ts';
import { promotionEvent, writePromotion } from '../write.ts';

/**
 * Holds a promotion that was about to execute: SCHEDULED to `heldBy.until` with the hold recorded on it
 * (from APPROVED it moves, already SCHEDULED it is patched), its go token dropped (the flow parks a new
 * one). The caller schedules the re-check and throws `Frozen`. A re-check that finds the same hold
 * (`sameHold`) is not news: the time and the hold's text move, with no audit entry. A promotion that
 * moved on meanwhile (cancelled, executing) is left alone.
 */
export async function writeHold(
  deps: Deps,
  p: Promotion,
  now: Date,
  heldBy: HeldBy & { until: string },
  audit: { action: string; reason: string; sameHold: (cur: Promotion) => boolean },
): Promise<void> {
  await writePromotion(
    deps,
    p.tenant,
    p.id,
    (cur) => {
      if (!waitsToExecute(cur)) return null;
      const patch = { scheduledAt: heldBy.until, taskToken: null, heldBy };
      if (cur.status === 'SCHEDULED' && audit.sameHold(cur)) return { next: patched(cur, now, patch), action: null, by: ENGINE };
      const next = cur.status === 'APPROVED' ? moved(cur, 'SCHEDULED', ENGINE, now, patch) : patched(cur, now, patch);
      return { next, action: audit.action, by: ENGINE, reason: audit.reason };
    },
    { read: p },
  );
}

/**
 * Ends a held promotion REJECTED by what held it (a CI run that failed, a change request rejected), with why: it was
 * waiting, so nothing changed. `by` names the rejecter, `code` the error; `more` adds what the holder records of it.
 * A promotion that moved on meanwhile is left alone. Answers the promotion as written, or null.
 */
export async function rejectHeld(
  deps: Deps,
  p: Promotion,
  why: string,
  rejecter: { by: string; code: string; more?: (cur: Promotion) => Partial<Promotion> },
): Promise<Promotion | null> {
  const now = deps.clock();
  const { after } = await writePromotion(
    deps,
    p.tenant,
    p.id,
    (cur) => {
      if (!waitsToExecute(cur)) return null;
      const next = moved(cur, 'REJECTED', ENGINE, now, {
        taskToken: null,
        heldBy: null,
        rejection: { by: rejecter.by, reason: why, at: now.toISOString() },
        error: { code: rejecter.code, message: why },
        ...rejecter.more?.(cur),
      });
      return { next, action: 'promotion.reject', by: ENGINE, reason: why, ops: [promotionEvent(deps, 'Promotion Rejected', next, { reason: why })] };
    },
    { read: p },
  );
  return after;
}
