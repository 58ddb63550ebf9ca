import { rebasePromotion } from '#domain/promotion/request/rebase';
import { promotionView } from '#domain/promotion/views';
import { promotionParams as params } from '../http/params.ts';
import { httpHandler } from '../http/handler.ts';
import { gatesOnFirstUse } from '../adapters/gates-on-first-use.ts';
import { workflowOnFirstUse } from '../adapters/workflow-on-first-use.ts';
import { compose } from '../http/deps.ts';

/**
 * This function's adapters: the store, workflow (a rebase fails the waiting flow) and the webhook gates (the rebased
 * release is validated again; attestations a target requires are left to the flow's validation, which holds the audit key).
 */
const wiring = compose({ workflow: workflowOnFirstUse, gates: gatesOnFirstUse });

export const handler = httpHandler({ wiring, params }, async ({ deps, ctx, params }) => promotionView(await rebasePromotion(deps, ctx, params.id)));
