import * as z from 'zod';
import { fireSchedule } from '#domain/promotion/service';
import { deps } from '../http/deps.ts';

/** Target of the one-time schedules: resumes a scheduled promotion's flow. */
const input = z.object({ tenant: z.string().min(1), promotionId: z.string().min(1) });

export const handler = async (event: unknown) => {
  const { tenant, promotionId } = input.parse(event);
  return fireSchedule(deps(), tenant, promotionId);
};
