import { validatePromotion } from '#domain/promotion/validate';
import { promotionView } from '#domain/promotion/views';
import { promotionParams as params } from '../http/params.ts';
import { httpHandler } from '../http/handler.ts';

export const handler = httpHandler({ params, status: 202 }, async ({ deps, ctx, params }) => promotionView(await validatePromotion(deps, ctx, params.id)));
