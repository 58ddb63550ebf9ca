import * as z from '#domain/kernel/zod';
import { runOnce } from '#domain/kernel/once';
import { autoPromoteOn } from '#domain/promotion/request/auto';
import { AUTO_PROMOTION_TRIGGERS, parseEventDetail } from '#domain/kernel/events';
import { workflowOnFirstUse } from '../adapters/workflow-on-first-use.ts';
import { schedulerOnFirstUse } from '../adapters/scheduler-on-first-use.ts';
import { compose } from '../http/deps.ts';
import { withLambdaContext } from '../adapters/observability.ts';

/** This function's adapters: the store, the workflow and the scheduler (an auto-promotion starts a promotion). */
const wiring = compose({ workflow: workflowOnFirstUse, scheduler: () => schedulerOnFirstUse() });

/** Target of the bus rule for AUTO_PROMOTION_TRIGGERS: the system evaluates auto-promotion when its inputs change. */
const event = z.object({ 'detail-type': z.enum(AUTO_PROMOTION_TRIGGERS), detail: z.record(z.string(), z.unknown()) });

export const handler = withLambdaContext(async (raw: unknown) => {
  const e = event.parse(raw);
  const detail = parseEventDetail(e['detail-type'], e.detail);
  const d = wiring.deps();
  // Delivery is at least once: the same event (same eventId) is evaluated once.
  const run = await runOnce(d, String(detail.tenant), 'auto-promote', detail.eventId as string | undefined, () => autoPromoteOn(d, e['detail-type'], detail));
  if (run.duplicate) return { duplicate: true, checks: 0, promoted: [] };
  return { duplicate: false, checks: run.result.length, promoted: run.result.filter((c) => c.promotionId).map((c) => c.promotionId) };
});
