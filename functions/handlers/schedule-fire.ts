import * as z from 'zod';
import { autoCheckDue } from '#domain/promotion/auto';
import { expireWaiting, fireSchedule } from '#domain/promotion/service';
import { remindApprovers } from '#domain/notify/notifier';
import { deps } from '../http/deps.ts';

/** Target of the one-time schedules: resumes a scheduled promotion's flow, or runs an auto-promotion check that came due. */
const input = z.union([
  z.object({ tenant: z.string().min(1), promotionId: z.string().min(1) }),
  z.object({ tenant: z.string().min(1), autoCheck: z.object({ sourceEnvironment: z.string().min(1), artifact: z.string().optional(), version: z.string().optional() }) }),
  z.object({ tenant: z.string().min(1), expireWaiting: z.string().min(1) }),
  z.object({ tenant: z.string().min(1), remind: z.string().min(1) }),
]);

export const handler = async (event: unknown) => {
  const payload = input.parse(event);
  if ('autoCheck' in payload) return { checks: await autoCheckDue(deps(), payload.tenant, payload.autoCheck) };
  if ('expireWaiting' in payload) return expireWaiting(deps(), payload.tenant, payload.expireWaiting);
  if ('remind' in payload) return remindApprovers(deps(), payload.tenant, payload.remind);
  return fireSchedule(deps(), payload.tenant, payload.promotionId);
};
