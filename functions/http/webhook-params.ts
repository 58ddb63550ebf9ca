import * as z from '../../domain/kernel/zod.ts';

/** Path and query parameters of the /webhooks routes. */
export const webhookParams = /* @__PURE__ */ z.schema(() =>
  z.object({
    id: z.string().check(z.regex(/^wh_[a-z0-9]{1,40}$/, 'is not a webhook id (wh_…)')),
  }),
);

export const deliveryParams = /* @__PURE__ */ z.schema(() =>
  z.object({
    id: webhookParams.shape.id,
    delivery: z.string().check(z.regex(/^msg_[a-z0-9]{1,60}$/, 'is not a delivery id (msg_…)')),
  }),
);

export const deliveriesQuery = /* @__PURE__ */ z.schema(() =>
  z.strictObject({
    limit: z.queryInt(1, 100, 25),
    cursor: z.optional(
      z.string().check(z.maxLength(2000), z.describe('Opaque: a value the previous page returned (X-Next-Cursor); any other is refused with 400')),
    ),
  }),
);
