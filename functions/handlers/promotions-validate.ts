import { validatePromotion } from '#domain/promotion/request/validate';
import { promotionView } from '#domain/promotion/views';
import { promotionParams as params } from '../http/params.ts';
import { httpHandler } from '../http/handler.ts';
import { workflowOnFirstUse } from '../adapters/workflow-on-first-use.ts';
import { schedulerOnFirstUse } from '../adapters/scheduler-on-first-use.ts';
import { compose } from '../http/deps.ts';

/** This function's adapters: the store, and workflow and scheduler (validation starts the flow and schedules its deadline). */
const wiring = compose({ workflow: workflowOnFirstUse, scheduler: () => schedulerOnFirstUse() });

export const handler = httpHandler({ wiring, params, status: 202 }, async ({ deps, ctx, params }) =>
  promotionView(await validatePromotion(deps, ctx, params.id)),
);
