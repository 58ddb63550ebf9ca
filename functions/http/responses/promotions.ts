import * as z from 'zod';
import { STATUSES } from '#domain/promotion/lifecycle';
import { actedVia, digest, occurrence, open, time } from './common.ts';

/** What the promotion routes answer. */
const gateResult = /* @__PURE__ */ z.object({ gate: z.string(), verdict: z.enum(['PASS', 'FAIL', 'WARN', 'SKIPPED']), blocking: z.boolean(), reason: z.string(), evidenceRefs: z.array(z.string()) }).strict();
const subject = /* @__PURE__ */ z.discriminatedUnion('type', [
  z.object({ type: z.literal('artifact'), name: z.string(), version: z.string(), digest }).strict(),
  z
    .object({
      type: z.literal('config'),
      sourceSnapshot: z.object({ seq: z.number().int(), digest }).strict(),
      promotionType: z.enum(['FULL', 'SELECTIVE', 'PATTERN']),
      configIds: z.array(z.string()),
      flagIds: z.array(z.string()),
      keyPatterns: z.array(z.string()),
    })
    .strict(),
]);

const promotionFields = /* @__PURE__ */ z
  .object({
    id: z.string(),
    status: z.enum(STATUSES),
    waitingFor: z.enum(['approval', 'execution']).nullable(),
    sourceEnvironment: z.string(),
    targetEnvironment: z.string(),
    subject,
    releaseDigest: digest.describe('approvals are bound to it'),
    notes: z.string(),
    requestedBy: z.object({ id: z.string(), name: z.string() }).strict(),
    requestedAt: time,
    rebasedBy: z.object({ id: z.string(), name: z.string(), at: time }).strict().nullable().describe('who rebased it onto its current release: chose its content, cannot approve under separation of duties'),
    trigger: z.enum(['on_approval', 'manual', 'scheduled']),
    scheduledAt: time.nullable(),
    whenFrozen: z.enum(['wait', 'fail']),
    heldBy: z.object({ window: z.string(), reason: z.string(), until: time }).strict().nullable(),
    freezeOverride: open.nullable(),
    monitorAlarm: z.object({ arn: z.string(), name: z.string(), reason: z.string(), at: z.string() }).strict().nullable().describe('the monitored CloudWatch alarm that rolled it back while it baked'),
    policy: z.object({ ruleId: z.string().nullable(), requiresApproval: z.boolean(), requiredApprovers: z.number().int(), approverGroups: z.array(z.string()), separationOfDuties: z.boolean(), approvalExpirySeconds: z.number(), evidenceFrom: z.string().optional() }).strict(),
    policyDigest: digest,
    gates: z.array(gateResult).nullable(),
    approvedBy: z.array(z.string()),
    rejection: z.object({ by: z.string(), reason: z.string(), at: time }).strict().nullable(),
    result: z
      .object({
        snapshotSeq: z.number().int().optional(),
        digest,
        deploymentId: z.string(),
        deployedAt: time,
        previous: open,
        replaced: open.nullable().optional(),
        synced: z.array(z.object({ registry: z.string(), digest: digest.nullable(), bytesCopied: z.number(), tags: z.array(z.string()).optional(), attached: z.array(z.string()).optional(), signature: z.string().optional() }).strict()).optional(),
        recorded: z.array(z.object({ registry: z.string(), digest: digest.nullable(), reason: z.string().optional() }).strict()).optional(),
        git: z
          .object({ repository: z.string(), branch: z.string(), file: z.string(), path: z.string(), value: z.string(), commit: z.string(), changed: z.boolean(), attempts: z.number().int() })
          .strict()
          .optional()
          .describe("the commit in the target's git target (changed false: the file already held the value)"),
      })
      .strict()
      .nullable(),
    error: z.object({ code: z.string(), message: z.string() }).strict().nullable(),
    autoPromoted: z.boolean(),
    changeSummary: z.object({ added: z.number().int(), modified: z.number().int(), removed: z.number().int(), keys: z.array(z.string()), unmatchedIds: z.array(z.string()) }).strict().nullable(),
    sourceDeploymentId: z.string().nullable(),
    targetGateway: z.string().nullable(),
    rollback: open.nullable(),
    version: z.number().int(),
    updatedAt: time,
    completedAt: time.nullable(),
    transitions: z.array(z.object({ status: z.enum(STATUSES), at: time, by: z.string() }).strict()),
  })
  .strict();
export const promotionResponse = /* @__PURE__ */ promotionFields.meta({ id: 'Promotion' });

/** A promotion as an approver sees it: the view, the approvals so far and the notifications sent. */
export const promotionDetailResponse = /* @__PURE__ */ promotionFields
  .extend({
    approvals: z
      .object({
        given: z.array(z.object({ by: z.string(), at: time, comment: z.string().nullable(), counts: z.boolean(), why: z.string().optional() }).strict()),
        required: z.number().int(),
        remaining: z.number().int(),
        approverGroups: z.array(z.string()),
        separationOfDuties: z.boolean(),
        expiresAt: time.nullable(),
      })
      .strict(),
    notifications: z.array(z.object({ channel: z.string(), target: z.string(), kind: z.string(), status: z.string(), at: time, error: z.string().optional() }).strict()),
  })
  .strict()
  .meta({ id: 'PromotionDetail' });

/** POST /promotions: the created promotion, or with dryRun what it would do (nothing is written). */
export const promotionCreateResponse = /* @__PURE__ */ z.union([promotionResponse, z.object({ dryRun: z.literal(true) }).passthrough()]);

export const evidence = /* @__PURE__ */ z
  .object({
    id: z.string(),
    type: z.enum(['test_results', 'security_scan', 'cost_estimate', 'benchmark', 'policy', 'metrics', 'alarm']),
    payload: open,
    submittedBy: z.string(),
    submittedAt: time,
    source: z.object({ id: z.string(), kind: z.enum(['user', 'machine']), groups: z.array(z.string()) }).strict().optional(),
  })
  .passthrough()
  .meta({ id: 'Evidence' });

/** The decision record: everything a promotion was decided on, and its digest (what an auditor re-computes). */
const decision = /* @__PURE__ */ z
  .object({
    promotionId: z.string(),
    releaseDigest: digest,
    subject,
    sourceEnvironment: z.string(),
    targetEnvironment: z.string(),
    policy: open,
    policyDigest: digest,
    gates: z.array(gateResult),
    evidence: z.array(z.object({ id: z.string(), type: z.string(), submittedBy: z.string(), source: z.object({ kind: z.enum(['user', 'machine']), id: z.string() }).strict().nullable(), accepted: z.boolean() }).strict()),
    approvals: z.array(z.object({ by: z.string(), digest, counted: z.boolean(), via: actedVia.optional() }).strict()),
    approvalsRequired: z.number().int(),
    outcome: z.enum(['PENDING_VALIDATION', 'BLOCKED_BY_GATES', 'REJECTED', 'AWAITING_APPROVAL', 'ALLOWED']),
    freeze: z.object({ whenFrozen: z.enum(['wait', 'fail']), heldBy: open.nullable(), override: open.nullable() }).strict(),
    monitorAlarm: z.object({ arn: z.string(), name: z.string(), reason: z.string(), at: z.string() }).strict().optional().describe('present when a monitored CloudWatch alarm rolled it back while it baked'),
    decisionDigest: digest.describe('digest of the record above (without status and the freeze outlook)'),
    status: z.enum(STATUSES),
    frozenNow: occurrence.nullable(),
    nextFreeze: occurrence.nullable(),
  })
  .strict()
  .meta({ id: 'DecisionRecord' });

export const PROMOTION_RESPONSES: Record<string, z.ZodType> = {
  'promotions-create': promotionCreateResponse,
  'promotions-list': z.object({ items: z.array(promotionResponse), nextCursor: z.string().nullable().optional() }).strict(),
  'promotions-get': promotionDetailResponse,
  'promotions-approve': promotionDetailResponse,
  'promotions-reject': promotionResponse,
  'promotions-cancel': promotionResponse,
  'promotions-validate': promotionResponse,
  'promotions-schedule': promotionResponse,
  'promotions-execute': z.union([z.object({ accepted: z.literal(true), promotion: promotionResponse }).strict(), z.object({ dryRun: z.literal(true) }).passthrough()]),
  'promotions-rebase': promotionResponse,
  'promotions-decision': decision,
  'promotions-rollback': z.union([
    z.object({ promotion: promotionResponse, reverts: z.array(open), impact: open.optional() }).strict(),
    z.object({ dryRun: z.literal(true) }).passthrough(),
  ]),
  'promotions-auto-check': z.object({ checks: z.array(open).describe('per auto-promotion rule: whether it would promote, and why (not)') }).strict(),
  'artifacts-evidence': evidence,
  'promotions-evidence': evidence,
  'snapshots-evidence': evidence,
};
