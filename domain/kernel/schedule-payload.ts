import * as z from './zod.ts';
import type { SchedulePayload } from './ports.ts';

/**
 * What a one-time schedule that fires the schedule-fire function carries (its boundary schema): resume a
 * scheduled promotion's flow, run an auto-promotion check that came due, expire a waiting promotion,
 * remind approvers, sweep a promotion at its deadline, poll a pull request, or a freeze window's edge; and a
 * recurring promotion's calendar (a recurring schedule).
 * (A webhook delivery's retry schedule fires the delivery function instead.)
 */
export const scheduleFirePayload = /* @__PURE__ */ z.schema(() =>
  z.union([
    z.object({ tenant: z.string().check(z.minLength(1)), promotionId: z.string().check(z.minLength(1)) }),
    z.object({
      tenant: z.string().check(z.minLength(1)),
      autoCheck: z.object({
        sourceEnvironment: z.string().check(z.minLength(1)),
        artifact: z.optional(z.string()),
        version: z.optional(z.string()),
        bundle: z.optional(z.string()),
        bundleDigest: z.optional(z.string()),
      }),
    }),
    z.object({ tenant: z.string().check(z.minLength(1)), expireWaiting: z.string().check(z.minLength(1)) }),
    z.object({ tenant: z.string().check(z.minLength(1)), remind: z.string().check(z.minLength(1)) }),
    z.object({ tenant: z.string().check(z.minLength(1)), sweep: z.string().check(z.minLength(1)) }),
    z.object({ tenant: z.string().check(z.minLength(1)), pullRequestPoll: z.string().check(z.minLength(1)) }),
    z.object({
      tenant: z.string().check(z.minLength(1)),
      freezeEdge: z.object({ window: z.string().check(z.minLength(1)), edge: z.enum(['started', 'ended']), at: z.string().check(z.minLength(1)) }),
    }),
    z.object({ tenant: z.string().check(z.minLength(1)), recurring: z.string().check(z.minLength(1)) }),
  ]),
);

/** Every payload the schema takes is one the scheduler port may carry: a compile-time check. */
type OneOf<T extends SchedulePayload> = T;
export type ScheduleFirePayload = OneOf<z.infer<typeof scheduleFirePayload>>;
