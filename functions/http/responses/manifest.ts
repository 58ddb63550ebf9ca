import * as z from 'zod';
import { manifestSchema } from '#domain/manifest/document';
import { digest, open } from './common.ts';

/** What the manifest routes answer. */
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
  .meta({ id: 'Manifest', description: "The promotion manifest (manifest.yaml, artifacts.promotion) with what Stageline adds" });

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

export const MANIFEST_RESPONSES: Record<string, z.ZodType> = {
  'manifest-apply': manifestApplyResponse,
  manifest: z.object({ digest: digest.describe('of the setup planned against: apply with expectedDigest refuses a stale plan'), changes: z.array(manifestChange), summary: manifestSummary }).strict(),
  'manifest-document': manifestDocument,
  'manifest-schema': manifestJsonSchema,
};
