import { putRecurringPromotion, recurringPromotionBody } from '#domain/promotion/request/recurring';
import { httpHandler } from '../http/handler.ts';
import { recurringParams } from '../http/params.ts';
import { schedulerFromEnv } from '../adapters/scheduler.ts';
import { compose } from '../http/deps.ts';

/** This function's adapters: the store, and the scheduler (each recurring promotion is a recurring schedule). */
const wiring = compose({ scheduler: schedulerFromEnv });

/** Creates or replaces one recurring promotion and its schedule (paused: the schedule disabled). */
export const handler = httpHandler(
  { readOnly: ['createdAt', 'createdBy', 'updatedAt', 'updatedBy', 'lastRuns', 'next'], wiring, params: recurringParams, body: recurringPromotionBody },
  async ({ deps, ctx, params, body }) => putRecurringPromotion(deps, ctx, params.name, body),
);
