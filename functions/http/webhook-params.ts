import * as z from 'zod';

/** Path and query parameters of the /webhooks routes. */
export const webhookParams = /* @__PURE__ */ z.object({
  id: z.string().regex(/^wh_[a-z0-9]{1,40}$/, 'is not a webhook id (wh_…)'),
});

export const deliveryParams = /* @__PURE__ */ z.object({
  id: webhookParams.shape.id,
  delivery: z.string().regex(/^msg_[a-z0-9]{1,60}$/, 'is not a delivery id (msg_…)'),
});

export const deliveriesQuery = /* @__PURE__ */ z
  .object({
    limit: z.coerce.number().int().min(1).max(100).default(25),
    cursor: z.string().max(2000).optional(),
  })
  .strict();
