import { GetCommand } from '@aws-sdk/lib-dynamodb';
import type { AuditEntry } from '#domain/kernel/model';
import type { RepoLink } from '#domain/artifacts/model';
import type { ArtifactPointer, ArtifactVersion, Bundle } from '#domain/kernel/promotion-model';
import type { Consumer, Tag } from '#domain/artifacts/model';
import { tagName } from '#domain/artifacts/tags';
import type { WriteOp } from '#domain/ports';
import type { ArtifactOp, ArtifactStorePort, RepoLinkOp } from '#domain/artifacts/ports';
import { GSI_ENTITY, GSI_MONITOR, indexAttributes, keys, type Key } from '../keys.ts';
import { kindsOf, none, one, type Area, type OpItems } from './area.ts';
import { strip, type StoreBase, type TxItem } from './base.ts';
import { auditItems } from './audit.ts';

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

/**
 * An artifact version as an item: its metadata is the caller's JSON, stored as JSON text
 * (`metadataJson`), so every value the API accepts reads back unchanged (a native map refuses empty
 * keys and numbers DynamoDB cannot hold, such as 1e-200).
 */
export function artifactVersionItem(a: ArtifactVersion): Record<string, unknown> {
  const { metadata, ...rest } = a;
  return { ...rest, metadataJson: JSON.stringify(metadata ?? {}) };
}

/** An artifact version back from its item (an older item's native map is upgraded on read: store/upgrades.ts). */
export function openArtifactVersion(item: Record<string, unknown> | undefined): ArtifactVersion | null {
  const plain = strip<Record<string, unknown>>(item);
  if (!plain) return null;
  const { metadataJson, ...rest } = plain;
  return { ...rest, metadata: JSON.parse(metadataJson as string) as Record<string, unknown> } as unknown as ArtifactVersion;
}

/** `latest-<env>` moves with the environment's pointer and is read from it (getTag): a commit moving that pointer writes no item for it. */
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

/** Artifacts: published versions, what each environment runs (pointers), tags and consumers; registry links. */
export function artifactArea(base: StoreBase): Area<ArtifactStorePort, ArtifactOp | RepoLinkOp> {
  const { db, table } = base;

  /** A registry link with its two index entries (who links a repository; which artifacts of a tenant have links). */
  const linkItem = (link: RepoLink, replace: boolean): TxItem => ({
    Put: {
      TableName: table,
      Item: { ...keys.repoLink(link.tenant, link.artifact, link.id), ...indexAttributes.repoLink(link), entity: 'RepoLink', ...link },
      ConditionExpression: replace ? 'attribute_exists(pk)' : 'attribute_not_exists(pk)',
    },
  });
  const linkDelete = (link: RepoLink): TxItem => ({
    Delete: { TableName: table, Key: keys.repoLink(link.tenant, link.artifact, link.id), ConditionExpression: 'attribute_exists(pk)' },
  });

  const port: ArtifactStorePort = {
    async getArtifactVersion(tenant: string, name: string, version: string): Promise<ArtifactVersion | null> {
      const r = await db.send(new GetCommand({ TableName: table, Key: keys.artifactVersion(tenant, name, version) }));
      return openArtifactVersion(r.Item);
    },

    async getPointer(tenant: string, env: string, name: string): Promise<ArtifactPointer | null> {
      const r = await db.send(new GetCommand({ TableName: table, Key: keys.pointer(tenant, env, name), ConsistentRead: true }));
      return strip<ArtifactPointer>(r.Item);
    },

    async listPointers(tenant: string, env: string): Promise<ArtifactPointer[]> {
      const k = keys.pointers(tenant, env);
      return base.queryAll<ArtifactPointer>(k.pk, k.skPrefix, true);
    },

    async getBundle(tenant: string, name: string, digest: string): Promise<Bundle | null> {
      const r = await db.send(new GetCommand({ TableName: table, Key: keys.bundle(tenant, name, digest), ConsistentRead: true }));
      return strip<Bundle>(r.Item);
    },

    async listBundles(tenant: string, name?: string): Promise<Bundle[]> {
      const k = keys.bundles(tenant, name);
      return base.queryAll<Bundle>(k.pk, k.skPrefix, true);
    },

    async putRepoLink(link: RepoLink, audit: AuditEntry): Promise<void> {
      await base.transact([linkItem(link, false), ...auditItems(table, audit)], ['exists', 'exists']);
    },

    async deleteRepoLink(link: RepoLink, audit: AuditEntry): Promise<void> {
      await base.transact([linkDelete(link), ...auditItems(table, audit)], ['version', 'exists']);
    },

    async listRepoLinks(tenant: string, artifact: string): Promise<RepoLink[]> {
      const k = keys.repoLinks(tenant, artifact);
      return base.queryAll<RepoLink>(k.pk, k.skPrefix, true);
    },

    async getRepoLink(tenant: string, artifact: string, id: string): Promise<RepoLink | null> {
      const r = await db.send(new GetCommand({ TableName: table, Key: keys.repoLink(tenant, artifact, id), ConsistentRead: true }));
      return strip<RepoLink>(r.Item);
    },

    async linkedArtifacts(tenant: string): Promise<string[]> {
      const names = new Set<string>();
      for (const i of await base.queryIndexAll(GSI_ENTITY, keys.linkedArtifacts(tenant))) names.add(String(i[GSI_ENTITY.sortKey]).replace(/#[^#]*$/, ''));
      return [...names].sort();
    },

    async repoLinksOf(registry: string, repository: string): Promise<RepoLink[]> {
      const refs: Key[] = (await base.queryIndexAll(GSI_MONITOR, keys.repoLinksOf(registry, repository))).map((i) => ({ pk: String(i.pk), sk: String(i.sk) }));
      const out: RepoLink[] = [];
      for (const key of refs) {
        const r = await db.send(new GetCommand({ TableName: table, Key: key, ConsistentRead: true }));
        const link = strip<RepoLink>(r.Item);
        if (link && link.registry === registry && link.repository === repository) out.push(link);
      }
      return out;
    },

    async listArtifactVersions(tenant: string, name: string): Promise<ArtifactVersion[]> {
      const k = keys.artifactVersions(tenant, name);
      return (await base.queryAll<Record<string, unknown>>(k.pk, k.skPrefix)).map((i) => openArtifactVersion(i)!);
    },

    /** `latest-<env>` is what the environment's pointer says (CommitStore writes no item for it); a tag item of its own only where no pointer exists. */
    async getTag(tenant: string, artifact: string, env: string, kind: Tag['kind'], version: string): Promise<Tag | null> {
      if (kind === 'latest') {
        const pointer = await this.getPointer(tenant, env, artifact);
        if (pointer) return latestTagOf(pointer);
      }
      const r = await db.send(new GetCommand({ TableName: table, Key: keys.tag(tenant, artifact, env, kind, version), ConsistentRead: true }));
      return strip<Tag>(r.Item);
    },

    async listTags(tenant: string, artifact: string, env: string): Promise<Tag[]> {
      const k = keys.tagsIn(tenant, artifact, env);
      const [tags, pointer] = await Promise.all([base.queryAll<Tag>(k.pk, k.skPrefix, true), this.getPointer(tenant, env, artifact)]);
      return pointer ? [...tags.filter((t) => t.kind !== 'latest'), latestTagOf(pointer)] : tags;
    },

    async listConsumers(tenant: string, artifact: string): Promise<Consumer[]> {
      const k = keys.consumers(tenant, artifact);
      return base.queryAll<Consumer>(k.pk, k.skPrefix, true);
    },
  };

  const items = (op: ArtifactOp | RepoLinkOp, tenant: string, ops: readonly WriteOp[]): OpItems => {
    switch (op.kind) {
      case 'repoLink':
        return one(linkItem(op.link, op.replace), op.replace ? 'version' : 'exists');
      case 'deleteRepoLink':
        return one(linkDelete(op.link), 'version');
      case 'tag': {
        const tg = op.tag;
        if (movesWithPointer(tg, ops)) return none();
        const Item = { ...keys.tag(tenant, tg.artifact, tg.environment, tg.kind, tg.version), entity: 'Tag', ...tg };
        // An immutable tag is created once; writing it again is fine only with the same digest.
        return tg.mutable
          ? one({ Put: { TableName: table, Item } }, 'unknown')
          : one(
              {
                Put: { TableName: table, Item, ConditionExpression: 'attribute_not_exists(pk) OR digest = :d', ExpressionAttributeValues: { ':d': tg.digest } },
              },
              'exists',
            );
      }
      case 'consumer':
        return one(
          { Put: { TableName: table, Item: { ...keys.consumer(tenant, op.consumer.artifact, op.consumer.name), entity: 'Consumer', ...op.consumer } } },
          'unknown',
        );
      case 'pointer':
        return one(
          base.put(
            { ...keys.pointer(tenant, op.pointer.environment, op.pointer.name), entity: 'ArtifactPointer', ...op.pointer },
            op.expectedVersion,
            'version_',
          ),
          'version',
        );
      case 'bundle':
        // Content-addressed: a second write of the same digest is the same bundle (created once, never changed).
        return one(base.put({ ...keys.bundle(tenant, op.bundle.name, op.bundle.digest), entity: 'Bundle', ...op.bundle }, null), 'exists');
      case 'artifactVersion': {
        const a = op.artifact;
        return one(base.put({ ...keys.artifactVersion(tenant, a.name, a.version), entity: 'ArtifactVersion', ...artifactVersionItem(a) }, null), 'exists');
      }
    }
  };

  return {
    port,
    writes: {
      kinds: kindsOf<ArtifactOp | RepoLinkOp>({
        tag: true,
        consumer: true,
        pointer: true,
        artifactVersion: true,
        bundle: true,
        repoLink: true,
        deleteRepoLink: true,
      }),
      items: (op, ctx) => items(op, ctx.tenant, ctx.ops),
    },
  };
}
