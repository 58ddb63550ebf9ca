import { PromotionNotFound } from '../../kernel/errors.ts';
import type { Deps } from '../../kernel/deps.ts';
import { ENGINE, moved } from '../aggregate.ts';
import { validationDeadline } from '../terms/deadlines.ts';
import type { Promotion } from '../../kernel/promotion-model.ts';
import { promotionEvent, writePromotion, type Move } from '../write.ts';

/** A promotion still waiting for `validate` (PENDING or VALIDATION_FAILED) past its deadline expires (schedule-fire). */
export async function expireWaiting(deps: Deps, tenant: string, id: string): Promise<{ expired: boolean; status: string }> {
  try {
    const { before, after } = await writePromotion(deps, tenant, id, (p) =>
      (p.status === 'PENDING' || p.status === 'VALIDATION_FAILED') && deps.clock() >= validationDeadline(p, deps.tunables) ? expiry(deps, p) : null,
    );
    return after ? { expired: true, status: after.status } : { expired: false, status: before.status };
  } catch (err) {
    if (err instanceof PromotionNotFound) return { expired: false, status: 'GONE' };
    throw err;
  }
}

/** The move of a promotion not validated before its deadline: EXPIRED, by the engine. */
export function expiry(deps: Deps, p: Promotion): Move {
  const next = moved(p, 'EXPIRED', ENGINE, deps.clock(), {
    taskToken: null,
    error: { code: 'EXPIRED', message: `not validated before ${validationDeadline(p, deps.tunables).toISOString()}` },
  });
  return {
    next,
    action: 'promotion.expire',
    by: ENGINE,
    ops: [promotionEvent(deps, 'Promotion Expired', next, { reason: next.error!.message })],
    reason: next.error!.message,
  };
}
