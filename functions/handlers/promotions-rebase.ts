import { rebasePromotion } from '#domain/promotion/request/rebase';
import { promotionView } from '#domain/promotion/views';
import { promotionParams as params } from '../http/params.ts';
import { httpHandler } from '../http/handler.ts';
import { gatesOnFirstUse } from '../adapters/gates-on-first-use.ts';
import { workflowOnFirstUse } from '../adapters/workflow-on-first-use.ts';
import { anchorOnFirstUse } from '../adapters/anchor-on-first-use.ts';
import { compose } from '../http/deps.ts';

/**
 * This function's adapters: the store, workflow (a rebase fails the waiting flow), the webhook gates (the
 * rebased release is validated again) and the audit key's public half (required attestations are verified).
 */
const wiring = compose({ workflow: workflowOnFirstUse, gates: gatesOnFirstUse, anchor: anchorOnFirstUse });

export const handler = httpHandler({ wiring, params }, async ({ deps, ctx, params }) => promotionView(await rebasePromotion(deps, ctx, params.id)));
