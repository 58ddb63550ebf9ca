import { cancelQuery as query } from '#domain/kernel/promotion-schemas';
import { cancelPromotion } from '#domain/promotion/decide/cancel';
import { promotionView } from '#domain/promotion/views';
import { promotionParams as params } from '../http/params.ts';
import { httpHandler } from '../http/handler.ts';
import { sfnWorkflowFromEnv } from '../adapters/sfn-workflow.ts';
import { schedulerOnFirstUse } from '../adapters/scheduler-on-first-use.ts';
import { compose } from '../http/deps.ts';

/** This function's adapters: the store, and workflow and scheduler (cancelling stops the flow, and the go schedule of a SCHEDULED promotion: the Scheduler client is loaded then). */
const wiring = compose({ workflow: sfnWorkflowFromEnv, scheduler: () => schedulerOnFirstUse() });

export const handler = httpHandler({ wiring, params, query }, async ({ deps, ctx, params, query }) =>
  promotionView(await cancelPromotion(deps, ctx, params.id, query.reason)),
);
