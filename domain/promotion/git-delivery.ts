import type { With } from '../ports.ts';
import type { GitRevertResult, Promotion } from '../kernel/promotion-model.ts';
import { decisionRecord } from './views.ts';
import { commitMessage, gitValueOf, revertMessage } from '../gitops/service.ts';
import type { GitDeliveryResult } from '../kernel/promotion-model.ts';

/**
 * The promotion step's git delivery: when the target names a git target, the promoted version goes
 * there (commit + push) before the promotion's transaction. Throws with the reason (the step fails
 * the promotion with it); null when the environment has no git target.
 */
export async function deliverToGit(deps: With<'git'>, p: Promotion & { subject: { type: 'artifact' } }): Promise<GitDeliveryResult | null> {
  const target = await deps.store.getGitTarget(p.tenant, p.targetEnvironment);
  if (!target) return null;
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
 * An automatic rollback of an artifact promotion (domain/promotion/finish.ts): when the target names a git
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
      const pr =
        (await deps.git.hosts.find({ tenant: p.tenant, target, head })) ??
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
