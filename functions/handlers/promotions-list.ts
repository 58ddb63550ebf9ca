import { listPromotions, promotionView } from '#domain/promotion/views';
import { listPromotionsQuery as query } from '#domain/kernel/promotion-schemas';
import { httpHandler } from '../http/handler.ts';

export const handler = httpHandler({ query }, async ({ deps, ctx, query, route }) => {
  const page = await listPromotions(deps, ctx, query, route.context?.subject === 'config');
  return { items: page.items.map(promotionView), nextCursor: page.nextCursor };
});
