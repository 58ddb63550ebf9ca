import * as z from '../kernel/zod.ts';
import { binding, MAX_BINDINGS } from '../access/bindings.ts';
import { groupMapEntry, MAX_GROUP_MAP_ENTRIES } from '../access/group-mapping.ts';
import { ValidationFailed, type Issue } from '../kernel/errors.ts';
import { findReservedKey, RESERVED_KEY_MESSAGE } from '../kernel/reserved-keys.ts';
import { createFreezeWindow } from '../freeze/windows.ts';
import { slackTeamId } from '../notify/settings.ts';
import { NOTIFICATION_KINDS } from '../notify/model.ts';
import { allowedHours } from '../kernel/allowed-hours.ts';
import { after, afterMode, envName, requireAttestationFrom, gates, signingKey, soakSeconds, verification, webhookGate } from '../kernel/schemas.ts';
import { artifactName, createRule } from '../kernel/promotion-schemas.ts';
import { monitors } from '../freeze/monitors.ts';
import { timeZone } from '../kernel/time-zone.ts';
import { RECURRING_NAME } from '../kernel/promotion-model.ts';
import { checkCalendar } from '../promotion/run/recurring-cron.ts';
import { analyses, preAnalyses, rollout, targets } from '../kernel/target-schemas.ts';
import { analysisTemplate, celReady } from '../verification/template.ts';
import { MAX_TEMPLATES } from '../verification/templates.ts';
import { gitTargetBody } from '../gitops/service.ts';
import type { GitEditKind } from '../gitops/ports.ts';
import { createLink, MAX_LINKS_PER_ARTIFACT } from '../artifacts/discovery.ts';
import { changeControlBody } from '../change/rule.ts';
import { MAX_WEBHOOKS, webhookCreateBody } from '../webhooks/subscriptions.ts';

/**
 * The promotion manifest (`manifest.yaml`, `artifacts.promotion`), extended with what
 * Stageline adds. Everything a tenant configures for promotion is one document, planned and
 * applied as one audited change, and exported back as the same document.
 */
// The same schemas the API validates environments with: one definition of a gate set and a name.
const gateSet = gates;
/** A secret is never in the document: `${NAME}` names it (Secrets Manager `stageline/<tenant>/<purpose>/<NAME>` on AWS; the field says the purpose). */
export const SECRET_REF = /^\$\{([A-Z][A-Z0-9_]{0,63})\}$/;
const secretRef = /* @__PURE__ */ z.schema(() =>
  z
    .string()
    .check(
      z.regex(
        SECRET_REF,
        'must be a reference like ${SLACK_WEBHOOK}, never the secret itself (the value lives in Secrets Manager as stageline/<tenant>/<purpose>/<NAME>: git-token, slack-webhook or gate-key, as the field is)',
      ),
    ),
);

const freezeWindow = /* @__PURE__ */ z.schema(() =>
  z
    .strictObject({
      reason: z.string().check(z.trim(), z.minLength(1), z.regex(/\S/, 'must not be blank'), z.maxLength(500)),
      environment: z.optional(envName),
      start: z.optional(z.string()),
      end: z.optional(z.string()),
      cron: z.optional(z.string()),
      end_cron: z.optional(z.string()),
      timezone: z.optional(z.string()),
    })
    .check(
      z.superRefine(async (w, ctx) => {
        const r = await createFreezeWindow.safeParseAsync({
          reason: w.reason,
          start: w.start,
          end: w.end,
          cron: w.cron,
          endCron: w.end_cron,
          timezone: w.timezone,
        });
        if (!r.success)
          for (const i of r.error.issues) ctx.addIssue({ code: 'custom', path: i.path.map((p) => (p === 'endCron' ? 'end_cron' : p)), message: i.message });
      }),
    ),
);

/** A recurring promotion as the document writes it: the body of PUT /recurring-promotions/{name}, with its name (its calendar checked as the API checks it). */
const recurringDoc = /* @__PURE__ */ z.schema(() =>
  z
    .strictObject({
      name: z.string().check(z.regex(RECURRING_NAME, 'must be lower-case letters, digits and dashes')),
      source: envName,
      target: envName,
      artifact: z.optional(z.string().check(z.regex(/^[a-z0-9][a-z0-9._-]{0,99}$/, 'must be an artifact name'))),
      cron: z.string().check(z.minLength(1), z.maxLength(100)),
      timezone: timeZone,
      paused: z.optional(z.boolean()),
      notes: z.optional(z.string().check(z.maxLength(500))),
    })
    .check(
      z.superRefine(async (r, ctx) => {
        for (const i of (await checkCalendar(r.cron, r.timezone, new Date())).issues)
          ctx.addIssue({ code: 'custom', path: [i.path === 'body.timeZone' ? 'timezone' : 'cron'], message: i.message });
      }),
    ),
);

/** A git target as the document writes it: the body of PUT /environments/{env}/git-target, its token only as a `${NAME}` reference. */
const gitTargetDoc = /* @__PURE__ */ z.schema(() =>
  z.strictObject(
    z.extend(z.omit(gitTargetBody, { version: true, tokenSecret: true }), {
      // Optional, not defaulted: a document leaves out the default edit (yaml-path), as documents did before there was a choice.
      edit: z
        .optional(z.enum(['yaml-path', 'kustomize-image', 'helm-values', 'json-path'] satisfies GitEditKind[]))
        .check(z.describe('how the value is written (default yaml-path): see PUT /environments/{env}/git-target')),
      token: z
        .optional(secretRef)
        .check(
          z.describe('the secret holding the push token, e.g. ${GITOPS_TOKEN} (Secrets Manager stageline/<tenant>/git-token/<NAME>); omit to push anonymously'),
        ),
    }).shape,
  ),
);

/**
 * An environment's change-control rule as the document writes it: the body of PUT /environments/{env}/change-control,
 * its credential only as a `${NAME}` reference (the rule's fields are checked at plan as the API checks them).
 */
const changeControlDoc = /* @__PURE__ */ z.schema(() =>
  z.strictObject(
    z.extend(z.omit(changeControlBody, { credentials: true, credentialKind: true, updatedAt: true, updatedBy: true }), {
      credentials: secretRef.check(
        z.describe(
          'the tenant secret holding the credential, e.g. ${SERVICENOW_CREDENTIAL} (Secrets Manager stageline/<tenant>/change-credential/<NAME>, its value the JSON PUT …/change-control takes as credentials: {"basic": {"user", "password"}} or {"bearer": {"token"}}); ${SET_THROUGH_THE_API} keeps one set through the API',
        ),
      ),
    }).shape,
  ),
);

export const manifestSchema = /* @__PURE__ */ z.schema(() =>
  z.strictObject({
    artifacts: z.strictObject({
      promotion: z.strictObject({
        /** Stageline: the line, in order (environments are created and deleted through the API; a tenant without any exports []) */
        environments: z.optional(z.array(envName).check(z.maxLength(20))),
        /** Stageline: per-environment settings */
        environment_settings: z.optional(
          z.record(
            envName,
            z.strictObject({
              description: z.optional(z.string().check(z.maxLength(1000))),
              protected: z.optional(z.boolean()),
              bake_seconds: z.optional(z.number().check(z.int(), z.minimum(0), z.maximum(3600))),
              /** seconds a release must have run in the source environment, without an alarm, before it is promoted into this one (0: none) */
              soak_seconds: z.optional(soakSeconds),
              /** when a promotion into it may start executing (the API's allowedHours shape); null: at any time */
              allowed_hours: z.optional(z.nullable(allowedHours)),
              /** the environments this one comes after (a graph: fan-out and join); left out: the one before it in the line */
              after: z.optional(after),
              /** with several in after: the release must have reached all of them (default) or any one */
              after_mode: z.optional(afterMode),
              /** environments whose signed verification summary a release must carry before it is promoted into this one */
              require_attestation_from: z.optional(requireAttestationFrom),
              /** take releases automatically from the environments it comes after (a join waits for all of them) */
              auto_promote: z.optional(z.boolean()),
              /** how long services may cache the effective config (Cache-Control max-age; 0: revalidate each read) */
              cache_max_age_seconds: z.optional(z.number().check(z.int(), z.minimum(0), z.maximum(86400))),
              concurrency: z.optional(z.enum(['queue', 'reject', 'supersede'])),
              /** `verification`, per environment (overrides the document-wide one) */
              verification: z.optional(verification),
              /** the PEM public key (cosign.pub) signature_match verifies with */
              signing_key: z.optional(signingKey),
              /** CloudWatch alarm ARNs checked before executing and watched while baking (this deployment's account and region) */
              monitors: z.optional(monitors),
              /** where the environment runs, in waves (the API's target shape); left out: one implicit target */
              targets: z.optional(targets),
              /** how waves run (the API's rollout shape; a wave's `analysis` and `compare` attach analysis templates) */
              rollout: z.optional(rollout),
              /** the analyses every target's bake runs (analysis templates by name, with their arguments) */
              analysis: z.optional(analyses),
              /** checks of the SOURCE environment before a promotion into this one */
              pre_analysis: z.optional(preAnalyses),
            }),
          ),
        ),
        /** validation gates per environment */
        gates: z.optional(z.record(envName, gateSet)),
        /** tenant-wide notifications */
        notifications: z.optional(
          z.strictObject({
            slack: z.optional(
              z.strictObject({
                webhook: secretRef,
                channels: z._default(
                  z.array(z.string().check(z.regex(/^#?[a-z0-9._-]{1,80}$/, 'a channel name like #platform-ops'))).check(z.maxLength(20)),
                  [],
                ),
                /** the tenant's Slack workspace, bound to the deployment's Slack app (people link their own accounts) */
                team_id: z.optional(slackTeamId),
              }),
            ),
            email: z.optional(
              z.strictObject({
                recipients: z._default(z.array(z.string().check(z.email())).check(z.maxLength(50)), []),
                approvers: z._default(z.boolean(), false),
              }),
            ),
            events: z.optional(z.array(z.enum(NOTIFICATION_KINDS)).check(z.minLength(1))),
          }),
        ),
        /** Stageline: webhook gates per environment (run after the built-in gates); the HMAC secret is a `${NAME}` reference */
        webhook_gates: z.optional(
          z.record(
            envName,
            z
              .array(
                z.strictObject(
                  z.extend(z.omit(webhookGate, { secret: true, timeoutMs: true }), { timeout_ms: webhookGate.shape.timeoutMs, secret: secretRef }).shape,
                ),
              )
              .check(
                z.maxLength(10),
                z.refine((hooks) => new Set(hooks.map((h) => h.name)).size === hooks.length, { message: 'webhook gate names must be unique' }),
              ),
          ),
        ),
        /** Stageline: approval policies / promotion rules, one per source → target pair (the body of POST /api/v1/promotions/rules) */
        approval_rules: z.optional(z.array(createRule).check(z.maxLength(100))),
        /** Stageline: outbound webhook subscriptions (the body of POST /api/v1/webhooks); signing secrets are never in the document (a subscription the apply creates gets one, shown once in its answer) */
        webhooks: z.optional(z.array(webhookCreateBody).check(z.maxLength(MAX_WEBHOOKS))),
        /** Stageline: git targets per environment (GitOps); null removes one, an environment left out keeps its own */
        git_targets: z.optional(z.record(envName, z.nullable(gitTargetDoc))),
        /** Stageline: change-control rules per environment (promotions into it wait for an approved change request); null removes one, an environment left out keeps its own */
        change_control: z.optional(z.record(envName, z.nullable(changeControlDoc))),
        /** Stageline: registry repositories per artifact whose pushes become versions (the body of POST /artifacts/{name}/links); an artifact's list replaces its links, an artifact left out keeps its own */
        registry_links: z.optional(
          z.record(
            artifactName,
            z.array(createLink).check(
              z.maxLength(MAX_LINKS_PER_ARTIFACT),
              z.refine((links) => new Set(links.map((l) => `${l.registry}/${l.repository}`)).size === links.length, {
                message: 'one link per registry repository',
              }),
            ),
          ),
        ),
        /** Stageline: analysis templates (the body of PUT /analysis-templates/{name}, with its name); the list replaces the tenant's, left out keeps them */
        analysis_templates: z.optional(
          z.array(analysisTemplate).check(
            z.maxLength(MAX_TEMPLATES),
            z.refine((ts) => new Set(ts.map((t) => t.name)).size === ts.length, { message: 'analysis template names must be unique' }),
          ),
        ),
        /** Stageline: recurring promotions (source → target on a calendar), by name; the list replaces the tenant's, left out keeps them */
        recurring_promotions: z.optional(
          z.array(recurringDoc).check(
            z.maxLength(50),
            z.refine((rs) => new Set(rs.map((r) => r.name)).size === rs.length, { message: 'recurring promotion names must be unique' }),
          ),
        ),
        /** Stageline: role bindings (a user or a group, a role or break-glass, environments or *); the list replaces the tenant's, left out keeps them */
        bindings: z.optional(z.array(binding).check(z.maxLength(MAX_BINDINGS))),
        /** Stageline: the group mapping (an IdP group to a Stageline group, roles, or both); the list replaces the tenant's, left out keeps it */
        group_mapping: z.optional(z.array(groupMapEntry).check(z.maxLength(MAX_GROUP_MAP_ENTRIES))),
        /** Stageline: freeze windows (tenant-wide, or with `environment`) */
        freeze_windows: z.optional(z.array(freezeWindow).check(z.maxLength(100))),
        /** copy artifacts between the environments' registries on promotion (Stageline always does) */
        cross_registry_sync: z.optional(
          z.literal(true, { message: "Stageline always copies artifacts to the target's registries when it has any; false is not supported" }),
        ),
        /** how a promoted artifact is verified in the target registries */
        verification: z.optional(verification),
      }),
    }),
  }),
);
export type Manifest = z.infer<typeof manifestSchema>;

/**
 * Parses YAML (or JSON, which is YAML) into the manifest; every problem names its line and field.
 * Async: the YAML reader (./yaml-text.ts, with the yaml library) and a cron's parser are loaded on
 * first use, so a function's module init reads neither.
 */
export async function parseManifest(text: string): Promise<Manifest> {
  const doc = (await import('./yaml-text.ts')).readManifestText(text);
  let r: Awaited<ReturnType<typeof manifestSchema.safeParseAsync>>;
  try {
    // The yaml library refuses alias bombs (too many aliases for the document's size) with an error of its own.
    const js: unknown = doc.toJS();
    // A key JavaScript reserves is refused before any mapper builds objects from the document.
    const reserved = findReservedKey(js, 'document');
    if (reserved) {
      const line = doc.lineOf(reserved.split('.').slice(1, -1));
      throw new ValidationFailed(
        [{ path: reserved, message: `${line ? `line ${line}: ` : ''}${reserved.slice('document.'.length)}: a key ${RESERVED_KEY_MESSAGE}` }],
        'The manifest does not match the schema (GET /api/v1/manifest/schema.json)',
      );
    }
    // The schema compiles analysis templates' conditions: the CEL library is loaded first (on first use).
    await celReady();
    r = await manifestSchema.safeParseAsync(js);
  } catch (err) {
    if (err instanceof ValidationFailed) throw err;
    const message = err instanceof RangeError ? 'nested too deeply' : err instanceof Error ? err.message.split('\n')[0]! : String(err);
    throw new ValidationFailed([{ path: 'document', message: `cannot be read: ${message}` }], 'The manifest is not valid YAML/JSON');
  }
  if (r.success) return r.data;
  const issues: Issue[] = r.error.issues.map((i) => {
    const path = i.path as (string | number)[];
    const line = doc.lineOf(path);
    return { path: `document.${path.join('.')}`, message: `${line ? `line ${line}: ` : ''}${path.join('.')} ${i.message}` };
  });
  throw new ValidationFailed(issues, 'The manifest does not match the schema (GET /api/v1/manifest/schema.json)');
}

/** The document's JSON Schema (published with the API docs). */
export function manifestJsonSchema(): Record<string, unknown> {
  return {
    title: 'Stageline promotion manifest (manifest.yaml, artifacts.promotion)',
    ...(z.toJSONSchema(manifestSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>),
  };
}

/** The manifest as YAML every reader parses back to the same values (./yaml-text.ts manifestYaml, loaded on first use with the yaml library). */
export async function manifestYaml(value: unknown): Promise<string> {
  return (await import('./yaml-text.ts')).manifestYaml(value);
}
