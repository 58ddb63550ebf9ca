import { checkAutoPromotion } from '#domain/promotion/request/auto';
import { autoCheckBody as body } from '#domain/kernel/promotion-schemas';
import { httpHandler } from '../http/handler.ts';
import { workflowOnFirstUse } from '../adapters/workflow-on-first-use.ts';
import { schedulerOnFirstUse } from '../adapters/scheduler-on-first-use.ts';
import { compose } from '../http/deps.ts';

/** This function's adapters: the store, and workflow and scheduler (an auto-promotion starts a promotion and schedules its checks). */
const wiring = compose({ workflow: workflowOnFirstUse, scheduler: () => schedulerOnFirstUse() });

export const handler = httpHandler({ wiring, body }, async ({ deps, ctx, body }) => ({ checks: await checkAutoPromotion(deps, ctx, body) }));
