import { Frozen } from '../../kernel/errors.ts';
import type { With } from '../../kernel/deps.ts';
import { freezeOverridden } from '../../freeze/break-glass.ts';
import { heldBySoak, type Promotion } from '../../kernel/promotion-model.ts';
import { scheduleName } from './schedule-name.ts';
import { writeHold } from './hold.ts';
import { soakAsked, soakHoldOf, soakState } from './soak.ts';
import { waitsToExecute } from '../aggregate.ts';

/**
 * The soak hold, right after the freeze hold whenever a promotion is about to execute (step/steps.ts executeStep,
 * rollout/plan.ts rolloutStartStep), so a manual go, a schedule, an auto-promotion and a re-check all pass it: a
 * release that has not run long enough in the source environment (soak.ts) is never failed for it. It is held
 * as a freeze window holds one that asked to wait: SCHEDULED to the time its soak is done (`heldBy.soak`), a
 * one-time schedule resumes it, and `Frozen` is thrown, which the flow catches into its go task. When the
 * schedule fires, the flow comes back here and the soak is looked at again: an alarm in the source since then
 * holds it again, later. Only what lets a promotion past a freeze window lets it past a soak: an admin's
 * break-glass recorded on it (freezeOverride). Answers the promotion as read when it may go on.
 */
export async function soakHold(deps: With<'scheduler'>, p: Promotion): Promise<Promotion> {
  if (!waitsToExecute(p) || freezeOverridden(p) || !soakAsked(p)) return p;
  const now = deps.clock();
  const state = await soakState(deps, p, now);
  if (!state || state.until.getTime() <= now.getTime()) return p;
  const heldBy = soakHoldOf(state);
  // A re-check that finds the same soak (a schedule that fired early) is not news: no audit entry.
  await writeHold(deps, p, now, heldBy, {
    action: 'promotion.soaking',
    reason: `${heldBy.reason}; it goes on then`,
    sameHold: (cur) => heldBySoak(cur.heldBy) && cur.heldBy.until === heldBy.until,
  });
  // Moved on meanwhile (cancelled): the go task it parks in answers that.
  await deps.scheduler.scheduleOnce(scheduleName(p), new Date(heldBy.until), { tenant: p.tenant, promotionId: p.id });
  throw new Frozen(`${heldBy.reason}: held until ${heldBy.until}`);
}
