import * as z from '../../../domain/kernel/zod.ts';

/** Building blocks of the response schemas (functions/http/responses/*): times, digests, stamps. */
/** A time in answers: ISO 8601, UTC. */
export const time = /* @__PURE__ */ z.schema(() => z.string().check(z.describe('ISO 8601, UTC')));
export const digest = /* @__PURE__ */ z.schema(() => z.string().check(z.regex(/^sha256:[0-9a-f]{64}$/)));
export const open = /* @__PURE__ */ z.schema(() => z.record(z.string(), z.unknown()));
/** What every versioned resource carries: its optimistic-lock version and who made and last changed it. */
export const stampFields = {
  version: /* @__PURE__ */ z.number().check(z.int()),
  createdAt: time,
  createdBy: /* @__PURE__ */ z.string(),
  updatedAt: time,
  updatedBy: /* @__PURE__ */ z.string(),
};
export const occurrence = /* @__PURE__ */ z.schema(() => z.strictObject({ id: z.string(), reason: z.string(), scope: z.string(), start: time, end: time }));

/** An action taken from Slack: the Slack identity (as Slack signed it) and the link that made it that account. */
export const actedVia = /* @__PURE__ */ z.schema(() =>
  z
    .strictObject({
      channel: z.literal('slack'),
      teamId: z.string(),
      userId: z.string(),
      linkId: z.string().check(z.describe('the link (slack_…) the person made themselves with a one-time code')),
    })
    .check(z.meta({ id: 'ActedVia' })),
);
