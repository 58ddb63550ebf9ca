import { scheduleName } from './schedule-name.ts';
import { freezeOverridden, requestedBreakGlass } from '../../freeze/break-glass.ts';
import { RuleViolation, TransitionNotAllowed, ValidationFailed } from '../../kernel/errors.ts';
import { activeWindowOf, nextAllowedOf } from '../../freeze/windows.ts';
import type { Ctx, With } from '../../kernel/deps.ts';
import { actorOf, guard, moved } from '../aggregate.ts';
import { stampFreezeOverride } from './freeze-override.ts';
import type { Promotion } from '../../kernel/promotion-model.ts';
import { GO_WAIT_SECONDS } from '../terms/policy.ts';
import { loadPromotion, writePromotion } from '../write.ts';

/** A promotion's go schedule: one per promotion, unique and within the scheduler's limits (domain/kernel/aws-names.ts). */

/** Deletes a promotion's go schedule. */
export async function cancelSchedule(deps: With<'scheduler'>, p: Pick<Promotion, 'tenant' | 'id'>): Promise<void> {
  await deps.scheduler.cancel(scheduleName(p));
}

/** An approved manual promotion runs at `at` (its go schedule resumes the flow then). */
export async function schedulePromotion(deps: With<'scheduler'>, ctx: Ctx, id: string, at: string): Promise<Promotion> {
  const glass = requestedBreakGlass(ctx, 'freeze-window', 'promotion.schedule', deps.clock());
  const me = actorOf(ctx.principal);
  const when = new Date(at);
  if (when.getTime() <= deps.clock().getTime()) throw new ValidationFailed([{ path: 'body.at', message: 'must be in the future' }]);
  let read: Promotion | undefined;
  if (glass) {
    const p = await loadPromotion(deps, ctx.principal.tenant, id);
    guard('schedule', p);
    read = await stampFreezeOverride(deps, ctx, id, glass, p);
  }
  const { after } = await writePromotion(
    deps,
    ctx.principal.tenant,
    id,
    async (p) => {
      guard('schedule', p);
      if (p.trigger === 'on_approval') {
        throw new TransitionNotAllowed(`Promotion ${id} runs as soon as it is approved; create it with "trigger": "manual" to schedule it`, {
          status: p.status,
        });
      }
      // The approved flow waits for its go at most GO_WAIT_SECONDS after approval: a later time would never fire.
      const approvedAt = [...p.transitions].reverse().find((x) => x.status === 'APPROVED')?.at ?? p.updatedAt;
      const latest = new Date(new Date(approvedAt).getTime() + GO_WAIT_SECONDS * 1000 - 3600 * 1000);
      if (when > latest) {
        throw new RuleViolation(
          `An approved promotion can be scheduled at most 7 days after its approval: no later than ${latest.toISOString()}; request a new promotion for a later date`,
          { latest: latest.toISOString() },
        );
      }
      if (!freezeOverridden(p)) {
        const windows = await deps.store.listFreezeWindows(p.tenant);
        const frozen = await activeWindowOf(windows, p.targetEnvironment, when);
        if (frozen) {
          const allowed = await nextAllowedOf(windows, p.targetEnvironment, when);
          throw new RuleViolation(
            `${when.toISOString()} falls in freeze window ${frozen.window.id} (${frozen.window.reason}) over '${p.targetEnvironment}'; the next allowed time is ${allowed.toISOString()}`,
            { window: frozen.window.id, nextAllowed: allowed.toISOString() },
          );
        }
      }
      return {
        next: moved(p, 'SCHEDULED', me, deps.clock(), { scheduledAt: when.toISOString(), trigger: 'scheduled' }),
        action: 'promotion.schedule',
        by: me,
        reason: `at ${when.toISOString()}`,
        requestId: ctx.requestId,
      };
    },
    { read },
  );
  const next = after!;
  await deps.scheduler.scheduleOnce(scheduleName(next), when, { tenant: next.tenant, promotionId: next.id });
  return next;
}
