import type { Ctx, Deps, With } from '../../kernel/deps.ts';
import { actorOf, guard, moved } from '../aggregate.ts';
import type { Promotion } from '../../kernel/promotion-model.ts';
import { cancelSchedule } from '../run/schedule.ts';
import { scheduleName } from '../run/schedule-name.ts';
import { wakeAfterCancel } from '../run/queue.ts';
import { promotionEvent, writePromotion } from '../write.ts';

/** Cancels a promotion before it executes (idempotent): its go schedule is deleted and a waiting flow is told. */
export async function cancelPromotion(deps: With<'scheduler' | 'workflow'>, ctx: Ctx, id: string, reason?: string): Promise<Promotion> {
  const me = actorOf(ctx.principal);
  const { before, after } = await writePromotion(deps, ctx.principal.tenant, id, (p) => {
    if (p.status === 'CANCELLED') return null;
    guard('cancel', p);
    const next = moved(p, 'CANCELLED', me, deps.clock(), { taskToken: null, error: reason ? { code: 'CANCELLED', message: reason } : null });
    return {
      next,
      action: 'promotion.cancel',
      by: me,
      ops: [promotionEvent(deps, 'Promotion Cancelled', next, { actor: me.name, reason })],
      reason,
      requestId: ctx.requestId,
    };
  });
  if (!after) return before;
  if (before.status === 'SCHEDULED') await cancelSchedule(deps, before);
  if (before.taskToken) await deps.workflow.sendTaskFailure(before.taskToken, 'Cancelled', reason ?? 'cancelled');
  // Held behind another promotion, and perhaps the one woken when that one ended: the next one goes on.
  await wakeAfterCancel(deps, before);
  // Its change request is cancelled in the tool where the credential's key is (schedule-fire: domain/promotion/run/change-hold.ts closeChange).
  if (after.changeRequest?.ref && !after.changeRequest.closed)
    await deps.scheduler.scheduleOnce(scheduleName(after), deps.clock(), { tenant: after.tenant, promotionId: after.id });
  return after;
}
