import { repositoryOf } from '../../artifacts/tags.ts';
import { registryFor, targetTagName } from '../../config/targets.ts';
import type { Environment } from '../../kernel/model.ts';
import type { Promotion, RolloutTarget, TargetGitDelivery, TargetRegistryDelivery } from '../../kernel/promotion-model.ts';
import type { With } from '../../kernel/deps.ts';
import { deliverToTarget, perTargetGit, revertTargetInGit, type GitPromotion } from './git-delivery.ts';
import { PromotionFailed } from '../run/target-change.ts';

/**
 * Delivery per target: what a rollout does outside the table when it changes one target of
 * an artifact promotion (a bundle: its members' git files, in one commit per target) — its own git file (a git target file with `{target}`) and its own tag in its registry
 * (`latest-<env>-<target>` in `registryFor(env, target)`) — and what a rollback does to put them back. Effect
 * first, then record: both run before the target's transaction, and what they did is recorded on its
 * RolloutTarget item. The environment's own tags and git file move at the rollout's completion, as before.
 */

type ArtifactPromotion = Promotion & { subject: { type: 'artifact' } };

/**
 * The deliveries of one target as its apply makes them: the per-target tag first, then the git commit. Throws
 * PromotionFailed with the reason (the target fails and the rollout rolls back); a git failure after the tag moved
 * puts the tag back first, so a failed apply leaves nothing behind. A retried step converges: the tag is moved only
 * when it points elsewhere, and the git writer commits nothing when the file holds the value.
 */
export async function deliverTarget(
  deps: With<'git' | 'registry'>,
  p: Promotion,
  env: Environment,
  before: RolloutTarget['before'],
  where: { target: string; wave: number },
): Promise<{ git: TargetGitDelivery | null; registry: TargetRegistryDelivery | null }> {
  if (p.subject.type !== 'artifact' && p.subject.type !== 'bundle') return { git: null, registry: null };
  const ap = p as ArtifactPromotion;
  // A bundle has no per-target tag (its members' tags move with the environment); its members' files do move per target.
  const registry = p.subject.type === 'artifact' ? await tagTarget(deps, ap, env, where.target) : null;
  const gitTarget = await perTargetGit(deps, p);
  if (!gitTarget) return { git: null, registry };
  try {
    return { git: await deliverToTarget(deps, p as GitPromotion, gitTarget, where), registry };
  } catch (err) {
    if (registry) await untagTarget(deps, ap, { name: where.target, before, registry } as RolloutTarget);
    throw new PromotionFailed(`git delivery to ${where.target} failed: ${(err as Error).message}`);
  }
}

/**
 * What a rollback does to one changed target's deliveries: its file back to the version it ran before, its tag
 * back to the digest it ran before. Never throws: each answer says what was done, or why not.
 */
export async function revertTarget(
  deps: With<'git' | 'registry'>,
  p: Promotion,
  t: RolloutTarget,
  why: string,
): Promise<Pick<RolloutTarget, 'git' | 'registry'>> {
  if (p.subject.type !== 'artifact' && p.subject.type !== 'bundle') return {};
  const ap = p as ArtifactPromotion;
  const out: Pick<RolloutTarget, 'git' | 'registry'> = {};
  if (t.git && !t.git.revert) out.git = { ...t.git, revert: await revertTargetInGit(deps, p as GitPromotion, t, why) };
  if (t.registry && !t.registry.revert) out.registry = { ...t.registry, revert: await untagTarget(deps, ap, t) };
  return out;
}

/**
 * The per-target tag: the digest copied from the source environment's first registry into the target's registry
 * (as the environment's cross-registry promotion copies it: referrers along, signature_match verified first) and
 * `latest-<env>-<target>` moved there, read back. Null when the environment has no registries.
 */
async function tagTarget(deps: With<'registry'>, p: ArtifactPromotion, env: Environment, target: string): Promise<TargetRegistryDelivery | null> {
  const to = registryFor(env, target);
  if (!to) return null;
  const [source, version] = await Promise.all([
    deps.store.getEnvironment(p.tenant, p.sourceEnvironment),
    deps.store.getArtifactVersion(p.tenant, p.subject.name, p.subject.version),
  ]);
  if (!version || version.digest !== p.subject.digest) throw new PromotionFailed('artifact digest changed since the promotion was requested');
  const from = source?.registries?.[0];
  if (!from)
    throw new PromotionFailed(`'${p.sourceEnvironment}' has no registry to copy ${p.subject.name}@${p.subject.version} from into ${to.name} for ${target}`);
  const repository = repositoryOf(version);
  if (env.verification === 'signature_match') {
    const v = await deps.registry.verifySignature({ tenant: p.tenant, repository, digest: p.subject.digest, source: from, publicKey: env.signingKey ?? '' });
    if (!v.ok) throw new PromotionFailed(`signature_match: ${v.reason ?? 'the signature does not verify'}`);
  }
  const tag = targetTagName(env.name, target);
  let results;
  try {
    results = await deps.registry.sync({
      tenant: p.tenant,
      repository,
      digest: p.subject.digest,
      source: from,
      targets: [to],
      tags: [{ name: tag, mutable: true }],
    });
  } catch (err) {
    throw new PromotionFailed(`the copy for ${target} failed at the source: ${(err as Error).message}`);
  }
  const r = results[0];
  if (!r?.ok) throw new PromotionFailed(`the copy for ${target} into ${to.name} failed: ${r?.reason ?? 'no answer'}`);
  return { registry: to.name, tag, digest: p.subject.digest };
}

/**
 * The per-target tag back to the digest the target ran before (read from the target's registry itself, which held
 * it, else from the source environment's first registry). A target that ran nothing of the artifact before keeps
 * its tag where it is, and the answer says so (an OCI tag is not deleted: registries differ on whether they allow it).
 */
async function untagTarget(deps: With<'registry'>, p: ArtifactPromotion, t: RolloutTarget): Promise<NonNullable<TargetRegistryDelivery['revert']>> {
  const d = t.registry!;
  if (!t.before?.digest) return { digest: null, reason: `${t.name} ran no version of ${p.subject.name} before: ${d.tag} stays at ${d.digest.slice(0, 19)}…` };
  const [env, source, version] = await Promise.all([
    deps.store.getEnvironment(p.tenant, p.targetEnvironment),
    deps.store.getEnvironment(p.tenant, p.sourceEnvironment),
    deps.store.getArtifactVersion(p.tenant, p.subject.name, t.before.version ?? p.subject.version),
  ]);
  const at = env?.registries?.find((r) => r.name === d.registry);
  if (!at) return { digest: null, reason: `${d.registry} is no longer one of ${p.targetEnvironment}'s registries: ${d.tag} was left as it is` };
  const repository = version ? repositoryOf(version) : p.subject.name;
  const reasons: string[] = [];
  for (const from of [at, source?.registries?.[0]].filter((r): r is NonNullable<typeof r> => !!r)) {
    try {
      const [r] = await deps.registry.sync({
        tenant: p.tenant,
        repository,
        digest: t.before.digest,
        source: from,
        targets: [at],
        tags: [{ name: d.tag, mutable: true }],
      });
      if (r?.ok) return { digest: t.before.digest };
      reasons.push(r?.reason ?? `no answer from ${at.name}`);
    } catch (err) {
      reasons.push(`${from.name}: ${(err as Error).message}`);
    }
  }
  return { digest: null, reason: `${d.tag} could not be moved back to ${t.before.digest}: ${reasons.join('; ')}`.slice(0, 500) };
}
