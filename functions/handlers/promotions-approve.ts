import { approveBody as body } from '#domain/kernel/promotion-schemas';
import { approvePromotion } from '#domain/promotion/decide/approve';
import { promotionDetail } from '#domain/promotion/views';
import { promotionParams as params } from '../http/params.ts';
import { httpHandler } from '../http/handler.ts';
import { workflowOnFirstUse } from '../adapters/workflow-on-first-use.ts';
import { compose } from '../http/deps.ts';

/** This function's adapters: the store, and workflow (the last approval resumes the flow). */
const wiring = compose({ workflow: workflowOnFirstUse });

export const handler = httpHandler({ wiring, params, body, bodyOptional: true }, async ({ deps, ctx, params, body }) =>
  promotionDetail(deps, await approvePromotion(deps, ctx, params.id, body.comment)),
);
