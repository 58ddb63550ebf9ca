import { executeBody as body } from '#domain/promotion/schemas';
import { executePromotion } from '#domain/promotion/execute';
import { promotionView } from '#domain/promotion/views';
import { promotionParams as params } from '../http/params.ts';
import { httpHandler } from '../http/handler.ts';

export const handler = httpHandler({ params, body, bodyOptional: true, status: 202 }, async ({ deps, ctx, params, body }) => {
  const r = await executePromotion(deps, ctx, params.id, body.dryRun);
  return 'promotion' in r && r.promotion ? { accepted: true, promotion: promotionView(r.promotion) } : r;
});
