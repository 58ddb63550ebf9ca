import type { With } from '../../kernel/deps.ts';
import type { GitRevertResult, Promotion, RolloutTarget, TargetGitDelivery } from '../../kernel/promotion-model.ts';
import { decisionRecord } from '../views.ts';
import { notOurs } from '../../gitops/pull-request-owner.ts';
import { commitMessage, gitValueOf, revertMessage } from '../../gitops/service.ts';
import type { GitDeliveryResult } from '../../kernel/promotion-model.ts';
import type { GitTarget } from '../../gitops/ports.ts';
import { gitTargetFor, hasTargetPlaceholder } from '../../gitops/target-path.ts';

/**
 * The promotion step's git delivery: when the target names a git target, the promoted version goes
 * there (commit + push) before the promotion's transaction. Throws with the reason (the step fails
 * the promotion with it); null when the environment has no git target.
 */
export async function deliverToGit(deps: With<'git'>, p: Promotion & { subject: { type: 'artifact' } }): Promise<GitDeliveryResult | null> {
  const target = await deps.store.getGitTarget(p.tenant, p.targetEnvironment);
  if (!target) return null;
  // A file per target: each target's apply committed its own file as its wave changed it (deliverToTarget);
  // the rollout's completion commits nothing, and a literal `{target}` path never reaches the git writer.
  if (hasTargetPlaceholder(target.file)) return perTargetResult(deps, p, target);
  const decision = await decisionRecord(
    deps,
    { principal: { tenant: p.tenant, id: 'stageline', name: 'stageline', roles: ['viewer'], kind: 'machine' } },
    p.id,
  );
  const approvers = decision.approvals.filter((a) => a.counted).map((a) => a.by);
  const value = gitValueOf(target, p);
  const where = { repository: target.repository, branch: target.branch, file: target.file, path: target.path, value };
  if (target.pullRequest) {
    // Pull-request mode (pull-request.ts): the merge is the delivery; the branch is never written here.
    const pr = p.pullRequest;
    if (pr?.state === 'merged' && pr.mergeCommit)
      return { commit: pr.mergeCommit, changed: true, attempts: 0, ...where, pullRequest: { number: pr.number, url: pr.url } };
    // No pull request was needed (the base held the value): checked again, read only.
    const r = await deps.git.commit({
      tenant: p.tenant,
      target,
      value,
      message: '',
      author: { name: 'stageline', email: 'stageline@localhost' },
      checkOnly: true,
    });
    return { ...r, ...where };
  }
  const r = await deps.git.commit({
    tenant: p.tenant,
    target,
    value,
    message: commitMessage(p, approvers, decision.decisionDigest),
    author: { name: p.requestedBy.name, email: p.requestedBy.name.includes('@') ? p.requestedBy.name : 'stageline@localhost' },
  });
  return { ...r, repository: target.repository, branch: target.branch, file: target.file, path: target.path, value };
}

/**
 * An automatic rollback of an artifact promotion (domain/promotion/run/fail.ts): when the target names a git
 * target, the restored version is committed there (commit + push) as a promotion or a manual rollback
 * would commit it, so Argo CD or Flux stop deploying the version that was refused. Idempotent (a file
 * already holding the value: no commit). Never throws: the rollback of the environment itself goes on,
 * and the answer says why git was not changed. Null when the environment has no git target.
 */
export async function revertInGit(
  deps: With<'git'>,
  p: Promotion & { subject: { type: 'artifact' } },
  restored: { version: string; digest: string },
  why: string,
): Promise<GitRevertResult | null> {
  const target = await deps.store.getGitTarget(p.tenant, p.targetEnvironment);
  if (!target) return null;
  const value = gitValueOf(target, { subject: restored });
  const where = { repository: target.repository, branch: target.branch, file: target.file, path: target.path, value };
  // A file per target is put back per target (revertTargetInGit), never as a literal `{target}` path.
  if (hasTargetPlaceholder(target.file))
    return {
      commit: null,
      changed: false,
      attempts: 0,
      ...where,
      error: `${target.file} names a file per target: each target's file is put back by its rollout`,
    };
  try {
    if (target.pullRequest) {
      // Pull-request mode: the branch is protected, so the revert is proposed too (a pull request of its own, not waited for:
      // the environment is rolled back already; the people who merge decide when Argo CD or Flux follow).
      const head = `stageline/${p.id}-revert`;
      const pushed = await deps.git.pushBranch({
        tenant: p.tenant,
        target,
        head,
        value,
        message: revertMessage(p, restored, why),
        author: { name: 'stageline', email: 'stageline@localhost' },
        at: new Date(p.requestedAt),
      });
      if (!pushed.changed) return { commit: pushed.commit, changed: false, attempts: 0, ...where };
      const me = await deps.git.hosts.whoami({ tenant: p.tenant, target });
      const pr =
        (await deps.git.hosts.find({ tenant: p.tenant, target, head })).find((c) => !notOurs(c, target, pushed.commit, me)) ??
        (await deps.git.hosts.open({
          tenant: p.tenant,
          target,
          head,
          title: `Roll back ${p.subject.name} ${p.subject.version} in ${p.targetEnvironment} to ${restored.version}`,
          body: `Automatic rollback of promotion \`${p.id}\`: ${why}`.slice(0, 60_000),
        }));
      return { commit: pushed.commit, changed: true, attempts: 1, ...where, pullRequest: { number: pr.number, url: pr.url } };
    }
    const r = await deps.git.commit({
      tenant: p.tenant,
      target,
      value,
      message: revertMessage(p, restored, why),
      author: { name: 'stageline', email: 'stageline@localhost' },
    });
    return { ...r, ...where };
  } catch (err) {
    return { commit: null, changed: false, attempts: 0, ...where, error: (err as Error).message };
  }
}

/**
 * What a rollout's completion says of a file per target: nothing committed now; each target's apply committed
 * its own file (`perTarget`), and `commit` is the newest of those commits (the branch then holds every target's).
 */
async function perTargetResult(deps: With<'git'>, p: Promotion, target: GitTarget): Promise<GitDeliveryResult> {
  const items = p.rollout ? await deps.store.listRolloutTargets(p.tenant, p.id) : [];
  const newest = items
    .filter((t) => t.git?.commit)
    .sort((a, b) => (b.appliedAt ?? '').localeCompare(a.appliedAt ?? ''))
    .at(0);
  return {
    commit: newest?.git?.commit ?? '',
    changed: false,
    attempts: 0,
    repository: target.repository,
    branch: target.branch,
    file: target.file,
    path: target.path,
    value: gitValueOf(target, p as Promotion & { subject: { type: 'artifact' } }),
    perTarget: true,
  };
}

/** The environment's git target when its file names one per target (`{target}`), else null: only then is a target's file committed on its own. */
export async function perTargetGit(deps: With<'git'>, p: Promotion): Promise<GitTarget | null> {
  if (p.subject.type !== 'artifact') return null;
  const target = await deps.store.getGitTarget(p.tenant, p.targetEnvironment);
  return target && hasTargetPlaceholder(target.file) && !target.pullRequest ? target : null;
}

/**
 * A rollout changes one target (targetApplyStep): the promoted version is committed to that target's own file
 * (`envs/production/{target}/values.yaml` rendered for it), before the target's transaction — effect first, then
 * record, as for an environment. Idempotent: a retried step finds the file holding the value and commits nothing.
 * Throws with the reason (the target fails, and the rollout rolls back).
 */
export async function deliverToTarget(
  deps: With<'git'>,
  p: Promotion & { subject: { type: 'artifact' } },
  gitTarget: GitTarget,
  where: { target: string; wave: number },
): Promise<TargetGitDelivery> {
  const rendered = gitTargetFor(gitTarget, where.target);
  const decision = await decisionRecord(
    deps,
    { principal: { tenant: p.tenant, id: 'stageline', name: 'stageline', roles: ['viewer'], kind: 'machine' } },
    p.id,
  );
  const approvers = decision.approvals.filter((a) => a.counted).map((a) => a.by);
  const r = await deps.git.commit({
    tenant: p.tenant,
    target: rendered,
    value: gitValueOf(rendered, p),
    message: commitMessage(p, approvers, decision.decisionDigest, where),
    author: { name: p.requestedBy.name, email: p.requestedBy.name.includes('@') ? p.requestedBy.name : 'stageline@localhost' },
  });
  return { commit: r.commit, file: rendered.file, changed: r.changed };
}

/**
 * A rollback puts one changed target back (waves-rollback.ts restoreTarget): its own file gets the version it ran
 * before, committed as revertInGit commits the environment's. Never throws: the answer says what was done, or why not.
 */
export async function revertTargetInGit(
  deps: With<'git'>,
  p: Promotion & { subject: { type: 'artifact' } },
  t: RolloutTarget,
  why: string,
): Promise<NonNullable<TargetGitDelivery['revert']>> {
  if (!t.before?.version || !t.before.digest)
    return { commit: null, changed: false, error: `${t.name} ran no version of ${p.subject.name} before: its file keeps ${p.subject.version}` };
  const gitTarget = await deps.store.getGitTarget(p.tenant, p.targetEnvironment);
  if (!gitTarget || !hasTargetPlaceholder(gitTarget.file))
    return { commit: null, changed: false, error: 'the git target no longer names a file per target: nothing was put back' };
  const restored = { version: t.before.version, digest: t.before.digest };
  try {
    const rendered = gitTargetFor(gitTarget, t.name);
    const r = await deps.git.commit({
      tenant: p.tenant,
      target: rendered,
      value: gitValueOf(rendered, { subject: restored }),
      message: revertMessage(p, restored, why, { target: t.name, wave: t.wave }),
      author: { name: 'stageline', email: 'stageline@localhost' },
    });
    return { commit: r.commit, changed: r.changed };
  } catch (err) {
    return { commit: null, changed: false, error: (err as Error).message.slice(0, 500) };
  }
}
