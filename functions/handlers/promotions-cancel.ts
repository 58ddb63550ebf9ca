import { cancelQuery as query } from '#domain/promotion/schemas';
import { cancelPromotion } from '#domain/promotion/cancel';
import { promotionView } from '#domain/promotion/views';
import { promotionParams as params } from '../http/params.ts';
import { httpHandler } from '../http/handler.ts';

export const handler = httpHandler({ params, query }, async ({ deps, ctx, params, query }) =>
  promotionView(await cancelPromotion(deps, ctx, params.id, query.reason)),
);
