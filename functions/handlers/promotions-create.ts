import { createPromotion, promotionView } from '#domain/promotion/service';
import { createConfigPromotion, createPromotion as anySubject } from '#domain/promotion/schemas';
import { httpHandler } from '../http/handler.ts';

/** Seed 000's /config/promotions takes only config promotions; /promotions takes either subject. */
export const handler = httpHandler({ body: anySubject, status: 201 }, async ({ deps, ctx, body, route }) => {
  const input = route.context?.subject === 'config' ? createConfigPromotion.parse(body) : body;
  const result = await createPromotion(deps, ctx, input);
  return 'dryRun' in result ? result : promotionView(result);
});
