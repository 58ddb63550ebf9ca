import * as z from '#domain/kernel/zod';
import { getRecurringPromotion, listRecurringPromotions } from '#domain/promotion/request/recurring';
import { httpHandler } from '../http/handler.ts';
import { recurringParams } from '../http/params.ts';

const params = /* @__PURE__ */ z.schema(() => z.object({ name: z.optional(recurringParams.shape.name) }));

/** The tenant's recurring promotions, or one of them. */
export const handler = httpHandler({ params }, async ({ deps, ctx, params }) =>
  params.name ? getRecurringPromotion(deps, ctx, params.name) : listRecurringPromotions(deps, ctx),
);
