import { executeBody as body } from '#domain/kernel/promotion-schemas';
import { executePromotion } from '#domain/promotion/decide/execute';
import { promotionView } from '#domain/promotion/views';
import { promotionParams as params } from '../http/params.ts';
import { httpHandler } from '../http/handler.ts';
import { sfnWorkflowFromEnv } from '../adapters/sfn-workflow.ts';
import { schedulerOnFirstUse } from '../adapters/scheduler-on-first-use.ts';
import { compose } from '../http/deps.ts';

/** This function's adapters: the store, and workflow and scheduler (executing resumes the flow, and drops the go schedule of a SCHEDULED promotion: the Scheduler client is loaded then). */
const wiring = compose({ workflow: sfnWorkflowFromEnv, scheduler: () => schedulerOnFirstUse() });

export const handler = httpHandler({ wiring, params, body, bodyOptional: true, status: 202 }, async ({ deps, ctx, params, body }) => {
  const r = await executePromotion(deps, ctx, params.id, body.dryRun);
  return 'promotion' in r && r.promotion ? { accepted: true, promotion: promotionView(r.promotion) } : r;
});
