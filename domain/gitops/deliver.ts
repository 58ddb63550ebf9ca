import type { Deps } from '../ports.ts';
import type { Promotion } from '../promotion/model.ts';
import { decisionRecord } from '../promotion/views.ts';
import { commitMessage, gitValueOf, type GitDeliveryResult } from './service.ts';

/**
 * The promotion step's git delivery: when the target names a git target, the promoted version goes
 * there (commit + push) before the promotion's transaction. Throws with the reason (the step fails
 * the promotion with it); null when the environment has no git target.
 */
export async function deliverToGit(deps: Deps, p: Promotion & { subject: { type: 'artifact' } }): Promise<GitDeliveryResult | null> {
  const target = await deps.store.getGitTarget(p.tenant, p.targetEnvironment);
  if (!target) return null;
  if (!deps.git) throw new Error('this function has no git writer');
  const decision = await decisionRecord(deps, { principal: { tenant: p.tenant, id: 'stageline', name: 'stageline', roles: ['viewer'], kind: 'machine' } }, p.id);
  const approvers = decision.approvals.filter((a) => a.counted).map((a) => a.by);
  const value = gitValueOf(target, p);
  const r = await deps.git.commit({
    tenant: p.tenant,
    target,
    value,
    message: commitMessage(p, approvers, decision.decisionDigest),
    author: { name: p.requestedBy.name, email: p.requestedBy.name.includes('@') ? p.requestedBy.name : 'stageline@localhost' },
  });
  return { ...r, repository: target.repository, branch: target.branch, file: target.file, path: target.path, value };
}
