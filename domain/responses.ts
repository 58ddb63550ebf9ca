import * as z from 'zod';
import { manifestSchema } from './manifest/document.ts';
import { STATUSES } from './promotion/lifecycle.ts';
import { CONSUME_RESPONSES } from './consume-responses.ts';
import { WEBHOOK_RESPONSES } from './webhooks/responses.ts';
import { GITOPS_RESPONSES } from './gitops/responses.ts';

/**
 * What the API answers: the response bodies of the main routes, as zod schemas keyed by handler.
 * scripts/openapi.ts publishes them in the OpenAPI document; the test stack checks every 2xx answer
 * of these handlers against them in every integration test, so the contract cannot drift from the
 * code. Objects are strict where the view is ours (a field added to a view must be added here);
 * nested documents that carry user data stay open.
 */
const time = /* @__PURE__ */ z.string().describe('ISO 8601, UTC');
const digest = /* @__PURE__ */ z.string().regex(/^sha256:[0-9a-f]{64}$/);
const open = /* @__PURE__ */ z.record(z.string(), z.unknown());
/** What every versioned resource carries: its optimistic-lock version and who made and last changed it. */
const stamped = { version: z.number().int(), createdAt: time, createdBy: z.string(), updatedAt: time, updatedBy: z.string() };
const occurrence = /* @__PURE__ */ z.object({ id: z.string(), reason: z.string(), scope: z.string(), start: time, end: time }).strict();

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
    ...stamped,
  })
  .strict()
  .meta({ id: 'Environment' });

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

const manifestChange = /* @__PURE__ */ z.object({ op: z.enum(['add', 'change', 'remove']), path: z.string(), before: z.unknown().optional(), after: z.unknown().optional() }).strict();
const manifestSummary = /* @__PURE__ */ z.object({ add: z.number().int(), change: z.number().int(), remove: z.number().int() }).strict();
const manifestSecrets = /* @__PURE__ */ z
  .object({
    webhooks: z.array(z.object({ id: z.string(), url: z.string(), environment: z.string().nullable(), secret: z.string().describe('the signing secret (whsec_…)') }).strict()),
    registry_links: z.array(z.object({ artifact: z.string(), id: z.string(), registry: z.string(), repository: z.string(), notifyToken: z.string().describe('the bearer token of registry notifications') }).strict()),
  })
  .strict()
  .describe('what the apply created with a secret of its own, the only time the secret is shown: signing secrets of new webhook subscriptions, notification tokens of new registry links');
export const manifestApplyResponse = /* @__PURE__ */ z.object({ applied: z.boolean(), digest, documentDigest: digest.optional().describe('sha256 of the applied document (kept in the audit entry)'), planDigest: digest.optional().describe('digest of the applied plan (kept in the audit entries)'), changes: z.array(manifestChange), summary: manifestSummary, secrets: manifestSecrets.optional() }).strict();

export const itemResponse = /* @__PURE__ */ z
  .object({ id: z.string(), kind: z.enum(['config', 'flag']), key: z.string(), value: z.unknown(), description: z.string(), version: z.number().int(), updatedAt: time, updatedBy: z.string() })
  .strict()
  .meta({ id: 'Item' });

/** An action taken from Slack: the Slack identity (as Slack signed it) and the link that made it that account. */
const actedVia = /* @__PURE__ */ z
  .object({ channel: z.literal('slack'), teamId: z.string(), userId: z.string(), linkId: z.string().describe('the link (slk_…) the person made themselves with a one-time code') })
  .strict()
  .meta({ id: 'ActedVia' });

const auditEntry = /* @__PURE__ */ z
  .object({
    tenant: z.string().describe("the caller's own tenant"),
    id: z.string().describe('time-ordered, unique'),
    at: time,
    actor: z.string(),
    actorName: z.string(),
    action: z.string(),
    entityType: z.string(),
    entityId: z.string(),
    reason: z.string().optional(),
    before: z.string().nullable(),
    after: z.string().nullable(),
    requestId: z.string().optional(),
    via: actedVia.optional(),
  })
  .strict()
  .meta({ id: 'AuditEntry' });

const rule = /* @__PURE__ */ z
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
    ...stamped,
  })
  .strict()
  .meta({ id: 'Rule' });

const snapshot = /* @__PURE__ */ z
  .object({
    id: z.string().describe('<environment>@<seq>'),
    environment: z.string(),
    seq: z.number().int(),
    digest,
    parentSeq: z.number().int().nullable(),
    itemCount: z.number().int(),
    configCount: z.number().int(),
    flagCount: z.number().int(),
    createdAt: time,
    createdBy: z.string(),
    change: z.object({ action: z.enum(['create', 'set', 'delete', 'batch', 'restore']), keys: z.array(z.string()), count: z.number().int(), restoredFrom: z.number().int().optional() }).strict(),
    reason: z.string().optional(),
  })
  .strict()
  .meta({ id: 'Snapshot' });

const artifactVersion = /* @__PURE__ */ z
  .object({ name: z.string(), version: z.string(), digest, sourceCommit: z.string(), metadata: open, publishedAt: time, publishedBy: z.string() })
  .strict()
  .meta({ id: 'ArtifactVersion' });

const notificationSettings = /* @__PURE__ */ z
  .object({
    scope: z.string().describe("'tenant' or an environment"),
    slack: z
      .object({
        webhook: z.string().describe('origin only; the secret path is never returned'),
        channels: z.array(z.string()),
        teamId: z.string().nullable().describe('the Slack workspace bound to the tenant (its members who linked their own account act from Slack); the signing secret is the deployment\'s, never shown'),
      })
      .strict()
      .nullable(),
    email: z.object({ recipients: z.array(z.string()), approvers: z.boolean() }).strict().nullable(),
    events: z.array(z.string()),
    version: z.number().int(),
    updatedAt: time.optional(),
    updatedBy: z.string().optional(),
  })
  .strict()
  .meta({ id: 'NotificationSettings' });

const consumer = /* @__PURE__ */ z
  .object({ artifact: z.string(), name: z.string(), constraint: z.string(), kind: z.string().describe('the kind of semver constraint'), environment: z.string().nullable(), updatedAt: time, updatedBy: z.string() })
  .strict()
  .meta({ id: 'Consumer' });

/** seed 001's deployment record */
const deployment = /* @__PURE__ */ z
  .object({
    id: z.string(),
    environment: z.string(),
    imageTag: z.string(),
    gitCommit: z.string(),
    gitBranch: z.string(),
    status: z.enum(['PENDING', 'DEPLOYED', 'FAILED', 'ROLLED_BACK']),
    deployedAt: time,
    completedAt: time.nullable(),
    promotionId: z.string().nullable(),
    digest: z.string(),
    deployedBy: z.string(),
    artifact: z.string().optional(),
    gateway: z.string().optional(),
  })
  .strict()
  .meta({ id: 'Deployment' });

const keyed = /* @__PURE__ */ z.object({ kind: z.enum(['config', 'flag']), key: z.string(), value: z.unknown() }).strict();
/** Seed 000's diff: what promoting source onto target would change. */
const diff = /* @__PURE__ */ z
  .object({
    sourceEnvironment: z.string(),
    targetEnvironment: z.string(),
    sourceSnapshot: z.object({ seq: z.number().int(), digest }).strict(),
    targetSnapshot: z.object({ seq: z.number().int(), digest }).strict(),
    added: z.array(keyed),
    modified: z.array(z.object({ kind: z.enum(['config', 'flag']), key: z.string(), sourceValue: z.unknown(), targetValue: z.unknown() }).strict()),
    removed: z.array(keyed),
    unchanged: z.number().int(),
  })
  .strict()
  .meta({ id: 'Diff' });

const evidence = /* @__PURE__ */ z
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

const broken = /* @__PURE__ */ z.object({ seq: z.number().int(), reason: z.string() }).strict();
const auditVerify = /* @__PURE__ */ z
  .object({
    ok: z.boolean(),
    checked: z.number().int().describe('entries linked and checked'),
    head: z.object({ seq: z.number().int(), hash: z.string() }).strict().nullable(),
    firstBroken: broken.optional(),
    headSeq: z.number().int(),
    pending: z.number().int().describe('entries written but not linked yet (never counted as broken)'),
    checkpoints: z.object({ count: z.number().int(), latestSeq: z.number().int(), forged: z.number().int() }).strict(),
  })
  .strict()
  .meta({ id: 'AuditVerification' });

const auditPublicKey = /* @__PURE__ */ z
  .object({
    algorithm: z.literal('ECDSA_SHA_256'),
    curve: z.literal('P-256'),
    keyId: z.string().describe('sha256:<hex> of the key\'s DER SubjectPublicKeyInfo (openssl pkey -pubin -outform der | sha256sum)'),
    publicKeyPem: z.string().describe('the public key, PEM (SubjectPublicKeyInfo): pass it to `stageline audit verify --public-key`'),
    signedMessage: z.string().describe('the bytes each checkpoint signature covers'),
  })
  .strict()
  .meta({ id: 'AuditPublicKey' });

const repoLink = /* @__PURE__ */ z
  .object({
    artifact: z.string(),
    id: z.string(),
    registry: z.string(),
    repository: z.string(),
    tags: z.union([z.object({ semver: z.literal(true) }).strict(), z.object({ pattern: z.string() }).strict()]),
    createdAt: time,
    createdBy: z.string(),
  })
  .strict()
  .meta({ id: 'RegistryLink' });

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

/** The one error body of the API (functions/http/errors.ts writes it for every mapped error and for a 500). */
export const errorBody = /* @__PURE__ */ z
  .object({
    error: z
      .object({
        code: z.string().meta({ examples: ['VALIDATION_FAILED', 'UNAUTHENTICATED', 'FORBIDDEN', 'ENVIRONMENT_NOT_FOUND', 'VERSION_CONFLICT', 'CONCURRENT_MODIFICATION', 'RULE_VIOLATION', 'INTERNAL'] }),
        message: z.string().describe('What to fix'),
        issues: z.array(z.object({ path: z.string(), message: z.string() }).strict()).optional().describe('400: every validation issue'),
        requestId: z.string().optional().describe('500: quote it when reporting the error'),
      })
      .passthrough()
      .describe('more fields by code: what was not found, the methods allowed, the current digest, …'),
  })
  .strict()
  .meta({ id: 'Error' });

/** What the gateway answers itself, before any function runs (API Gateway's JWT authorizer, IAM auth, throttling; the local gateway alike). */
export const gatewayMessage = /* @__PURE__ */ z
  .object({ message: z.string().meta({ examples: ['Unauthorized', 'Forbidden', 'Too Many Requests', 'Request Entity Too Large', 'Internal Server Error'] }), requestId: z.string().optional() })
  .strict()
  .meta({ id: 'GatewayMessage' });

/** A reply to a Slack interaction: shown to the one user who pressed the button. */
const slackLink = /* @__PURE__ */ z
  .object({ id: z.string(), teamId: z.string(), userId: z.string(), accountId: z.string(), email: z.string(), linkedAt: time })
  .strict()
  .meta({ id: 'SlackLink' });

const slackReply = /* @__PURE__ */ z
  .object({ response_type: z.literal('ephemeral'), replace_original: z.literal(false).optional().describe('the message with the buttons stays (absent on a 404)'), text: z.string() })
  .strict()
  .meta({ id: 'SlackReply' });

const metricsSummary = /* @__PURE__ */ z
  .object({
    deployments: z.number().int(),
    failed: z.number().int(),
    rolledBack: z.number().int(),
    rollbackRate: z.number().describe('rolledBack / deployments (0 without deployments)'),
    durationSeconds: z
      .object({
        mean: z.number().nullable(),
        medianAtMost: z.number().nullable().describe('the upper bound of the duration bucket (powers of two seconds) the median falls in'),
        p90AtMost: z.number().nullable(),
      })
      .strict(),
    leadTimeHours: z.number().nullable().describe('mean time from an image first seen to its deployment into the last environment'),
  })
  .strict();
const deploymentMetrics = /* @__PURE__ */ z
  .object({
    environments: z.array(
      z
        .object({
          environment: z.string(),
          from: z.string().describe('YYYY-MM-DD'),
          to: z.string().describe('YYYY-MM-DD'),
          period: z.enum(['day', 'week', 'month']),
          total: metricsSummary,
          periods: z.array(metricsSummary.extend({ period: z.string().describe('YYYY-MM-DD, YYYY-MM, or the Monday of a week as YYYY-MM-DD/week') }).strict()),
        })
        .strict(),
    ),
    versions: z.array(z.object({ environment: z.string(), imageTag: z.string().nullable() }).strict()).describe('what each environment runs now, in line order'),
    drift: z.array(z.object({ environment: z.string(), behind: z.string().describe('the environment before it in the line'), differs: z.boolean() }).strict()),
  })
  .strict()
  .meta({ id: 'DeploymentMetrics' });

/** The contract itself (GET /api/v1/openapi.json). */
const openApiDocument = /* @__PURE__ */ z
  .object({
    openapi: z.literal('3.1.0'),
    info: z.object({ title: z.string(), version: z.string(), description: z.string() }).strict(),
    servers: z.array(z.object({ url: z.string() }).strict()),
    paths: z.record(z.string(), z.partialRecord(z.enum(['get', 'post', 'put', 'patch', 'delete']), open)).describe('path → method → operation'),
    webhooks: z.record(z.string(), open).describe('event name → the request Stageline sends to subscribed URLs'),
    components: z.object({ schemas: z.record(z.string(), open), responses: z.record(z.string(), open), securitySchemes: z.record(z.string(), open) }).strict(),
  })
  .strict()
  .meta({ id: 'OpenApiDocument' });

/**
 * GET /api/v1/manifest?format=json: the document apply takes (domain/manifest/document.ts), as exported: every
 * part but notifications always there, and the line as it is (empty for a tenant without environments).
 */
const exported = /* @__PURE__ */ manifestSchema.shape.artifacts.shape.promotion;
const manifestDocument = /* @__PURE__ */ z
  .object({
    artifacts: z
      .object({
        promotion: exported
          .extend({
            environments: z.array(z.string()).describe('the line, in order'),
            environment_settings: exported.shape.environment_settings.unwrap(),
            gates: exported.shape.gates.unwrap(),
            webhook_gates: exported.shape.webhook_gates.unwrap(),
            approval_rules: exported.shape.approval_rules.unwrap(),
            freeze_windows: exported.shape.freeze_windows.unwrap(),
            webhooks: exported.shape.webhooks.unwrap(),
            git_targets: exported.shape.git_targets.unwrap(),
            registry_links: exported.shape.registry_links.unwrap(),
            cross_registry_sync: z.literal(true),
            verification: exported.shape.verification.unwrap(),
          })
          .strict(),
      })
      .strict(),
  })
  .strict()
  .meta({ id: 'Manifest', description: "seed 003's manifest.yaml (artifacts.promotion) with what Stageline adds" });

/** GET /api/v1/manifest/schema.json: the manifest document (components/schemas/Manifest) as a JSON Schema. */
const manifestJsonSchema = /* @__PURE__ */ z
  .object({
    title: z.string(),
    $schema: z.literal('https://json-schema.org/draft/2020-12/schema'),
    type: z.literal('object'),
    properties: z.object({ artifacts: open }).strict(),
    required: z.array(z.string()),
    additionalProperties: z.literal(false),
    $defs: z.record(z.string(), open).optional(),
  })
  .strict()
  .meta({ id: 'ManifestJsonSchema' });

/**
 * Response schema per handler, or per name a route gives in `response.schema` (functions/http/routes.ts)
 * where one handler answers its routes differently. A route with neither (and no text answer
 * declared) is published with an open object, and test/unit/openapi.test.ts fails.
 */
export const RESPONSES: Record<string, z.ZodType> = {
  'environments-list': z.object({ items: z.array(environmentResponse) }).strict(),
  'environments-get': environmentResponse,
  'environments-create': environmentResponse,
  'environments-update': environmentResponse,
  'promotions-create': promotionCreateResponse,
  'promotions-list': z.object({ items: z.array(promotionResponse), nextCursor: z.string().nullable().optional() }).strict(),
  'promotions-get': promotionDetailResponse,
  'promotions-approve': promotionDetailResponse,
  'promotions-reject': promotionResponse,
  'promotions-cancel': promotionResponse,
  'promotions-validate': promotionResponse,
  'promotions-schedule': promotionResponse,
  'items-get': itemResponse,
  'items-create': itemResponse,
  'items-update': itemResponse,
  'audit-list': z.object({ items: z.array(auditEntry), nextCursor: z.string().nullable().optional() }).strict(),
  'rules-list': z.object({ items: z.array(rule) }).strict(),
  'rules-get': rule,
  'rules-create': rule,
  'rules-update': rule,
  'snapshots-list': z.object({ items: z.array(snapshot), nextCursor: z.string().nullable().optional() }).strict(),
  'artifacts-publish': z
    .object({
      artifact: artifactVersion,
      environment: z.string().describe('the first environment of the line'),
      created: z.boolean().describe('false: the same version and digest were already published'),
      registries: z.array(z.object({ registry: z.string(), digest: digest.nullable(), tags: z.array(z.string()) }).strict()).optional(),
    })
    .strict(),
  'artifacts-versions': z.union([
    z.object({ artifact: z.string(), versions: z.array(artifactVersion) }).strict(),
    z
      .object({
        artifact: z.string(),
        environment: z.string(),
        latest: z.object({ version: z.string(), digest, tag: z.string() }).strict().nullable(),
        versions: z.array(z.object({ version: z.string(), digest, tag: z.string(), kind: z.enum(['release', 'rollback']), createdAt: time, createdBy: z.string(), current: z.boolean() }).strict()),
      })
      .strict(),
  ]),
  'items-list': z.object({ items: z.array(itemResponse), nextCursor: z.string().nullable().optional() }).strict(),
  'snapshots-get': snapshot,
  'consumers-list': z.object({ items: z.array(consumer) }).strict(),
  'consumers-put': consumer,
  'artifacts-tag': z
    .object({ name: z.string(), artifact: z.string(), version: z.string(), digest, environment: z.string(), kind: z.enum(['release', 'latest', 'rollback']), mutable: z.boolean(), createdAt: time, createdBy: z.string() })
    .strict(),
  'deployments-history': z.array(deployment).describe("seed 001's shape: a plain array, newest first; the next page's cursor is in X-Next-Cursor"),
  'deployments-record': deployment,
  'promotions-execute': z.union([z.object({ accepted: z.literal(true), promotion: promotionResponse }).strict(), z.object({ dryRun: z.literal(true) }).passthrough()]),
  'environments-rollback': z.union([z.object({ dryRun: z.literal(false), impact: open, promotion: promotionResponse }).strict(), z.object({ dryRun: z.literal(true), impact: open }).passthrough()]),
  'items-batch': z
    .object({
      environment: z.string(),
      snapshot: z.object({ seq: z.number().int(), digest }).strict().describe('the snapshot the batch made (or the current one when nothing changed)'),
      created: z.number().int(),
      updated: z.number().int(),
      deleted: z.number().int(),
      unchanged: z.number().int(),
      notFound: z.number().int(),
    })
    .strict(),
  'snapshots-restore': environmentResponse,
  'promotions-rebase': promotionResponse,
  'artifacts-resolve': z
    .object({ artifact: z.string(), constraint: z.string(), kind: z.string(), version: z.string(), digest, environment: z.string().nullable().optional(), warning: z.string().optional() })
    .strict(),
  'promotions-decision': decision,
  'diff-snapshots': z
    .object({
      from: z.object({ id: z.string().describe('<environment>@<seq>'), digest }).strict(),
      to: z.object({ id: z.string(), digest }).strict(),
      added: z.array(keyed),
      modified: z.array(z.object({ kind: z.enum(['config', 'flag']), key: z.string(), fromValue: z.unknown(), toValue: z.unknown() }).strict()),
      removed: z.array(keyed),
      unchanged: z.number().int(),
    })
    .strict(),
  'promotions-rollback': z.union([
    z.object({ promotion: promotionResponse, reverts: z.array(open), impact: open.optional() }).strict(),
    z.object({ dryRun: z.literal(true) }).passthrough(),
  ]),
  'promotions-auto-check': z.object({ checks: z.array(open).describe('per auto-promotion rule: whether it would promote, and why (not)') }).strict(),
  'diff-environments': diff,
  'artifacts-evidence': evidence,
  'promotions-evidence': evidence,
  'snapshots-evidence': evidence,
  'audit-verify': auditVerify,
  'audit-public-key': auditPublicKey,
  'freeze-windows': freezeListResponse,
  'notifications-get': notificationSettings,
  'notifications-put': notificationSettings,
  status: statusResponse,
  'freeze-create': freezeWindow,
  'manifest-apply': manifestApplyResponse,
  manifest: z.object({ digest: digest.describe('of the setup planned against: apply with expectedDigest refuses a stale plan'), changes: z.array(manifestChange), summary: manifestSummary }).strict(),
  'manifest-document': manifestDocument,
  'manifest-schema': manifestJsonSchema,
  openapi: openApiDocument,
  health: z.object({ status: z.literal('ok'), service: z.literal('stageline') }).strict(),
  'deployments-metrics': deploymentMetrics,
  // Stageline's one error shape, for routes whose declared errors are not in their success's format.
  error: errorBody,
  slack: slackReply,
  'slack-links': z
    .object({
      code: z.string().describe('<tenant>.<12 characters>: send it from Slack as `/stageline link CODE`'),
      command: z.string(),
      expiresAt: time,
      account: z.string().describe('the account the code links to: always the caller'),
      singleUse: z.literal(true),
    })
    .strict(),
  'slack-links-list': z.object({ items: z.array(slackLink) }).strict(),
  ...CONSUME_RESPONSES,
  ...WEBHOOK_RESPONSES,
  ...GITOPS_RESPONSES,
  'artifacts-links': z.object({ items: z.array(repoLink) }).strict(),
  'artifacts-links-create': repoLink.extend({ notifyToken: z.string().describe('send it as Authorization: Bearer from the registry; shown only now') }).strict(),
  'registry-notifications': z.object({ results: z.array(open).describe('per tagged manifest push: the version published (created or already there), or why it was skipped') }).strict(),
};

/** The schema of a route's JSON answer: the one it names, else its handler's. */
export const responseOf = (route: { handler: string; response?: { schema?: string } }): z.ZodType | undefined => RESPONSES[route.response?.schema ?? route.handler];

/** Request bodies that are forms (application/x-www-form-urlencoded), per handler of a route declaring `form`. */
export const FORMS: Record<string, z.ZodType> = {
  review: z.object({
    action: z.enum(['approve', 'reject']),
    reason: z.string().optional().describe('why; required to reject (at most 1,000 characters are kept)'),
    nonce: z.string().describe('the nonce of the page this form came from (valid for 30 minutes)'),
  }),
  'slack-actions': z.object({
    payload: z
      .string()
      .describe('the interaction as JSON, as Slack posts it: team.id (a workspace the tenant bound), user.id (who linked their own account), actions[0].action_id (approve | reject) and actions[0].value (<tenant>:<promotion id>)'),
  }),
  'slack-commands': z
    .object({
      team_id: z.string().describe('the workspace (bound by the tenant)'),
      user_id: z.string().describe('the Slack user who sent the command: the one linked'),
      command: z.string().describe('/stageline'),
      text: z.string().describe('link CODE (the code from POST /api/v1/slack/link-codes)'),
    })
    .passthrough()
    .describe('as Slack posts a slash command (it sends more fields; they are ignored)'),
};
