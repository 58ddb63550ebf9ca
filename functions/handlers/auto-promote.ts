import * as z from 'zod';
import { autoPromoteOn } from '#domain/promotion/auto';
import { AUTO_PROMOTION_TRIGGERS, parseEventDetail } from '#domain/promotion/events';
import { deps } from '../http/deps.ts';

/** Target of the bus rule for AUTO_PROMOTION_TRIGGERS: the system evaluates auto-promotion when its inputs change. */
const event = z.object({ 'detail-type': z.enum(AUTO_PROMOTION_TRIGGERS), detail: z.record(z.string(), z.unknown()) });

export const handler = async (raw: unknown) => {
  const e = event.parse(raw);
  const checks = await autoPromoteOn(deps(), e['detail-type'], parseEventDetail(e['detail-type'], e.detail));
  return { checks: checks.length, promoted: checks.filter((c) => c.promotionId).map((c) => c.promotionId) };
};
