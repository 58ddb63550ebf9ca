import { randomUUID } from 'node:crypto';
import cleanVersion from 'semver/functions/clean.js';
import coerce from 'semver/functions/coerce.js';
import compare from 'semver/functions/compare.js';
import valid from 'semver/functions/valid.js';
import maxSatisfying from 'semver/ranges/max-satisfying.js';
import { auditEntry } from '../audit/audit.ts';
import { AlreadyExists, ArtifactNotFound, EnvironmentNotFound, RuleViolation, Unavailable, ValidationFailed } from '../kernel/errors.ts';
import { classify } from './versions.ts';
import { deploymentOp, leadTimeOf } from './deployments.ts';
import { guardFreeze } from '../freeze/windows.ts';
import { breakGlassEvent } from '../config/commit.ts';
import { eventOp } from '../kernel/events.ts';
import { lineOf } from '../kernel/line.ts';
import type { PublishArtifact } from '../kernel/promotion-schemas.ts';
import { retryOnConflict } from '../kernel/retry.ts';
import { assertTagsFree, registryTagsOf, repositoryOf, tagName, tagOps } from './tags.ts';
import type { Ctx, Deps, WriteOp, With } from '../kernel/deps.ts';
import type { RegistryTag } from './ports.ts';
import type { ArtifactVersion, Deployment } from '../kernel/promotion-model.ts';
import type { Environment } from '../kernel/model.ts';
import type { Consumer, ConstraintKind, Tag } from './model.ts';

/** The tags a version gets (domain/artifacts/tags.ts: free of semver, which the store and the promotion step use). */
export { assertTagsFree, registryTagsOf, repositoryOf, tagName, tagOps };

export async function listVersions(deps: Deps, ctx: Ctx, name: string, environment?: string) {
  const { tenant } = ctx.principal;
  if (environment) {
    if (!(await deps.store.getEnvironment(tenant, environment))) throw new EnvironmentNotFound(environment);
    const tags = await deps.store.listTags(tenant, name, environment);
    const latest = tags.find((t) => t.kind === 'latest');
    return {
      artifact: name,
      environment,
      latest: latest ? { version: latest.version, digest: latest.digest, tag: latest.name } : null,
      versions: tags
        .filter((t) => t.kind !== 'latest')
        .sort((a, b) => (a.createdAt < b.createdAt ? 1 : -1))
        .map((t) => ({
          version: t.version,
          digest: t.digest,
          tag: t.name,
          kind: t.kind,
          createdAt: t.createdAt,
          createdBy: t.createdBy,
          current: latest?.version === t.version,
        })),
    };
  }
  const versions = await deps.store.listArtifactVersions(tenant, name);
  if (versions.length === 0) throw new ArtifactNotFound(`No versions of '${name}' have been published`);
  return { artifact: name, versions: versions.sort((a, b) => compareVersions(b.version, a.version)) };
}

function compareVersions(a: string, b: string): number {
  const va = coerce(a, { includePrerelease: true });
  const vb = coerce(b, { includePrerelease: true });
  return va && vb ? compare(va, vb) : a.localeCompare(b);
}

/** Parses a tag name against the tenant's environments (names may contain dashes, so match by suffix). */
export async function getTag(deps: Deps, ctx: Ctx, name: string, tag: string): Promise<Tag> {
  const { tenant } = ctx.principal;
  const envs = (await deps.store.listEnvironments(tenant)).map((e) => e.name).sort((a, b) => b.length - a.length);
  for (const env of envs) {
    const parsed: [Tag['kind'], string] | null =
      tag === `latest-${env}`
        ? ['latest', '']
        : tag.endsWith(`-${env}-rollback`)
          ? ['rollback', tag.slice(0, -`-${env}-rollback`.length)]
          : tag.endsWith(`-${env}`)
            ? ['release', tag.slice(0, -`-${env}`.length)]
            : null;
    if (!parsed) continue;
    const found = await deps.store.getTag(tenant, name, env, parsed[0], parsed[1]);
    if (found) return found;
  }
  throw new ArtifactNotFound(`No tag '${tag}' for '${name}'`, { tag });
}

/** What a consumer's constraint is (versions.ts), and what a version would break (consumers-broken.ts: semver loaded only when there are consumers). */
export { brokenBy, classify } from './versions.ts';
export { consumersBroken, consumersBrokenText } from './consumers-broken.ts';

export async function resolveConstraint(deps: Deps, ctx: Ctx, name: string, constraint: string, environment?: string) {
  const { tenant } = ctx.principal;
  const { kind, range } = classify(constraint);
  if (kind === 'tag') {
    const tag = await getTag(deps, ctx, name, range);
    return {
      artifact: name,
      constraint,
      kind,
      version: tag.version,
      digest: tag.digest,
      warning: `'${range}' is a mutable tag: it resolves to whatever was promoted last; pin a version or a range instead`,
    };
  }
  const candidates = environment
    ? (await deps.store.listTags(tenant, name, environment)).filter((t) => t.kind !== 'latest').map((t) => ({ version: t.version, digest: t.digest }))
    : (await deps.store.listArtifactVersions(tenant, name)).map((v) => ({ version: v.version, digest: v.digest }));
  const byClean = new Map(candidates.map((c) => [cleanVersion(c.version) ?? c.version, c]));
  const best = maxSatisfying(
    [...byClean.keys()].filter((v) => valid(v)),
    range,
    { includePrerelease: false },
  );
  if (!best) {
    throw new ArtifactNotFound(`No version of '${name}'${environment ? ` in '${environment}'` : ''} satisfies '${constraint}'`, {
      candidates: [...byClean.keys()],
    });
  }
  const hit = byClean.get(best)!;
  return { artifact: name, constraint, kind, version: hit.version, digest: hit.digest, environment: environment ?? null };
}

export async function putConsumer(
  deps: Deps,
  ctx: Ctx,
  artifact: string,
  name: string,
  body: { constraint: string; environment?: string | null },
): Promise<Consumer> {
  const { tenant } = ctx.principal;
  const { kind } = classify(body.constraint);
  const cur = (await deps.store.listConsumers(tenant, artifact)).find((c) => c.name === name) ?? null;
  // Left out: the environment stays what it was (a pin is never widened to every environment by omission); null: every environment.
  const environment = body.environment === undefined ? (cur?.environment ?? null) : body.environment;
  if (environment && body.environment !== undefined && !(await deps.store.getEnvironment(tenant, environment))) throw new EnvironmentNotFound(environment);
  const consumer: Consumer = {
    artifact,
    name,
    constraint: body.constraint,
    kind,
    environment,
    updatedAt: deps.clock().toISOString(),
    updatedBy: ctx.principal.name,
  };
  const audit = auditEntry(
    tenant,
    {
      actor: ctx.principal.id,
      actorName: ctx.principal.name,
      action: 'consumer.pin',
      entityType: 'consumer',
      entityId: `${artifact}/${name}`,
      before: cur?.constraint ?? null,
      after: body.constraint,
      requestId: ctx.requestId,
    },
    deps.clock(),
  );
  await deps.store.commit(tenant, [
    { kind: 'consumer', consumer },
    { kind: 'audit', entry: audit },
  ]);
  return consumer;
}

export async function listConsumers(deps: Deps, ctx: Ctx, artifact: string): Promise<Consumer[]> {
  return deps.store.listConsumers(ctx.principal.tenant, artifact);
}

/** The principal registry discovery publishes as (domain/artifacts/discovery.ts): its versions are `via: discovery`. */
export const DISCOVERY_PRINCIPAL = 'stageline:discovery';

/** Publishes a version into the first environment of the line (creates <version>-<env> and latest-<env>). */
export async function publishArtifact(deps: With<'registry'>, ctx: Ctx, name: string, input: PublishArtifact) {
  const { tenant } = ctx.principal;
  return retryOnConflict(deps.tunables, async () => {
    const envs = lineOf(await deps.store.listEnvironments(tenant));
    const first = envs[0];
    if (!first) throw new RuleViolation('Create an environment first: a version is published into the first environment of the line');
    const existing = await deps.store.getArtifactVersion(tenant, name, input.version);
    if (existing) {
      if (existing.digest === input.digest) return { artifact: existing, environment: first.name, created: false };
      throw new AlreadyExists(`${name}@${input.version} was published with digest ${existing.digest}; versions are immutable — publish a new version`, {
        digest: existing.digest,
      });
    }
    // A publish moves latest-<env>: a freeze window over the first environment stops it, unless broken.
    const glass = await guardFreeze(deps, ctx, first.name, 'artifact.publish');
    const now = deps.clock().toISOString();
    // Lead time counts from the commit (or build) the publication names; without one, from the publication itself.
    if (input.committedAt && Date.parse(input.committedAt) > Date.parse(now) + 5 * 60_000)
      throw new ValidationFailed([{ path: 'body.committedAt', message: `must not be in the future (it is ${now} here)` }]);
    const origin = input.committedAt ? new Date(Math.min(Date.parse(input.committedAt), Date.parse(now))).toISOString() : now;
    const artifact: ArtifactVersion = {
      name,
      version: input.version,
      digest: input.digest,
      sourceCommit: input.sourceCommit,
      ...(input.committedAt ? { committedAt: origin } : {}),
      metadata: { ...input.metadata, gitBranch: input.gitBranch },
      publishedAt: now,
      publishedBy: ctx.principal.name,
    };
    const prev = await deps.store.getPointer(tenant, first.name, name);
    const deploymentId = randomUUID();
    const firstDeployment: Deployment = {
      id: deploymentId,
      environment: first.name,
      imageTag: input.version,
      gitCommit: input.sourceCommit,
      gitBranch: input.gitBranch,
      status: 'DEPLOYED',
      deployedAt: now,
      completedAt: now,
      promotionId: null,
      digest: input.digest,
      deployedBy: ctx.principal.name,
    };
    const tags = tagOps(artifact, first.name, 'release', ctx.principal.name, now);
    await assertTagsFree(deps, tenant, tags);
    // publish "creates v1.2.3-dev, latest-dev" — in the environment's registries too, each read back
    // and verified to resolve to the digest, before the version exists here (a refusal publishes nothing).
    const registries = first.registries?.length ? await tagInRegistries(deps, tenant, artifact, first.registries, registryTagsOf(tags)) : undefined;
    const audit = auditEntry(
      tenant,
      {
        actor: ctx.principal.id,
        actorName: ctx.principal.name,
        action: glass ? 'breakglass.artifact.publish' : 'artifact.publish',
        entityType: 'artifact',
        entityId: `${name}@${input.version}`,
        ...(glass ? { reason: `break-glass: ${glass.reason}` } : {}),
        before: prev ? prev.digest : null,
        after: input.digest,
        requestId: ctx.requestId,
      },
      deps.clock(),
    );
    await deps.store.commit(tenant, [
      { kind: 'artifactVersion', artifact },
      {
        kind: 'pointer',
        pointer: {
          environment: first.name,
          name,
          version: input.version,
          digest: input.digest,
          promotedAt: now,
          promotedBy: ctx.principal.name,
          promotionId: null,
          version_: (prev?.version_ ?? 0) + 1,
        },
        expectedVersion: prev ? prev.version_ : null,
      },
      ...tags,
      deploymentOp(firstDeployment, null, now),
      // Lead time into the first environment: from the commit the publication names (0 without one).
      ...[leadTimeOf(firstDeployment, origin)].map((delta) => ({ kind: 'metrics' as const, delta })),
      { kind: 'audit', entry: audit },
      ...(glass ? [{ kind: 'event' as const, event: breakGlassEvent(tenant, first.name, glass) }] : []),
      // Artifact Published (webhook artifact.published), in the same transaction: sent if and only if the version exists.
      eventOp('Artifact Published', tenant, {
        tenant,
        artifact: name,
        version: input.version,
        digest: input.digest,
        environment: first.name,
        publishedBy: ctx.principal.name,
        via: ctx.principal.id === DISCOVERY_PRINCIPAL ? 'discovery' : 'api',
        at: now,
      }),
    ]);
    await deps.store.markFirstSeen(tenant, input.version, origin);
    return { artifact, environment: first.name, created: true, ...(registries ? { registries } : {}) };
  });
}

/** A registry failed for a moment: nothing is published, and the same request (same Idempotency-Key) may be sent again. */
const unavailable = (artifact: ArtifactVersion, why: string) =>
  new Unavailable(
    `${artifact.name}@${artifact.version} is not published yet: ${why}. The registry failed for a moment and nothing was published: send the same request again after Retry-After, with the same Idempotency-Key`,
  );

async function tagInRegistries(
  deps: With<'registry'>,
  tenant: string,
  artifact: ArtifactVersion,
  registries: NonNullable<Environment['registries']>,
  tags: RegistryTag[],
) {
  let results;
  try {
    // The artifact was pushed to the first registry (by the build); the others get a verified copy.
    results = await deps.registry.sync({
      tenant,
      repository: repositoryOf(artifact),
      digest: artifact.digest,
      source: registries[0]!,
      targets: registries,
      tags,
    });
  } catch (err) {
    if ((err as { transient?: unknown }).transient === true) throw unavailable(artifact, (err as Error).message);
    throw new RuleViolation(`${artifact.name}@${artifact.version} cannot be published: ${(err as Error).message} (push it to ${registries[0]!.name} first)`);
  }
  const failed = results.filter((r) => !r.ok);
  // A registry that refused (a 4xx, a digest mismatch) needs a change; one that only failed for a moment needs the
  // same request again (nothing is published, and a tag the try wrote is found in place by the next).
  const refused = failed.filter((f) => !f.transient);
  if (refused.length)
    throw new RuleViolation(`${artifact.name}@${artifact.version} cannot be published: ${refused.map((f) => f.reason ?? f.registry).join('; ')}`);
  if (failed.length) throw unavailable(artifact, failed.map((f) => f.reason ?? f.registry).join('; '));
  return results.map((r) => ({ registry: r.registry, digest: r.digest, tags: r.tags ?? [] }));
}
