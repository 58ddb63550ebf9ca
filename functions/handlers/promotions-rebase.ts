import { rebasePromotion } from '#domain/promotion/rebase';
import { promotionView } from '#domain/promotion/views';
import { promotionParams as params } from '../http/params.ts';
import { httpHandler } from '../http/handler.ts';
import { sfnWorkflowFromEnv } from '../adapters/sfn-workflow.ts';
import { compose } from '../http/deps.ts';

/** This function's adapters: the store, and workflow (a rebase fails the waiting flow). */
const wiring = compose({ workflow: sfnWorkflowFromEnv });

export const handler = httpHandler({ wiring, params }, async ({ deps, ctx, params }) => promotionView(await rebasePromotion(deps, ctx, params.id)));
