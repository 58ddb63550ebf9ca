import { rejectBody as body } from '#domain/promotion/schemas';
import { promotionView, rejectPromotion } from '#domain/promotion/service';
import { promotionParams as params } from '../http/params.ts';
import { httpHandler } from '../http/handler.ts';

export const handler = httpHandler({ params, body }, async ({ deps, ctx, params, body }) =>
  promotionView(await rejectPromotion(deps, ctx, params.id, body.reason)),
);
