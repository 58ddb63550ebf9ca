import type { Consumer, RepoLink, Tag } from '../../../domain/artifacts/model.ts';
import { ValidationFailed } from '../../../domain/kernel/errors.ts';
import type { AuditEntry, Page } from '../../../domain/kernel/model.ts';
import type { ArtifactPointer, ArtifactVersion, Bundle, Deployment } from '../../../domain/kernel/promotion-model.ts';
import type { WriteOp } from '../../../domain/ports.ts';
import type { ArtifactOp, ArtifactStorePort, DeploymentOp, DeploymentStorePort, MetricDelta, RepoLinkOp } from '../../../domain/artifacts/ports.ts';
import { GSI_ENTITY, GSI_MONITOR, indexAttributes, keys } from '../../../functions/adapters/keys.ts';
import { artifactVersionItem, latestTagOf, openArtifactVersion } from '../../../functions/adapters/store/artifacts.ts';
import { decodeCursor, strip } from '../../../functions/adapters/store/base.ts';
import type { CommitContext, MemoryState, Writers } from './area.ts';
import { auditWrite } from './audit.ts';
import { create, createOrVersion, less, overwrite, versioned, type Item, type Write } from './table.ts';
import type { ScrapeToken } from '../../../domain/artifacts/dora-export.ts';

/** `latest-<env>` moves with the environment's pointer and is read from it: a commit moving that pointer writes no item for it. */
const movesWithPointer = (tag: Tag, ops: readonly WriteOp[]) =>
  tag.kind === 'latest' &&
  ops.some(
    (o) =>
      o.kind === 'pointer' &&
      o.pointer.environment === tag.environment &&
      o.pointer.name === tag.artifact &&
      o.pointer.digest === tag.digest &&
      o.pointer.version === tag.version,
  );

/** Artifacts (versions, pointers, tags, consumers, registry links) and deployments (history, current, metrics, first sightings). */
export function artifactArea({ table }: MemoryState) {
  const linkItem = (link: RepoLink): Item => ({
    ...keys.repoLink(link.tenant, link.artifact, link.id),
    ...indexAttributes.repoLink(link),
    entity: 'RepoLink',
    ...link,
  });
  const linkWrite = (link: RepoLink, replace: boolean, reason: Write['reason']): Write => ({
    key: keys.repoLink(link.tenant, link.artifact, link.id),
    when: (cur) => (replace ? cur !== undefined : cur === undefined),
    to: linkItem(link),
    reason,
  });
  const linkDelete = (link: RepoLink, reason: Write['reason']): Write => ({
    key: keys.repoLink(link.tenant, link.artifact, link.id),
    when: (cur) => cur !== undefined,
    to: null,
    reason,
  });
  const getPointer = (tenant: string, env: string, name: string) => strip<ArtifactPointer>(table.get(keys.pointer(tenant, env, name)));

  const artifacts: ArtifactStorePort = {
    async getArtifactVersion(tenant: string, name: string, version: string): Promise<ArtifactVersion | null> {
      return openArtifactVersion(table.get(keys.artifactVersion(tenant, name, version)));
    },
    async listArtifactVersions(tenant: string, name: string): Promise<ArtifactVersion[]> {
      const k = keys.artifactVersions(tenant, name);
      return table.query(k.pk, { prefix: k.skPrefix }).map((i) => openArtifactVersion(i)!);
    },
    async getPointer(tenant: string, env: string, name: string): Promise<ArtifactPointer | null> {
      return getPointer(tenant, env, name);
    },
    async listPointers(tenant: string, env: string): Promise<ArtifactPointer[]> {
      const k = keys.pointers(tenant, env);
      return table.query(k.pk, { prefix: k.skPrefix }).map((i) => strip<ArtifactPointer>(i)!);
    },
    async getBundle(tenant: string, name: string, digest: string): Promise<Bundle | null> {
      return strip<Bundle>(table.get(keys.bundle(tenant, name, digest)));
    },
    async listBundles(tenant: string, name?: string): Promise<Bundle[]> {
      const k = keys.bundles(tenant, name);
      return table.query(k.pk, { prefix: k.skPrefix }).map((i) => strip<Bundle>(i)!);
    },
    async getTag(tenant: string, artifact: string, env: string, kind: Tag['kind'], version: string): Promise<Tag | null> {
      if (kind === 'latest') {
        const pointer = getPointer(tenant, env, artifact);
        if (pointer) return latestTagOf(pointer);
      }
      return strip<Tag>(table.get(keys.tag(tenant, artifact, env, kind, version)));
    },
    async listTags(tenant: string, artifact: string, env: string): Promise<Tag[]> {
      const k = keys.tagsIn(tenant, artifact, env);
      const tags = table.query(k.pk, { prefix: k.skPrefix }).map((i) => strip<Tag>(i)!);
      const pointer = getPointer(tenant, env, artifact);
      return pointer ? [...tags.filter((t) => t.kind !== 'latest'), latestTagOf(pointer)] : tags;
    },
    async listConsumers(tenant: string, artifact: string): Promise<Consumer[]> {
      const k = keys.consumers(tenant, artifact);
      return table.query(k.pk, { prefix: k.skPrefix }).map((i) => strip<Consumer>(i)!);
    },
    async putRepoLink(link: RepoLink, audit: AuditEntry): Promise<void> {
      table.transact([linkWrite(link, false, 'exists'), auditWrite(audit)]);
    },
    async deleteRepoLink(link: RepoLink, audit: AuditEntry): Promise<void> {
      table.transact([linkDelete(link, 'version'), auditWrite(audit)]);
    },
    async listRepoLinks(tenant: string, artifact: string): Promise<RepoLink[]> {
      const k = keys.repoLinks(tenant, artifact);
      return table.query(k.pk, { prefix: k.skPrefix }).map((i) => strip<RepoLink>(i)!);
    },
    async getRepoLink(tenant: string, artifact: string, id: string): Promise<RepoLink | null> {
      return strip<RepoLink>(table.get(keys.repoLink(tenant, artifact, id)));
    },
    async repoLinksOf(registry: string, repository: string): Promise<RepoLink[]> {
      return table
        .queryIndex(GSI_MONITOR, keys.repoLinksOf(registry, repository))
        .map((i) => strip<RepoLink>(i)!)
        .filter((l) => l.registry === registry && l.repository === repository);
    },
    async linkedArtifacts(tenant: string): Promise<string[]> {
      const names = new Set(table.queryIndex(GSI_ENTITY, keys.linkedArtifacts(tenant)).map((i) => String(i[GSI_ENTITY.sortKey]).replace(/#[^#]*$/, '')));
      return [...names].sort();
    },
  };

  const deployments: DeploymentStorePort = {
    async getDeployment(tenant: string, env: string, deployedAt: string, id: string): Promise<Deployment | null> {
      return strip<Deployment>(table.get(keys.deployment(tenant, env, deployedAt, id)));
    },
    async findDeployment(tenant: string, id: string): Promise<Deployment | null> {
      const ref = table.get(keys.deploymentById(tenant, id));
      return ref ? strip<Deployment>(table.get(keys.deployment(tenant, ref.environment as string, ref.deployedAt as string, id))) : null;
    },
    async listDeployments(tenant: string, env: string, limit: number, cursor?: string, target?: string): Promise<Page<Deployment>> {
      const pk = target ? keys.targetDeployments(tenant, env, target) : keys.deployments(tenant, env);
      const after = decodeCursor(tenant, cursor);
      if (after && after.pk !== pk) throw new ValidationFailed([{ path: 'query.cursor', message: 'belongs to another environment or target' }]);
      // The DynamoDB store seeks with a key condition (sk < the cursor's), not a start key: a fresh query each page.
      const page = table.page(tenant, { partition: pk, range: after ? { below: String(after.sk) } : undefined, forward: false, limit });
      return { items: page.items.map((i) => strip<Deployment>(i)!), nextCursor: page.nextCursor };
    },
    async getMetrics(
      tenant: string,
      env: string,
      fromDay: string,
      toDay: string,
      target?: string,
    ): Promise<{ day: string; counters: Record<string, number> }[]> {
      return table
        .query(target ? keys.targetMetricsOf(tenant, env, target) : keys.metricsOf(tenant, env), { from: `D#${fromDay}`, to: `D#${toDay}` })
        .map((i) => {
          const { pk: _p, sk, entity: _e, ...counters } = i;
          return { day: String(sk).slice(2), counters: counters as Record<string, number> };
        });
    },
    async markFirstSeen(tenant: string, imageTag: string, at: string): Promise<void> {
      table.write({
        key: keys.firstSeen(tenant, imageTag),
        when: (cur) => cur === undefined || less(at, cur.at),
        to: { ...keys.firstSeen(tenant, imageTag), entity: 'FirstSeen', at },
        reason: 'unknown',
      });
    },
    async firstSeen(tenant: string, imageTag: string): Promise<string | null> {
      return (table.get(keys.firstSeen(tenant, imageTag))?.at as string | undefined) ?? null;
    },
    async putCurrent(tenant: string, dep: Deployment): Promise<void> {
      // A late record of an older rollout never moves the reference back.
      table.write({
        key: keys.current(tenant, dep.environment),
        when: (cur) => cur === undefined || less(cur.deployedAt, dep.deployedAt, true),
        to: { ...keys.current(tenant, dep.environment), entity: 'CurrentImage', ...dep },
        reason: 'unknown',
      });
    },
    async getCurrent(tenant: string, env: string): Promise<Deployment | null> {
      return strip<Deployment>(table.get(keys.current(tenant, env)));
    },
    async putScrapeToken(token: ScrapeToken, expectedVersion: number | null, audit: AuditEntry): Promise<void> {
      table.transact([
        versioned({ ...keys.scrapeToken(token.tenant), entity: 'ScrapeToken', ...token }, expectedVersion, 'version', createOrVersion(expectedVersion)),
        auditWrite(audit),
      ]);
    },
    async getScrapeToken(tenant: string): Promise<ScrapeToken | null> {
      return strip<ScrapeToken>(table.get(keys.scrapeToken(tenant)));
    },
  };

  const writes: Writers<ArtifactOp | RepoLinkOp | DeploymentOp> = {
    repoLink: (op) => [linkWrite(op.link, op.replace, op.replace ? 'version' : 'exists')],
    deleteRepoLink: (op) => [linkDelete(op.link, 'version')],
    tag: (op, ctx) => {
      const tg = op.tag;
      if (movesWithPointer(tg, ctx.ops)) return [];
      const item = { ...keys.tag(ctx.tenant, tg.artifact, tg.environment, tg.kind, tg.version), entity: 'Tag', ...tg };
      // An immutable tag is created once; writing it again is fine only with the same digest.
      return [
        tg.mutable
          ? overwrite(item)
          : {
              key: keys.tag(ctx.tenant, tg.artifact, tg.environment, tg.kind, tg.version),
              when: (cur) => cur === undefined || cur.digest === tg.digest,
              to: item,
              reason: 'exists',
            },
      ];
    },
    consumer: (op, ctx) => [overwrite({ ...keys.consumer(ctx.tenant, op.consumer.artifact, op.consumer.name), entity: 'Consumer', ...op.consumer })],
    pointer: (op, ctx) => [
      versioned(
        { ...keys.pointer(ctx.tenant, op.pointer.environment, op.pointer.name), entity: 'ArtifactPointer', ...op.pointer },
        op.expectedVersion,
        'version_',
        'version',
      ),
    ],
    bundle: (op, ctx) => [create({ ...keys.bundle(ctx.tenant, op.bundle.name, op.bundle.digest), entity: 'Bundle', ...op.bundle })],
    artifactVersion: (op, ctx) => [
      create({ ...keys.artifactVersion(ctx.tenant, op.artifact.name, op.artifact.version), entity: 'ArtifactVersion', ...artifactVersionItem(op.artifact) }),
    ],
    deployment: (op, ctx) => {
      const d = op.deployment;
      return [
        ...(d.target
          ? [overwrite({ ...keys.targetDeployment(ctx.tenant, d.environment, d.target, d.deployedAt, d.id), entity: 'TargetDeployment', ...d })]
          : []),
        overwrite({ ...keys.deployment(ctx.tenant, d.environment, d.deployedAt, d.id), entity: 'Deployment', ...d }),
        overwrite({ ...keys.deploymentById(ctx.tenant, d.id), entity: 'DeploymentId', environment: d.environment, deployedAt: d.deployedAt }),
      ];
    },
    // Counted in `metricWrites`, once per environment and day for the whole commit.
    metrics: () => [],
  };

  return { port: { ...artifacts, ...deployments }, writes, merged: metricWrites };
}

/** A transaction touches an item once: the commit's metric deltas (its metrics ops and its deployments') are added per environment and day, after the ops' own writes. */
function metricWrites({ tenant, ops }: CommitContext): Write[] {
  const byDay = new Map<string, MetricDelta>();
  for (const op of ops) {
    const delta = op.kind === 'metrics' ? op.delta : op.kind === 'deployment' ? op.metrics : null;
    if (!delta) continue;
    const k = `${delta.environment}|${delta.target ?? ''}|${delta.day}`;
    const cur = byDay.get(k) ?? { ...delta, add: {} };
    for (const [name, v] of Object.entries(delta.add)) cur.add[name] = (cur.add[name] ?? 0) + v;
    byDay.set(k, cur);
  }
  return [...byDay.values()].map((d): Write => {
    // The DynamoDB store's update is `SET entity ADD <counters>`: with no counter it is no valid expression.
    if (Object.keys(d.add).length === 0) throw new Error(`store: a metrics delta of ${d.environment} ${d.day} adds no counter`);
    const key = d.target ? keys.targetMetrics(tenant, d.environment, d.target, d.day) : keys.metrics(tenant, d.environment, d.day);
    return {
      key,
      to: (cur) => {
        const next: Item = { ...(cur ?? key), entity: 'Metrics' };
        for (const [name, v] of Object.entries(d.add)) next[name] = ((next[name] as number | undefined) ?? 0) + v;
        return next;
      },
      reason: 'unknown',
    };
  });
}
