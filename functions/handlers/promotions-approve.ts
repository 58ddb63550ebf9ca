import { approveBody as body } from '#domain/promotion/schemas';
import { approvePromotion } from '#domain/promotion/approve';
import { promotionDetail } from '#domain/promotion/views';
import { promotionParams as params } from '../http/params.ts';
import { httpHandler } from '../http/handler.ts';

export const handler = httpHandler({ params, body, bodyOptional: true }, async ({ deps, ctx, params, body }) =>
  promotionDetail(deps, await approvePromotion(deps, ctx, params.id, body.comment)),
);
