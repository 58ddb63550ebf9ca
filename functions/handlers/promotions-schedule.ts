import { scheduleBody as body } from '#domain/promotion/schemas';
import { schedulePromotion } from '#domain/promotion/schedule';
import { promotionView } from '#domain/promotion/views';
import { promotionParams as params } from '../http/params.ts';
import { httpHandler } from '../http/handler.ts';

export const handler = httpHandler({ params, body }, async ({ deps, ctx, params, body }) =>
  promotionView(await schedulePromotion(deps, ctx, params.id, body.at)),
);
