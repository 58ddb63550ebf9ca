import { Frozen } from '../../kernel/errors.ts';
import type { With } from '../../kernel/deps.ts';
import type { Environment } from '../../kernel/model.ts';
import { freezeOverridden } from '../../freeze/break-glass.ts';
import { heldByHours, type HoursHold, type Promotion } from '../../kernel/promotion-model.ts';
import { scheduleName } from './schedule-name.ts';
import { writeHold } from './hold.ts';
import { waitsToExecute } from '../aggregate.ts';

/**
 * The allowed-hours hold, with the freeze and soak holds whenever a promotion is about to execute (step/steps.ts
 * executeStep, rollout/plan.ts rolloutStartStep): outside every window of the target's allowed hours
 * (domain/freeze/hours.ts) the promotion is held SCHEDULED to the next opening (`heldBy.hours`), a one-time
 * schedule resumes it then, and `Frozen` is thrown, which the flow catches into its go task. When the schedule
 * fires the flow comes back here and the hours are read again (changed meanwhile: the new ones decide). Only
 * what lets a promotion past a freeze window lets it past its hours: an admin's break-glass recorded on it
 * (freezeOverride). A promotion already executing is never held. `target`: the environment when the caller
 * has read it already. Answers the promotion as read when it may go on.
 */
export async function hoursHold(deps: With<'scheduler'>, p: Promotion, target?: Environment | null): Promise<Promotion> {
  if (!waitsToExecute(p) || freezeOverridden(p)) return p;
  const env = target !== undefined ? target : await deps.store.getEnvironment(p.tenant, p.targetEnvironment);
  const hours = env?.allowedHours;
  if (!hours) return p;
  // Loaded only here, for an environment with allowed hours: cron-parser (and luxon) are never read at init.
  const { describeHours, nextOpening } = await import('../../freeze/hours.ts');
  const now = deps.clock();
  const opening = nextOpening(hours, now);
  if (opening.open) return p;
  const until = opening.until.toISOString();
  const summary = describeHours(hours);
  const heldBy: HoursHold = {
    hours: { environment: p.targetEnvironment, summary },
    reason: `outside ${p.targetEnvironment}'s allowed hours (${summary}): goes at ${until}`,
    until,
  };
  // A re-check that finds the same opening (a schedule that fired early) is not news: no audit entry.
  await writeHold(deps, p, now, heldBy, {
    action: 'promotion.outside-hours',
    reason: heldBy.reason,
    sameHold: (cur) => heldByHours(cur.heldBy) && cur.heldBy.until === until,
  });
  await deps.scheduler.scheduleOnce(scheduleName(p), opening.until, { tenant: p.tenant, promotionId: p.id });
  throw new Frozen(`${heldBy.reason}: held until ${until}`);
}
