import { repositoryOf } from '../../artifacts/tags.ts';
import { registryFor, targetTagName } from '../../config/targets.ts';
import type { Environment } from '../../kernel/model.ts';
import type { Promotion, RolloutTarget, TargetGitDelivery, TargetRegistryDelivery } from '../../kernel/promotion-model.ts';
import type { With } from '../../kernel/deps.ts';
import { deliverToTarget, perTargetGit, revertTargetInGit, type GitPromotion } from './git-delivery.ts';
import { gitFailure, PromotionFailed, registryFailure } from './target-change.ts';

/**
 * Delivery per target: what a rollout does outside the table when it changes one target of
 * an artifact or bundle promotion — its own git file (a git target file with `{target}`; a bundle: its members'
 * files, in one commit per target) and its own tag in its registry (`latest-<env>-<target>` in
 * `registryFor(env, target)`; a bundle: each member's it moves, in that member's repository) — and what a rollback
 * does to put them back. Effect first, then record: both run before the target's transaction, and what they did is
 * recorded on its RolloutTarget item (a bundle's tags on its `members`). The environment's own tags and git file
 * move at the rollout's completion, as before.
 */

/** One artifact version a target is tagged with: an artifact promotion's, or one member of a bundle's. */
type Tagged = { name: string; version: string; digest: string };
type Member = NonNullable<RolloutTarget['members']>[number];

const taggedOf = (p: Promotion): Tagged | null => (p.subject.type === 'artifact' ? p.subject : null);

/**
 * The deliveries of one target as its apply makes them: the per-target tag(s) first, then the git commit. Throws
 * PromotionFailed with the reason (the target fails and the rollout rolls back); a failure after a tag moved puts
 * the tags moved back first, so a failed apply leaves nothing behind. A retried step converges: a tag is moved only
 * when it points elsewhere, and the git writer commits nothing when the file holds the value. `members`: a bundle's
 * members this target changes (what each ran before), returned with each one's per-target tag.
 */
export async function deliverTarget(
  deps: With<'git' | 'registry'>,
  p: Promotion,
  env: Environment,
  before: RolloutTarget['before'],
  where: { target: string; wave: number },
  members: Member[] = [],
): Promise<{ git: TargetGitDelivery | null; registry: TargetRegistryDelivery | null; members: Member[] }> {
  if (p.subject.type !== 'artifact' && p.subject.type !== 'bundle') return { git: null, registry: null, members };
  const one = taggedOf(p);
  const registry = one ? await tagTarget(deps, p, one, env, where.target) : null;
  // A bundle: each member it moves on this target tagged as an artifact is, in turn; a failure puts back those tagged.
  const tagged: Member[] = [];
  if (p.subject.type === 'bundle') {
    const byName = new Map(p.subject.members.map((m) => [m.name, m]));
    for (const m of members) {
      const release = byName.get(m.name)!;
      try {
        const r = await tagTarget(deps, p, release, env, where.target);
        tagged.push(r ? { ...m, registry: r } : m);
      } catch (err) {
        await untagAll(deps, p, where.target, tagged);
        throw err;
      }
    }
  }
  const gitTarget = await perTargetGit(deps, p);
  if (!gitTarget) return { git: null, registry, members: tagged.length ? tagged : members };
  try {
    return { git: await deliverToTarget(deps, p as GitPromotion, gitTarget, where), registry, members: tagged.length ? tagged : members };
  } catch (err) {
    if (registry && one)
      await untagTarget(deps, p, where.target, one.name, before?.digest ? { version: before.version ?? one.version, digest: before.digest } : null, registry);
    await untagAll(deps, p, where.target, tagged);
    throw gitFailure(`git delivery to ${where.target}`, err);
  }
}

/** A bundle's member tags moved by a failed apply, back to what each ran before. */
async function untagAll(deps: With<'registry'>, p: Promotion, target: string, members: Member[]) {
  for (const m of members) if (m.registry) await untagTarget(deps, p, target, m.name, m.before, m.registry);
}

/**
 * What a rollback does to one changed target's deliveries: its file back to the version it ran before, its tag
 * back to the digest it ran before (a bundle: each member's tag back to that member's). Never throws: each answer
 * says what was done, or why not.
 */
export async function revertTarget(
  deps: With<'git' | 'registry'>,
  p: Promotion,
  t: RolloutTarget,
  why: string,
): Promise<Pick<RolloutTarget, 'git' | 'registry' | 'members'>> {
  if (p.subject.type !== 'artifact' && p.subject.type !== 'bundle') return {};
  const out: Pick<RolloutTarget, 'git' | 'registry' | 'members'> = {};
  if (t.git && !t.git.revert) out.git = { ...t.git, revert: await revertTargetInGit(deps, p as GitPromotion, t, why) };
  if (p.subject.type === 'artifact' && t.registry && !t.registry.revert) {
    const was = t.before?.digest ? { version: t.before.version ?? p.subject.version, digest: t.before.digest } : null;
    out.registry = { ...t.registry, revert: await untagTarget(deps, p, t.name, p.subject.name, was, t.registry) };
  }
  if (t.members?.some((m) => m.registry && !m.registry.revert)) {
    const members: Member[] = [];
    for (const m of t.members)
      members.push(
        m.registry && !m.registry.revert ? { ...m, registry: { ...m.registry, revert: await untagTarget(deps, p, t.name, m.name, m.before, m.registry) } } : m,
      );
    out.members = members;
  }
  return out;
}

/**
 * The per-target tag: the digest copied from the source environment's first registry into the target's registry
 * (as the environment's cross-registry promotion copies it: referrers along, signature_match verified first) and
 * `latest-<env>-<target>` moved there, read back. Null when the environment has no registries.
 */
async function tagTarget(deps: With<'registry'>, p: Promotion, a: Tagged, env: Environment, target: string): Promise<TargetRegistryDelivery | null> {
  const to = registryFor(env, target);
  if (!to) return null;
  const [source, version] = await Promise.all([
    deps.store.getEnvironment(p.tenant, p.sourceEnvironment),
    deps.store.getArtifactVersion(p.tenant, a.name, a.version),
  ]);
  if (!version || version.digest !== a.digest) throw new PromotionFailed(`${a.name}@${a.version}: artifact digest changed since the promotion was requested`);
  const from = source?.registries?.[0];
  if (!from) throw new PromotionFailed(`'${p.sourceEnvironment}' has no registry to copy ${a.name}@${a.version} from into ${to.name} for ${target}`);
  const repository = repositoryOf(version);
  if (env.verification === 'signature_match') {
    const v = await deps.registry.verifySignature({ tenant: p.tenant, repository, digest: a.digest, source: from, publicKey: env.signingKey ?? '' });
    if (!v.ok) throw new PromotionFailed(`signature_match: ${a.name}: ${v.reason ?? 'the signature does not verify'}`);
  }
  const tag = targetTagName(env.name, target);
  let results;
  try {
    results = await deps.registry.sync({
      tenant: p.tenant,
      repository,
      digest: a.digest,
      source: from,
      targets: [to],
      tags: [{ name: tag, mutable: true }],
    });
  } catch (err) {
    throw registryFailure(`the copy of ${a.name} for ${target}`, { thrown: err });
  }
  const r = results[0];
  if (!r) throw new PromotionFailed(`the copy of ${a.name} for ${target} into ${to.name} failed: no answer`);
  if (!r.ok) throw registryFailure(`the copy of ${a.name} for ${target} into ${to.name}`, { failed: [r] });
  return { registry: to.name, tag, digest: a.digest };
}

/**
 * A per-target tag back to the digest the target ran before (read from the target's registry itself, which held
 * it, else from the source environment's first registry). A target that ran nothing of the artifact before keeps
 * its tag where it is, and the answer says so (an OCI tag is not deleted: registries differ on whether they allow it).
 */
async function untagTarget(
  deps: With<'registry'>,
  p: Promotion,
  target: string,
  name: string,
  before: { version: string; digest: string } | null,
  d: TargetRegistryDelivery,
): Promise<NonNullable<TargetRegistryDelivery['revert']>> {
  if (!before?.digest) return { digest: null, reason: `${target} ran no version of ${name} before: ${d.tag} stays at ${d.digest.slice(0, 19)}…` };
  const [env, source, version] = await Promise.all([
    deps.store.getEnvironment(p.tenant, p.targetEnvironment),
    deps.store.getEnvironment(p.tenant, p.sourceEnvironment),
    deps.store.getArtifactVersion(p.tenant, name, before.version),
  ]);
  const at = env?.registries?.find((r) => r.name === d.registry);
  if (!at) return { digest: null, reason: `${d.registry} is no longer one of ${p.targetEnvironment}'s registries: ${d.tag} was left as it is` };
  const repository = version ? repositoryOf(version) : name;
  const reasons: string[] = [];
  for (const from of [at, source?.registries?.[0]].filter((r): r is NonNullable<typeof r> => !!r)) {
    try {
      const [r] = await deps.registry.sync({
        tenant: p.tenant,
        repository,
        digest: before.digest,
        source: from,
        targets: [at],
        tags: [{ name: d.tag, mutable: true }],
      });
      if (r?.ok) return { digest: before.digest };
      reasons.push(r?.reason ?? `no answer from ${at.name}`);
    } catch (err) {
      reasons.push(`${from.name}: ${(err as Error).message}`);
    }
  }
  return { digest: null, reason: `${d.tag} could not be moved back to ${before.digest}: ${reasons.join('; ')}`.slice(0, 500) };
}
