import { randomUUID } from 'node:crypto';
import * as z from './zod.ts';
import type { DomainEvent, OutboxOp } from './ports.ts';

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
  /** a rollout through targets (domain/promotion/rollout/): a wave started, or every target of it is confirmed and baked */
  'Promotion Wave Started',
  'Promotion Wave Completed',
  /** one target of a rollout was changed (its head, its deployment record, its git file and registry tag): a deployer's signal that it is its turn */
  'Promotion Target Applied',
  /** an analysis of a target's bake (or a guarded wave's comparison) has its answer: passed, failed (the rollout rolls back) or inconclusive (it halts) */
  'Promotion Analysis Decided',
  /** an ended promotion's signed SLSA verification summary is stored (domain/attestation/): where to fetch it, its key and result */
  'Promotion Attested',
  'Break Glass Used',
  'Evidence Added',
  'Deployment Recorded',
  'Approval Reminder',
  'Artifact Published',
  'Freeze Started',
  'Freeze Ended',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export const promotionEventDetail = /* @__PURE__ */ z.builtOnFirstUse(() =>
  z.strictObject({
    tenant: z.string().check(z.minLength(1)),
    promotionId: z.string().check(z.minLength(1)),
    status: z.string().check(z.minLength(1)),
    sourceEnvironment: z.string().check(z.minLength(1)),
    targetEnvironment: z.string().check(z.minLength(1)),
    subject: z.string().check(z.minLength(1)),
    releaseDigest: z.string().check(z.minLength(1)),
    actor: z.optional(z.string()),
    reason: z.optional(z.string()),
    /** approvals still needed (Approval Required) */
    approvalsNeeded: z.optional(z.number().check(z.int(), z.minimum(0))),
    approverGroups: z.optional(z.array(z.string())),
    /** Promotion Approved: how long it waited for its approvals (seconds), the ApprovalWaitSeconds metric */
    approvalWaitSeconds: z.optional(z.number().check(z.minimum(0))),
    /** a rollout through targets (domain/config/targets.ts): the target the event is about, and its wave */
    target: z.optional(z.string().check(z.minLength(1))).check(z.describe('the target of the environment the event is about (a rollout through targets)')),
    wave: z.optional(z.number().check(z.int(), z.minimum(1))).check(z.describe('the wave the event is about (a rollout through targets)')),
    /** Promotion Rolled Back of a rollout: the targets walked back, in the order they were */
    targets: z
      .optional(z.array(z.string()).check(z.maxLength(100)))
      .check(z.describe('the targets the event covers, e.g. those a rollback walked back (in reverse wave order); the first 100 when there are more')),
    /** the number of targets the event covers, when `targets` holds only the first 100 of them */
    targetCount: z
      .optional(z.number().check(z.int(), z.minimum(0)))
      .check(z.describe('how many targets the event covers in all, when targets lists only the first 100')),
    /** Promotion Rolled Back of a rollout: the waves it walked back, last first */
    waves: z
      .optional(z.array(z.number().check(z.int(), z.minimum(1))).check(z.maxLength(100)))
      .check(z.describe('the waves the event covers, e.g. those a rollback walked back (last first)')),
    /** a promotion's end: what it adds to its environment's DORA metrics (domain/artifacts/dora.ts), the CloudWatch figures */
    dora: z
      .optional(
        z.strictObject({
          deployed: z.number().check(z.int(), z.minimum(0), z.maximum(1)),
          changeFailed: z.number().check(z.int(), z.minimum(0), z.maximum(1)),
          rework: z.number().check(z.int(), z.minimum(0), z.maximum(1)),
          recoverySeconds: z.optional(z.number().check(z.minimum(0))),
          leadTimeSeconds: z.optional(z.number().check(z.minimum(0))),
        }),
      )
      .check(
        z.describe("what the promotion's end adds to its environment's DORA metrics: a deployment, a change failure, rework, a recovery time, a lead time"),
      ),
    /** Promotion Analysis Decided: the analysis, its answer and its last measurements */
    analysis: z
      .optional(
        z.strictObject({
          template: z.string(),
          scope: z.enum(['bake', 'canary']),
          phase: z.enum(['Successful', 'Failed', 'Inconclusive', 'Error']),
          message: z.optional(z.string()),
          thresholds: z.optional(z.strictObject({ success: z.optional(z.string()), failure: z.optional(z.string()) })),
          measurements: z
            .array(z.strictObject({ at: z.string(), phase: z.string(), value: z.nullable(z.number()), error: z.optional(z.string()) }))
            .check(z.maxLength(10)),
        }),
      )
      .check(z.describe('an analysis that has its answer (Promotion Analysis Decided): the template, the answer and the last 10 measurements')),
    /** Promotion Attested: the attestation's result, key, subject and where to fetch it */
    attestation: z
      .optional(
        z.strictObject({
          verificationResult: z.enum(['PASSED', 'FAILED']),
          keyId: z.string(),
          subjectDigest: z.string(),
          url: z.string(),
        }),
      )
      .check(z.describe('a signed attestation is stored (Promotion Attested): its result, signing key, subject digest and the API path that answers it')),
    at: z.string(),
  }),
);
export type PromotionEventDetail = z.infer<ReturnType<typeof promotionEventDetail>>;

/**
 * `Promotion Target Applied`: one target of a rollout was changed (domain/promotion/rollout/apply.ts targetApplyStep, in
 * the transaction that changes it). What a regional deployer needs to act: the target and its wave, what it runs
 * now, how it confirms (and where, for a callback), and what was delivered for it (its git file, its registry tag).
 */
export const targetAppliedEventDetail = /* @__PURE__ */ z.builtOnFirstUse(() =>
  z.strictObject({
    ...promotionEventDetail().shape,
    target: z.string().check(z.minLength(1), z.describe('the target of the environment that was changed')),
    wave: z.number().check(z.int(), z.minimum(1), z.describe('its wave')),
    version: z.string().check(z.minLength(1), z.describe('what the target runs now: the artifact version, or `<env>@<seq>` for a config release')),
    digest: z.string().check(z.minLength(1), z.describe('the artifact digest, or the config snapshot digest')),
    confirm: z
      .strictObject({
        mode: z.enum(['immediate', 'callback', 'health', 'argocd', 'flux', 'fleet']),
        deadline: z.optional(
          z
            .string()
            .check(
              z.describe('callback and polled modes (health, argocd, flux, fleet): by when the target must confirm (ISO 8601), else the rollout rolls back'),
            ),
        ),
        url: z.optional(
          z.string().check(z.describe('callback: the path the deployer POSTs to confirm (`/api/v1/promotions/{id}/targets/{target}/confirm`, role deployer)')),
        ),
      })
      .check(z.describe('how the target confirms it runs the release')),
    git: z.optional(
      z
        .strictObject({ file: z.string(), commit: z.nullable(z.string()), changed: z.boolean() })
        .check(z.describe("the commit of the target's own git file (a git target file with {target})")),
    ),
    registry: z.optional(
      z
        .strictObject({ registry: z.string(), tag: z.string(), digest: z.string() })
        .check(z.describe("the per-target tag (latest-<env>-<target>) moved in the target's registry")),
    ),
    registries: z.optional(
      z
        .array(z.strictObject({ artifact: z.string(), registry: z.string(), tag: z.string(), digest: z.string() }))
        .check(z.describe("a bundle: each member's per-target tag (latest-<env>-<target>) moved in the target's registry, in the member's repository")),
    ),
  }),
);

/** `Break Glass Used`: an admin overrode a guard (protected environment, freeze window) with a reason. */
export const breakGlassEventDetail = /* @__PURE__ */ z.builtOnFirstUse(() =>
  z.strictObject({
    tenant: z.string().check(z.minLength(1)),
    environment: z.string().check(z.minLength(1)),
    guard: z.enum(['protected-environment', 'freeze-window']),
    action: z.string().check(z.minLength(1)),
    actor: z.string().check(z.minLength(1)),
    reason: z.string().check(z.minLength(1)),
    promotionId: z.optional(z.string()),
    at: z.string(),
  }),
);

/** `Evidence Added`: evidence about a promotion or a release (`artifact:<name>@<version>`, `snapshot:<env>@<seq>`). */
export const evidenceEventDetail = /* @__PURE__ */ z.builtOnFirstUse(() =>
  z.strictObject({ tenant: z.string().check(z.minLength(1)), owner: z.string().check(z.minLength(1)), type: z.string().check(z.minLength(1)), at: z.string() }),
);

/** `Deployment Recorded`: a rollout was recorded in an environment (by the pipeline or a promotion). */
export const deploymentEventDetail = /* @__PURE__ */ z.builtOnFirstUse(() =>
  z.strictObject({
    tenant: z.string().check(z.minLength(1)),
    environment: z.string().check(z.minLength(1)),
    imageTag: z.string().check(z.minLength(1)),
    status: z.string().check(z.minLength(1)),
    artifact: z.optional(z.string()),
    target: z.optional(z.string().check(z.minLength(1))).check(z.describe('the target of the environment the record is about')),
    at: z.string(),
  }),
);

/** `Artifact Published`: a new version entered the line (its first environment), by the publish API or registry discovery. */
export const artifactEventDetail = /* @__PURE__ */ z.builtOnFirstUse(() =>
  z.strictObject({
    tenant: z.string().check(z.minLength(1)),
    artifact: z.string().check(z.minLength(1)),
    version: z.string().check(z.minLength(1)),
    digest: z.string().check(z.minLength(1)),
    environment: z.string().check(z.minLength(1), z.describe('the first environment of the line, where the version was published')),
    publishedBy: z.string().check(z.minLength(1)),
    via: z.enum(['api', 'discovery']).check(z.describe('the publish API, or a registry push discovered through a repository link')),
    at: z.string(),
  }),
);

/** `Freeze Started` / `Freeze Ended`: a freeze window's occurrence opened or closed (one event per edge; `environment` absent: tenant-wide). */
export const freezeEventDetail = /* @__PURE__ */ z.builtOnFirstUse(() =>
  z.strictObject({
    tenant: z.string().check(z.minLength(1)),
    windowId: z.string().check(z.minLength(1)),
    environment: z.optional(z.string().check(z.minLength(1))).check(z.describe('the environment the window holds; absent for a tenant-wide window')),
    reason: z.string().check(z.minLength(1)),
    start: z.string().check(z.describe('when this occurrence opens (ISO 8601)')),
    end: z.string().check(z.describe('when this occurrence closes (ISO 8601)')),
    at: z.string().check(z.describe('the edge: start for Freeze Started, end (or the removal of an open window) for Freeze Ended')),
  }),
);

/** What changes the inputs of auto-promotion: the auto-promoter subscribes to these (CDK rule and local bus alike). */
/** The events of a promotion's end: the delivery function answers the pipeline runs waiting on it on these (promotion/deliver/pipeline-answer.ts). */
export const PROMOTION_END_EVENTS: readonly string[] = [
  'Promotion Completed',
  'Promotion Rejected',
  'Promotion Expired',
  'Promotion Failed',
  'Promotion Cancelled',
  'Promotion Rolled Back',
];

export const AUTO_PROMOTION_TRIGGERS = ['Evidence Added', 'Deployment Recorded', 'Promotion Completed'] as const;

/** The one place that says which schema validates which event's detail (both bus adapters use it). */
export function parseEventDetail(type: string, detail: unknown): Record<string, unknown> {
  // `eventId` is added by the relay (the outbox item's id): consumers de-duplicate by it.
  const { eventId, ...rest } = (detail ?? {}) as Record<string, unknown>;
  const parsed = schemaOf(type).parse(rest) as Record<string, unknown>;
  return typeof eventId === 'string' ? { ...parsed, eventId } : parsed;
}

function schemaOf(type: string): z.ZodMiniType {
  switch (type) {
    case 'Break Glass Used':
      return breakGlassEventDetail();
    case 'Evidence Added':
      return evidenceEventDetail();
    case 'Deployment Recorded':
      return deploymentEventDetail();
    case 'Artifact Published':
      return artifactEventDetail();
    case 'Freeze Started':
    case 'Freeze Ended':
      return freezeEventDetail();
    case 'Promotion Target Applied':
      return targetAppliedEventDetail();
    default:
      return promotionEventDetail();
  }
}

/** An outbox event, committed in the transaction of the change it reports; the stream consumer relays it to the bus. `id` lets consumers de-duplicate. */
export function eventOp(type: EventType, tenant: string, detail: Record<string, unknown>): OutboxOp {
  return { kind: 'event', event: newEvent(type, tenant, detail) };
}

export function newEvent(type: EventType, tenant: string, detail: Record<string, unknown>): DomainEvent {
  return { id: randomUUID(), type, tenant, detail: parseEventDetail(type, detail) };
}
