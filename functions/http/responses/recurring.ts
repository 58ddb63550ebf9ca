import * as z from '#domain/kernel/zod';
import { stampFields, time } from './common.ts';

/** One run of a recurring promotion: what its schedule's firing did. */
const recurringRun = /* @__PURE__ */ z.schema(() =>
  z.strictObject({
    at: time,
    outcome: z.enum(['promoted', 'skipped']),
    code: z.optional(z.enum(['nothing-new', 'frozen', 'soaking', 'in-flight', 'refused']).check(z.describe('why it was skipped'))),
    reason: z.optional(z.string()),
    promotionId: z.optional(z.string().check(z.describe('the promotion it requested (or found already on its way)'))),
  }),
);

/** What the /recurring-promotions routes answer (domain/promotion/request/recurring.ts). */
export const recurringPromotionResponse = /* @__PURE__ */ z.schema(() =>
  z
    .strictObject({
      name: z.string(),
      source: z.string(),
      target: z.string(),
      artifact: z.optional(z.string().check(z.describe("the artifact promoted; absent: the source's configuration"))),
      cron: z.string(),
      timeZone: z.string(),
      paused: z.boolean(),
      notes: z.optional(z.string()),
      lastRuns: z.array(recurringRun).check(z.describe('the newest runs first (at most 20)')),
      next: z.array(time).check(z.describe('its next times (none while paused)')),
      ...stampFields,
    })
    .check(z.meta({ id: 'RecurringPromotion' })),
);

export const recurringPromotionsList = /* @__PURE__ */ z.schema(() => z.strictObject({ items: z.array(recurringPromotionResponse) }));
