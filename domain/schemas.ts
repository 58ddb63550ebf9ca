import { monitors } from './monitors.ts';
import * as z from 'zod';
import { canonicalJson } from './canonical.ts';
import { tenantUrl } from './url-policy.ts';

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

export const envName = /* @__PURE__ */ z
  .string()
  .regex(ENV_NAME, 'must be 1-32 characters: lower-case letters, digits and dashes, starting with a letter');

export const itemKey = /* @__PURE__ */ z
  .string()
  .regex(ITEM_KEY, 'must be 1-256 characters: letters, digits and _ . - / :, not starting with punctuation');

export const jsonValue = /* @__PURE__ */ z.json().refine((v) => Buffer.byteLength(canonicalJson(v)) <= MAX_VALUE_BYTES, {
  message: `value must be at most ${MAX_VALUE_BYTES} bytes of JSON`,
});

export const GATE_NAMES = ['policy_compliance', 'tests', 'security_scan', 'cost_analysis', 'performance_baseline'] as const;

export const gates = /* @__PURE__ */ z
  .object({
    policy_compliance: z.literal(true, { message: 'policy_compliance is mandatory and cannot be turned off' }).default(true),
    tests: z.boolean().default(false),
    security_scan: z.boolean().default(false),
    cost_analysis: z.boolean().default(false),
    performance_baseline: z.boolean().default(false),
  })
  .strict();
export type Gates = z.infer<typeof gates>;

export const webhookGate = /* @__PURE__ */ z
  .object({
    name: z.string().regex(/^[a-z][a-z0-9-]{0,39}$/, 'must be 1-40 characters: lower-case letters, digits, dashes'),
    url: tenantUrl(),
    timeoutMs: z.number().int().min(100).max(25_000).default(5000),
    blocking: z.boolean().default(true),
    secret: z.string().min(16, 'secret must be at least 16 characters').max(256),
  })
  .strict();
export type WebhookGateConfig = z.infer<typeof webhookGate>;

const webhookGates = /* @__PURE__ */ z
  .array(webhookGate)
  .max(10)
  .refine((hooks) => new Set(hooks.map((h) => h.name)).size === hooks.length, { message: 'webhook gate names must be unique' });
const concurrency = /* @__PURE__ */ z.enum(['queue', 'reject', 'supersede']);

/** Registries by name and URL only: credentials are configuration (REGISTRY_CREDENTIALS), never request data. */
const registries = /* @__PURE__ */ z
  .array(
    z
      .object({
        name: z.string().regex(/^[a-z][a-z0-9-]{0,39}$/, 'must be 1-40 characters: lower-case letters, digits, dashes'),
        url: tenantUrl().transform((u) => u.replace(/\/+$/, '')),
      })
      .strict(),
  )
  .max(5)
  .refine((r) => new Set(r.map((x) => x.name)).size === r.length, { message: 'registry names must be unique' });

const reason = /* @__PURE__ */ z.string().trim().min(1).regex(/\S/, 'must not be blank').max(1000);

/** `verification`: digest_match (the copy hashes to the digest), or signature_match (also a Sigstore bundle signed by `signingKey`). */
export const verification = /* @__PURE__ */ z.enum(['digest_match', 'signature_match']);
const PEM_KEY = /^-----BEGIN PUBLIC KEY-----\n[A-Za-z0-9+/=\n]+\n-----END PUBLIC KEY-----\n?$/;
export const signingKey = /* @__PURE__ */ z
  .string()
  .trim()
  .max(4000)
  .meta({ pattern: '^\\s*-----BEGIN PUBLIC KEY-----\\n[A-Za-z0-9+/=\\n]+\\n-----END PUBLIC KEY-----\\s*$', description: 'A PEM public key (cosign.pub); required when verification is signature_match' })
  .transform((k) => `${k}\n`)
  .pipe(z.string().regex(PEM_KEY, 'must be a PEM public key (-----BEGIN PUBLIC KEY----- …), e.g. cosign.pub'));

export const createEnvironment = /* @__PURE__ */ z
  .object({
    name: envName,
    displayName: z.string().trim().min(1).regex(/\S/, 'must not be blank').max(100).optional(),
    position: z.number().int().min(0).max(999),
    description: z.string().max(1000).default(''),
    protected: z.boolean().default(false),
    gates: gates.default({
      policy_compliance: true,
      tests: false,
      security_scan: false,
      cost_analysis: false,
      performance_baseline: false,
    }),
    webhookGates: webhookGates.default([]),
    concurrency: concurrency.default('queue'),
    autoPromotionPaused: z.boolean().default(false),
    bakeSeconds: z.number().int().min(0).max(3600).default(0),
    cacheMaxAgeSeconds: z.number().int().min(0).max(86400).default(0).describe('how long services may cache the effective config (Cache-Control max-age); 0 = revalidate every read with the ETag'),
    registries: registries.default([]),
    monitors: monitors.default([]),
    verification: verification.default('digest_match'),
    signingKey: signingKey.optional(),
    reason: reason.optional(),
  })
  .strict()
  .refine((e) => e.verification !== 'signature_match' || e.signingKey, { message: 'signature_match needs signingKey (the public key promotions into this environment must be signed with)', path: ['signingKey'] })
  .meta({ if: { properties: { verification: { const: 'signature_match' } }, required: ['verification'] }, then: { required: ['signingKey'] } });
export type CreateEnvironment = z.infer<typeof createEnvironment>;

export const updateEnvironment = /* @__PURE__ */ z
  .object({
    version: z.number().int().min(1, 'version is the environment version you read (optimistic locking)'),
    displayName: z.string().trim().min(1).regex(/\S/, 'must not be blank').max(100).optional(),
    position: z.number().int().min(0).max(999).optional(),
    description: z.string().max(1000).optional(),
    protected: z.boolean().optional(),
    gates: gates.partial().optional(),
    webhookGates: webhookGates.optional(),
    concurrency: concurrency.optional(),
    autoPromotionPaused: z.boolean().optional(),
    bakeSeconds: z.number().int().min(0).max(3600).optional(),
    cacheMaxAgeSeconds: z.number().int().min(0).max(86400).optional(),
    registries: registries.optional(),
    monitors: monitors.optional(),
    verification: verification.optional(),
    signingKey: signingKey.optional(),
    reason: reason.optional(),
  })
  .strict();
export type UpdateEnvironment = z.infer<typeof updateEnvironment>;

export const createItem = /* @__PURE__ */ z
  .object({
    key: itemKey,
    value: jsonValue,
    description: z.string().max(1000).optional(),
    reason: reason.optional(),
  })
  .strict();
export type CreateItem = z.infer<typeof createItem>;

export const updateItem = /* @__PURE__ */ z
  .object({
    value: jsonValue,
    description: z.string().max(1000).optional(),
    /** The item version you read; a stale one answers 409. Omit to overwrite. */
    version: z.number().int().min(1).optional(),
    reason: reason.optional(),
  })
  .strict();
export type UpdateItem = z.infer<typeof updateItem>;

export const batchItems = /* @__PURE__ */ z
  .object({
    set: z
      .array(
        z
          .object({
            kind: z.enum(['config', 'flag']).default('config'),
            key: itemKey,
            value: jsonValue,
            description: z.string().max(1000).optional(),
          })
          .strict(),
      )
      .max(MAX_BATCH_ITEMS, batchCap)
      .default([]),
    delete: z
      .array(z.object({ kind: z.enum(['config', 'flag']).default('config'), key: itemKey }).strict())
      .max(MAX_BATCH_ITEMS, batchCap)
      .default([]),
    reason: reason.optional(),
  })
  .strict()
  .refine((b) => b.set.length + b.delete.length > 0, { message: 'give at least one item to set or delete' })
  .refine((b) => b.set.length + b.delete.length <= MAX_BATCH_ITEMS, { message: batchCap })
  .meta({ anyOf: [{ required: ['set'], properties: { set: { minItems: 1 } } }, { required: ['delete'], properties: { delete: { minItems: 1 } } }] });
export type BatchItems = z.infer<typeof batchItems>;

export const restoreSnapshot = /* @__PURE__ */ z.object({ reason }).strict();

export const page = /* @__PURE__ */ z.object({
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  cursor: z.string().min(1).max(2048).describe('Opaque: a value the previous page returned (X-Next-Cursor or next); any other is refused with 400').optional(),
});

export const diffQuery = /* @__PURE__ */ z
  .object({ source: envName, target: envName })
  .strict();

export const snapshotRef = /* @__PURE__ */ z
  .string()
  .regex(/^[a-z][a-z0-9-]{0,31}@[0-9]{1,9}$/, "must look like '<environment>@<snapshot number>', e.g. dev@3");

export const snapshotDiffQuery = /* @__PURE__ */ z.object({ from: snapshotRef, to: snapshotRef }).strict();

const isoTime = /* @__PURE__ */ z.iso.datetime({ offset: true, message: 'must be an ISO-8601 date-time, e.g. 2026-01-31T12:00:00Z' });
/** The start of a time range: not after its end (`to`, which defaults to now), refused with 400 otherwise. */
const fromTime = /* @__PURE__ */ isoTime.describe('Not after to (now when to is not given); a later one is refused with 400');
/** A time range of a query: `from` may not be after `to` (compared as instants, whatever their offsets). */
const inOrder = (q: { from?: string; to?: string }) => !q.from || !q.to || Date.parse(q.from) <= Date.parse(q.to);
const rangeIssue = { message: 'from must not be after to', path: ['from'] };

export const auditQuery = /* @__PURE__ */ page
  .extend({
    entityType: z.enum(['environment', 'config', 'flag', 'snapshot', 'promotion', 'artifact', 'rule', 'deployment', 'consumer', 'freeze-window', 'manifest', 'slack-link', 'app-key', 'webhook', 'git-target']).optional(),
    entityId: z.string().min(1).max(300).describe('Only with entityType (refused with 400 without it)').optional(),
    actor: z.string().min(1).max(300).optional(),
    from: fromTime.optional(),
    to: isoTime.optional(),
  })
  .strict()
  .refine((q) => !q.entityId || q.entityType, { message: 'entityId needs entityType', path: ['entityId'] })
  .refine(inOrder, rangeIssue);
export type AuditQuery = z.infer<typeof auditQuery>;

/** GET /api/v1/audit/export: entry times pick the run of the chain; `fromSeq` continues a page (the trailer's `next`). */
export const auditExportQuery = /* @__PURE__ */ z
  .object({
    from: fromTime.optional(),
    to: isoTime.optional(),
    fromSeq: z.coerce.number().int().min(1).optional(),
    limit: z.coerce.number().int().min(1).max(1000).default(1000),
  })
  .strict()
  .refine(inOrder, rangeIssue);

/** The deployment record, as the CD pipeline posts it. */
export const deploymentBody = /* @__PURE__ */ z
  .object({
    id: z.uuid().optional(),
    imageTag: z.string().min(1).max(200),
    gitCommit: z.string().regex(/^([0-9a-f]{7,40})?$/, 'must be a git commit hash (7-40 hex digits)').default(''),
    gitBranch: z.string().max(200).default(''),
    environment: envName,
    status: z.enum(['PENDING', 'DEPLOYED', 'FAILED', 'ROLLED_BACK']),
    deployedAt: isoTime,
    completedAt: isoTime.nullable().optional(),
    digest: z.string().regex(/^sha256:[0-9a-f]{64}$/).optional(),
  })
  .strict()
  .refine((b) => !b.completedAt || b.completedAt >= b.deployedAt, { message: 'completedAt must not be before deployedAt', path: ['completedAt'] })
  .transform((b) => ({ ...b, deployedAt: new Date(b.deployedAt).toISOString(), completedAt: b.completedAt ? new Date(b.completedAt).toISOString() : b.completedAt }));
export type DeploymentBody = z.output<typeof deploymentBody>;

export const historyQuery = /* @__PURE__ */ z
  .object({ environment: envName, limit: z.coerce.number().int().min(1).max(200).default(10), cursor: z.string().min(1).max(2048).describe('Opaque: a value the previous page returned (X-Next-Cursor or next); any other is refused with 400').optional() })
  .strict();

export const metricsQuery = /* @__PURE__ */ z
  .object({
    environment: envName.optional(),
    from: fromTime.optional(),
    to: isoTime.optional(),
    period: z.enum(['day', 'week', 'month']).default('week'),
  })
  .strict()
  .refine(inOrder, rangeIssue);
export type MetricsQuery = z.infer<typeof metricsQuery>;

export const versionsQuery = /* @__PURE__ */ z.object({ environment: envName.optional() }).strict();
/** A version constraint (domain/artifacts.ts classify decides; the document says it in words). */
const constraintText = /* @__PURE__ */ z
  .string()
  .trim()
  .min(1)
  .max(100)
  .describe('An exact version, a semver range (">=1.2.0, <2.0.0"), a caret or tilde range ("^1.2.0") or a tag ("latest-prod"); anything else is refused with 400');

export const resolveQuery = /* @__PURE__ */ z.object({ constraint: constraintText, environment: envName.optional() }).strict();
export const consumerBody = /* @__PURE__ */ z.object({ constraint: constraintText, environment: envName.optional() }).strict();
