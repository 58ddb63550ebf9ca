import * as z from 'zod';
import { digest, open, time } from './common.ts';

/** What the artifact, consumer, deployment and registry-link routes answer. */
const artifactVersion = /* @__PURE__ */ z
  .object({ name: z.string(), version: z.string(), digest, sourceCommit: z.string(), metadata: open, publishedAt: time, publishedBy: z.string() })
  .strict()
  .meta({ id: 'ArtifactVersion' });

const consumer = /* @__PURE__ */ z
  .object({ artifact: z.string(), name: z.string(), constraint: z.string(), kind: z.string().describe('the kind of semver constraint'), environment: z.string().nullable(), updatedAt: time, updatedBy: z.string() })
  .strict()
  .meta({ id: 'Consumer' });

/** a deployment record */
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

export const ARTIFACT_RESPONSES: Record<string, z.ZodType> = {
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
  'consumers-list': z.object({ items: z.array(consumer) }).strict(),
  'consumers-put': consumer,
  'artifacts-tag': z
    .object({ name: z.string(), artifact: z.string(), version: z.string(), digest, environment: z.string(), kind: z.enum(['release', 'latest', 'rollback']), mutable: z.boolean(), createdAt: time, createdBy: z.string() })
    .strict(),
  'deployments-history': z.array(deployment).describe("a plain array, newest first; the next page's cursor is in X-Next-Cursor"),
  'deployments-record': deployment,
  'artifacts-resolve': z
    .object({ artifact: z.string(), constraint: z.string(), kind: z.string(), version: z.string(), digest, environment: z.string().nullable().optional(), warning: z.string().optional() })
    .strict(),
  'deployments-metrics': deploymentMetrics,
  'artifacts-links': z.object({ items: z.array(repoLink) }).strict(),
  'artifacts-links-create': repoLink.extend({ notifyToken: z.string().describe('send it as Authorization: Bearer from the registry; shown only now') }).strict(),
  'registry-notifications': z.object({ results: z.array(open).describe('per tagged manifest push: the version published (created or already there), or why it was skipped') }).strict(),
};
