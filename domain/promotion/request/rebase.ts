import { EnvironmentNotFound, RuleViolation } from '../../kernel/errors.ts';
import { gatesBlocking } from '../../kernel/display.ts';
import type { Ctx, Deps, With } from '../../kernel/deps.ts';
import { memoSource } from '../../config/tree.ts';
import type { Promotion } from '../../kernel/promotion-model.ts';
import { changeSummary, configChanges } from '../terms/release.ts';
import { requestedBreakGlass } from '../../freeze/break-glass.ts';
import { actorOf, configReleaseDigest, guard, moved, patched } from '../aggregate.ts';
import { stampFreezeOverride } from '../run/freeze-override.ts';
import { runGates } from './run-gates.ts';
import { prepareBundle } from './request.ts';
import { bundleLabel, findBundle } from '../../artifacts/bundles.ts';
import { promotionEvent, writePromotion } from '../write.ts';

/**
 * Moves a config promotion that awaits approval onto its source's current
 * snapshot, or a bundle's onto the newest bundle of its name (it must run in
 * the source entirely, as a new request's must). The release digest changes, so everything decided about the old
 * release stops counting: approvals (bound to the digest they approved), an
 * admin's break-glass past freeze windows (voided: an admin breaks glass again,
 * with a reason, for the new release — e.g. by sending X-Break-Glass-Reason
 * with the rebase or a later approve/execute), the change summary and notes
 * people approve from (recomputed for the new content). Who rebased is
 * recorded: they chose the content, so separation of duties treats them like
 * the requester. Gates run again, and if they now fail the promotion ends as
 * VALIDATION_FAILED.
 */
export async function rebasePromotion(deps: With<'gates' | 'workflow'>, ctx: Ctx, id: string): Promise<Promotion> {
  const glass = requestedBreakGlass(ctx, 'freeze-window', 'promotion.rebase', deps.clock());
  const me = actorOf(ctx.principal);
  const { before, after } = await writePromotion(deps, ctx.principal.tenant, id, async (p) => {
    guard('rebase', p);
    if (p.subject.type === 'artifact') throw new RuleViolation('Artifact versions are immutable: request a new promotion for another version');
    const [source, target] = await Promise.all([
      deps.store.getEnvironment(p.tenant, p.sourceEnvironment),
      deps.store.getEnvironment(p.tenant, p.targetEnvironment),
    ]);
    if (!source) throw new EnvironmentNotFound(p.sourceEnvironment);
    if (!target) throw new EnvironmentNotFound(p.targetEnvironment);
    const at = deps.clock().toISOString();
    const voided = p.freezeOverride ? ` The break-glass past freeze windows given by ${p.freezeOverride.by} for the earlier release no longer applies.` : '';
    let release: Pick<Promotion, 'subject' | 'releaseDigest' | 'changeSummary' | 'notes'>;
    let from: string;
    if (p.subject.type === 'bundle') {
      // A bundle moves onto the newest bundle of its name (another member's version is another bundle, another digest).
      const newest = await findBundle(deps, p.tenant, p.subject.name);
      if (newest.digest === p.subject.digest) return null;
      const prepared = await prepareBundle(deps, p.tenant, { bundle: newest.name, bundleDigest: newest.digest }, source, target);
      const was = p.subject.members.map((m) => `${m.name}@${m.version}`).join(', ');
      const now = newest.members.map((m) => `${m.name}@${m.version}`).join(', ');
      release = {
        subject: prepared.subject,
        releaseDigest: prepared.releaseDigest,
        changeSummary: p.changeSummary,
        notes:
          `Rebased by ${me.name} onto ${bundleLabel(newest)} (${now}; was ${was}). The notes ${p.requestedBy.name} wrote were for an earlier release.${voided}`.slice(
            0,
            2000,
          ),
      };
      from = `bundle ${p.subject.name} ${p.subject.digest.slice(7, 19)} → ${newest.digest.slice(7, 19)}`;
    } else {
      if (source.head.seq === p.subject.sourceSnapshot.seq) return null;
      const subject = { ...p.subject, sourceSnapshot: { seq: source.head.seq, digest: source.head.digest } };
      const { changes } = await configChanges(memoSource(deps.store.nodes(p.tenant)), target.head.roots, source.head.roots, subject);
      if (changes.length === 0) throw new RuleViolation(`Nothing to promote any more: '${target.name}' already has it; cancel the promotion`);
      const summary = changeSummary(changes, subject);
      release = {
        subject,
        releaseDigest: configReleaseDigest(subject),
        changeSummary: summary,
        notes:
          `Rebased by ${me.name} onto ${source.name}@${source.head.seq}: ${summary.added} added, ${summary.modified} modified, ${summary.removed} removed. The notes ${p.requestedBy.name} wrote were for an earlier release.${voided}`.slice(
            0,
            2000,
          ),
      };
      from = `source ${source.name}@${p.subject.sourceSnapshot.seq} → @${source.head.seq}`;
    }
    const rebased: Promotion = {
      ...p,
      ...release,
      approvedBy: [],
      rebasedBy: { id: me.id, name: me.name, at },
      freezeOverride: null,
    };
    // Without the audit key (this function does not hold it): attestations a target requires are the flow's validation's.
    const gates = await runGates(deps, rebased);
    const blocked = gates.filter((g) => g.blocking && g.verdict === 'FAIL');
    const next = blocked.length
      ? moved(rebased, 'VALIDATION_FAILED', me, deps.clock(), {
          gates,
          taskToken: null,
          error: { code: 'GATES_FAILED', message: gatesBlocking(blocked) },
        })
      : patched(rebased, at, { gates });
    const event = blocked.length
      ? promotionEvent(deps, 'Promotion Failed', next, { actor: me.name, reason: next.error!.message })
      : promotionEvent(deps, 'Approval Required', next, {
          actor: me.name,
          approvalsNeeded: p.policy.requiredApprovers,
          approverGroups: p.policy.approverGroups,
        });
    const why = `${from}${p.freezeOverride ? `; voids the break-glass of ${p.freezeOverride.by} (${p.freezeOverride.reason})` : ''}`;
    return { next, action: 'promotion.rebase', by: me, ops: [event], reason: why, requestId: ctx.requestId };
  });
  if (after?.status === 'VALIDATION_FAILED' && before.taskToken)
    await deps.workflow.sendTaskFailure(before.taskToken, 'Cancelled', 'gates failed after rebase');
  const rebased = after ?? before;
  // An admin who rebases with a break-glass reason breaks glass for the new release (audited as break-glass).
  return glass ? stampFreezeOverride(deps, ctx, rebased.id, glass) : rebased;
}
