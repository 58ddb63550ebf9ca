import { rejectBody as body } from '#domain/kernel/promotion-schemas';
import { rejectPromotion } from '#domain/promotion/decide/reject';
import { promotionView } from '#domain/promotion/views';
import { promotionParams as params } from '../http/params.ts';
import { httpHandler } from '../http/handler.ts';
import { sfnWorkflowFromEnv } from '../adapters/sfn-workflow.ts';
import { compose } from '../http/deps.ts';

/** This function's adapters: the store, and workflow (a rejection fails the waiting flow). */
const wiring = compose({ workflow: sfnWorkflowFromEnv });

export const handler = httpHandler({ wiring, params, body }, async ({ deps, ctx, params, body }) =>
  promotionView(await rejectPromotion(deps, ctx, params.id, body.reason)),
);
