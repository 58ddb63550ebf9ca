import { requireRole } from '../auth.ts';
import { EnvironmentNotFound, RuleViolation } from '../errors.ts';
import type { Ctx, Deps } from '../ports.ts';
import { retryOnConflict } from '../retry.ts';
import { memoSource } from '../tree.ts';
import { assertAction } from './lifecycle.ts';
import type { Promotion } from './model.ts';
import { configChanges } from './release.ts';
import { actorOf, configReleaseDigest, loadPromotion, moved, promotionEvent, savePromotion } from './service.ts';
import { runGates } from './steps.ts';

/**
 * Moves a config promotion that awaits approval onto its source's current
 * snapshot. The release digest changes, so every approval given so far stops
 * counting (approvals are bound to the digest they approved); gates run again,
 * and if they now fail the promotion ends as VALIDATION_FAILED.
 */
export async function rebasePromotion(deps: Deps, ctx: Ctx, id: string): Promise<Promotion> {
  requireRole(ctx.principal, 'deployer');
  const me = actorOf(ctx.principal);
  return retryOnConflict(async () => {
    const p = await loadPromotion(deps, ctx.principal.tenant, id);
    assertAction('rebase', p.status, id);
    if (p.subject.type !== 'config') throw new RuleViolation('Artifact versions are immutable: request a new promotion for another version');
    const [source, target] = await Promise.all([deps.store.getEnvironment(p.tenant, p.sourceEnvironment), deps.store.getEnvironment(p.tenant, p.targetEnvironment)]);
    if (!source) throw new EnvironmentNotFound(p.sourceEnvironment);
    if (!target) throw new EnvironmentNotFound(p.targetEnvironment);
    if (source.head.seq === p.subject.sourceSnapshot.seq) return p;
    const subject = { ...p.subject, sourceSnapshot: { seq: source.head.seq, digest: source.head.digest } };
    const { changes } = await configChanges(memoSource(deps.store.nodes(p.tenant)), target.head.roots, source.head.roots, subject);
    if (changes.length === 0) throw new RuleViolation(`Nothing to promote any more: '${target.name}' already has it; cancel the promotion`);
    const rebased: Promotion = { ...p, subject, releaseDigest: configReleaseDigest(subject), approvedBy: [] };
    const gates = await runGates(deps, rebased);
    const blocked = gates.filter((g) => g.blocking && g.verdict === 'FAIL');
    const next = blocked.length
      ? moved(rebased, 'VALIDATION_FAILED', me, deps.clock(), { gates, taskToken: null, error: { code: 'GATES_FAILED', message: blocked.map((g) => `${g.gate}: ${g.reason}`).join('; ') } })
      : { ...rebased, gates, version: p.version + 1, updatedAt: deps.clock().toISOString() };
    const event = blocked.length
      ? promotionEvent(deps, 'Promotion Failed', next, { actor: me.name, reason: next.error!.message })
      : promotionEvent(deps, 'Approval Required', next, { actor: me.name, approvalsNeeded: p.policy.requiredApprovers, approverGroups: p.policy.approverGroups });
    await savePromotion(deps, me, next, p, 'promotion.rebase', [event], `source ${source.name}@${p.subject.sourceSnapshot.seq} → @${source.head.seq}`, ctx.requestId);
    if (blocked.length && p.taskToken) await deps.workflow.sendTaskFailure(p.taskToken, 'Cancelled', 'gates failed after rebase');
    return next;
  });
}
