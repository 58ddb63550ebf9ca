import * as z from 'zod';
import { envName, itemKey } from '../schemas.ts';
import { GLOB_PATTERN, globStars, MAX_GLOB_STARS, MAX_GLOB_STARS_TOTAL } from '../glob.ts';
import type { Condition } from './model.ts';
import { STATUS_ALIASES, STATUSES, statusesFor, type Status } from './lifecycle.ts';

/** Accepts snake_case as well as camelCase (one model, both request shapes). */
function camelKeys(v: unknown): unknown {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return v;
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase()), x]));
}

const OPS = ['eq', 'ne', 'gt', 'gte', 'lt', 'lte', 'in', 'contains', 'exists'] as const;
export const condition: z.ZodType<Condition> = /* @__PURE__ */ z.lazy(() =>
  z.union([
    z.object({ all: z.array(condition).max(50) }).strict(),
    z.object({ any: z.array(condition).max(50) }).strict(),
    z
      .object({ field: z.string().min(1).max(200), op: z.enum(OPS), value: z.json().optional() })
      .strict()
      .refine((l) => l.op === 'exists' || l.value !== undefined, { message: 'value is required for this op' })
      .refine((l) => l.op !== 'in' || Array.isArray(l.value), { message: "'in' needs an array value" })
      // The same rules for the OpenAPI document (JSON Schema cannot run the refinements).
      .meta({
        allOf: [
          { if: { properties: { op: { const: 'exists' } } }, else: { required: ['value'] } },
          { if: { properties: { op: { const: 'in' } } }, then: { properties: { value: { type: 'array' } } } },
        ],
      }),
  ]),
);

const semverLike = /* @__PURE__ */ z.string().regex(/^v?\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/, 'must be a semantic version, e.g. v1.2.3');
export const artifactName = /* @__PURE__ */ z.string().regex(/^[a-z0-9][a-z0-9._-]{0,99}$/, 'must be 1-100 characters: lower-case letters, digits, . _ -');
export const sha256Digest = /* @__PURE__ */ z.string().regex(/^sha256:[0-9a-f]{64}$/, "must be 'sha256:' followed by 64 hex digits");

/** An artifact version's metadata is stored as its JSON text, within one item. */
export const MAX_METADATA_BYTES = 64 * 1024;

export const publishArtifact = /* @__PURE__ */ z
  .object({
    version: semverLike,
    digest: sha256Digest,
    sourceCommit: z.string().max(100).default(''),
    gitBranch: z.string().max(200).default(''),
    metadata: z
      .record(z.string(), z.json())
      .refine((m) => Buffer.byteLength(JSON.stringify(m)) <= MAX_METADATA_BYTES, `metadata must be at most ${MAX_METADATA_BYTES} bytes of JSON`)
      .default({}),
  })
  .strict();
export type PublishArtifact = z.infer<typeof publishArtifact>;

const common = {
  sourceEnvironment: envName,
  targetEnvironment: envName,
  notes: z.string().max(2000).default(''),
  dryRun: z.boolean().default(false),
  /** false keeps it PENDING until POST /validate (step-by-step flow); default: true on /promotions, false on /config/promotions */
  autoStart: z.boolean().optional(),
  /** when execution starts once approved */
  trigger: z.enum(['on_approval', 'manual']).default('on_approval'),
  /** a freeze window over the target when it is time to execute: wait for its end (held, then resumed by the scheduler) or fail */
  whenFrozen: z.enum(['wait', 'fail']).default('fail'),
};

export const createConfigPromotion = /* @__PURE__ */ z
  .object({
    ...common,
    promotionType: z.enum(['FULL', 'SELECTIVE', 'PATTERN']).default('FULL'),
    // Ids as the API returns them (UUIDs); any other string simply selects nothing and is reported as unmatched.
    configIds: z.array(z.string().min(1).max(100)).max(1000).default([]),
    flagIds: z.array(z.string().min(1).max(100)).max(1000).default([]),
    // Globs (domain/glob.ts), matched in time linear in the key; stars are bounded per pattern and per request.
    keyPatterns: z
      .array(
        z
          .string()
          .regex(GLOB_PATTERN, 'must be 1-256 characters: the characters of a key (letters, digits, _ . - / :) and the wildcards * ** ?')
          .refine((p) => globStars(p) <= MAX_GLOB_STARS, { message: `may hold at most ${MAX_GLOB_STARS} stars` }),
      )
      .max(100)
      .refine((ps) => ps.reduce((n, p) => n + globStars(p), 0) <= MAX_GLOB_STARS_TOTAL, { message: `may hold at most ${MAX_GLOB_STARS_TOTAL} stars in all` })
      .default([]),
  })
  .strict()
  .superRefine((b, ctx) => {
    if (b.promotionType === 'SELECTIVE' && b.configIds.length + b.flagIds.length + b.keyPatterns.length === 0) {
      ctx.addIssue({ code: 'custom', path: ['configIds'], message: 'SELECTIVE needs configIds, flagIds or keyPatterns' });
    }
    if (b.promotionType === 'PATTERN' && b.keyPatterns.length === 0) {
      ctx.addIssue({ code: 'custom', path: ['keyPatterns'], message: 'PATTERN needs keyPatterns' });
    }
  })
  .meta({
    allOf: [
      {
        if: { properties: { promotionType: { const: 'SELECTIVE' } }, required: ['promotionType'] },
        then: { anyOf: ['configIds', 'flagIds', 'keyPatterns'].map((k) => ({ required: [k], properties: { [k]: { minItems: 1 } } })) },
      },
      { if: { properties: { promotionType: { const: 'PATTERN' } }, required: ['promotionType'] }, then: { required: ['keyPatterns'], properties: { keyPatterns: { minItems: 1 } } } },
    ],
  });
export type CreateConfigPromotion = z.infer<typeof createConfigPromotion>;

export const createArtifactPromotion = /* @__PURE__ */ z
  .object({ ...common, artifact: artifactName, version: semverLike })
  .strict();
export type CreateArtifactPromotion = z.infer<typeof createArtifactPromotion>;

/**
 * The agent promotion body: the agent is the artifact, the source deployment names the release and the
 * environment it runs in, the gateway is the deployment target within the target environment.
 */
export const createAgentPromotion = /* @__PURE__ */ z
  .object({
    agentId: artifactName,
    sourceDeploymentId: z.string().min(1).max(100),
    targetGatewayId: z.string().min(1).max(200),
    targetEnvironment: envName,
    notes: common.notes,
    dryRun: common.dryRun,
    autoStart: common.autoStart,
    trigger: common.trigger,
    whenFrozen: common.whenFrozen,
  })
  .strict();
export type CreateAgentPromotion = z.infer<typeof createAgentPromotion>;

/**
 * POST /api/v1/promotions takes three shapes: a body naming an `artifact` promotes a version,
 * one naming an `agent_id` is an agent promotion, any other a config set.
 */
export const createPromotion = /* @__PURE__ */ z.preprocess(
  camelKeys,
  z.custom<Record<string, unknown>>((v) => !!v && typeof v === 'object' && !Array.isArray(v), 'body must be a JSON object'),
).pipe(
  z.custom<Record<string, unknown>>().transform((body, ctx) => {
    const schema = 'artifact' in body ? createArtifactPromotion : 'agentId' in body ? createAgentPromotion : createConfigPromotion;
    const r = schema.safeParse(body);
    if (!r.success) {
      for (const i of r.error.issues) ctx.addIssue({ ...i, code: 'custom', message: i.message, path: i.path } as never);
      return z.NEVER;
    }
    return r.data as CreateArtifactPromotion | CreateConfigPromotion | CreateAgentPromotion;
  }),
);
export type CreatePromotion = CreateArtifactPromotion | CreateConfigPromotion;

export const approveBody = /* @__PURE__ */ z.object({ comment: z.string().max(1000).optional() }).strict();
export const rejectBody = /* @__PURE__ */ z.object({ reason: z.string().trim().min(1, 'give a reason for the rejection').regex(/\S/, 'must not be blank').max(1000) }).strict();
export const cancelQuery = /* @__PURE__ */ z.object({ reason: z.string().trim().min(1).regex(/\S/, 'must not be blank').max(1000).optional() }).strict();
export const executeBody = /* @__PURE__ */ z.object({ dryRun: z.boolean().default(false) }).strict();
export const scheduleBody = /* @__PURE__ */ z
  .object({ at: z.iso.datetime({ offset: true, message: 'at must be an ISO-8601 date-time in the future, e.g. 2026-12-01T09:00:00Z' }).describe('In the future (a time past is refused with 400)') })
  .strict();

/** The smallest magnitude DynamoDB stores a number with (evidence is stored as native numbers). */
const MIN_STORED_MAGNITUDE = 1e-130;
/** A measurement: 0, or at least 1e-130 in magnitude (the OpenAPI document states it too). */
const measure = (n: z.ZodNumber = z.number()) =>
  n
    .refine((v) => v === 0 || Math.abs(v) >= MIN_STORED_MAGNITUDE, { message: `must be 0 or at least ${MIN_STORED_MAGNITUDE} in magnitude` })
    .meta({ not: { exclusiveMinimum: -MIN_STORED_MAGNITUDE, exclusiveMaximum: MIN_STORED_MAGNITUDE, not: { const: 0 } } });

export const evidenceBody = /* @__PURE__ */ z.discriminatedUnion('type', [
  z.object({ type: z.literal('test_results'), payload: z.object({ passed: z.number().int().min(0), failed: z.number().int().min(0), skipped: z.number().int().min(0).default(0), suite: z.string().max(200).optional() }).strict() }).strict(),
  z.object({ type: z.literal('security_scan'), payload: z.object({ critical: z.number().int().min(0), high: z.number().int().min(0), medium: z.number().int().min(0).default(0), low: z.number().int().min(0).default(0), signatureVerified: z.boolean().optional(), scanner: z.string().max(100).optional() }).strict() }).strict(),
  z.object({ type: z.literal('cost_estimate'), payload: z.object({ monthlyDelta: measure(), currency: z.string().length(3).default('USD'), budget: measure().optional() }).strict() }).strict(),
  z.object({ type: z.literal('benchmark'), payload: z.object({ metric: z.string().min(1).max(100), value: measure(), baseline: measure(), tolerancePct: measure(z.number().min(0).max(1000)).default(10), higherIsBetter: z.boolean().default(false) }).strict() }).strict(),
  z.object({ type: z.literal('policy'), payload: z.object({ passed: z.boolean(), violations: z.array(z.string().max(500)).max(100).default([]) }).strict() }).strict(),
  z.object({ type: z.literal('metrics'), payload: z.record(z.string().regex(/^[a-z][a-z0-9_]{0,63}$/), measure()) }).strict(),
  z.object({ type: z.literal('alarm'), payload: z.object({ name: z.string().min(1).max(200), state: z.enum(['OK', 'ALARM']), reason: z.string().max(500).optional() }).strict() }).strict(),
]);
export type EvidenceBody = z.infer<typeof evidenceBody>;

const ruleFields = {
  name: z.string().trim().min(1).regex(/\S/, 'must not be blank').max(200),
  sourceEnvironment: envName,
  targetEnvironment: envName,
  requiresApproval: z.boolean(),
  requiredApprovers: z.number().int().min(0).max(20),
  approverGroups: z.array(z.string().min(1).max(100)).min(1).max(20),
  separationOfDuties: z.boolean(),
  approvalExpirySeconds: z.number().int().min(1).max(30 * 24 * 3600),
  autoPromote: z.boolean(),
  conditions: condition.nullable(),
  allowSkip: z.boolean(),
  status: z.enum(['active', 'disabled']),
  evidenceFrom: z.union([z.enum(['anyone', 'not-requester', 'machine']), z.string().regex(/^group:[A-Za-z0-9_.@+=,-]{1,100}$/, "must be anyone, not-requester, machine or group:<name>")]) as z.ZodType<import('./model.ts').EvidenceFrom>,
};

export const createRule = /* @__PURE__ */ z.preprocess(
  camelKeys,
  z
    .object({
      ...ruleFields,
      requiresApproval: ruleFields.requiresApproval.default(true),
      requiredApprovers: ruleFields.requiredApprovers.default(1),
      approverGroups: ruleFields.approverGroups.default(['approver', 'admin']),
      separationOfDuties: ruleFields.separationOfDuties.default(true),
      approvalExpirySeconds: ruleFields.approvalExpirySeconds.default(86_400),
      autoPromote: ruleFields.autoPromote.default(false),
      conditions: ruleFields.conditions.default(null),
      allowSkip: ruleFields.allowSkip.default(false),
      evidenceFrom: ruleFields.evidenceFrom.default('anyone'),
      status: ruleFields.status.default('active'),
    })
    .strict()
    .refine((r) => !r.requiresApproval || r.requiredApprovers >= 1, { message: 'requiredApprovers must be at least 1 when approval is required', path: ['requiredApprovers'] })
    .meta({ if: { not: { properties: { requiresApproval: { const: false } }, required: ['requiresApproval'] } }, then: { properties: { requiredApprovers: { minimum: 1 } } } }),
);
export type CreateRule = z.infer<typeof createRule>;

export const updateRule = /* @__PURE__ */ z.preprocess(
  camelKeys,
  z.object({ version: z.number().int().min(1), ...Object.fromEntries(Object.entries(ruleFields).map(([k, v]) => [k, v.optional()])) } as {
    version: z.ZodNumber;
  } & { [K in keyof typeof ruleFields]: z.ZodOptional<(typeof ruleFields)[K]> }).strict(),
);
export type UpdateRule = z.infer<typeof updateRule>;

export const listPromotionsQuery = /* @__PURE__ */ z
  .object({
    // The lower-case names cover several statuses (lifecycle.ts STATUS_ALIASES); exact statuses in any case.
    status: z
      .string()
      .meta({ enum: [...Object.keys(STATUS_ALIASES), ...STATUSES, ...STATUSES.map((s) => s.toLowerCase())].filter((s, i, all) => all.indexOf(s) === i) })
      .transform((s, ctx) => {
        const statuses = statusesFor(s);
        if (statuses) return statuses;
        ctx.addIssue({ code: 'custom', message: `must be one of ${Object.keys(STATUS_ALIASES).join(', ')} or a status: ${STATUSES.join(', ')} (any case)` });
        return z.NEVER;
      })
      .optional() as z.ZodOptional<z.ZodType<Status[], string>>,
    source: envName.optional(),
    target: envName.optional(),
    subject: z.string().min(1).max(120).optional(),
    limit: z.coerce.number().int().min(1).max(200).default(50),
    cursor: z.string().min(1).max(2048).describe('Opaque: a value the previous page returned (X-Next-Cursor or next); any other is refused with 400').optional(),
  })
  .strict();
export type ListPromotionsQuery = z.infer<typeof listPromotionsQuery>;

export const autoCheckBody = /* @__PURE__ */ z
  .object({
    sourceEnvironment: envName,
    artifact: artifactName.optional(),
    version: semverLike.optional(),
  })
  .strict()
  .refine((b) => !b.artifact === !b.version, { message: 'give artifact and version together (or neither, for the config set)' })
  .meta({ dependentRequired: { artifact: ['version'], version: ['artifact'] } });

export { itemKey };

export const rollbackBody = /* @__PURE__ */ z
  .object({ reason: z.string().trim().min(1, 'say why you roll back').regex(/\S/, 'must not be blank').max(1000), dryRun: z.boolean().default(false), override: z.boolean().default(false) })
  .strict();

export const envRollbackBody = /* @__PURE__ */ z
  .object({
    artifact: artifactName.optional(),
    version: semverLike.optional(),
    snapshot: z.number().int().min(0).optional(),
    dryRun: z.boolean().default(false),
    reason: z.string().trim().min(1).regex(/\S/, 'must not be blank').max(1000).optional(),
    override: z.boolean().default(false),
  })
  .strict()
  .refine((b) => (b.snapshot === undefined) !== !(b.artifact && b.version), { message: 'give either snapshot (configs) or artifact and version' })
  .meta({ oneOf: [{ required: ['snapshot'] }, { required: ['artifact', 'version'] }] });
