import { TransitionNotAllowed } from '../../kernel/errors.ts';
import type { Ctx, Deps, With } from '../../kernel/deps.ts';
import { actorOf, guard, moved, patched } from '../aggregate.ts';
import { validationDeadline } from '../terms/deadlines.ts';
import { expiry } from '../decide/expire.ts';
import { currentPolicy, flowSweepAt, startFlow } from '../run/flow.ts';
import { armSweep } from '../terms/stuck.ts';
import type { Promotion } from '../../kernel/promotion-model.ts';
import { writePromotion } from '../write.ts';

/**
 * Starts the gates: the first time from PENDING, or again from VALIDATION_FAILED once new
 * evidence arrived (a new run of the flow). A promotion left waiting past its deadline expires
 * instead (409 says so).
 */
export async function validatePromotion(deps: With<'scheduler' | 'workflow'>, ctx: Ctx, id: string): Promise<Promotion> {
  const me = actorOf(ctx.principal);
  // The flow's deadline schedule before the write that says it started (request.ts): cut off before the start,
  // the schedule starts it.
  await armSweep(deps, { tenant: ctx.principal.tenant, id }, flowSweepAt(deps));
  const { after } = await writePromotion(deps, ctx.principal.tenant, id, async (p) => {
    guard('validate', p);
    const now = deps.clock();
    if (now > validationDeadline(p, deps.tunables)) return expiry(deps, p);
    // The flow starts now: from here the sweeper gives it its grace, not the validation window.
    if (p.status === 'PENDING')
      return { next: patched(p, now, { flowStartedAt: now.toISOString() }), action: 'promotion.validate', by: me, requestId: ctx.requestId };
    const next = moved(p, 'VALIDATING', me, now, { ...(await currentPolicy(deps, p)), attempt: (p.attempt ?? 0) + 1, error: null, gates: null });
    return { next, action: 'promotion.revalidate', by: me, requestId: ctx.requestId };
  });
  const p = after!;
  if (p.status === 'EXPIRED')
    throw new TransitionNotAllowed(`Promotion ${id} expired: ${p.error!.message}; request it again`, { status: p.status, allowedActions: [] });
  await startFlow(deps, p, true);
  return p;
}
