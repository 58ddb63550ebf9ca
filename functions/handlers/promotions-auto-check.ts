import { checkAutoPromotion } from '#domain/promotion/request/auto';
import { autoCheckBody as body } from '#domain/kernel/promotion-schemas';
import { httpHandler } from '../http/handler.ts';
import { sfnWorkflowFromEnv } from '../adapters/sfn-workflow.ts';
import { schedulerFromEnv } from '../adapters/scheduler.ts';
import { compose } from '../http/deps.ts';

/** This function's adapters: the store, and workflow and scheduler (an auto-promotion starts a promotion and schedules its checks). */
const wiring = compose({ workflow: sfnWorkflowFromEnv, scheduler: schedulerFromEnv });

export const handler = httpHandler({ wiring, body }, async ({ deps, ctx, body }) => ({ checks: await checkAutoPromotion(deps, ctx, body) }));
