import { planPromotions } from '#domain/promotion/request/safe-order';
import { promotionsPlanQuery as query } from '#domain/kernel/promotion-schemas';
import { httpHandler } from '../http/handler.ts';

export const handler = httpHandler({ query }, async ({ deps, ctx, query }) => planPromotions(deps, ctx, query));
