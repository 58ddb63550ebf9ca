import { randomUUID } from 'node:crypto';
import { assertTagsFree, registryTagsOf, repositoryOf, tagOps } from '../../artifacts/tags.ts';
import { deploymentOp } from '../../artifacts/deployments.ts';
import { DomainError, Unavailable } from '../../kernel/errors.ts';
import { deliverToGit } from './git-delivery.ts';
import { advanceHead } from '../../config/commit.ts';
import type { Roots } from '../../kernel/model.ts';
import type { Deps, WriteOp, With } from '../../kernel/deps.ts';
import type { RegistrySyncResult, RegistryTag } from '../../artifacts/ports.ts';
import { applyChanges, lookup, memoSource, NodeSink, type NodeSource } from '../../config/tree.ts';
import { canonicalJson } from '../../kernel/canonical.ts';
import type { ArtifactPointer, ArtifactVersion, BundleMember, ConfigSubject, Deployment, Promotion } from '../../kernel/promotion-model.ts';
import { bundleConfigSubject, configChanges } from '../terms/release.ts';

/**
 * What executing a promotion changes in the target, built before the one transaction that writes it:
 * the head and snapshot of a config release, or the pointer, tags and registry copies of an artifact,
 * with the deployment record. (Once it has ended, its signed attestation is attached in the target's
 * registries by the stream consumer: domain/promotion/run/attest.ts.)
 */

/** A business failure: the flow catches it and marks the promotion FAILED. */
export class PromotionFailed extends DomainError {
  readonly code = 'PROMOTION_FAILED';
  override readonly name = 'PromotionFailed';
}

/**
 * A registry sync's failure as a promotion step meets it. A registry that failed only for a moment (a 5xx, a 429, a
 * time-out or a dropped connection after the adapter's own retries: `transient`) is `Unavailable`, which the flow
 * retries with backoff (statemachines/promotion.asl.json): the step runs again and finds in place what the first
 * try wrote. A refusal (a 4xx, a digest mismatch, an immutable tag elsewhere), or a failure of the moment the flow's
 * retries did not outlast, fails the promotion.
 */
export function registryFailure(what: string, failure: { thrown: unknown } | { failed: RegistrySyncResult[] }): Error {
  if ('thrown' in failure) {
    const message = `${what} failed at the source: ${(failure.thrown as Error).message}`;
    return (failure.thrown as { transient?: unknown }).transient === true ? new Unavailable(message) : new PromotionFailed(message);
  }
  const message = `${what} failed: ${failure.failed.map((f) => f.reason ?? f.registry).join('; ')}`;
  return failure.failed.every((f) => f.transient) ? new Unavailable(message) : new PromotionFailed(message);
}

/**
 * A git delivery's failure as a promotion step meets it (a commit, a pull request): a host that failed for a moment
 * before anything was written (its adapter says `transient`: a 429 or a 5xx to a read, a dropped connection) is
 * `Unavailable`, which the flow retries with backoff; anything else (a refusal, a file that cannot take the value, a
 * write whose outcome is unknown) fails the promotion with what to fix. Seed 20261129 at 10 %: one reset connection
 * to the git host failed every git promotion it met.
 */
export function gitFailure(what: string, err: unknown): Error {
  const message = `${what} failed: ${(err as Error)?.message ?? String(err)}`;
  return (err as { transient?: unknown } | null)?.transient === true ? new Unavailable(message) : new PromotionFailed(message);
}

function deployment(p: Promotion, imageTag: string, gitCommit: string, digest: string, now: string, id = randomUUID(), gitBranch = ''): Deployment {
  return {
    id,
    environment: p.targetEnvironment,
    imageTag,
    gitCommit,
    gitBranch,
    ...(p.subject.type === 'artifact' ? { artifact: p.subject.name } : {}),
    // Executing "creates a deployment on the target gateway".
    ...(p.targetGateway ? { gateway: p.targetGateway } : {}),
    status: 'PENDING',
    deployedAt: now,
    completedAt: null,
    promotionId: p.id,
    digest,
    deployedBy: p.requestedBy.name,
  };
}

export async function configOps(deps: Deps, p: Promotion & { subject: { type: 'config' } }) {
  const { target, snapshot, ops } = await configHeadOps(deps, p, p.subject, p.sourceEnvironment);
  const now = snapshot.createdAt;
  const { seq, digest } = snapshot;
  const dep = deployment(p, `${target.name}@${seq}`, '', digest, now);
  ops.push(deploymentOp(dep, null, now));
  const current = await deps.store.getCurrent(p.tenant, target.name);
  const replaced =
    current && current.imageTag === `${target.name}@${target.head.seq}`
      ? { id: current.id, deployedAt: current.deployedAt, promotionId: current.promotionId }
      : null;
  return {
    ops,
    result: { snapshotSeq: seq, digest, deploymentId: dep.id, deployedAt: now, previous: { seq: target.head.seq, digest: target.head.digest }, replaced },
  };
}

/**
 * The target's new head and snapshot with a config selection (`subject`, read from `from`'s snapshot) applied:
 * a config promotion's whole change, a bundle's configuration part.
 */
async function configHeadOps(deps: Deps, p: Promotion, subject: ConfigSubject, from: string) {
  const target = await deps.store.getEnvironment(p.tenant, p.targetEnvironment);
  if (!target) throw new PromotionFailed(`target environment '${p.targetEnvironment}' no longer exists`);
  const snap = await deps.store.getSnapshot(p.tenant, from, subject.sourceSnapshot.seq);
  if (!snap) throw new PromotionFailed('source snapshot is gone');
  const source = memoSource(deps.store.nodes(p.tenant));
  if (p.rollback?.of) await assertUnchangedSince(source, target.head.roots, p.rollback.impact.reverts);
  const { changes } = await configChanges(source, target.head.roots, snap.roots, subject);
  const sink = new NodeSink();
  const roots: Roots = { ...target.head.roots };
  for (const kind of ['config', 'flag'] as const) {
    const mine = changes.filter((c) => c.kind === kind);
    if (mine.length) roots[kind] = await applyChanges(source, roots[kind], new Map(mine.map((c) => [c.key, c.entry])), sink);
  }
  await deps.store.putNodes(p.tenant, sink.nodes);
  const now = deps.clock().toISOString();
  const { snapshot, env } = advanceHead(
    target,
    roots,
    p.requestedBy.name,
    now,
    { action: 'batch', keys: changes.slice(0, 20).map((c) => `${c.kind}:${c.key}`), count: changes.length },
    `promotion ${p.id} from ${from}@${subject.sourceSnapshot.seq}`,
  );
  // A rollback's snapshot says which rollback made it, and why.
  if (p.rollback) snapshot.restoredBy = { promotionId: p.id, reason: p.rollback.reason };
  const ops: WriteOp[] = [
    { kind: 'environment', env, expectedVersion: target.version },
    { kind: 'snapshot', snapshot },
  ];
  return { target, snapshot, ops, changed: changes.length };
}

/**
 * A promotion's rollback puts keys back as they were before it, over the values its impact analysis
 * saw (`from`); one of them changed while it waited for approval: it fails rather than overwrite newer work.
 */
async function assertUnchangedSince(source: NodeSource, roots: Roots, reverts: Record<string, unknown>[]): Promise<void> {
  const changed: string[] = [];
  for (const kind of ['config', 'flag'] as const) {
    const mine = reverts.filter((r) => r.kind === kind && typeof r.key === 'string');
    if (!mine.length) continue;
    const now = await lookup(
      source,
      roots[kind],
      mine.map((r) => r.key as string),
    );
    for (const r of mine) {
      const cur = now.get(r.key as string);
      if ((cur === undefined) !== (r.from === undefined) || (cur && canonicalJson(cur.v) !== canonicalJson(r.from))) changed.push(`${kind}:${String(r.key)}`);
    }
  }
  if (changed.length)
    throw new PromotionFailed(`These keys changed after the rollback was requested and would be overwritten: ${changed.slice(0, 20).join(', ')}`);
}

export async function artifactOps(deps: With<'git' | 'registry'>, p: Promotion & { subject: { type: 'artifact' } }) {
  const cur = await deps.store.getPointer(p.tenant, p.targetEnvironment, p.subject.name);
  const version = await deps.store.getArtifactVersion(p.tenant, p.subject.name, p.subject.version);
  if (!version || version.digest !== p.subject.digest) throw new PromotionFailed('artifact digest changed since the promotion was requested');
  const now = deps.clock().toISOString();
  const tags = tagOps(version, p.targetEnvironment, p.rollback ? 'rollback' : 'release', p.requestedBy.name, now);
  await assertTagsFree(deps, p.tenant, tags).catch((err: Error) => {
    throw new PromotionFailed(err.message);
  });
  // The same tags in every registry of the target ("Creates v1.2.3-staging, updates latest-staging").
  const synced = await syncRegistries(deps, p as Promotion & { subject: { type: 'artifact' } }, version, registryTagsOf(tags));
  // GitOps (domain/gitops): the version committed to the target's git target, if it names one; idempotent when run again.
  const git = await deliverToGit(deps, p).catch((err: Error) => {
    throw gitFailure('git delivery', err);
  });
  const dep = deployment(
    p,
    p.subject.version,
    version.sourceCommit,
    p.subject.digest,
    now,
    randomUUID(),
    typeof version.metadata.gitBranch === 'string' ? version.metadata.gitBranch : '',
  );
  const ops: WriteOp[] = [
    ...tags,
    {
      kind: 'pointer',
      pointer: {
        environment: p.targetEnvironment,
        name: p.subject.name,
        version: p.subject.version,
        digest: p.subject.digest,
        promotedAt: now,
        promotedBy: p.requestedBy.name,
        promotionId: p.id,
        version_: (cur?.version_ ?? 0) + 1,
        deploymentId: dep.id,
        deployedAt: now,
        // A rollback's pointer says which rollback put the version back, and why.
        ...(p.rollback ? { restoredBy: { promotionId: p.id, reason: p.rollback.reason } } : {}),
      },
      expectedVersion: cur ? cur.version_ : null,
    },
    deploymentOp(dep, null, now),
  ];
  const replaced = cur?.deploymentId && cur.deployedAt ? { id: cur.deploymentId, deployedAt: cur.deployedAt, promotionId: cur.promotionId } : null;
  return {
    ops,
    result: {
      digest: p.subject.digest,
      deploymentId: dep.id,
      deployedAt: now,
      previous: { version: cur?.version, digest: cur?.digest ?? null },
      replaced,
      synced,
      ...(git ? { git } : {}),
    },
  };
}

/** What executing a promotion writes, whatever its release: an artifact's, a bundle's or a config selection's ops and result. */
export function releaseOps(deps: With<'git' | 'registry'>, p: Promotion) {
  return p.subject.type === 'artifact'
    ? artifactOps(deps, p as Promotion & { subject: { type: 'artifact' } })
    : p.subject.type === 'bundle'
      ? bundleOps(deps, p as Promotion & { subject: { type: 'bundle' } })
      : configOps(deps, p as Promotion & { subject: { type: 'config' } });
}

/**
 * A bundle moves as one unit, in one transaction: every member the target does not run yet (its tags, its
 * registry copies, its pointer) and its configuration part (the target's head), under one deployment record
 * that names the bundle. Any member's refusal (a tag taken, a copy that fails) fails the whole before anything
 * is written.
 */
export async function bundleOps(deps: With<'git' | 'registry'>, p: Promotion & { subject: { type: 'bundle' } }) {
  const b = p.subject;
  const now = deps.clock().toISOString();
  const [pointers, versions] = await Promise.all([
    Promise.all(b.members.map((m) => deps.store.getPointer(p.tenant, p.targetEnvironment, m.name))),
    Promise.all(b.members.map((m) => deps.store.getArtifactVersion(p.tenant, m.name, m.version))),
  ]);
  const changed = b.members.filter((m, i) => versions[i]?.digest !== m.digest);
  if (changed.length)
    throw new PromotionFailed(`the digest of ${changed.map((m) => `${m.name}@${m.version}`).join(', ')} changed since the promotion was requested`);
  const moving = b.members.map((m, i) => ({ m, cur: pointers[i] ?? null, version: versions[i]! })).filter((x) => x.cur?.digest !== x.m.digest);
  const tags = moving.flatMap((x) => tagOps(x.version, p.targetEnvironment, p.rollback ? 'rollback' : 'release', p.requestedBy.name, now));
  await assertTagsFree(deps, p.tenant, tags).catch((err: Error) => {
    throw new PromotionFailed(err.message);
  });
  const synced = [];
  for (const x of moving) {
    const one = { ...p, subject: { type: 'artifact' as const, ...x.m } };
    synced.push(...(await syncRegistries(deps, one, x.version, registryTagsOf(tagOps(x.version, p.targetEnvironment, 'release', p.requestedBy.name, now)))));
  }
  // GitOps: every member written to its mapped place in the environment's git target, in one commit (or the merged pull
  // request), before the one transaction; a member without a place fails the whole, and nothing is written.
  const git = await deliverToGit(deps, p).catch((err: Error) => {
    throw gitFailure('git delivery', err);
  });
  const dep = deployment(p, `${b.name}@${b.digest.slice(7, 19)}`, git?.commit ?? '', b.digest, now);
  const ops: WriteOp[] = [...tags];
  for (const x of moving) ops.push(memberPointer(p, x.m, x.cur, dep.id, now));
  let config: { snapshotSeq: number; previous: { seq: number; digest: string } } | null = null;
  if (b.config) {
    const head = await configHeadOps(deps, p, bundleConfigSubject(b.config), b.config.environment);
    if (head.changed) {
      ops.push(...head.ops);
      config = { snapshotSeq: head.snapshot.seq, previous: { seq: head.target.head.seq, digest: head.target.head.digest } };
    }
  }
  ops.push(deploymentOp(dep, null, now));
  const current = await deps.store.getCurrent(p.tenant, p.targetEnvironment);
  return {
    ops,
    result: {
      digest: b.digest,
      deploymentId: dep.id,
      deployedAt: now,
      previous: { digest: null, ...(config ? { seq: config.previous.seq } : {}) },
      ...(config ? { snapshotSeq: config.snapshotSeq } : {}),
      replaced: current ? { id: current.id, deployedAt: current.deployedAt, promotionId: current.promotionId } : null,
      synced,
      ...(git ? { git } : {}),
      members: moving.map((x) => ({
        name: x.m.name,
        version: x.m.version,
        digest: x.m.digest,
        previous: { version: x.cur?.version, digest: x.cur?.digest ?? null },
      })),
    },
  };
}

/** A member's pointer in the target moved to its version, under the bundle's deployment. */
function memberPointer(p: Promotion, m: BundleMember, cur: ArtifactPointer | null, deploymentId: string, now: string): WriteOp {
  return {
    kind: 'pointer',
    pointer: {
      environment: p.targetEnvironment,
      name: m.name,
      version: m.version,
      digest: m.digest,
      promotedAt: now,
      promotedBy: p.requestedBy.name,
      promotionId: p.id,
      version_: (cur?.version_ ?? 0) + 1,
      deploymentId,
      deployedAt: now,
      ...(p.subject.type === 'bundle' ? { bundle: { name: p.subject.name, digest: p.subject.digest } } : {}),
      ...(p.rollback ? { restoredBy: { promotionId: p.id, reason: p.rollback.reason } } : {}),
    },
    expectedVersion: cur ? cur.version_ : null,
  };
}

/**
 * Cross-registry promotion: copy the artifact by digest from the source
 * environment's first registry to every registry of the target and verify
 * the digest on each (digest_match). Any failure fails the promotion closed:
 * this runs before the transaction, so the target stays as it was.
 */
async function syncRegistries(deps: With<'registry'>, p: Promotion & { subject: { type: 'artifact' } }, version: ArtifactVersion, tags: RegistryTag[]) {
  const [source, target] = await Promise.all([
    deps.store.getEnvironment(p.tenant, p.sourceEnvironment),
    deps.store.getEnvironment(p.tenant, p.targetEnvironment),
  ]);
  const from = source?.registries?.[0];
  // Every registry of the target, the source's own included: it gets the target's tags (its blobs are there already).
  const to = target?.registries ?? [];
  const signed = target?.verification === 'signature_match';
  if (to.length === 0 && !signed) return [];
  if (!from)
    throw new PromotionFailed(
      `'${p.sourceEnvironment}' has no registry to copy ${p.subject.name}@${p.subject.version} from${signed ? ` (and '${p.targetEnvironment}' requires signature_match: the signature is read there)` : ''}`,
    );
  const repository = repositoryOf(version);
  // signature_match: the artifact's Sigstore signature must verify with the target's key before anything is copied
  // or tagged (fail closed); the copy takes it along (with every other referrer of the digest).
  let signature: string | undefined;
  if (signed) {
    const v = await deps.registry.verifySignature({ tenant: p.tenant, repository, digest: p.subject.digest, source: from, publicKey: target.signingKey ?? '' });
    if (!v.ok) throw new PromotionFailed(`signature_match: ${v.reason ?? 'the signature does not verify'}`);
    signature = v.bundle;
  }
  if (to.length === 0) return [];
  let results;
  try {
    results = await deps.registry.sync({ tenant: p.tenant, repository, digest: p.subject.digest, source: from, targets: to, tags });
  } catch (err) {
    throw registryFailure('cross-registry sync', { thrown: err });
  }
  const failed = results.filter((r) => !r.ok);
  if (failed.length) throw registryFailure('cross-registry sync', { failed });
  return results.map((r) => ({
    registry: r.registry,
    digest: r.digest,
    bytesCopied: r.bytesCopied,
    ...(r.tags ? { tags: r.tags } : {}),
    ...(r.attached ? { attached: r.attached } : {}),
    ...(signature ? { signature } : {}),
  }));
}
