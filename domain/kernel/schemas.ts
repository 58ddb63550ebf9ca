import { monitors } from './alarm-arn.ts';
import { analyses, preAnalyses, rollout, targetName, targets } from './target-schemas.ts';
import { ENTITY_TYPES } from './entity-types.ts';
import * as z from './zod.ts';
import { canonicalJson } from './canonical.ts';
import { allowedHours } from './allowed-hours.ts';
import { ciGateSchema } from './ci-gate.ts';
import { RECEIVER_URL_FORMAT, tenantUrl } from './url-policy.ts';
import { noReservedSegment, notReserved } from './reserved-keys.ts';

/**
 * Input schemas shared by every boundary (HTTP body/query, CLI). Types are
 * inferred from them, so a field exists in exactly one place.
 */
export const ENV_NAME = /^[a-z][a-z0-9-]{0,31}$/;
export const ITEM_KEY = /^[A-Za-z0-9_][A-Za-z0-9_.\-/:]{0,255}$/;
export const MAX_VALUE_BYTES = 8 * 1024;
export const MAX_ENVIRONMENTS = 20;
/**
 * Items one batch may set and delete in all. Sized so a batch commits well inside API Gateway's
 * 29 s (measured locally on DynamoDB Local, on a loaded 2-core machine: 1,000 items in about 9 s;
 * 2,000 ran out of the 29 s). Larger changes go in several batches (each its own snapshot).
 */
export const MAX_BATCH_ITEMS = 1000;
const batchCap = `at most ${MAX_BATCH_ITEMS} items per batch (set and delete together): split the change into several batches`;

/** A content digest as OCI names it. */
export const sha256Digest = /* @__PURE__ */ z.schema(() => z.string().check(z.regex(/^sha256:[0-9a-f]{64}$/, "must be 'sha256:' followed by 64 hex digits")));

export const envName = /* @__PURE__ */ z.schema(() =>
  z.string().check(z.regex(ENV_NAME, 'must be 1-32 characters: lower-case letters, digits and dashes, starting with a letter'), notReserved()),
);

export const itemKey = /* @__PURE__ */ z.schema(() =>
  z.string().check(z.regex(ITEM_KEY, 'must be 1-256 characters: letters, digits and _ . - / :, not starting with punctuation'), noReservedSegment()),
);

export const jsonValue = /* @__PURE__ */ z.schema(() =>
  z.json().check(
    z.refine((v) => Buffer.byteLength(canonicalJson(v)) <= MAX_VALUE_BYTES, {
      message: `value must be at most ${MAX_VALUE_BYTES} bytes of JSON`,
    }),
  ),
);

export const GATE_NAMES = ['policy_compliance', 'tests', 'security_scan', 'cost_analysis', 'performance_baseline'] as const;

export const gates = /* @__PURE__ */ z.schema(() =>
  z.strictObject({
    policy_compliance: z._default(z.literal(true, { message: 'policy_compliance is mandatory and cannot be turned off' }), true),
    tests: z._default(z.boolean(), false),
    security_scan: z._default(z.boolean(), false),
    cost_analysis: z._default(z.boolean(), false),
    performance_baseline: z._default(z.boolean(), false),
  }),
);
export type Gates = z.infer<typeof gates>;

export const webhookGate = /* @__PURE__ */ z.schema(() =>
  z.strictObject({
    name: z.string().check(z.regex(/^[a-z][a-z0-9-]{0,39}$/, 'must be 1-40 characters: lower-case letters, digits, dashes'), notReserved()),
    url: tenantUrl(undefined, RECEIVER_URL_FORMAT),
    timeoutMs: z._default(z.number().check(z.int(), z.minimum(100), z.maximum(25_000)), 5000),
    blocking: z._default(z.boolean(), true),
    secret: z.string().check(z.minLength(16, 'secret must be at least 16 characters'), z.maxLength(256)),
  }),
);
export type WebhookGateConfig = z.infer<typeof webhookGate>;

const webhookGates = /* @__PURE__ */ z.schema(() =>
  z.array(webhookGate).check(
    z.maxLength(10),
    z.refine((hooks) => new Set(hooks.map((h) => h.name)).size === hooks.length, { message: 'webhook gate names must be unique' }),
  ),
);
const concurrency = /* @__PURE__ */ z.schema(() =>
  z
    .enum(['queue', 'reject', 'supersede'])
    .check(
      z.describe(
        'queue (the default): one promotion executes into the environment at a time; another one approved meanwhile waits its turn: held (SCHEDULED, heldBy names that promotion) while that one rolls out through targets or bakes, and it goes on when that one ends; retried for about 5 minutes when the target is only briefly busy. reject: a request while another promotion into it is active is refused (409 TARGET_BUSY). supersede: accepted, and behaves as queue',
      ),
    ),
);

/** Registries by name and URL only: credentials are configuration (REGISTRY_CREDENTIALS), never request data. */
const registries = /* @__PURE__ */ z.schema(() =>
  z
    .array(
      z.strictObject({
        name: z.string().check(z.regex(/^[a-z][a-z0-9-]{0,39}$/, 'must be 1-40 characters: lower-case letters, digits, dashes'), notReserved()),
        url: z.pipe(
          tenantUrl(),
          z.transform((u) => u.replace(/\/+$/, '')),
        ),
      }),
    )
    .check(
      z.maxLength(5),
      z.refine((r) => new Set(r.map((x) => x.name)).size === r.length, { message: 'registry names must be unique' }),
    ),
);

const reason = /* @__PURE__ */ z.schema(() => z.string().check(z.trim(), z.minLength(1), z.regex(/\S/, 'must not be blank'), z.maxLength(1000)));

/** `verification`: digest_match (the copy hashes to the digest), or signature_match (also a Sigstore bundle signed by `signingKey`). */
/** The longest soak an environment or a rule may ask for: 30 days. */
export const MAX_SOAK_SECONDS = 30 * 24 * 3600;
/** How long a release must have run in the source environment, without an alarm, before it is promoted (domain/promotion/run/soak.ts). */
export const soakSeconds = /* @__PURE__ */ z.schema(() =>
  z
    .number()
    .check(
      z.int(),
      z.minimum(0, 'must be 0 (no soak) or more seconds'),
      z.maximum(MAX_SOAK_SECONDS, `must be at most 30 days (${MAX_SOAK_SECONDS} seconds)`),
      z.describe(
        'seconds a release must have run in the source environment (since its deployment there, or its last alarm there after that) before it is promoted into this one; 0: no soak. A promotion that has not soaked waits (SCHEDULED) and goes on when it has',
      ),
    ),
);

export const verification = /* @__PURE__ */ z.enum(['digest_match', 'signature_match']);
const PEM_KEY = /^-----BEGIN PUBLIC KEY-----\n[A-Za-z0-9+/=\n]+\n-----END PUBLIC KEY-----\n?$/;
export const signingKey = /* @__PURE__ */ z.schema(() =>
  z.pipe(
    z.pipe(
      z.string().check(
        z.trim(),
        z.maxLength(4000),
        z.meta({
          pattern: '^[ \\t\\r\\n]*-----BEGIN PUBLIC KEY-----\\n[A-Za-z0-9+/=\\n]+\\n-----END PUBLIC KEY-----[ \\t\\r\\n]*$',
          description: 'A PEM public key (cosign.pub); required when verification is signature_match',
        }),
      ),
      z.transform((k) => `${k}\n`),
    ),
    z.string().check(z.regex(PEM_KEY, 'must be a PEM public key (-----BEGIN PUBLIC KEY----- …), e.g. cosign.pub')),
  ),
);

/** The environments an environment is promoted into from (fan-in; domain/config/graph.ts): names, at most 10. */
export const after = /* @__PURE__ */ z.schema(() =>
  z
    .array(envName)
    .check(
      z.maxLength(10),
      z.describe(
        'the environments this one comes after: a promotion into it comes from one of them, and with afterMode all the release must have reached every one (a join); left out: the environment before it by position',
      ),
    ),
);
export const afterMode = /* @__PURE__ */ z.schema(() =>
  z.enum(['all', 'any']).check(z.describe('with several environments in after: the release must have reached all of them (default) or any one')),
);

/** Environments a release must carry a signed, passing verification summary from (domain/attestation/require.ts): names, at most 10. */
export const requireAttestationFrom = /* @__PURE__ */ z.schema(() =>
  z
    .array(envName)
    .check(
      z.maxLength(10),
      z.describe(
        "environments whose signed verification summary (SLSA VSA, GET /promotions/{id}/attestation) the release must carry: a promotion into each completed it and its attestation verifies with this tenant's key; otherwise the promotion fails validation (policy_compliance) naming the environment",
      ),
    ),
);

export const createEnvironment = /* @__PURE__ */ z.schema(() =>
  z
    .strictObject({
      name: envName,
      displayName: z.optional(z.string().check(z.trim(), z.minLength(1), z.regex(/\S/, 'must not be blank'), z.maxLength(100))),
      position: z.number().check(z.int(), z.minimum(0), z.maximum(999)),
      description: z._default(z.string().check(z.maxLength(1000)), ''),
      protected: z
        .optional(z.boolean())
        .check(
          z.describe(
            'guarded: changes only by promotion, or an admin break-glass; the last environment of the line is always protected, so false is refused for it (400)',
          ),
        ),
      gates: z._default(gates, {
        policy_compliance: true,
        tests: false,
        security_scan: false,
        cost_analysis: false,
        performance_baseline: false,
      }),
      webhookGates: z._default(webhookGates, []),
      concurrency: z._default(concurrency, 'queue'),
      autoPromotionPaused: z._default(z.boolean(), false),
      bakeSeconds: z._default(z.number().check(z.int(), z.minimum(0), z.maximum(3600)), 0),
      soakSeconds: z.optional(soakSeconds),
      allowedHours: z.optional(allowedHours),
      ciGate: z.optional(ciGateSchema),
      after: z.optional(after),
      afterMode: z.optional(afterMode),
      requireAttestationFrom: z.optional(requireAttestationFrom),
      autoPromote: z
        .optional(z.boolean())
        .check(
          z.describe(
            'take releases automatically from the environments it comes after: a promotion completed into one of them requests one into this one (a join waits for all of them); an autoPromote rule for the pair decides instead, with its conditions',
          ),
        ),
      cacheMaxAgeSeconds: z
        ._default(z.number().check(z.int(), z.minimum(0), z.maximum(86400)), 0)
        .check(z.describe('how long services may cache the effective config (Cache-Control max-age); 0 = revalidate every read with the ETag')),
      registries: z._default(registries, []),
      monitors: z._default(monitors, []),
      verification: z._default(verification, 'digest_match'),
      signingKey: z.optional(signingKey),
      targets: z
        .optional(targets)
        .check(z.describe('where the environment runs (regions, cells, accounts), ordered in waves; left out: one implicit target, as before')),
      rollout: z.optional(rollout).check(z.describe('how waves run: targets in parallel per wave, bake per wave, start windows')),
      analysis: z.optional(analyses).check(z.describe("the analyses every target's bake in this environment runs (templates by name)")),
      preAnalysis: z
        .optional(preAnalyses)
        .check(z.describe('checks of the SOURCE environment before a promotion into this one (e.g. staging healthy for the last 30 minutes)')),
      reason: z.optional(reason),
    })
    .check(
      z.refine((e) => e.verification !== 'signature_match' || e.signingKey, {
        message: 'signature_match needs signingKey (the public key promotions into this environment must be signed with)',
        path: ['signingKey'],
      }),
      z.meta({ if: { properties: { verification: { const: 'signature_match' } }, required: ['verification'] }, then: { required: ['signingKey'] } }),
    ),
);
export type CreateEnvironment = z.infer<typeof createEnvironment>;

export const updateEnvironment = /* @__PURE__ */ z.schema(() =>
  z.strictObject({
    version: z.number().check(z.int(), z.minimum(1, 'version is the environment version you read (optimistic locking)')),
    displayName: z.optional(z.string().check(z.trim(), z.minLength(1), z.regex(/\S/, 'must not be blank'), z.maxLength(100))),
    position: z.optional(z.number().check(z.int(), z.minimum(0), z.maximum(999))),
    description: z.optional(z.string().check(z.maxLength(1000))),
    protected: z.optional(z.boolean()).check(z.describe('false is refused for the last environment of the line: it is always protected (400)')),
    gates: z.optional(z.partial(gates)),
    webhookGates: z.optional(webhookGates),
    concurrency: z.optional(concurrency),
    autoPromotionPaused: z.optional(z.boolean()),
    bakeSeconds: z.optional(z.number().check(z.int(), z.minimum(0), z.maximum(3600))),
    soakSeconds: z.optional(soakSeconds),
    allowedHours: z
      .optional(z.nullable(allowedHours))
      .check(z.describe('the whole allowed hours; null: none (a promotion may start at any time); left out: kept')),
    ciGate: z
      .optional(z.nullable(ciGateSchema))
      .check(
        z.describe('the whole CI gate (a GitHub Actions workflow or a GitLab pipeline that must pass before a promotion executes); null: none; left out: kept'),
      ),
    after: z.optional(after).check(z.describe('the whole list ([]: none, back to the chain by position); left out: kept')),
    afterMode: z.optional(afterMode),
    requireAttestationFrom: z.optional(requireAttestationFrom).check(z.describe('the whole list ([]: none); left out: kept')),
    autoPromote: z
      .optional(z.boolean())
      .check(
        z.describe(
          'take releases automatically from the environments it comes after: a promotion completed into one of them requests one into this one (a join waits for all of them); an autoPromote rule for the pair decides instead, with its conditions',
        ),
      ),
    cacheMaxAgeSeconds: z.optional(z.number().check(z.int(), z.minimum(0), z.maximum(86400))),
    registries: z.optional(registries),
    monitors: z.optional(monitors),
    verification: z.optional(verification),
    signingKey: z.optional(z.nullable(signingKey)).check(z.describe('left out: kept; null: none (refused while verification is signature_match)')),
    targets: z
      .optional(targets)
      .check(z.describe('the whole list of targets ([]: none, one implicit target); a target a promotion is rolling out through cannot be removed (409)')),
    rollout: z.optional(rollout),
    analysis: z.optional(analyses).check(z.describe("the whole list of analyses every target's bake runs ([]: none); left out: kept")),
    preAnalysis: z.optional(preAnalyses).check(z.describe('the whole list of checks of the source environment ([]: none); left out: kept')),
    reason: z.optional(reason),
  }),
);
export type UpdateEnvironment = z.infer<typeof updateEnvironment>;

export const createItem = /* @__PURE__ */ z.schema(() =>
  z.strictObject({
    key: itemKey,
    value: jsonValue,
    description: z.optional(z.string().check(z.maxLength(1000))),
    reason: z.optional(reason),
  }),
);
export type CreateItem = z.infer<typeof createItem>;

export const updateItem = /* @__PURE__ */ z.schema(() =>
  z.strictObject({
    value: jsonValue,
    description: z.optional(z.string().check(z.maxLength(1000))),
    /** The item version you read; a stale one answers 409. Omit to overwrite. */
    version: z.optional(z.number().check(z.int(), z.minimum(1))),
    reason: z.optional(reason),
  }),
);
export type UpdateItem = z.infer<typeof updateItem>;

/** What the batch's two lists say of a key given twice. */
const ONCE_PER_BATCH = 'Each kind and key at most once in the batch, across set and delete; a key given twice is refused with 400 naming the second entry';
export const batchItems = /* @__PURE__ */ z.schema(() =>
  z
    .strictObject({
      set: z._default(
        z
          .array(
            z.strictObject({
              kind: z._default(z.enum(['config', 'flag']), 'config'),
              key: itemKey,
              value: jsonValue,
              description: z.optional(z.string().check(z.maxLength(1000))),
            }),
          )
          .check(z.maxLength(MAX_BATCH_ITEMS, batchCap), z.describe(ONCE_PER_BATCH)),
        [],
      ),
      delete: z._default(
        z
          .array(z.strictObject({ kind: z._default(z.enum(['config', 'flag']), 'config'), key: itemKey }))
          .check(z.maxLength(MAX_BATCH_ITEMS, batchCap), z.describe(ONCE_PER_BATCH)),
        [],
      ),
      reason: z.optional(reason),
    })
    .check(
      z.refine((b) => b.set.length + b.delete.length > 0, { message: 'give at least one item to set or delete' }),
      z.refine((b) => b.set.length + b.delete.length <= MAX_BATCH_ITEMS, { message: batchCap }),
      z.meta({
        anyOf: [
          { required: ['set'], properties: { set: { minItems: 1 } } },
          { required: ['delete'], properties: { delete: { minItems: 1 } } },
        ],
      }),
    ),
);
export type BatchItems = z.infer<typeof batchItems>;

export const restoreSnapshot = /* @__PURE__ */ z.strictObject({ reason });

/** A page's cursor as a query parameter: opaque, what the previous page returned. */
export const pageCursor = /* @__PURE__ */ z.schema(() =>
  z
    .string()
    .check(z.minLength(1), z.maxLength(2048), z.describe('Opaque: a value the previous page returned (X-Next-Cursor or next); any other is refused with 400')),
);

export const page = /* @__PURE__ */ z.schema(() =>
  z.object({
    limit: z.queryInt(1, 1000, 100),
    cursor: z.optional(pageCursor),
  }),
);

export const diffQuery = /* @__PURE__ */ z.strictObject({ source: envName, target: envName });
/** GET /environments/{env}/diff: against one of the environments it comes after (left out: each of them). */
export const predecessorDiffQuery = /* @__PURE__ */ z.schema(() => z.strictObject({ against: z.optional(envName) }));

export const snapshotRef = /* @__PURE__ */ z.schema(() =>
  z.string().check(z.regex(/^[a-z][a-z0-9-]{0,31}@[0-9]{1,9}$/, "must look like '<environment>@<snapshot number>', e.g. dev@3")),
);

export const snapshotDiffQuery = /* @__PURE__ */ z.strictObject({ from: snapshotRef, to: snapshotRef });

const isoTime = /* @__PURE__ */ z.iso.datetime({ offset: true, message: 'must be an ISO-8601 date-time, e.g. 2026-01-31T12:00:00Z' });
/** The start of a time range: not after its end (`to`, which defaults to now), refused with 400 otherwise. */
const fromTime = /* @__PURE__ */ z.schema(() => isoTime.check(z.describe('Not after to (now when to is not given); a later one is refused with 400')));
/** A time range of a query: `from` may not be after `to` (compared as instants, whatever their offsets). */
const inOrder = (q: { from?: string; to?: string }) => !q.from || !q.to || Date.parse(q.from) <= Date.parse(q.to);
const rangeIssue = { message: 'from must not be after to', path: ['from'] };

export const auditQuery = /* @__PURE__ */ z.schema(() =>
  z
    .strictObject(
      z.extend(page, {
        entityType: z.optional(z.enum(ENTITY_TYPES)),
        entityId: z.optional(z.string().check(z.minLength(1), z.maxLength(300), z.describe('Only with entityType (refused with 400 without it)'))),
        actor: z.optional(z.string().check(z.minLength(1), z.maxLength(300))),
        from: z.optional(fromTime),
        to: z.optional(isoTime),
      }).shape,
    )
    .check(
      z.refine((q) => !q.entityId || q.entityType, { message: 'entityId needs entityType', path: ['entityId'] }),
      z.refine(inOrder, rangeIssue),
    ),
);
export type AuditQuery = z.infer<typeof auditQuery>;

/** GET /api/v1/audit/export: entry times pick the run of the chain; `fromSeq` continues a page (the trailer's `next`). */
export const auditExportQuery = /* @__PURE__ */ z.schema(() =>
  z
    .strictObject({
      from: z.optional(fromTime),
      to: z.optional(isoTime),
      fromSeq: z.queryInt(1),
      limit: z.queryInt(1, 1000, 1000),
    })
    .check(z.refine(inOrder, rangeIssue)),
);

/** The deployment record, as the CD pipeline posts it. */
export const deploymentBody = /* @__PURE__ */ z.schema(() =>
  z.pipe(
    z
      .strictObject({
        id: z.optional(z.uuid()),
        imageTag: z.string().check(z.minLength(1), z.maxLength(200)),
        gitCommit: z._default(z.string().check(z.regex(/^([0-9a-f]{7,40})?$/, 'must be a git commit hash (7-40 hex digits)')), ''),
        gitBranch: z._default(z.string().check(z.maxLength(200)), ''),
        environment: envName,
        target: z
          .optional(targetName)
          .check(z.describe("the target of the environment the rollout was to (one it declares); it then counts in that target's history and metrics")),
        status: z.enum(['PENDING', 'DEPLOYED', 'FAILED', 'ROLLED_BACK']),
        deployedAt: isoTime,
        completedAt: z.optional(z.nullable(isoTime).check(z.describe('Not before deployedAt; an earlier one is refused with 400'))),
        digest: z.optional(z.string().check(z.regex(/^sha256:[0-9a-f]{64}$/))),
      })
      .check(z.refine((b) => !b.completedAt || b.completedAt >= b.deployedAt, { message: 'completedAt must not be before deployedAt', path: ['completedAt'] })),
    z.transform((b) => ({
      ...b,
      deployedAt: new Date(b.deployedAt).toISOString(),
      completedAt: b.completedAt ? new Date(b.completedAt).toISOString() : b.completedAt,
    })),
  ),
);
export type DeploymentBody = z.output<typeof deploymentBody>;

export const historyQuery = /* @__PURE__ */ z.schema(() =>
  z.strictObject({
    environment: envName,
    target: z.optional(targetName).check(z.describe('only the records of this target of the environment')),
    limit: z.queryInt(1, 200, 10),
    cursor: z.optional(pageCursor),
  }),
);

export const metricsQuery = /* @__PURE__ */ z.schema(() =>
  z
    .strictObject({
      environment: z.optional(envName),
      target: z.optional(targetName).check(z.describe("one target's figures (needs environment)")),
      from: z.optional(fromTime),
      to: z.optional(isoTime),
      period: z._default(z.enum(['day', 'week', 'month']), 'week'),
    })
    .check(
      z.refine(inOrder, rangeIssue),
      z.refine((q) => !q.target || !!q.environment, { message: 'a target belongs to an environment: give environment too', path: ['target'] }),
    ),
);
export type MetricsQuery = z.infer<typeof metricsQuery>;

export const versionsQuery = /* @__PURE__ */ z.schema(() => z.strictObject({ environment: z.optional(envName) }));
const CONSTRAINT_CHARS = /^[0-9A-Za-z.^~<>=!*|, +_-]+$/;
/** A version constraint (domain/artifacts/artifacts.ts classify decides; the document says it in words). */
const constraintText = /* @__PURE__ */ z.schema(() =>
  z.string().check(
    z.trim(),
    z.minLength(1),
    z.maxLength(100),
    // The characters a version, a range or a tag is written with (the document's pattern); which of them it is, classify decides.
    z.regex(CONSTRAINT_CHARS, 'must be a version, a semver range or a tag, e.g. ^1.2.0, >=1.2.0 <2.0.0 or latest-prod'),
    z.describe(
      'An exact version, a semver range (">=1.2.0, <2.0.0"), a caret or tilde range ("^1.2.0") or a tag ("latest-prod"); anything else is refused with 400',
    ),
  ),
);

export const resolveQuery = /* @__PURE__ */ z.schema(() => z.strictObject({ constraint: constraintText, environment: z.optional(envName) }));
export const consumerBody = /* @__PURE__ */ z.schema(() =>
  z.strictObject({
    constraint: constraintText,
    environment: z
      .optional(z.nullable(envName))
      .check(z.describe('the environment the pin holds in; left out: kept (every environment for a new consumer); null: every environment')),
  }),
);
