import { inGroups } from '../../access/auth.ts';
import { inScimGroups } from '../../access/scim.ts';
import { NotAnApprover } from '../../kernel/errors.ts';
import type { Ctx, Deps, With } from '../../kernel/deps.ts';
import { actorOf, guard, moved } from '../aggregate.ts';
import { assertRelease } from './approve.ts';
import type { Promotion } from '../../kernel/promotion-model.ts';
import { promotionEvent, writePromotion } from '../write.ts';
import { scheduleName } from '../run/schedule-name.ts';

/**
 * Rejects a promotion waiting for approval, with a reason (idempotent for the same approver). The
 * caller is an approver (the route's role; Slack and review links check it at their entry); the
 * promotion's approver groups are checked here. A change request opened for it (with the gates) is cancelled in the tool,
 * as a cancel's is: through a one-time schedule, fired where the credential opens (step/fire.ts → change-hold.ts closeChange).
 */
export async function rejectPromotion(deps: With<'workflow' | 'scheduler'>, ctx: Ctx, id: string, reason: string, release?: string): Promise<Promotion> {
  const me = actorOf(ctx.principal);
  const { before, after } = await writePromotion(deps, ctx.principal.tenant, id, async (p) => {
    if (p.status === 'REJECTED' && p.rejection?.by === me.name) return null;
    guard('reject', p);
    if (release !== undefined) assertRelease(p, release);
    if (!inGroups(ctx.principal, p.policy.approverGroups) && !(await inScimGroups(deps, ctx.principal, p.policy.approverGroups))) {
      throw new NotAnApprover(`Only ${p.policy.approverGroups.join(', ')} can reject this promotion`);
    }
    const next = moved(p, 'REJECTED', me, deps.clock(), { rejection: { by: me.name, reason, at: deps.clock().toISOString() }, taskToken: null });
    return {
      next,
      action: 'promotion.reject',
      by: me,
      ops: [promotionEvent(deps, 'Promotion Rejected', next, { actor: me.name, reason })],
      reason,
      requestId: ctx.requestId,
      via: ctx.via,
    };
  });
  if (!after) return before;
  if (before.taskToken) await deps.workflow.sendTaskFailure(before.taskToken, 'Rejected', reason);
  if (after.changeRequest?.ref && !after.changeRequest.closed)
    await deps.scheduler.scheduleOnce(scheduleName(after), deps.clock(), { tenant: after.tenant, promotionId: after.id });
  return after;
}
