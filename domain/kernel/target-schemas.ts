import { monitors } from './alarm-arn.ts';
import { notReserved, noReservedSegment } from './reserved-keys.ts';
import { tenantUrl } from './url-policy.ts';
import * as z from './zod.ts';
import { timeZone } from './time-zone.ts';

/**
 * The input shape of an environment's targets and rollout options (domain/config/targets.ts holds the
 * rules that span targets: unique names, waves without gaps, monitors in the target's place).
 */

/** A target's name: a region, a cell, an account, a cluster (`us-east-1`, `cell-7`). */
export const TARGET_NAME = /^[a-z0-9][a-z0-9-]{0,39}$/;
export const MAX_TARGETS = 10_000;
export const MAX_WAVES = 20;
/** The name an environment without declared targets gives its one implicit target. */
export const IMPLICIT_TARGET = 'default';

export const targetName = /* @__PURE__ */ z.schema(() =>
  z.string().check(z.regex(TARGET_NAME, 'must be 1-40 characters: lower-case letters, digits and dashes, starting with a letter or digit'), notReserved()),
);

const labels = /* @__PURE__ */ z.schema(() =>
  z
    .record(
      z.string().check(z.regex(/^[a-z][a-z0-9._/-]{0,62}$/, 'label names are 1-63 characters: lower-case letters, digits and . _ / -'), notReserved()),
      z.string().check(z.maxLength(63)),
    )
    .check(z.refine((l) => Object.keys(l).length <= 10, { message: 'at most 10 labels per target' })),
);

/** A per-target override of a config or flag value (what differs there: an endpoint per region). */
const parameter = /* @__PURE__ */ z.schema(() =>
  z.strictObject({
    kind: z._default(z.enum(['config', 'flag']), 'config'),
    key: z.string().check(z.regex(/^[A-Za-z0-9_][A-Za-z0-9_.\-/:]{0,255}$/, 'must be a config or flag key'), noReservedSegment()),
    value: z.json(),
  }),
);

/** A controller's object name with `{target}` / `{environment}` placeholders (rendered per target, then a DNS-1123 name). */
const appName = (description: string) =>
  z
    .string()
    .check(
      z.minLength(1),
      z.maxLength(253),
      z.regex(/^([a-z0-9.-]|\{target\}|\{environment\})+$/, 'must be a lower-case name (a-z, 0-9, - and .), with {target} or {environment} where they vary'),
      z.describe(description),
    );

/** The secret name of a GitOps controller's token (purpose gitops-health: never another purpose's secret). */
export const GITOPS_SECRET_PURPOSE = 'gitops-health';
const gitopsSecret = (
  description = 'the secret holding the bearer token, stored for this use only: Secrets Manager stageline/<tenant>/gitops-health/<NAME> on AWS, STAGELINE_SECRET_<TENANT>__GITOPS_HEALTH__<NAME> locally',
) =>
  z.string().check(
    z.superRefine((v, ctx) => {
      const named = /^([a-z][a-z0-9-]*)\/(.*)$/.exec(v);
      if (named)
        ctx.addIssue({
          code: 'custom',
          message: `names the secret purpose '${named[1]}': a confirmation reads its token only from purpose ${GITOPS_SECRET_PURPOSE}; give the secret's name alone (e.g. ARGOCD_TOKEN)`,
        });
      else if (!/^[A-Z][A-Z0-9_]{0,63}$/.test(v)) ctx.addIssue({ code: 'custom', message: 'must be a secret name (A-Z, 0-9, _), e.g. ARGOCD_TOKEN' });
    }),
    z.describe(description),
  );

const pollTimes = () => ({
  timeoutSeconds: z._default(z.number().check(z.int(), z.minimum(10), z.maximum(3600)), 600),
  intervalSeconds: z._default(z.number().check(z.int(), z.minimum(1), z.maximum(300)), 15),
});

/**
 * `fleet`: the share of the target's instances (those seen from `windowSeconds` before the target changed on) that
 * read the release, at least `minInstances` of them; polled every `intervalSeconds` for at most `timeoutSeconds`.
 */
const fleetConfirmation = /* @__PURE__ */ z.schema(() =>
  z.strictObject({
    mode: z.literal('fleet'),
    minShare: z._default(z.number().check(z.minimum(0.01, 'must be at least 0.01 (1 %)'), z.maximum(1, 'is a share: at most 1')), 0.9),
    windowSeconds: z._default(z.number().check(z.int(), z.minimum(30), z.maximum(86_400)), 300),
    minInstances: z._default(z.number().check(z.int(), z.minimum(1), z.maximum(100_000)), 1),
    timeoutSeconds: z._default(z.number().check(z.int(), z.minimum(10), z.maximum(86_400)), 900),
    intervalSeconds: z._default(z.number().check(z.int(), z.minimum(1), z.maximum(300)), 15),
  }),
);

/**
 * How a target says the change is live there: `immediate` (Stageline itself serves it: config and
 * flags read through the API), `callback` (its deployer answers POST /promotions/{id}/targets/{target}/confirm
 * within `timeoutSeconds`), or `health` (the flow polls `url` through the guarded outbound client
 * until it answers `expectStatus`, for at most `timeoutSeconds`), `argocd` (the flow reads the Argo CD application until it
 * is Synced at the commit Stageline delivered for the target and Healthy), `flux` (the flow reads the Flux Kustomization
 * through the Kubernetes API until it is Ready with the delivered commit as its last applied revision), or `fleet` (the
 * flow counts the application instances that identified themselves when they read the target's config or flags, and
 * confirms once `minInstances` of them were seen and `minShare` of those run the release; rollout/confirm-fleet.ts).
 */
export const confirmation = /* @__PURE__ */ z.schema(() =>
  z.discriminatedUnion('mode', [
    z.strictObject({ mode: z.literal('immediate') }),
    z.strictObject({
      mode: z.literal('callback'),
      timeoutSeconds: z._default(z.number().check(z.int(), z.minimum(30), z.maximum(86_400)), 3600),
    }),
    z.strictObject({
      mode: z.literal('health'),
      url: tenantUrl(),
      timeoutSeconds: z._default(z.number().check(z.int(), z.minimum(10), z.maximum(3600)), 300),
      intervalSeconds: z._default(z.number().check(z.int(), z.minimum(1), z.maximum(300)), 15),
      expectStatus: z._default(z.number().check(z.int(), z.minimum(200), z.maximum(399)), 200),
    }),
    fleetConfirmation,
    z.strictObject({
      mode: z.literal('argocd'),
      server: tenantUrl().check(z.describe('the Argo CD API server, e.g. https://argocd.example.com')),
      application: appName('the Argo CD application, `{target}` (and `{environment}`) filled in per target, e.g. platform-{target}'),
      tokenSecret: gitopsSecret(),
      project: z.optional(z.string().check(z.regex(/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/, 'must be an Argo CD project name'))),
      ...pollTimes(),
    }),
    z.strictObject({
      mode: z.literal('flux'),
      apiServer: tenantUrl().check(z.describe('the Kubernetes API server of the cluster Flux runs in, e.g. https://k8s.example.com:6443')),
      namespace: z.string().check(z.regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, 'must be a Kubernetes namespace name')),
      kustomization: appName('the Flux Kustomization, `{target}` (and `{environment}`) filled in per target, e.g. platform-{target}'),
      tokenSecret: gitopsSecret(),
      caSecret: z.optional(
        gitopsSecret('the secret holding the API server’s CA certificate (PEM), same purpose gitops-health; omit for a publicly trusted certificate'),
      ),
      ...pollTimes(),
    }),
  ]),
);
export type Confirmation = z.infer<typeof confirmation>;
export type FleetConfirmation = Extract<Confirmation, { mode: 'fleet' }>;

/** A template's name as an attachment names it (the verification context's templates are named so). */
export const ANALYSIS_TEMPLATE_NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;
export const MAX_ANALYSES = 5;

/** One analysis attached to a bake or a check: the template by name, with the values of its arguments. */
export const analysisRef = /* @__PURE__ */ z.schema(() =>
  z.strictObject({
    template: z
      .string()
      .check(
        z.regex(ANALYSIS_TEMPLATE_NAME, 'must name an analysis template: 1-63 characters, lower-case letters, digits and dashes'),
        notReserved(),
        z.describe("the name of one of the tenant's analysis templates (GET /analysis-templates)"),
      ),
    args: z._default(
      z
        .array(
          z.strictObject({
            name: z
              .string()
              .check(z.regex(/^[A-Za-z][A-Za-z0-9_-]{0,62}$/, "must name one of the template's arguments: letters, digits, _ and -"), notReserved()),
            value: z.string().check(z.maxLength(1024)),
          }),
        )
        .check(z.maxLength(20)),
      [],
    ),
  }),
);
export type AnalysisRef = z.infer<typeof analysisRef>;

/** The analyses a bake runs (at most 5). */
export const analyses = /* @__PURE__ */ z.schema(() => z.array(analysisRef).check(z.maxLength(MAX_ANALYSES)));

/** A check of the SOURCE environment before a promotion into this one: an analysis over the last `lookbackSeconds`. */
export const preAnalyses = /* @__PURE__ */ z.schema(() =>
  z
    .array(
      z.strictObject(
        z.extend(analysisRef, {
          lookbackSeconds: z
            .optional(z.number().check(z.int(), z.minimum(60), z.maximum(86_400)))
            .check(z.describe("how far back the source environment is measured (the template's own when left out)")),
        }).shape,
      ),
    )
    .check(z.maxLength(MAX_ANALYSES)),
);
export type PreAnalysis = z.infer<typeof preAnalyses>[number];

/**
 * A guarded wave compares its changed targets with the targets not yet changed, on the same query per
 * target: the wave fails when the changed ones are worse by more than `maxRegression` (a fraction) at
 * significance `alpha`.
 */
export const compareSpec = /* @__PURE__ */ z.schema(() =>
  z.strictObject(
    z.extend(analysisRef, {
      minSamples: z._default(z.number().check(z.int(), z.minimum(2), z.maximum(1000)), 5),
      maxRegression: z._default(
        z.number().check(
          z.minimum(0),
          z.maximum(10),
          z.refine((x) => x > 0, 'must be more than 0'),
        ),
        0.1,
      ),
      alpha: z._default(
        z.number().check(
          z.minimum(0),
          z.maximum(0.5),
          z.refine((x) => x > 0 && x < 0.5, 'must be more than 0 and less than 0.5'),
        ),
        0.05,
      ),
      direction: z._default(z.enum(['increase-is-bad', 'decrease-is-bad']), 'increase-is-bad'),
      tooFewSamples: z._default(z.enum(['fail', 'proceed']), 'fail'),
      maxWaitSeconds: z._default(z.number().check(z.int(), z.minimum(0), z.maximum(86_400)), 600),
    }).shape,
  ),
);
export type CompareSpec = z.infer<typeof compareSpec>;

/**
 * The confirmation modes the flow polls (TargetApply fails its token with CheckHealth, the `target-health`
 * step polls once per interval until the target confirms or its deadline passes): one judging function per
 * mode (domain/promotion/rollout/confirm-*.ts).
 */
export const POLLED_MODES = ['health', 'argocd', 'flux', 'fleet'] as const;
export type PolledMode = (typeof POLLED_MODES)[number];
export type PolledConfirmation = Extract<Confirmation, { mode: PolledMode }>;
export const isPolled = (c: Confirmation | undefined): c is PolledConfirmation => !!c && (POLLED_MODES as readonly string[]).includes(c.mode);
/** A GitOps controller's confirmation (Argo CD, Flux): read through its API with a tenant token. */
export type GitOpsConfirmation = Extract<Confirmation, { mode: 'argocd' | 'flux' }>;
export const isGitOps = (c: Confirmation | undefined): c is GitOpsConfirmation => c?.mode === 'argocd' || c?.mode === 'flux';

export const target = /* @__PURE__ */ z.schema(() =>
  z.strictObject({
    name: targetName,
    labels: z._default(labels, {}),
    wave: z.number().check(z.int(), z.minimum(1, 'waves are numbered from 1'), z.maximum(MAX_WAVES)),
    /** the AWS region of the target (its monitors are alarms there); the deployment's region when left out */
    region: z.optional(z.string().check(z.regex(/^[a-z]{2}(?:-[a-z]+)+-[0-9]$/, 'must be an AWS region, e.g. eu-west-1'))),
    /** the AWS account of the target: CloudWatch analysis reads its metrics there, with the role the tenant registered for it */
    account: z.optional(
      z
        .string()
        .check(
          z.regex(/^[0-9]{12}$/, 'must be a 12-digit AWS account id, e.g. 123456789012'),
          z.describe("the target's AWS account: CloudWatch analysis reads there, with the role registered for it (PUT /api/v1/metric-accounts)"),
        ),
    ),
    /** the environment's registry (by name) this target pulls from, where registries differ per region; the environment's first when left out */
    registry: z.optional(
      z
        .string()
        .check(
          z.minLength(1),
          z.maxLength(100),
          z.describe(
            "the name of one of the environment's registries the target pulls its artifacts from (a registry per region); the environment's first when left out",
          ),
        ),
    ),
    parameters: z._default(z.array(parameter).check(z.maxLength(50)), []),
    monitors: z._default(monitors, []),
    confirm: z._default(confirmation, { mode: 'immediate' }),
    /** the analyses this target's bake runs (besides its wave's and its environment's; the target's win by template) */
    analysis: z._default(analyses, []),
  }),
);
/** A target as stored: one saved before targets had analyses has none (`analysis` is then []). */
export type Target = Omit<z.infer<typeof target>, 'analysis'> & { analysis?: AnalysisRef[] };

/** A time of day in which a wave may start (HH:MM-HH:MM in `timezone`, on `days`); an end before the start spans midnight. */
export const startWindow = /* @__PURE__ */ z.schema(() =>
  z.strictObject({
    days: z._default(z.array(z.enum(['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'])).check(z.minLength(1), z.maxLength(7)), [
      'mon',
      'tue',
      'wed',
      'thu',
      'fri',
      'sat',
      'sun',
    ]),
    start: z.string().check(z.regex(/^([01][0-9]|2[0-3]):[0-5][0-9]$/, 'must be HH:MM (24 h)')),
    end: z.string().check(z.regex(/^([01][0-9]|2[0-3]):[0-5][0-9]$/, 'must be HH:MM (24 h)')),
    timezone: z._default(timeZone, 'UTC'),
  }),
);
export type StartWindow = z.infer<typeof startWindow>;

/** How waves run: targets in parallel per wave, the least bake of a wave, per-wave bake times, the windows waves may start in. */
export const rollout = /* @__PURE__ */ z.schema(() =>
  z.strictObject({
    maxParallel: z._default(z.number().check(z.int(), z.minimum(1), z.maximum(40)), 10),
    minBakeSeconds: z._default(z.number().check(z.int(), z.minimum(0), z.maximum(86_400)), 0),
    waves: z._default(
      z.array(
        z.strictObject({
          wave: z.number().check(z.int(), z.minimum(1), z.maximum(MAX_WAVES)),
          bakeSeconds: z.optional(z.number().check(z.int(), z.minimum(0), z.maximum(86_400))),
          maxParallel: z.optional(z.number().check(z.int(), z.minimum(1), z.maximum(40))),
          pause: z.optional(
            z
              .boolean()
              .check(
                z.describe(
                  'true: the rollout halts before this wave starts and waits for a release manager to resume it (a planned hold, e.g. before the first big wave)',
                ),
              ),
          ),
          /** the analyses every target of this wave bakes with (besides the environment's and the target's own) */
          analysis: z.optional(analyses),
          /** a guarded wave: its changed targets compared with the targets not yet changed */
          compare: z.optional(compareSpec),
        }),
      ),
      [],
    ),
    startWindows: z._default(z.array(startWindow).check(z.maxLength(10)), []),
  }),
);
export type Rollout = z.infer<typeof rollout>;

/**
 * The targets live in an item of their own beside the environment's (functions/adapters/store/targets.ts),
 * written only when they change and read with it; an item holds at most 400 KB and a targets change rewrites
 * the whole list: their JSON is bounded, so 100 targets with labels, monitors and a few parameters fit with
 * room to spare, and larger per-target values belong in config keys.
 */
export const MAX_TARGETS_BYTES = 128 * 1024;

export const targets = /* @__PURE__ */ z.schema(() =>
  z.array(target).check(
    z.maxLength(MAX_TARGETS),
    z.refine((ts) => Buffer.byteLength(JSON.stringify(ts)) <= MAX_TARGETS_BYTES, {
      message: `targets must be at most ${MAX_TARGETS_BYTES} bytes of JSON in all: keep large per-target values in config keys, and parameters for what differs`,
    }),
  ),
);
