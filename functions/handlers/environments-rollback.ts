import { rollbackEnvironment } from '#domain/promotion/env-rollback';
import { envRollbackBody as body } from '#domain/promotion/schemas';
import { promotionView } from '#domain/promotion/views';
import { envParams as params } from '../http/params.ts';
import { httpHandler } from '../http/handler.ts';

export const handler = httpHandler({ params, body }, async ({ deps, ctx, params, body }) => {
  const r = await rollbackEnvironment(deps, ctx, params.env, body);
  return r.dryRun ? r : { dryRun: false, impact: r.impact, promotion: promotionView(r.promotion) };
});
