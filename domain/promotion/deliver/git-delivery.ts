import type { With } from '../../kernel/deps.ts';
import type { BundleMember, GitRevertResult, Promotion, RolloutTarget, TargetGitDelivery } from '../../kernel/promotion-model.ts';
import { decisionRecord } from '../terms/decision-record.ts';
import { notOurs, ourAuthor } from '../../gitops/pull-request-owner.ts';
import { bundleCommitMessage, bundleRevertMessage, commitMessage, gitValueOf, revertMessage } from '../../gitops/service.ts';
import type { GitDeliveryResult } from '../../kernel/promotion-model.ts';
import type { GitTarget, GitWrite } from '../../gitops/ports.ts';
import { gitPathFor, gitTargetFor, hasTargetPlaceholder } from '../../gitops/target-path.ts';
import { anyPerTargetFile, bundleEdits, gitTargetForArtifact, unmappedMembers, unmappedText } from '../../gitops/path-map.ts';
import { RuleViolation } from '../../kernel/errors.ts';

/** What is written into git: one artifact's version, or a bundle's members (each to its mapped place). */
export type Written =
  | { type: 'artifact'; name: string; version: string; digest: string }
  | { type: 'bundle'; name: string; members: readonly Pick<BundleMember, 'name' | 'version' | 'digest'>[] };

/** A promotion that reaches git: an artifact's or a bundle's (a config release has no git target value). */
export type GitPromotion = Promotion & { subject: { type: 'artifact' } | { type: 'bundle' } };

export const writtenOf = (p: GitPromotion): Written =>
  p.subject.type === 'artifact'
    ? { type: 'artifact', name: p.subject.name, version: p.subject.version, digest: p.subject.digest }
    : { type: 'bundle', name: p.subject.name, members: p.subject.members };

/** What the delivery result says of where the value went (a bundle: its first member's place, and every member's). */
type Where = Pick<GitDeliveryResult, 'repository' | 'branch' | 'file' | 'path' | 'value' | 'members'>;

/**
 * What a release writes into a git target, resolved: the target (an artifact's mapped place when the map names it), the
 * write (one value, or a bundle's edits: one commit), where it goes, and whether a file names one per target (then
 * `targetName` renders it; null: the environment's own commit, which per-target files never get). A bundle with a
 * member the map leaves out is refused whole (RuleViolation naming it): nothing is written.
 */
export function gitChangeOf(
  environment: string,
  target: GitTarget,
  w: Written,
  targetName: string | null = null,
): { target: GitTarget; write: GitWrite; where: Where; perTarget: boolean } {
  if (w.type === 'artifact') {
    const place = gitTargetForArtifact(target, w.name);
    const perTarget = hasTargetPlaceholder(place.file);
    const rendered = perTarget && targetName !== null ? gitTargetFor(place, targetName) : place;
    const value = gitValueOf(rendered, { subject: w });
    return {
      target: rendered,
      write: { value },
      where: { repository: target.repository, branch: target.branch, file: rendered.file, path: rendered.path, value },
      perTarget,
    };
  }
  const missing = unmappedMembers(target, w.members);
  if (missing.length) throw new RuleViolation(unmappedText(environment, w.name, missing), { missing: missing.map((m) => `paths.${m}`) });
  const perTarget = anyPerTargetFile(target);
  const edits = bundleEdits(target, w.members, (place) => (perTarget && targetName !== null ? gitPathFor(place, targetName) : place.file));
  const first = edits[0]!;
  return {
    target,
    write: { edits },
    where: {
      repository: target.repository,
      branch: target.branch,
      file: first.file,
      path: first.path,
      value: first.written,
      members: edits.map((e) => ({ artifact: e.artifact, file: e.file, path: e.path, value: e.written })),
    },
    perTarget,
  };
}

/** The commit message of a release's delivery (an artifact's, or a bundle's with a line per member). */
export function releaseMessage(p: GitPromotion, approvers: string[], decisionDigest: string, where?: { target: string; wave: number }): string {
  return p.subject.type === 'artifact'
    ? commitMessage(p as Promotion & { subject: { type: 'artifact' } }, approvers, decisionDigest, where)
    : bundleCommitMessage(p as Promotion & { subject: { type: 'bundle' } }, approvers, decisionDigest, where);
}

const authorOf = (p: Promotion) => ({ name: p.requestedBy.name, email: p.requestedBy.name.includes('@') ? p.requestedBy.name : 'stageline@localhost' });

/**
 * The promotion step's git delivery: when the target names a git target, the promoted version goes
 * there (commit + push) before the promotion's transaction — a bundle's members each to their mapped place, in
 * one commit. Throws with the reason (the step fails the promotion with it); null when the environment has no git target.
 */
export async function deliverToGit(deps: With<'git'>, p: GitPromotion): Promise<GitDeliveryResult | null> {
  const gitTarget = await deps.store.getGitTarget(p.tenant, p.targetEnvironment);
  if (!gitTarget) return null;
  const change = gitChangeOf(p.targetEnvironment, gitTarget, writtenOf(p));
  // A file per target: each target's apply committed its own file as its wave changed it (deliverToTarget);
  // the rollout's completion commits nothing, and a literal `{target}` path never reaches the git writer.
  if (change.perTarget) return perTargetResult(deps, p, change.where);
  const decision = await decisionRecord(
    deps,
    { principal: { tenant: p.tenant, id: 'stageline', name: 'stageline', roles: ['viewer'], kind: 'machine' } },
    p.id,
  );
  const approvers = decision.approvals.filter((a) => a.counted).map((a) => a.by);
  const { target, write, where } = change;
  if (target.pullRequest) {
    // Pull-request mode (pull-request.ts): the merge is the delivery; the branch is never written here.
    const pr = p.pullRequest;
    if (pr?.state === 'merged' && pr.mergeCommit)
      return { commit: pr.mergeCommit, changed: true, attempts: 0, ...where, pullRequest: { number: pr.number, url: pr.url } };
    // No pull request was needed (the base held the value): checked again, read only.
    const r = await deps.git.commit({
      tenant: p.tenant,
      target,
      ...write,
      message: '',
      author: { name: 'stageline', email: 'stageline@localhost' },
      checkOnly: true,
    });
    return { ...r, ...where };
  }
  const r = await deps.git.commit({ tenant: p.tenant, target, ...write, message: releaseMessage(p, approvers, decision.decisionDigest), author: authorOf(p) });
  return { ...r, ...where };
}

/**
 * An automatic rollback of an artifact or bundle promotion (domain/promotion/step/fail.ts): when the target names a git
 * target, the restored version (a bundle: every member put back, in one commit) is committed there as a promotion or
 * a manual rollback would commit it, so Argo CD or Flux stop deploying the version that was refused. Idempotent (a file
 * already holding the value: no commit). Never throws: the rollback of the environment itself goes on,
 * and the answer says why git was not changed. Null when the environment has no git target.
 */
export async function revertInGit(deps: With<'git'>, p: GitPromotion, restored: Written, why: string): Promise<GitRevertResult | null> {
  const gitTarget = await deps.store.getGitTarget(p.tenant, p.targetEnvironment);
  if (!gitTarget) return null;
  let change;
  try {
    change = gitChangeOf(p.targetEnvironment, gitTarget, restored);
  } catch (err) {
    const where = { repository: gitTarget.repository, branch: gitTarget.branch, file: gitTarget.file, path: gitTarget.path, value: '' };
    return { commit: null, changed: false, attempts: 0, ...where, error: (err as Error).message };
  }
  const { target, write, where } = change;
  // A file per target is put back per target (revertTargetInGit), never as a literal `{target}` path.
  if (change.perTarget)
    return {
      commit: null,
      changed: false,
      attempts: 0,
      ...where,
      error: `${where.file} names a file per target: each target's file is put back by its rollout`,
    };
  const message =
    restored.type === 'artifact'
      ? revertMessage(p as Promotion & { subject: { type: 'artifact' } }, restored, why)
      : bundleRevertMessage(p as Promotion & { subject: { type: 'bundle' } }, restored.members, why);
  try {
    if (target.pullRequest) {
      // Pull-request mode: the branch is protected, so the revert is proposed too (a pull request of its own, not waited for:
      // the environment is rolled back already; the people who merge decide when Argo CD or Flux follow).
      const head = `stageline/${p.id}-revert`;
      const pushed = await deps.git.pushBranch({
        tenant: p.tenant,
        target,
        head,
        ...write,
        message,
        author: { name: 'stageline', email: 'stageline@localhost' },
        at: new Date(p.requestedAt),
      });
      if (!pushed.changed) return { commit: pushed.commit, changed: false, attempts: 0, ...where };
      const me = await ourAuthor(deps.git.hosts, p.tenant, target);
      const pr =
        (await deps.git.hosts.find({ tenant: p.tenant, target, head })).find((c) => !notOurs(c, target, pushed.commit, me)) ??
        (await deps.git.hosts.open({
          tenant: p.tenant,
          target,
          head,
          title: message.split('\n')[0]!,
          body: `Automatic rollback of promotion \`${p.id}\`: ${why}`.slice(0, 60_000),
        }));
      return { commit: pushed.commit, changed: true, attempts: 1, ...where, pullRequest: { number: pr.number, url: pr.url } };
    }
    const r = await deps.git.commit({ tenant: p.tenant, target, ...write, message, author: { name: 'stageline', email: 'stageline@localhost' } });
    return { ...r, ...where };
  } catch (err) {
    return { commit: null, changed: false, attempts: 0, ...where, error: (err as Error).message };
  }
}

/**
 * What a rollout's completion says of a file per target: nothing committed now; each target's apply committed
 * its own file (`perTarget`), and `commit` is the newest of those commits (the branch then holds every target's).
 */
async function perTargetResult(deps: With<'git'>, p: Promotion, where: Where): Promise<GitDeliveryResult> {
  const items = p.rollout ? await deps.store.listRolloutTargets(p.tenant, p.id) : [];
  const newest = items
    .filter((t) => t.git?.commit)
    .sort((a, b) => (b.appliedAt ?? '').localeCompare(a.appliedAt ?? ''))
    .at(0);
  return { commit: newest?.git?.commit ?? '', changed: false, attempts: 0, ...where, perTarget: true };
}

/**
 * The environment's git target when the release's file names one per target (`{target}`; a bundle: any member's), else
 * null: only then is a target's file committed on its own. A bundle with a member the map leaves out: refused (RuleViolation).
 */
export async function perTargetGit(deps: With<'git'>, p: Promotion): Promise<GitTarget | null> {
  if (p.subject.type !== 'artifact' && p.subject.type !== 'bundle') return null;
  const target = await deps.store.getGitTarget(p.tenant, p.targetEnvironment);
  if (!target || target.pullRequest) return null;
  return gitChangeOf(p.targetEnvironment, target, writtenOf(p as GitPromotion)).perTarget ? target : null;
}

/**
 * A rollout changes one target (targetApplyStep): the promoted version (a bundle: every member's) is committed to that
 * target's own file (`envs/production/{target}/values.yaml` rendered for it), before the target's transaction — effect
 * first, then record, as for an environment. Idempotent: a retried step finds the file holding the value and commits
 * nothing. Throws with the reason (the target fails, and the rollout rolls back).
 */
export async function deliverToTarget(
  deps: With<'git'>,
  p: GitPromotion,
  gitTarget: GitTarget,
  where: { target: string; wave: number },
): Promise<TargetGitDelivery> {
  const change = gitChangeOf(p.targetEnvironment, gitTarget, writtenOf(p), where.target);
  const decision = await decisionRecord(
    deps,
    { principal: { tenant: p.tenant, id: 'stageline', name: 'stageline', roles: ['viewer'], kind: 'machine' } },
    p.id,
  );
  const approvers = decision.approvals.filter((a) => a.counted).map((a) => a.by);
  const r = await deps.git.commit({
    tenant: p.tenant,
    target: change.target,
    ...change.write,
    message: releaseMessage(p, approvers, decision.decisionDigest, where),
    author: authorOf(p),
  });
  return { commit: r.commit, file: filesOf(change.where), changed: r.changed };
}

/** The files a change writes, as a target's row names them. */
const filesOf = (where: Where) => [...new Set(where.members?.map((m) => m.file) ?? [where.file])].join(', ');

/**
 * A rollback puts one changed target back (waves-rollback.ts restoreTarget): its own file gets the version it ran
 * before (a bundle: each member that ran one, in one commit), committed as revertInGit commits the environment's.
 * Never throws: the answer says what was done, or why not.
 */
export async function revertTargetInGit(deps: With<'git'>, p: GitPromotion, t: RolloutTarget, why: string): Promise<NonNullable<TargetGitDelivery['revert']>> {
  let restored: Written;
  if (p.subject.type === 'artifact') {
    if (!t.before?.version || !t.before.digest)
      return { commit: null, changed: false, error: `${t.name} ran no version of ${p.subject.name} before: its file keeps ${p.subject.version}` };
    restored = { type: 'artifact', name: p.subject.name, version: t.before.version, digest: t.before.digest };
  } else {
    const back = (t.members ?? []).flatMap((m) => (m.before ? [{ name: m.name, version: m.before.version, digest: m.before.digest }] : []));
    if (!back.length)
      return { commit: null, changed: false, error: `${t.name} ran no earlier version of any member of ${p.subject.name}: its files keep the bundle's` };
    restored = { type: 'bundle', name: p.subject.name, members: back };
  }
  const gitTarget = await deps.store.getGitTarget(p.tenant, p.targetEnvironment);
  try {
    const change = gitTarget ? gitChangeOf(p.targetEnvironment, gitTarget, restored, t.name) : null;
    if (!change?.perTarget) return { commit: null, changed: false, error: 'the git target no longer names a file per target: nothing was put back' };
    const where = { target: t.name, wave: t.wave };
    const message =
      restored.type === 'artifact'
        ? revertMessage(p as Promotion & { subject: { type: 'artifact' } }, restored, why, where)
        : bundleRevertMessage(p as Promotion & { subject: { type: 'bundle' } }, restored.members, why, where);
    const r = await deps.git.commit({
      tenant: p.tenant,
      target: change.target,
      ...change.write,
      message,
      author: { name: 'stageline', email: 'stageline@localhost' },
    });
    return { commit: r.commit, changed: r.changed };
  } catch (err) {
    return { commit: null, changed: false, error: (err as Error).message.slice(0, 500) };
  }
}
