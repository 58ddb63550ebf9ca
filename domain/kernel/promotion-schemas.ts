import * as z from './zod.ts';
import { envName, itemKey, pageCursor, sha256Digest, soakSeconds } from './schemas.ts';

export { sha256Digest };
import { GLOB_PATTERN, globStars, MAX_GLOB_STARS, MAX_GLOB_STARS_TOTAL } from './glob.ts';
import type { Condition, EvidenceFrom } from './promotion-model.ts';
import { STATUS_ALIASES, STATUSES, statusesFor, type Status } from './lifecycle.ts';
import { noReservedSegment, notReserved } from './reserved-keys.ts';

/**
 * Accepts snake_case as well as camelCase (one model, both request shapes), one spelling per field: a body that
 * names a field twice (`targetEnvironment` and `target_environment`) is refused, naming both, and never resolved by
 * which key came last (the environment the caller is authorized in must be the one the command acts in).
 */
const camelOf = (k: string) => k.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase());
function camelKeys(v: unknown, ctx: z.core.ParsePayload): unknown {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return v;
  const out = new Map<string, unknown>();
  const spelled = new Map<string, string>();
  let twice = false;
  for (const [k, x] of Object.entries(v)) {
    const name = camelOf(k);
    const first = spelled.get(name);
    if (first !== undefined) {
      twice = true;
      z.addIssue(ctx, { code: 'custom', path: [name], message: `is given twice, as '${first}' and as '${k}': send one spelling` });
      continue;
    }
    spelled.set(name, k);
    out.set(name, x);
  }
  return twice ? z.NEVER : Object.fromEntries(out);
}

const OPS = ['eq', 'ne', 'gt', 'gte', 'lt', 'lte', 'in', 'contains', 'exists'] as const;
export const condition: z.ZodMiniType<Condition> = /* @__PURE__ */ z.lazy(() =>
  z.union([
    z.strictObject({ all: z.array(condition).check(z.maxLength(50)) }),
    z.strictObject({ any: z.array(condition).check(z.maxLength(50)) }),
    z.strictObject({ field: z.string().check(z.minLength(1), z.maxLength(200), noReservedSegment()), op: z.enum(OPS), value: z.optional(z.json()) }).check(
      z.refine((l) => l.op === 'exists' || l.value !== undefined, { message: 'value is required for this op' }),
      z.refine((l) => l.op !== 'in' || Array.isArray(l.value), { message: "'in' needs an array value" }),
      z.meta({
        allOf: [
          { if: { properties: { op: { const: 'exists' } } }, else: { required: ['value'] } },
          { if: { properties: { op: { const: 'in' } } }, then: { properties: { value: { type: 'array' } } } },
        ],
      }),
    ),
  ]),
);

const semverLike = /* @__PURE__ */ z.schema(() =>
  z.string().check(z.regex(/^v?[0-9]+\.[0-9]+\.[0-9]+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/, 'must be a semantic version, e.g. v1.2.3')),
);
export const artifactName = /* @__PURE__ */ z.schema(() =>
  z.string().check(z.regex(/^[a-z0-9][a-z0-9._-]{0,99}$/, 'must be 1-100 characters: lower-case letters, digits, . _ -'), notReserved()),
);

/** An artifact version's metadata is stored as its JSON text, within one item. */
export const MAX_METADATA_BYTES = 64 * 1024;

export const publishArtifact = /* @__PURE__ */ z.schema(() =>
  z.strictObject({
    version: semverLike,
    digest: sha256Digest,
    sourceCommit: z._default(z.string().check(z.maxLength(100)), ''),
    gitBranch: z._default(z.string().check(z.maxLength(200)), ''),
    /** when the change was committed (or built): lead time counts from it, into the first environment too; not in the future */
    committedAt: z.optional(
      z.iso
        .datetime({ offset: true, message: 'must be an ISO-8601 date-time, e.g. 2026-01-31T12:00:00Z (the commit or build time)' })
        .check(z.describe('When the change was committed or built (not in the future): lead time counts from it')),
    ),
    metadata: z._default(
      z
        .record(z.string().check(notReserved()), z.json())
        .check(z.refine((m) => Buffer.byteLength(JSON.stringify(m)) <= MAX_METADATA_BYTES, `metadata must be at most ${MAX_METADATA_BYTES} bytes of JSON`)),
      {},
    ),
  }),
);
export type PublishArtifact = z.infer<typeof publishArtifact>;

const common = {
  sourceEnvironment: envName,
  targetEnvironment: envName,
  notes: z._default(z.string().check(z.maxLength(2000)), ''),
  dryRun: z._default(z.boolean(), false),
  /** false keeps it PENDING until POST /validate (step-by-step flow); default: true on /promotions, false on /config/promotions */
  autoStart: z.optional(z.boolean()),
  /** when execution starts once approved */
  trigger: z._default(z.enum(['on_approval', 'manual']), 'on_approval'),
  /** a freeze window over the target when it is time to execute: wait for its end (held, then resumed by the scheduler) or fail */
  whenFrozen: z._default(z.enum(['wait', 'fail']), 'fail'),
};

export const createConfigPromotion = /* @__PURE__ */ z.schema(() =>
  z
    .strictObject({
      ...common,
      promotionType: z._default(z.enum(['FULL', 'SELECTIVE', 'PATTERN']), 'FULL'),
      // Ids as the API returns them (UUIDs); any other string simply selects nothing and is reported as unmatched.
      configIds: z._default(z.array(z.string().check(z.minLength(1), z.maxLength(100))).check(z.maxLength(1000)), []),
      flagIds: z._default(z.array(z.string().check(z.minLength(1), z.maxLength(100))).check(z.maxLength(1000)), []),
      // Globs (domain/kernel/glob.ts), matched in time linear in the key; stars are bounded per pattern and per request.
      keyPatterns: z._default(
        z
          .array(
            z.string().check(
              z.regex(GLOB_PATTERN, 'must be 1-256 characters: the characters of a key (letters, digits, _ . - / :) and the wildcards * ** ?'),
              z.refine((p) => globStars(p) <= MAX_GLOB_STARS, { message: `may hold at most ${MAX_GLOB_STARS} stars` }),
            ),
          )
          .check(
            z.maxLength(100),
            z.refine((ps) => ps.reduce((n, p) => n + globStars(p), 0) <= MAX_GLOB_STARS_TOTAL, {
              message: `may hold at most ${MAX_GLOB_STARS_TOTAL} stars in all`,
            }),
          ),
        [],
      ),
    })
    .check(
      z.superRefine((b, ctx) => {
        if (b.promotionType === 'SELECTIVE' && b.configIds.length + b.flagIds.length + b.keyPatterns.length === 0) {
          ctx.addIssue({ code: 'custom', path: ['configIds'], message: 'SELECTIVE needs configIds, flagIds or keyPatterns' });
        }
        if (b.promotionType === 'PATTERN' && b.keyPatterns.length === 0) {
          ctx.addIssue({ code: 'custom', path: ['keyPatterns'], message: 'PATTERN needs keyPatterns' });
        }
      }),
      z.meta({
        allOf: [
          {
            if: { properties: { promotionType: { const: 'SELECTIVE' } }, required: ['promotionType'] },
            then: { anyOf: ['configIds', 'flagIds', 'keyPatterns'].map((k) => ({ required: [k], properties: { [k]: { minItems: 1 } } })) },
          },
          {
            if: { properties: { promotionType: { const: 'PATTERN' } }, required: ['promotionType'] },
            then: { required: ['keyPatterns'], properties: { keyPatterns: { minItems: 1 } } },
          },
        ],
      }),
    ),
);
export type CreateConfigPromotion = z.infer<typeof createConfigPromotion>;

export const createArtifactPromotion = /* @__PURE__ */ z.strictObject({ ...common, artifact: artifactName, version: semverLike });
/** A release bundle's name: lower-case letters, digits and . _ - (it is part of its key and its route). */
export const bundleName = artifactName;
/** At most this many artifacts in one bundle: its promotion moves them all in one transaction. */
export const MAX_BUNDLE_MEMBERS = 10;
export const createBundlePromotion = /* @__PURE__ */ z.schema(() =>
  z.strictObject({
    ...common,
    bundle: bundleName,
    /** the bundle's digest; absent: the newest bundle of that name */
    bundleDigest: z.optional(sha256Digest),
  }),
);
export type CreateBundlePromotion = z.infer<typeof createBundlePromotion>;

const keyPatterns = /* @__PURE__ */ z.schema(() =>
  z
    .array(
      z.string().check(
        z.regex(GLOB_PATTERN, 'must be 1-256 characters: the characters of a key (letters, digits, _ . - / :) and the wildcards * ** ?'),
        z.refine((p) => globStars(p) <= MAX_GLOB_STARS, { message: `may hold at most ${MAX_GLOB_STARS} stars` }),
      ),
    )
    .check(z.maxLength(100)),
);

/**
 * POST /bundles: a bundle taken from what an environment runs (`from`, optionally only some of its `artifacts`), or
 * listed by hand (`members`); `config` adds a configuration snapshot (all of it, or the keys matching `keyPatterns`)
 * of `from` or of `config.environment`.
 */
export const createBundleBody = /* @__PURE__ */ z.schema(() =>
  z.pipe(
    z.transform(camelKeys),
    z
      .strictObject({
        name: bundleName,
        from: z.optional(envName).check(z.describe("the environment whose artifacts (and configuration) the bundle takes; give 'from' or 'members', not both")),
        artifacts: z
          .optional(z.array(artifactName).check(z.minLength(1), z.maxLength(MAX_BUNDLE_MEMBERS)))
          .check(z.describe("with 'from' only: the artifacts to take among those it runs (default: all of them)")),
        members: z
          .optional(z.array(z.strictObject({ name: artifactName, version: semverLike })).check(z.minLength(1), z.maxLength(MAX_BUNDLE_MEMBERS)))
          .check(z.describe("without 'from': the artifact versions, each artifact once")),
        config: z
          .optional(z.union([z.boolean(), z.strictObject({ environment: z.optional(envName), keyPatterns: z._default(keyPatterns, []) })]))
          .check(
            z.describe(
              "the configuration snapshot of 'from' (or of config.environment, required without 'from'): true for all of it, keyPatterns for some keys",
            ),
          ),
        notes: z._default(z.string().check(z.maxLength(2000)), ''),
      })
      .check(
        z.superRefine((b, ctx) => {
          if (b.from && b.members)
            ctx.addIssue({ code: 'custom', path: ['members'], message: "give either 'from' (what an environment runs) or 'members', not both" });
          if (!b.from && !b.members && !b.config)
            ctx.addIssue({ code: 'custom', path: ['from'], message: "give 'from' (an environment to take the bundle from) or 'members' (artifact versions)" });
          if (b.artifacts && !b.from)
            ctx.addIssue({ code: 'custom', path: ['artifacts'], message: "'artifacts' chooses among what 'from' runs: give 'from' too" });
          const cfgEnv = typeof b.config === 'object' ? b.config.environment : undefined;
          if (b.config && !b.from && !cfgEnv)
            ctx.addIssue({
              code: 'custom',
              path: ['config'],
              message: "a bundle's configuration is taken from an environment: give 'from' or 'config.environment'",
            });
          const names = (b.members ?? []).map((m) => m.name);
          const dup = names.find((n, i) => names.indexOf(n) !== i);
          if (dup) ctx.addIssue({ code: 'custom', path: ['members'], message: `'${dup}' is listed twice: a bundle pins one version of each artifact` });
        }),
      ),
  ),
);
export type CreateBundle = z.infer<typeof createBundleBody>;
export const bundlesQuery = /* @__PURE__ */ z.schema(() => z.strictObject({ name: z.optional(bundleName) }));

export type CreateArtifactPromotion = z.infer<typeof createArtifactPromotion>;

/**
 * The agent promotion body: the agent is the artifact, the source deployment names the release and the
 * environment it runs in, the gateway is the deployment target within the target environment.
 */
export const createAgentPromotion = /* @__PURE__ */ z.schema(() =>
  z.strictObject({
    agentId: artifactName,
    sourceDeploymentId: z.string().check(z.minLength(1), z.maxLength(100)),
    targetGatewayId: z.string().check(z.minLength(1), z.maxLength(200)),
    targetEnvironment: envName,
    notes: common.notes,
    dryRun: common.dryRun,
    autoStart: common.autoStart,
    trigger: common.trigger,
    whenFrozen: common.whenFrozen,
  }),
);
export type CreateAgentPromotion = z.infer<typeof createAgentPromotion>;

/**
 * POST /api/v1/promotions takes three shapes: a body naming an `artifact` promotes a version,
 * one naming an `agent_id` is an agent promotion, any other a config set.
 */
export const createPromotion = /* @__PURE__ */ z.schema(() =>
  z.pipe(
    z.pipe(
      z.transform(camelKeys),
      z.custom<Record<string, unknown>>((v) => !!v && typeof v === 'object' && !Array.isArray(v), 'body must be a JSON object'),
    ),
    z.pipe(
      z.custom<Record<string, unknown>>(),
      z.transform((body, ctx) => {
        const schema =
          'artifact' in body
            ? createArtifactPromotion
            : 'bundle' in body
              ? createBundlePromotion
              : 'agentId' in body
                ? createAgentPromotion
                : createConfigPromotion;
        const r = schema.safeParse(body);
        if (!r.success) {
          for (const i of r.error.issues) z.addIssue(ctx, { ...i, code: 'custom', message: i.message, path: i.path });
          return z.NEVER;
        }
        return r.data as CreateArtifactPromotion | CreateBundlePromotion | CreateConfigPromotion | CreateAgentPromotion;
      }),
    ),
  ),
);
export type CreatePromotion = CreateArtifactPromotion | CreateBundlePromotion | CreateConfigPromotion;

export const approveBody = /* @__PURE__ */ z.schema(() => z.strictObject({ comment: z.optional(z.string().check(z.maxLength(1000))) }));
export const rejectBody = /* @__PURE__ */ z.schema(() =>
  z.strictObject({
    reason: z.string().check(z.trim(), z.minLength(1, 'give a reason for the rejection'), z.regex(/\S/, 'must not be blank'), z.maxLength(1000)),
  }),
);
export const cancelQuery = /* @__PURE__ */ z.schema(() =>
  z.strictObject({ reason: z.optional(z.string().check(z.trim(), z.minLength(1), z.regex(/\S/, 'must not be blank'), z.maxLength(1000))) }),
);
export const executeBody = /* @__PURE__ */ z.schema(() => z.strictObject({ dryRun: z._default(z.boolean(), false) }));
export const scheduleBody = /* @__PURE__ */ z.schema(() =>
  z.strictObject({
    at: z.iso
      .datetime({ offset: true, message: 'at must be an ISO-8601 date-time in the future, e.g. 2026-12-01T09:00:00Z' })
      .check(z.describe('In the future (a time past is refused with 400)')),
  }),
);

export { evidenceBody, type EvidenceBody } from './evidence-schemas.ts';

const ruleFields = {
  name: z.string().check(z.trim(), z.minLength(1), z.regex(/\S/, 'must not be blank'), z.maxLength(200)),
  sourceEnvironment: envName,
  targetEnvironment: envName,
  requiresApproval: z.boolean(),
  requiredApprovers: z.number().check(z.int(), z.minimum(0), z.maximum(20)),
  approverGroups: z.array(z.string().check(z.minLength(1), z.maxLength(100))).check(z.minLength(1), z.maxLength(20)),
  separationOfDuties: z.boolean(),
  approvalExpirySeconds: z.number().check(z.int(), z.minimum(1), z.maximum(30 * 24 * 3600)),
  autoPromote: z.boolean(),
  conditions: z.nullable(condition),
  allowSkip: z.boolean(),
  soakSeconds: z
    .nullable(soakSeconds)
    .check(
      z.describe(
        "this pair's soak in its source environment, overriding the target environment's soakSeconds (0: none for this pair); null or left out: the environment's",
      ),
    ),
  requireAttestationFrom: z
    .array(envName)
    .check(
      z.maxLength(10),
      z.describe(
        "environments whose signed verification summary the release must carry for this pair, on top of the target environment's requireAttestationFrom",
      ),
    ),
  status: z.enum(['active', 'disabled']),
  evidenceFrom: z.union([
    z.enum(['anyone', 'not-requester', 'machine']),
    z.string().check(z.regex(/^group:[A-Za-z0-9_.@+=,-]{1,100}$/, 'must be anyone, not-requester, machine or group:<name>')),
  ]) as z.ZodMiniType<EvidenceFrom>,
};

export const createRule = /* @__PURE__ */ z.schema(() =>
  z.pipe(
    z.transform(camelKeys),
    z
      .strictObject({
        ...ruleFields,
        requiresApproval: z._default(ruleFields.requiresApproval, true),
        requiredApprovers: z._default(ruleFields.requiredApprovers, 1),
        approverGroups: z._default(ruleFields.approverGroups, ['approver', 'admin']),
        separationOfDuties: z._default(ruleFields.separationOfDuties, true),
        approvalExpirySeconds: z._default(ruleFields.approvalExpirySeconds, 86_400),
        autoPromote: z._default(ruleFields.autoPromote, false),
        conditions: z._default(ruleFields.conditions, null),
        allowSkip: z._default(ruleFields.allowSkip, false),
        soakSeconds: z.optional(ruleFields.soakSeconds),
        requireAttestationFrom: z.optional(ruleFields.requireAttestationFrom),
        evidenceFrom: z._default(ruleFields.evidenceFrom, 'anyone'),
        status: z._default(ruleFields.status, 'active'),
      })
      .check(
        z.refine((r) => !r.requiresApproval || r.requiredApprovers >= 1, {
          message: 'requiredApprovers must be at least 1 when approval is required',
          path: ['requiredApprovers'],
        }),
        z.meta({
          if: { not: { properties: { requiresApproval: { const: false } }, required: ['requiresApproval'] } },
          then: { properties: { requiredApprovers: { minimum: 1 } } },
        }),
      ),
  ),
);
export type CreateRule = z.infer<typeof createRule>;

export const updateRule = /* @__PURE__ */ z.schema(() =>
  z.pipe(
    z.transform(camelKeys),
    z.strictObject({
      version: z.number().check(z.int(), z.minimum(1)),
      ...Object.fromEntries(Object.entries(ruleFields).map(([k, v]) => [k, z.optional(v)])),
    } as {
      version: z.ZodMiniNumber;
    } & { [K in keyof typeof ruleFields]: z.ZodMiniOptional<(typeof ruleFields)[K]> }),
  ),
);
export type UpdateRule = z.infer<typeof updateRule>;

export const listPromotionsQuery = /* @__PURE__ */ z.schema(() =>
  z.strictObject({
    // The lower-case names cover several statuses (lifecycle.ts STATUS_ALIASES); exact statuses in any case.
    status: z.optional(
      z.pipe(
        z.string().check(
          z.meta({
            enum: [...Object.keys(STATUS_ALIASES), ...STATUSES, ...STATUSES.map((s) => s.toLowerCase())].filter((s, i, all) => all.indexOf(s) === i),
          }),
        ),
        z.transform((s, ctx) => {
          const statuses = statusesFor(s);
          if (statuses) return statuses;
          z.addIssue(ctx, {
            code: 'custom',
            message: `must be one of ${Object.keys(STATUS_ALIASES).join(', ')} or a status: ${STATUSES.join(', ')} (any case)`,
          });
          return z.NEVER;
        }),
      ),
    ) as z.ZodMiniOptional<z.ZodMiniType<Status[], string>>,
    source: z.optional(envName),
    target: z.optional(envName),
    subject: z.optional(
      z
        .string()
        .check(
          z.minLength(1),
          z.maxLength(120),
          z.describe(
            "What was promoted: config, an artifact's name, or bundle:<name>. /api/v1/config/promotions lists config only: another subject there is refused with 400",
          ),
        ),
    ),
    limit: z.queryInt(1, 200, 50),
    cursor: z.optional(pageCursor),
  }),
);
export type ListPromotionsQuery = z.infer<typeof listPromotionsQuery>;

/** GET /promotions/plan: the promotions named (comma-separated ids), or every one into an environment not yet executing. */
export const promotionsPlanQuery = /* @__PURE__ */ z.schema(() =>
  z
    .strictObject({
      ids: z.optional(
        z
          .string()
          .check(
            z.regex(/^[A-Za-z0-9_-]{1,100}(?:,[A-Za-z0-9_-]{1,100}){0,49}$/, 'must be 1 to 50 promotion ids separated by commas'),
            z.describe('the promotions to order, comma-separated (at most 50)'),
          ),
      ),
      environment: z.optional(envName),
    })
    .check(z.describe('ids or environment, one of them (both or neither: 422)')),
);

export const autoCheckBody = /* @__PURE__ */ z.schema(() =>
  z
    .strictObject({
      sourceEnvironment: envName,
      artifact: z.optional(artifactName),
      version: z.optional(semverLike),
      bundle: z.optional(bundleName).check(z.describe('a bundle that arrived in the source (not with artifact): checked by its digest')),
      bundleDigest: z.optional(sha256Digest).check(z.describe("the bundle's digest (with bundle; absent: the bundle's version the source runs)")),
    })
    .check(
      z.refine((b) => !b.artifact === !b.version, { message: 'give artifact and version together (or neither, for the config set)' }),
      z.refine((b) => !(b.bundle && b.artifact), { message: 'give a bundle or an artifact, not both' }),
      z.refine((b) => !b.bundleDigest || !!b.bundle, { message: 'bundleDigest goes with bundle' }),
      z.meta({ dependentRequired: { artifact: ['version'], version: ['artifact'], bundleDigest: ['bundle'] } }),
    ),
);

export { itemKey };

export const rollbackBody = /* @__PURE__ */ z.schema(() =>
  z.strictObject({
    reason: z.string().check(z.trim(), z.minLength(1, 'say why you roll back'), z.regex(/\S/, 'must not be blank'), z.maxLength(1000)),
    dryRun: z._default(z.boolean(), false),
    override: z._default(z.boolean(), false),
    /** a freeze window over the environment when the rollback is to run: wait for its end (held, then resumed) or fail */
    whenFrozen: common.whenFrozen,
  }),
);

export const envRollbackBody = /* @__PURE__ */ z.schema(() =>
  z
    .strictObject({
      artifact: z.optional(artifactName),
      version: z.optional(semverLike),
      snapshot: z.optional(z.number().check(z.int(), z.minimum(0))),
      dryRun: z._default(z.boolean(), false),
      reason: z
        .optional(z.string().check(z.trim(), z.minLength(1), z.regex(/\S/, 'must not be blank'), z.maxLength(1000)))
        .check(z.describe('why you roll back: required unless dryRun (a dry run only shows the impact); 400 at body.reason without it')),
      override: z._default(z.boolean(), false),
      whenFrozen: common.whenFrozen,
    })
    .check(
      z.refine((b) => (b.snapshot === undefined) !== !(b.artifact && b.version), { message: 'give either snapshot (configs) or artifact and version' }),
      z.meta({
        oneOf: [{ required: ['snapshot'] }, { required: ['artifact', 'version'] }],
        if: { properties: { dryRun: { const: true } }, required: ['dryRun'] },
        else: { required: ['reason'] },
      }),
    ),
);
