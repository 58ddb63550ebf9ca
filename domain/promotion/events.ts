import * as z from 'zod';

/**
 * Domain events (EventBridge `detail-type` + `detail`). One schema validates
 * every detail before it is published, so consumers (notifier, dashboards)
 * can rely on the shape.
 */
export const EVENT_SOURCE = 'stageline';

export const EVENT_TYPES = [
  'Promotion Requested',
  'Approval Required',
  'Promotion Approved',
  'Promotion Rejected',
  'Promotion Completed',
  'Promotion Failed',
  'Promotion Cancelled',
  'Promotion Expired',
  'Promotion Rolled Back',
  'Break Glass Used',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export const promotionEventDetail = z
  .object({
    tenant: z.string().min(1),
    promotionId: z.string().min(1),
    status: z.string().min(1),
    sourceEnvironment: z.string().min(1),
    targetEnvironment: z.string().min(1),
    subject: z.string().min(1),
    releaseDigest: z.string().min(1),
    actor: z.string().optional(),
    reason: z.string().optional(),
    /** approvals still needed (Approval Required) */
    approvalsNeeded: z.number().int().min(0).optional(),
    approverGroups: z.array(z.string()).optional(),
    at: z.string(),
  })
  .strict();
export type PromotionEventDetail = z.infer<typeof promotionEventDetail>;

/** `Break Glass Used`: an admin overrode a guard (protected environment, freeze window) with a reason. */
export const breakGlassEventDetail = z
  .object({
    tenant: z.string().min(1),
    environment: z.string().min(1),
    guard: z.enum(['protected-environment', 'freeze-window']),
    action: z.string().min(1),
    actor: z.string().min(1),
    reason: z.string().min(1),
    promotionId: z.string().optional(),
    at: z.string(),
  })
  .strict();

/** The one place that says which schema validates which event's detail (both bus adapters use it). */
export function parseEventDetail(type: string, detail: unknown): Record<string, unknown> {
  return type === 'Break Glass Used' ? breakGlassEventDetail.parse(detail) : promotionEventDetail.parse(detail);
}
