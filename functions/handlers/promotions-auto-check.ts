import { checkAutoPromotion } from '#domain/promotion/auto';
import { autoCheckBody as body } from '#domain/promotion/schemas';
import { httpHandler } from '../http/handler.ts';

export const handler = httpHandler({ body }, async ({ deps, ctx, body }) => ({ checks: await checkAutoPromotion(deps, ctx, body) }));
