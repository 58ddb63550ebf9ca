import { getPromotion, promotionDetail } from '#domain/promotion/views';
import { promotionParams as params } from '../http/params.ts';
import { httpHandler } from '../http/handler.ts';

export const handler = httpHandler({ params }, async ({ deps, ctx, params }) => promotionDetail(deps, await getPromotion(deps, ctx, params.id)));
