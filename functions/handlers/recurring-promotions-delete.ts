import { deleteRecurringPromotion } from '#domain/promotion/request/recurring';
import { httpHandler, WithHeaders } from '../http/handler.ts';
import { recurringParams } from '../http/params.ts';
import { schedulerFromEnv } from '../adapters/scheduler.ts';
import { compose } from '../http/deps.ts';

/** This function's adapters: the store, and the scheduler (the recurring promotion's schedule is deleted with it). */
const wiring = compose({ scheduler: schedulerFromEnv });

/** Removes one recurring promotion and its schedule. */
export const handler = httpHandler({ wiring, params: recurringParams, status: 204 }, async ({ deps, ctx, params }) => {
  await deleteRecurringPromotion(deps, ctx, params.name);
  return new WithHeaders(null, {}, 204);
});
