import * as z from '../../../domain/kernel/zod.ts';
import { digest, open, time } from './common.ts';

/** What the artifact, consumer, deployment and registry-link routes answer. */
export const artifactVersion = /* @__PURE__ */ z.schema(() =>
  z
    .strictObject({
      name: z.string(),
      version: z.string(),
      digest,
      sourceCommit: z.string(),
      committedAt: z.optional(time),
      metadata: open,
      publishedAt: time,
      publishedBy: z.string(),
    })
    .check(z.meta({ id: 'ArtifactVersion' })),
);

export const consumer = /* @__PURE__ */ z.schema(() =>
  z
    .strictObject({
      artifact: z.string(),
      name: z.string(),
      constraint: z.string(),
      kind: z.string().check(z.describe('the kind of semver constraint')),
      environment: z.nullable(z.string()),
      updatedAt: time,
      updatedBy: z.string(),
    })
    .check(z.meta({ id: 'Consumer' })),
);

/** a deployment record */
export const deployment = /* @__PURE__ */ z.schema(() =>
  z
    .strictObject({
      id: z.string(),
      environment: z.string(),
      imageTag: z.string(),
      gitCommit: z.string(),
      gitBranch: z.string(),
      status: z.enum(['PENDING', 'DEPLOYED', 'FAILED', 'ROLLED_BACK']),
      deployedAt: time,
      completedAt: z.nullable(time),
      promotionId: z.nullable(z.string()),
      digest: z.string(),
      deployedBy: z.string(),
      artifact: z.optional(z.string()),
      gateway: z.optional(z.string()),
      target: z.optional(z.string()).check(z.describe('the target of the environment the record is about (absent: the environment as a whole)')),
    })
    .check(z.meta({ id: 'Deployment' })),
);

/** DORA's five software delivery metrics (domain/artifacts/dora.ts; docs/reference/dora.md). */
export const doraFiguresSchema = /* @__PURE__ */ z.schema(() =>
  z
    .strictObject({
      deploymentFrequencyPerDay: z
        .number()
        .check(z.describe('deployment frequency (DORA: the number of deployments over a given period): deployments here per day of the range or period')),
      leadTimeHours: z
        .nullable(z.number())
        .check(
          z.describe(
            "change lead time (DORA: the time it takes a change to go from committed to deployed): the mean hours from the version's first appearance in the line to its deployment here; null without one",
          ),
        ),
      leadTimeSeconds: z
        .nullable(z.number().check(z.int()))
        .check(
          z.describe(
            'the same mean change lead time in seconds, to the second (from the exact durations; leadTimeHours is rounded to 2 decimals for reading); null without one',
          ),
        ),
      changeFailureRate: z
        .nullable(z.number())
        .check(
          z.describe(
            'change fail rate (DORA: the ratio of deployments that require immediate intervention, a rollback or a hotfix): deployments that failed or were rolled back / deployments; null without deployments',
          ),
        ),
      recoveryTimeHours: z
        .nullable(z.number())
        .check(
          z.describe(
            'failed deployment recovery time (DORA: the time it takes to recover from a deployment that fails and requires immediate intervention): mean hours from a failed or rolled-back promotion to the next successful promotion here (a rollback of a completed promotion: from when that one went live); null without a recovery',
          ),
        ),
      recoveryTimeSeconds: z
        .nullable(z.number().check(z.int()))
        .check(z.describe('the same mean failed deployment recovery time in seconds, to the second (from the exact durations); null without a recovery')),
      reworkRate: z
        .nullable(z.number())
        .check(
          z.describe(
            'deployment rework rate (DORA: the ratio of deployments that are unplanned but happen as a result of an incident): rollback promotions and fix-forwards (a successful promotion within 24 hours of an unrecovered failed or rolled-back one here) / deployments; null without deployments',
          ),
        ),
      deployments: z.number().check(z.int()),
      changeFailures: z.number().check(z.int(), z.describe('deployments that failed or were rolled back')),
      recoveries: z.number().check(z.int(), z.describe('recoveries measured')),
      reworkDeployments: z.number().check(z.int(), z.describe('rollback promotions and fix-forwards')),
    })
    .check(z.meta({ id: 'DoraMetrics' })),
);

const metricsSummary = /* @__PURE__ */ z.schema(() =>
  z.strictObject({
    deployments: z.number().check(z.int()),
    failed: z.number().check(z.int()),
    rolledBack: z.number().check(z.int()),
    rollbackRate: z.number().check(z.describe('rolledBack / deployments (0 without deployments)')),
    durationSeconds: z.strictObject({
      mean: z.nullable(z.number()),
      medianAtMost: z.nullable(z.number()).check(z.describe('the upper bound of the duration bucket (powers of two seconds) the median falls in')),
      p90AtMost: z.nullable(z.number()),
    }),
    leadTimeHours: z
      .nullable(z.number())
      .check(
        z.describe(
          "lead time into this environment, in hours: the mean, over the deployments that went live here, of the time from the version's first appearance in the line (an artifact version's publication or first deployment record; a config release's first snapshot, carried along the line by its promotions) to its deployment here; rollbacks do not count; null without such a deployment",
        ),
      ),
    dora: doraFiguresSchema,
  }),
);
const metricsPeriods = /* @__PURE__ */ z.schema(() =>
  z.array(
    z.strictObject(z.extend(metricsSummary, { period: z.string().check(z.describe('YYYY-MM-DD, YYYY-MM, or the Monday of a week as YYYY-MM-DD/week')) }).shape),
  ),
);
export const deploymentMetrics = /* @__PURE__ */ z.schema(() =>
  z
    .strictObject({
      environments: z.array(
        z.strictObject({
          environment: z.string(),
          target: z.optional(z.string()).check(z.describe("with ?target=: the figures are that target's")),
          from: z.string().check(z.describe('YYYY-MM-DD')),
          to: z.string().check(z.describe('YYYY-MM-DD')),
          period: z.enum(['day', 'week', 'month']),
          total: metricsSummary.check(z.describe("the environment's records (without a target), or the target's")),
          periods: metricsPeriods,
          targets: z
            .optional(z.array(z.strictObject({ target: z.string(), wave: z.number().check(z.int()), total: metricsSummary, periods: metricsPeriods })))
            .check(z.describe("an environment with targets: each target's figures (the records naming it), in declaration order")),
        }),
      ),
      versions: z
        .array(z.strictObject({ environment: z.string(), imageTag: z.nullable(z.string()) }))
        .check(z.describe('what each environment runs now, in line order')),
      drift: z.array(
        z.strictObject({ environment: z.string(), behind: z.string().check(z.describe('the environment before it in the line')), differs: z.boolean() }),
      ),
      line: z
        .strictObject({ from: z.string(), to: z.string(), dora: doraFiguresSchema })
        .check(z.describe("DORA's five over the line: the environments answered, their counters summed")),
    })
    .check(z.meta({ id: 'DeploymentMetrics' })),
);

export const repoLink = /* @__PURE__ */ z.schema(() =>
  z
    .strictObject({
      artifact: z.string(),
      id: z.string(),
      registry: z.string(),
      repository: z.string(),
      tags: z.union([z.strictObject({ semver: z.literal(true) }), z.strictObject({ pattern: z.string() })]),
      createdAt: time,
      createdBy: z.string(),
    })
    .check(z.meta({ id: 'RegistryLink' })),
);

export const artifactPublishResponse = /* @__PURE__ */ z.schema(() =>
  z.strictObject({
    artifact: artifactVersion,
    environment: z.string().check(z.describe('the first environment of the line')),
    created: z.boolean().check(z.describe('false: the same version and digest were already published')),
    registries: z.optional(z.array(z.strictObject({ registry: z.string(), digest: z.nullable(digest), tags: z.array(z.string()) }))),
  }),
);
export const artifactVersionsResponse = /* @__PURE__ */ z.schema(() =>
  z.union([
    z.strictObject({ artifact: z.string(), versions: z.array(artifactVersion) }),
    z.strictObject({
      artifact: z.string(),
      environment: z.string(),
      latest: z.nullable(z.strictObject({ version: z.string(), digest, tag: z.string() })),
      versions: z.array(
        z.strictObject({
          version: z.string(),
          digest,
          tag: z.string(),
          kind: z.enum(['release', 'rollback']),
          createdAt: time,
          createdBy: z.string(),
          current: z.boolean(),
        }),
      ),
    }),
  ]),
);
export const consumersListResponse = /* @__PURE__ */ z.schema(() => z.strictObject({ items: z.array(consumer) }));
export const artifactTagResponse = /* @__PURE__ */ z.schema(() =>
  z.strictObject({
    name: z.string(),
    artifact: z.string(),
    version: z.string(),
    digest,
    environment: z.string(),
    kind: z.enum(['release', 'latest', 'rollback']),
    mutable: z.boolean(),
    createdAt: time,
    createdBy: z.string(),
  }),
);
export const deploymentHistoryResponse = /* @__PURE__ */ z.schema(() =>
  z.array(deployment).check(z.describe("a plain array, newest first; the next page's cursor is in X-Next-Cursor")),
);
export const artifactResolveResponse = /* @__PURE__ */ z.schema(() =>
  z.strictObject({
    artifact: z.string(),
    constraint: z.string(),
    kind: z.string(),
    version: z.string(),
    digest,
    environment: z.optional(z.nullable(z.string())),
    warning: z.optional(z.string()),
  }),
);
export const repoLinksResponse = /* @__PURE__ */ z.schema(() => z.strictObject({ items: z.array(repoLink) }));
export const repoLinkCreatedResponse = /* @__PURE__ */ z.schema(() =>
  z.strictObject(z.extend(repoLink, { notifyToken: z.string().check(z.describe('send it as Authorization: Bearer from the registry; shown only now')) }).shape),
);
export const registryNotificationsResponse = /* @__PURE__ */ z.schema(() =>
  z.strictObject({
    results: z.array(open).check(z.describe('per tagged manifest push: the version published (created or already there), or why it was skipped')),
  }),
);

/** A release bundle (domain/artifacts/bundles.ts). */
export const bundle = /* @__PURE__ */ z.schema(() =>
  z
    .strictObject({
      name: z.string(),
      digest: digest.check(z.describe('sha256 over its members (name, version, digest) and its configuration (content digest, key patterns)')),
      members: z.array(z.strictObject({ name: z.string(), version: z.string(), digest })),
      config: z.optional(
        z
          .strictObject({ environment: z.string(), seq: z.number().check(z.int()), digest, keyPatterns: z.array(z.string()) })
          .check(z.describe("the environment's snapshot it carries: all of it, or the keys matching keyPatterns")),
      ),
      from: z.optional(z.string().check(z.describe('the environment it was taken from'))),
      notes: z.optional(z.string()),
      createdAt: time,
      createdBy: z.string(),
    })
    .check(z.meta({ id: 'Bundle' })),
);
export const bundlesResponse = /* @__PURE__ */ z.schema(() => z.strictObject({ bundles: z.array(bundle) }));
export const bundleVersionsResponse = /* @__PURE__ */ z.schema(() =>
  z.strictObject({
    name: z.string(),
    latest: bundle,
    versions: z.array(bundle).check(z.describe('newest first')),
    environments: z
      .array(z.strictObject({ environment: z.string(), digest: z.nullable(digest) }))
      .check(z.describe('per environment, the newest version of the bundle whose every member it runs (null: none)')),
  }),
);

export const metricsTokenResponse = /* @__PURE__ */ z.schema(() =>
  z
    .strictObject({
      tenant: z.string(),
      createdAt: time,
      createdBy: z.string(),
      rotatedAt: z.nullable(time),
    })
    .check(z.meta({ id: 'MetricsScrapeToken' })),
);
export const metricsTokenIssuedResponse = /* @__PURE__ */ z.schema(() =>
  z.strictObject({
    ...metricsTokenResponse.shape,
    token: z
      .string()
      .check(
        z.describe(
          "the metrics scrape token (slm.<tenant>.<secret>), shown this once: put it in the scraper's config (Prometheus: authorization.credentials); the table keeps only its hash",
        ),
      ),
  }),
);
