import * as z from 'zod';
import { STATUSES } from '#domain/promotion/lifecycle';
import { digest, occurrence, open, stampFields, time } from './common.ts';
import { promotionResponse } from './promotions.ts';

/** What the environment, rule, freeze-window and status routes answer. */
export const environmentResponse = /* @__PURE__ */ z
  .object({
    name: z.string(),
    displayName: z.string(),
    position: z.number().int(),
    description: z.string(),
    protected: z.boolean(),
    gates: open.describe('gate name → on/off'),
    webhookGates: z.array(open).describe('the environment’s webhook gates (secrets never returned)'),
    concurrency: z.enum(['queue', 'reject', 'supersede']),
    autoPromotionPaused: z.boolean(),
    bakeSeconds: z.number().int(),
    cacheMaxAgeSeconds: z.number().int().describe('how long services may cache the effective config'),
    registries: z.array(z.object({ name: z.string(), url: z.string() }).strict()),
    monitors: z.array(z.string()).describe('CloudWatch alarm ARNs: checked before executing into it, watched while a promotion bakes'),
    verification: z.enum(['digest_match', 'signature_match']),
    signingKey: z.string().nullable(),
    snapshot: z.object({ seq: z.number().int(), digest }).strict(),
    itemCount: z.number().int(),
    ...stampFields,
  })
  .strict()
  .meta({ id: 'Environment' });

export const statusResponse = /* @__PURE__ */ z
  .object({
    environments: z.array(
      z
        .object({
          name: z.string(),
          displayName: z.string(),
          position: z.number().int(),
          artifacts: z.array(z.object({ artifact: z.string(), version: z.string(), tag: z.string(), digest, promotedAt: time, promotedBy: z.string() }).strict()),
          config: z.object({ snapshot: z.string(), digest, items: z.number().int(), changedAt: time, changedBy: z.string() }).strict(),
          gates: z.object({ marks: z.string().describe('one mark per gate: ✓ pass, ✗ fail, ! warn, - off'), legend: z.string(), promotionId: z.string().nullable() }).strict(),
          lastPromotion: z.object({ id: z.string(), subject: z.string(), completedAt: time.nullable(), requestedBy: z.string(), status: z.enum(STATUSES) }).strict().nullable(),
          autoPromotionPaused: z.boolean(),
          protected: z.boolean(),
          lastBreakGlass: open.nullable(),
          freeze: z.object({ current: occurrence.nullable(), next: occurrence.nullable() }).strict(),
        })
        .strict(),
    ),
    pending: z.array(z.object({ id: z.string(), subject: z.string(), from: z.string(), to: z.string(), status: z.enum(STATUSES), requestedBy: z.string(), requestedAt: time, why: z.string() }).strict()),
  })
  .strict()
  .meta({ id: 'Status' });

const freezeWindow = /* @__PURE__ */ z
  .object({
    id: z.string(),
    scope: z.string().describe("an environment, or '*' for every environment"),
    reason: z.string(),
    kind: z.enum(['once', 'recurring']),
    start: time.optional(),
    end: time.optional(),
    cron: z.string().optional(),
    endCron: z.string().optional(),
    timezone: z.string().optional(),
    createdBy: z.string(),
    createdAt: time,
    open: occurrence.nullable(),
    next: occurrence.nullable(),
  })
  .strict()
  .meta({ id: 'FreezeWindow' });

export const freezeListResponse = /* @__PURE__ */ z.object({ items: z.array(freezeWindow), current: occurrence.nullable().optional(), next: occurrence.nullable().optional() }).strict();

export const rule = /* @__PURE__ */ z
  .object({
    id: z.string(),
    name: z.string(),
    sourceEnvironment: z.string(),
    targetEnvironment: z.string(),
    requiresApproval: z.boolean(),
    requiredApprovers: z.number().int(),
    approverGroups: z.array(z.string()),
    separationOfDuties: z.boolean(),
    approvalExpirySeconds: z.number().int(),
    autoPromote: z.boolean(),
    conditions: z.unknown().describe('all/any/leaf condition tree, or null'),
    evidenceFrom: z.string().optional(),
    allowSkip: z.boolean(),
    status: z.enum(['active', 'disabled']),
    ...stampFields,
  })
  .strict()
  .meta({ id: 'Rule' });

export const ENVIRONMENT_RESPONSES: Record<string, z.ZodType> = {
  'environments-list': z.object({ items: z.array(environmentResponse) }).strict(),
  'environments-get': environmentResponse,
  'environments-create': environmentResponse,
  'environments-update': environmentResponse,
  'rules-list': z.object({ items: z.array(rule) }).strict(),
  'rules-get': rule,
  'rules-create': rule,
  'rules-update': rule,
  'environments-rollback': z.union([z.object({ dryRun: z.literal(false), impact: open, promotion: promotionResponse }).strict(), z.object({ dryRun: z.literal(true), impact: open }).passthrough()]),
  'freeze-windows': freezeListResponse,
  status: statusResponse,
  'freeze-create': freezeWindow,
};
