import { resumeRollout } from '#domain/promotion/waves';
import { promotionDetail } from '#domain/promotion/views';
import { optionalReason as body, promotionParams as params } from '../http/params.ts';
import { httpHandler } from '../http/handler.ts';
import { sfnWorkflowFromEnv } from '../adapters/sfn-workflow.ts';
import { compose } from '../http/deps.ts';

/** This function's adapters: the store, and the workflow (resuming answers the waiting wave's task token). */
const wiring = compose({ workflow: sfnWorkflowFromEnv });

export const handler = httpHandler({ wiring, params, body, bodyOptional: true }, async ({ deps, ctx, params, body }) =>
  promotionDetail(deps, await resumeRollout(deps, ctx, params.id, body.reason)),
);
