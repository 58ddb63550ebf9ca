import { rollbackEnvironment } from '#domain/promotion/rollback/environment';
import { envRollbackBody as body } from '#domain/kernel/promotion-schemas';
import { promotionView } from '#domain/promotion/views';
import { envParams as params } from '../http/params.ts';
import { httpHandler } from '../http/handler.ts';
import { sfnWorkflowFromEnv } from '../adapters/sfn-workflow.ts';
import { schedulerOnFirstUse } from '../adapters/scheduler-on-first-use.ts';
import { compose } from '../http/deps.ts';

/** This function's adapters: the store, and workflow and scheduler (its rollback starts a promotion). */
const wiring = compose({ workflow: sfnWorkflowFromEnv, scheduler: () => schedulerOnFirstUse() });

export const handler = httpHandler({ wiring, params, body }, async ({ deps, ctx, params, body }) => {
  const r = await rollbackEnvironment(deps, ctx, params.env, body);
  return r.dryRun ? r : { dryRun: false, impact: r.impact, promotion: promotionView(r.promotion) };
});
