import * as z from '#domain/kernel/zod';
import { ROLES } from '#domain/access/auth';
import { manifestSchema } from '#domain/manifest/document';
import { digest, occurrence, open, time } from './common.ts';
import { subject } from './promotions.ts';

/** What the manifest routes answer. */
const manifestChange = /* @__PURE__ */ z.schema(() =>
  z.strictObject({
    op: z.enum(['add', 'change', 'remove']),
    path: z.string(),
    before: z.optional(z.unknown()),
    after: z.optional(z.unknown()),
    needs: z.optional(
      z
        .strictObject({
          role: z.enum(ROLES),
          environments: z.array(z.string()).check(z.describe('environment names; * for a tenant-wide change (the role in every environment)')),
        })
        .check(z.describe('the right applying this change needs: the role in each of these environments')),
    ),
  }),
);
const manifestSummary = /* @__PURE__ */ z.schema(() =>
  z.strictObject({ add: z.number().check(z.int()), change: z.number().check(z.int()), remove: z.number().check(z.int()) }),
);
const manifestSecrets = /* @__PURE__ */ z.schema(() =>
  z
    .strictObject({
      webhooks: z.array(
        z.strictObject({
          id: z.string(),
          url: z.string(),
          environment: z.nullable(z.string()),
          secret: z.string().check(z.describe('the signing secret (whsec_…)')),
        }),
      ),
      registry_links: z.array(
        z.strictObject({
          artifact: z.string(),
          id: z.string(),
          registry: z.string(),
          repository: z.string(),
          notifyToken: z.string().check(z.describe('the bearer token of registry notifications')),
        }),
      ),
    })
    .check(
      z.describe(
        'what the apply created with a secret of its own, the only time the secret is shown: signing secrets of new webhook subscriptions, notification tokens of new registry links',
      ),
    ),
);
export const manifestApplyResponse = /* @__PURE__ */ z.schema(() =>
  z.strictObject({
    applied: z.boolean(),
    digest,
    documentDigest: z.optional(digest).check(z.describe('sha256 of the applied document (kept in the audit entry)')),
    planDigest: z.optional(digest).check(z.describe('digest of the applied plan (kept in the audit entries)')),
    changes: z.array(manifestChange),
    summary: manifestSummary,
    secrets: z.optional(manifestSecrets),
  }),
);

/**
 * GET /api/v1/manifest?format=json: the document apply takes (domain/manifest/document.ts), as exported: every
 * part but notifications always there, and the line as it is (empty for a tenant without environments).
 */
const exported = /* @__PURE__ */ manifestSchema.shape.artifacts.shape.promotion;
export const manifestDocument = /* @__PURE__ */ z.schema(() =>
  z
    .strictObject({
      artifacts: z.strictObject({
        promotion: z.strictObject(
          z.extend(exported, {
            environments: z.array(z.string()).check(z.describe('the line, in order')),
            environment_settings: exported.shape.environment_settings.def.innerType,
            gates: exported.shape.gates.def.innerType,
            webhook_gates: exported.shape.webhook_gates.def.innerType,
            approval_rules: exported.shape.approval_rules.def.innerType,
            freeze_windows: exported.shape.freeze_windows.def.innerType,
            webhooks: exported.shape.webhooks.def.innerType,
            git_targets: exported.shape.git_targets.def.innerType,
            registry_links: exported.shape.registry_links.def.innerType,
            analysis_templates: exported.shape.analysis_templates.def.innerType,
            recurring_promotions: z.optional(exported.shape.recurring_promotions.def.innerType).check(z.describe('left out while the tenant has none')),
            cross_registry_sync: z.literal(true),
            verification: exported.shape.verification.def.innerType,
          }).shape,
        ),
      }),
    })
    .check(z.meta({ id: 'Manifest', description: 'The promotion manifest (manifest.yaml, artifacts.promotion) with what Stageline adds' })),
);

/** GET /api/v1/manifest/schema.json: the manifest document (components/schemas/Manifest) as a JSON Schema. */
export const manifestJsonSchemaResponse = /* @__PURE__ */ z.schema(() =>
  z
    .strictObject({
      title: z.string(),
      $schema: z.literal('https://json-schema.org/draft/2020-12/schema'),
      type: z.literal('object'),
      properties: z.strictObject({ artifacts: open }),
      required: z.array(z.string()),
      additionalProperties: z.literal(false),
      $defs: z.optional(z.record(z.string(), open)),
    })
    .check(z.meta({ id: 'ManifestJsonSchema' })),
);

const oldNew = <T extends z.core.SomeType>(t: T) => z.strictObject({ old: t, new: t });
const outcome = /* @__PURE__ */ z.schema(() =>
  z.enum(['PENDING_VALIDATION', 'BLOCKED_BY_GATES', 'BLOCKED_BY_MONITORS', 'REJECTED', 'AWAITING_APPROVAL', 'ALLOWED', 'REFUSED']),
);
const count = /* @__PURE__ */ z.schema(() => z.number().check(z.int(), z.minimum(0)));

/** ?simulate=…: the plan replayed over the promotions of a look-back (domain/manifest/simulate.ts). */
const manifestSimulation = /* @__PURE__ */ z.schema(() =>
  z
    .strictObject({
      since: time,
      until: time,
      promotions: count.check(z.describe('promotions replayed (rollbacks are not)')),
      truncated: z.boolean().check(z.describe('the look-back holds older promotions than this answer replayed: `next` continues with them')),
      next: z
        .nullable(z.string())
        .check(
          z.describe(
            'where the replay continues: POST the same document again with &cursor=<next> (null: replayed to the end of the look-back). One request replays at most `limit` promotions, or for about 20 s',
          ),
        ),
      limit: count,
      reachedBack: z.nullable(time).check(z.describe('the request time of the oldest promotion replayed (null: none was requested in the look-back)')),
      coversLookBack: z
        .boolean()
        .check(
          z.describe(
            'whether the stored history covers the whole look-back; false: no older promotion is stored, so the replay goes back only to `reachedBack`',
          ),
        ),
      changesTruncated: z
        .boolean()
        .check(z.describe('more promotions changed than `changes` lists (the newest 1,000 are listed; `summary` counts all of them)')),
      rollbacksSkipped: count,
      summary: z.strictObject({
        changed: count,
        allowedToBlocked: count.check(z.describe('allowed as decided, not allowed under the document: blocked by a gate, or waiting for an approval')),
        blockedToAllowed: count,
        approvalsChanged: count,
        newlyHeldByWindow: count,
        digestsReproduced: count.check(z.describe('promotions whose decision digest the document reproduces (all of them for the current setup)')),
      }),
      changes: z.array(
        z.strictObject({
          id: z.string(),
          subject,
          sourceEnvironment: z.string(),
          targetEnvironment: z.string(),
          requestedAt: time,
          status: z.string(),
          outcome: oldNew(outcome).check(
            z.describe("the decision record's outcome as stored (old) and under the document (new); REFUSED: the request itself would be"),
          ),
          allowed: oldNew(z.boolean()),
          approvalsRequired: oldNew(count),
          heldByWindow: oldNew(z.nullable(occurrence)).check(
            z.describe('the freeze window over the target when the promotion went (or was asked for), under the current and the proposed windows'),
          ),
          signatureRequired: oldNew(z.boolean()).check(z.describe('signature_match on the target (artifact promotions; the signature is not verified here)')),
          decisionDigest: oldNew(z.nullable(digest)),
          refused: z.optional(z.string()),
          notReplayed: z.optional(z.array(z.string())).check(z.describe('gates only their provider answers (webhook gates the document adds)')),
          changed: z.literal(true),
        }),
      ),
    })
    .check(z.meta({ id: 'ManifestSimulation' })),
);

/** POST /api/v1/manifest/plan: what applying the document would change. */
export const manifestPlanResponse = /* @__PURE__ */ z.schema(() =>
  z.strictObject({
    digest: digest.check(z.describe('of the setup planned against: apply with expectedDigest refuses a stale plan')),
    changes: z.array(manifestChange),
    summary: manifestSummary,
    simulation: z.optional(manifestSimulation).check(z.describe('with ?simulate=90d: the promotions of the look-back decided again under the document')),
  }),
);
