import { rollbackPromotion } from '#domain/promotion/rollback/promotion';
import { rollbackBody as body } from '#domain/kernel/promotion-schemas';
import { promotionView } from '#domain/promotion/views';
import { promotionParams as params } from '../http/params.ts';
import { httpHandler } from '../http/handler.ts';
import { sfnWorkflowFromEnv } from '../adapters/sfn-workflow.ts';
import { schedulerOnFirstUse } from '../adapters/scheduler-on-first-use.ts';
import { compose } from '../http/deps.ts';

/** This function's adapters: the store, and workflow and scheduler (a rollback starts a promotion). */
const wiring = compose({ workflow: sfnWorkflowFromEnv, scheduler: () => schedulerOnFirstUse() });

export const handler = httpHandler({ wiring, params, body }, async ({ deps, ctx, params, body }) => {
  const r = await rollbackPromotion(deps, ctx, params.id, body);
  return r.dryRun ? r : { promotion: promotionView(r.promotion), reverts: r.reverts, ...('impact' in r ? { impact: r.impact } : {}) };
});
