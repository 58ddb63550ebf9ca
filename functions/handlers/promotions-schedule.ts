import { scheduleBody as body } from '#domain/kernel/promotion-schemas';
import { schedulePromotion } from '#domain/promotion/run/schedule';
import { promotionView } from '#domain/promotion/views';
import { promotionParams as params } from '../http/params.ts';
import { httpHandler } from '../http/handler.ts';
import { schedulerFromEnv } from '../adapters/scheduler.ts';
import { compose } from '../http/deps.ts';

/** This function's adapters: the store, and scheduler (the execution is a one-time schedule). */
const wiring = compose({ scheduler: schedulerFromEnv });

export const handler = httpHandler({ wiring, params, body }, async ({ deps, ctx, params, body }) =>
  promotionView(await schedulePromotion(deps, ctx, params.id, body.at)),
);
