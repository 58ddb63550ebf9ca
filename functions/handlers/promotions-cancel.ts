import { cancelQuery as query } from '#domain/promotion/schemas';
import { cancelPromotion, promotionView } from '#domain/promotion/service';
import { promotionParams as params } from '../http/params.ts';
import { httpHandler } from '../http/handler.ts';

export const handler = httpHandler({ params, query }, async ({ deps, ctx, params, query }) =>
  promotionView(await cancelPromotion(deps, ctx, params.id, query.reason)),
);
