import { rejectBody as body } from '#domain/kernel/promotion-schemas';
import { rejectPromotion } from '#domain/promotion/decide/reject';
import { promotionView } from '#domain/promotion/views';
import { promotionParams as params } from '../http/params.ts';
import { httpHandler } from '../http/handler.ts';
import { sfnWorkflowFromEnv } from '../adapters/sfn-workflow.ts';
import { schedulerOnFirstUse } from '../adapters/scheduler-on-first-use.ts';
import { compose } from '../http/deps.ts';

/** This function's adapters: the store, workflow (a rejection fails the waiting flow) and the scheduler, loaded on first use (a change request opened with the gates is cancelled where its credential opens). */
const wiring = compose({ workflow: sfnWorkflowFromEnv, scheduler: () => schedulerOnFirstUse() });

export const handler = httpHandler({ wiring, params, body }, async ({ deps, ctx, params, body }) =>
  promotionView(await rejectPromotion(deps, ctx, params.id, body.reason)),
);
