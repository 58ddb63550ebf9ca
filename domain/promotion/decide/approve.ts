import { auditEntry } from '../../audit/audit.ts';
import { inGroups } from '../../access/auth.ts';
import { inScimGroups } from '../../access/scim.ts';
import { requestedBreakGlass } from '../../freeze/break-glass.ts';
import { NotAnApprover, SelfApprovalForbidden, TransitionNotAllowed } from '../../kernel/errors.ts';
import type { Ctx, Deps, With } from '../../kernel/deps.ts';
import { actorOf, afterApproval, approvalWait, countable, guard, moved } from '../aggregate.ts';
import { approvalDeadline, flowDecision } from '../terms/deadlines.ts';
import { stampFreezeOverride } from '../run/freeze-override.ts';
import { grantOf, standing } from '../terms/standing.ts';
import type { Approval, Promotion } from '../../kernel/promotion-model.ts';
import { contentChoosers } from '../terms/policy.ts';
import { auditDraft, loadPromotion, promotionEvent, writePromotion, type Move } from '../write.ts';

/**
 * Approves a promotion waiting for approval, bound to its release digest (approving twice is
 * idempotent). The caller is an approver (the route's role; Slack and review links check it at
 * their entry); the data decide the rest here: the promotion's approver groups, separation of
 * duties, the approval window. The approval that meets the policy moves the promotion in the same
 * transaction (one write, one audit entry); one that does not is stored alone, and the approvals
 * are counted once more, since approvals given side by side may each have seen too few.
 * The promotion is read once (again only when a write loses its condition).
 */
export async function approvePromotion(deps: With<'workflow'>, ctx: Ctx, id: string, comment?: string, release?: string): Promise<Promotion> {
  const glass = requestedBreakGlass(ctx, 'freeze-window', 'promotion.approve', deps.clock());
  const { tenant } = ctx.principal;
  const me = actorOf(ctx.principal);
  let p = await loadPromotion(deps, tenant, id);
  // A decision made from what a message or link showed (Slack, review links) holds for that release only.
  if (release !== undefined) assertRelease(p, release);
  const listed = await deps.store.listApprovals(tenant, id);
  const mine = (approvals: Approval[], digest: string) => approvals.some((a) => a.by === me.id && a.digest === digest);
  // Approving twice is idempotent: the same state, counted once (its checks passed the first time).
  const already = mine(listed, p.releaseDigest);
  if (!already) {
    guard('approve', p);
    // The groups of the caller's token, or the tenant's SCIM groups (read only when the token does not say so).
    if (!inGroups(ctx.principal, p.policy.approverGroups) && !(await inScimGroups(deps, ctx.principal, p.policy.approverGroups))) {
      throw new NotAnApprover(`Approvals for ${p.sourceEnvironment} → ${p.targetEnvironment} come from: ${p.policy.approverGroups.join(', ')}`);
    }
    if (p.policy.separationOfDuties && contentChoosers(p).includes(me.id)) {
      throw new SelfApprovalForbidden(
        `${p.requestedBy.id === me.id ? 'You requested this promotion' : 'You rebased this promotion onto its current release'}; separation of duties needs someone else to approve it`,
      );
    }
    const expiresAt = approvalDeadline(p);
    if (expiresAt && deps.clock() > expiresAt)
      throw new TransitionNotAllowed(`The approval window of ${id} closed at ${expiresAt.toISOString()}`, { status: p.status });
  }
  // Break-glass past a freeze is stamped only for an approval the checks above let through: a refused
  // one (not an approver, self-approval, window closed) leaves no override behind. Without a break-glass
  // (glass null) stampFreezeOverride returns p as read.
  if (p.status === 'AWAITING_APPROVAL') p = await stampFreezeOverride(deps, ctx, id, glass, p);
  if (already) return p;
  const grant = grantOf(ctx.principal);
  const approval: Approval = {
    by: me.id,
    name: me.name,
    at: deps.clock().toISOString(),
    digest: p.releaseDigest,
    ...(comment ? { comment } : {}),
    ...(ctx.via ? { via: ctx.via } : {}),
    ...(grant ? { grantedBy: grant } : {}),
  };
  const approved = (cur: Promotion, counted: Approval[], ops: Move['ops'] = [], reason?: string): Move => {
    const next = moved(cur, 'APPROVED', me, deps.clock(), { approvedBy: counted.map((a) => a.name).sort(), taskToken: null });
    const event = promotionEvent(deps, 'Promotion Approved', next, { actor: me.name, approvalWaitSeconds: approvalWait(cur, deps.clock()) });
    return { next, action: 'promotion.approved', by: me, ops: [...ops, event], reason, requestId: ctx.requestId, via: ctx.via };
  };
  // The approval, with the move when it meets the policy. The first attempt decides on what was read above.
  const stored = await writePromotion(
    deps,
    tenant,
    id,
    async (cur, attempt) => {
      // Rebased since it was read (a lost write reads it again): this approval is of a release it no longer is.
      assertRelease(cur, approval.digest);
      const approvals = attempt === 1 ? listed : await deps.store.listApprovals(tenant, id);
      // Our approval is already stored (a concurrent retry of the same request): nothing more to write.
      // (Never on the first attempt: `already` returned above.)
      if (mine(approvals, p.releaseDigest)) return null;
      // Decided against since it was read (a rejection, a cancel, the window's expiry won the write): refused as it is
      // when read so, never stored beside that decision. (Approved meanwhile by another approver: stored, audited.)
      if (cur.status !== 'APPROVED') guard('approve', cur);
      // An approval of ours still among them is for another release: countable drops it whenever the
      // count matters (it completes only while the promotion is on our approval's release).
      const counted = countable(cur, [...(await standing(deps, tenant, approvals, me.id)), approval]);
      // (On our approval's release: assertRelease above.)
      const completes = cur.status === 'AWAITING_APPROVAL' && counted.length >= cur.policy.requiredApprovers;
      if (completes) return approved(cur, counted, [{ kind: 'approval', promotionId: id, approval }], comment);
      const audit = auditEntry(tenant, auditDraft(ctx, cur, 'promotion.approve', null, cur.releaseDigest, comment), deps.clock());
      return {
        beside: [
          { kind: 'approval', promotionId: id, approval, promotionVersion: cur.version },
          { kind: 'audit', entry: audit },
        ],
      };
    },
    { read: p },
  );
  if (stored.after) return resumed(deps, stored.before, stored.after);
  // Stored alone: count again (fresh approvals), and only when the policy is met move to APPROVED.
  const { before, after } = await writePromotion(
    deps,
    tenant,
    id,
    async (cur) => {
      if (cur.status !== 'AWAITING_APPROVAL') return null;
      const counted = countable(cur, await standing(deps, tenant, await deps.store.listApprovals(tenant, id), me.id));
      return counted.length < cur.policy.requiredApprovers ? null : approved(cur, counted);
    },
    { read: stored.before },
  );
  return after ? resumed(deps, before, after) : before;
}

/**
 * The release a decision was made on (a Slack message's, a review link's) is still the promotion's:
 * after a rebase the content is another one, which nobody approved from that message.
 */
export function assertRelease(p: Pick<Promotion, 'id' | 'status' | 'releaseDigest'>, release: string): void {
  if (p.releaseDigest !== release) {
    throw new TransitionNotAllowed(
      `${p.id} was rebased onto another release since this was sent (decisions are bound to the exact release); review the current release and decide on it`,
      { status: p.status },
    );
  }
}

/** Exactly one approver moves the promotion; the token stored with it (if the flow is already waiting) resumes the flow. */
async function resumed(deps: With<'workflow'>, before: Promotion, next: Promotion): Promise<Promotion> {
  if (before.taskToken) await deps.workflow.sendTaskSuccess(before.taskToken, { ...flowDecision(next, afterApproval(next), deps.clock()) });
  return next;
}
