import { rebasePromotion } from '#domain/promotion/request/rebase';
import { promotionView } from '#domain/promotion/views';
import { promotionParams as params } from '../http/params.ts';
import { httpHandler } from '../http/handler.ts';
import { gatesOnFirstUse } from '../adapters/gates-on-first-use.ts';
import { workflowOnFirstUse } from '../adapters/workflow-on-first-use.ts';
import { changesOnFirstUse } from '../adapters/change-on-first-use.ts';
import { schedulerOnFirstUse } from '../adapters/scheduler-on-first-use.ts';
import { compose } from '../http/deps.ts';

/**
 * This function's adapters: the store, workflow (a rebase fails the waiting flow), the webhook gates (the rebased
 * release is validated again; attestations a target requires are left to the flow's validation, which holds the audit
 * key), the change tools (a change-controlled promotion's request is voided and opened again for the new digest) and the
 * scheduler (the new request's next look is a one-time schedule).
 */
const wiring = compose({ workflow: workflowOnFirstUse, gates: gatesOnFirstUse, changes: changesOnFirstUse, scheduler: () => schedulerOnFirstUse() });

export const handler = httpHandler({ wiring, params }, async ({ deps, ctx, params }) => {
  const p = await rebasePromotion(deps, ctx, params.id);
  // Change control (domain/promotion/run/change-hold.ts): the request bound to the old digest is voided (noted, cancelled) and a new one opened.
  if (p.changeControlled && p.changeRequest) {
    await (await import('#domain/promotion/run/change-hold')).openChange(deps, ctx.principal.tenant, p.id);
    return promotionView(await deps.store.getPromotion(ctx.principal.tenant, p.id).then((x) => x ?? p));
  }
  return promotionView(p);
});
