import { AlreadyExists } from '../kernel/errors.ts';
import type { Deps, WriteOp } from '../kernel/deps.ts';
import type { RegistryTag } from './ports.ts';
import type { ArtifactVersion } from '../kernel/promotion-model.ts';

/**
 * The tags a version gets in an environment (v1.2.3-prod, latest-prod,
 * v1.2.2-prod-rollback). Their own module, free of semver and the publishing code: the store names
 * tag items with them in every function, and the promotion step and rollbacks write them.
 */
export const tagName = (kind: 'release' | 'latest' | 'rollback', version: string, env: string) =>
  kind === 'latest' ? `latest-${env}` : kind === 'rollback' ? `${version}-${env}-rollback` : `${version}-${env}`;

/** The tag writes for a version entering an environment (one release or rollback tag, and latest moved). */
export function tagOps(a: Pick<ArtifactVersion, 'name' | 'version' | 'digest'>, env: string, kind: 'release' | 'rollback', by: string, now: string): WriteOp[] {
  const base = { artifact: a.name, version: a.version, digest: a.digest, environment: env, createdAt: now, createdBy: by };
  return [
    { kind: 'tag', tag: { ...base, name: tagName(kind, a.version, env), kind, mutable: false } },
    { kind: 'tag', tag: { ...base, name: tagName('latest', a.version, env), kind: 'latest', mutable: true } },
  ];
}

/** The same tags as registry tags (written in every registry of the environment, not only here). */
export const registryTagsOf = (ops: WriteOp[]): RegistryTag[] => ops.flatMap((o) => (o.kind === 'tag' ? [{ name: o.tag.name, mutable: o.tag.mutable }] : []));

/** The repository of an artifact in its registries: `metadata.repository` when it was published with one, else its name. */
export const repositoryOf = (a: Pick<ArtifactVersion, 'name' | 'metadata'>) => (typeof a.metadata?.repository === 'string' ? a.metadata.repository : a.name);

/** Refuses up front if an immutable tag would have to move (the write's condition is the safety net). */
export async function assertTagsFree(deps: Deps, tenant: string, ops: WriteOp[]): Promise<void> {
  for (const op of ops) {
    if (op.kind !== 'tag' || op.tag.mutable) continue;
    const cur = await deps.store.getTag(tenant, op.tag.artifact, op.tag.environment, op.tag.kind, op.tag.version);
    if (cur && cur.digest !== op.tag.digest) {
      throw new AlreadyExists(`Tag ${op.tag.name} already points at ${cur.digest}; immutable tags never move`, { tag: op.tag.name, digest: cur.digest });
    }
  }
}
