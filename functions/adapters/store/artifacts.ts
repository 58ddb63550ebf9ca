import { GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { AuditEntry } from '#domain/model';
import type { RepoLink } from '#domain/discovery';
import type { ArtifactPointer, ArtifactVersion } from '#domain/promotion/model';
import type { Consumer, Tag } from '#domain/artifacts';
import { tagName } from '#domain/tags';
import { GSI_MONITOR, indexAttributes, keys, type Key } from '../keys.ts';
import { openArtifactVersion, strip } from './base.ts';
import { AuditStore } from './audit.ts';

/** The mutable `latest-<env>` tag, as the pointer it moves with. */
export const latestTagOf = (p: ArtifactPointer): Tag => ({
  name: tagName('latest', p.version, p.environment),
  artifact: p.name,
  version: p.version,
  digest: p.digest,
  environment: p.environment,
  kind: 'latest',
  mutable: true,
  createdAt: p.promotedAt,
  createdBy: p.promotedBy,
});

/** Artifacts: published versions, what each environment runs (pointers), tags and consumers. */
export class ArtifactStore extends AuditStore {

  async getArtifactVersion(tenant: string, name: string, version: string): Promise<ArtifactVersion | null> {
    const r = await this.db.send(new GetCommand({ TableName: this.table, Key: keys.artifactVersion(tenant, name, version) }));
    return openArtifactVersion(r.Item);
  }

  async getPointer(tenant: string, env: string, name: string): Promise<ArtifactPointer | null> {
    const r = await this.db.send(new GetCommand({ TableName: this.table, Key: keys.pointer(tenant, env, name), ConsistentRead: true }));
    return strip<ArtifactPointer>(r.Item);
  }

  async listPointers(tenant: string, env: string): Promise<ArtifactPointer[]> {
    const k = keys.pointers(tenant, env);
    return this.queryAll<ArtifactPointer>(k.pk, k.skPrefix, true);
  }

  async putRepoLink(link: RepoLink, audit: AuditEntry): Promise<void> {
    await this.ready();
    await this.transact([{ Put: { TableName: this.table, Item: { ...keys.repoLink(link.tenant, link.artifact, link.id), ...indexAttributes.repoLink(link), entity: 'RepoLink', ...link }, ConditionExpression: 'attribute_not_exists(pk)' } }, ...this.auditItems(audit)], ['exists', 'exists']);
  }

  async deleteRepoLink(link: RepoLink, audit: AuditEntry): Promise<void> {
    await this.transact([{ Delete: { TableName: this.table, Key: keys.repoLink(link.tenant, link.artifact, link.id), ConditionExpression: 'attribute_exists(pk)' } }, ...this.auditItems(audit)], ['exists', 'exists']);
  }

  async listRepoLinks(tenant: string, artifact: string): Promise<RepoLink[]> {
    const k = keys.repoLinks(tenant, artifact);
    return this.queryAll<RepoLink>(k.pk, k.skPrefix, true);
  }

  async getRepoLink(tenant: string, artifact: string, id: string): Promise<RepoLink | null> {
    const r = await this.db.send(new GetCommand({ TableName: this.table, Key: keys.repoLink(tenant, artifact, id), ConsistentRead: true }));
    return strip<RepoLink>(r.Item);
  }

  async repoLinksOf(registry: string, repository: string): Promise<RepoLink[]> {
    const refs: Key[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const r = await this.db.send(new QueryCommand({ TableName: this.table, IndexName: GSI_MONITOR.name, KeyConditionExpression: '#p = :p', ExpressionAttributeNames: { '#p': GSI_MONITOR.partitionKey }, ExpressionAttributeValues: { ':p': keys.repoLinksOf(registry, repository) }, ExclusiveStartKey: start }));
      refs.push(...(r.Items ?? []).map((i) => ({ pk: String(i.pk), sk: String(i.sk) })));
      start = r.LastEvaluatedKey;
    } while (start);
    const out: RepoLink[] = [];
    for (const key of refs) {
      const r = await this.db.send(new GetCommand({ TableName: this.table, Key: key, ConsistentRead: true }));
      const link = strip<RepoLink>(r.Item);
      if (link && link.registry === registry && link.repository === repository) out.push(link);
    }
    return out;
  }

  async listArtifactVersions(tenant: string, name: string): Promise<ArtifactVersion[]> {
    const k = keys.artifactVersions(tenant, name);
    return (await this.queryAll<Record<string, unknown>>(k.pk, k.skPrefix)).map((i) => openArtifactVersion(i)!);
  }

  /** `latest-<env>` is what the environment's pointer says (CommitStore writes no item for it); a tag item of its own only where no pointer exists. */
  async getTag(tenant: string, artifact: string, env: string, kind: Tag['kind'], version: string): Promise<Tag | null> {
    if (kind === 'latest') {
      const pointer = await this.getPointer(tenant, env, artifact);
      if (pointer) return latestTagOf(pointer);
    }
    const r = await this.db.send(new GetCommand({ TableName: this.table, Key: keys.tag(tenant, artifact, env, kind, version), ConsistentRead: true }));
    return strip<Tag>(r.Item);
  }

  async listTags(tenant: string, artifact: string, env: string): Promise<Tag[]> {
    const k = keys.tagsIn(tenant, artifact, env);
    const [tags, pointer] = await Promise.all([this.queryAll<Tag>(k.pk, k.skPrefix, true), this.getPointer(tenant, env, artifact)]);
    return pointer ? [...tags.filter((t) => t.kind !== 'latest'), latestTagOf(pointer)] : tags;
  }

  async listConsumers(tenant: string, artifact: string): Promise<Consumer[]> {
    const k = keys.consumers(tenant, artifact);
    return this.queryAll<Consumer>(k.pk, k.skPrefix, true);
  }
}
