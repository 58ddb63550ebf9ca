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
