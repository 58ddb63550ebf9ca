import { cancelQuery as query } from '#domain/promotion/schemas';
import { cancelPromotion } from '#domain/promotion/cancel';
import { promotionView } from '#domain/promotion/views';
import { promotionParams as params } from '../http/params.ts';
import { httpHandler } from '../http/handler.ts';
import { sfnWorkflowFromEnv } from '../adapters/sfn-workflow.ts';
import { schedulerFromEnv } from '../adapters/scheduler.ts';
import { compose } from '../http/deps.ts';

/** This function's adapters: the store, and workflow and scheduler (cancelling stops the flow and its schedule). */
const wiring = compose({ workflow: sfnWorkflowFromEnv, scheduler: schedulerFromEnv });

export const handler = httpHandler({ wiring, params, query }, async ({ deps, ctx, params, query }) =>
  promotionView(await cancelPromotion(deps, ctx, params.id, query.reason)),
);
