import { rejectBody as body } from '#domain/promotion/schemas';
import { rejectPromotion } from '#domain/promotion/reject';
import { promotionView } from '#domain/promotion/views';
import { promotionParams as params } from '../http/params.ts';
import { httpHandler } from '../http/handler.ts';

export const handler = httpHandler({ params, body }, async ({ deps, ctx, params, body }) =>
  promotionView(await rejectPromotion(deps, ctx, params.id, body.reason)),
);
