import { timingSafeEqual } from 'node:crypto';
import { hasRole } from '../access/auth.ts';
import { principalIn } from '../access/binding-settings.ts';
import type { Ctx, Deps, With } from '../kernel/deps.ts';
import type { DirectoryUser } from '../access/ports.ts';
import type { ReviewLink } from './ports.ts';
import type { Promotion } from '../kernel/promotion-model.ts';
import { changesOf, type ChangeRow } from '../promotion/views.ts';
import { approvePromotion } from '../promotion/decide/approve.ts';
import { rejectPromotion } from '../promotion/decide/reject.ts';
import { mayApprove, notificationView, tokenHash, userPrincipal } from './notifier.ts';
import type { NotificationView } from './view.ts';

/** Why a link cannot be used, with what the person should do instead. */
export interface Refusal {
  code: 'unknown' | 'expired' | 'used' | 'not-waiting' | 'release-changed' | 'not-eligible' | 'view-only';
  title: string;
  message: string;
  whatToDo: string;
}

export interface ReviewState {
  link: ReviewLink;
  promotion: Promotion;
  view: NotificationView;
  diff: ChangeRow[];
  /** null when the link may act */
  refusal: Refusal | null;
}

const refuse = (code: Refusal['code'], title: string, message: string, whatToDo: string): Refusal => ({ code, title, message, whatToDo });

export class LinkRefused extends Error {
  constructor(readonly refusal: Refusal) {
    super(refusal.message);
    this.name = 'LinkRefused';
  }
}

const UNKNOWN = refuse(
  'unknown',
  'This link is not valid',
  'The link is unknown or was altered.',
  'Open the promotion from the Stageline dashboard or ask for a new notification.',
);

/** A link, its promotion, why it cannot act (null: it can) and the approver it acts as. */
interface LinkCheck {
  link: ReviewLink;
  promotion: Promotion;
  refusal: Refusal | null;
  approver: DirectoryUser | null;
}

/**
 * Looks a link up by the hash of its token (a keyed lookup: nothing about the
 * token's content leaks through timing) and says whether it may act now.
 */
async function checkLink(deps: Deps, tenant: string, token: string): Promise<LinkCheck> {
  if (!/^[A-Za-z0-9_-]{43}$/.test(token)) throw new LinkRefused(UNKNOWN);
  const hash = tokenHash(token);
  const link = await deps.store.getReviewLink(tenant, hash);
  if (!link || !timingSafeEqual(Buffer.from(link.hash), Buffer.from(hash))) throw new LinkRefused(UNKNOWN);
  const p = await deps.store.getPromotion(tenant, link.promotionId);
  if (!p) throw new LinkRefused(UNKNOWN);
  const refusal = staticRefusal(deps, link, p);
  if (refusal) return { link, promotion: p, refusal, approver: null };
  const approver = await eligibleUser(deps, link, p);
  const notEligible = approver
    ? null
    : refuse(
        'not-eligible',
        'You are no longer an eligible approver',
        `Approvals for ${p.sourceEnvironment} → ${p.targetEnvironment} come from: ${p.policy.approverGroups.join(', ')}${p.policy.separationOfDuties ? ', and not from the requester' : ''}.`,
        'Ask an eligible approver.',
      );
  return { link, promotion: p, refusal: notEligible, approver };
}

/** The review page's content. A GET only ever reads: mail scanners and Slack unfurls prefetch links. */
export async function openLink(deps: Deps, tenant: string, token: string): Promise<ReviewState> {
  const { link, promotion: p, refusal } = await checkLink(deps, tenant, token);
  const view = await notificationView(deps, 'approval-required', { tenant, at: p.updatedAt }, p);
  return { link, promotion: p, view, diff: (await changesOf(deps, p)).changes, refusal };
}

/** What can be told from the link and the promotion alone. */
function staticRefusal(deps: Deps, link: ReviewLink, p: Promotion): Refusal | null {
  if (!link.actions.length)
    return refuse(
      'view-only',
      'For review only',
      'This link shows the promotion; it cannot approve or reject it.',
      'Approvers get their own link by email, or act from the dashboard.',
    );
  if (link.usedAt)
    return refuse(
      'used',
      'This link was already used',
      `It was used to ${link.usedFor ?? 'act'} at ${link.usedAt}. Each link works once.`,
      'Open the promotion in the dashboard to see where it stands.',
    );
  if (deps.clock() > new Date(link.validUntil))
    return refuse(
      'expired',
      'This link has expired',
      `It was valid until ${link.validUntil}.`,
      'Ask the requester to request the promotion again, or act from the dashboard while the approval window is open.',
    );
  if (p.status !== 'AWAITING_APPROVAL')
    return refuse(
      'not-waiting',
      'This promotion is no longer waiting for approval',
      `It is ${p.status} now.`,
      'Nothing to do here; the dashboard shows what happened.',
    );
  if (p.releaseDigest !== link.releaseDigest) {
    return refuse(
      'release-changed',
      'This link was for an older release',
      'The promotion was rebased onto a newer release since this link was sent, and approvals are bound to the exact release.',
      'Use the link of the newer notification, or review it in the dashboard.',
    );
  }
  return null;
}

/** The link's approver as the directory knows them now: group changes since the link was sent count. */
async function eligibleUser(deps: Deps, link: ReviewLink, p: Promotion): Promise<DirectoryUser | null> {
  const user = deps.directory ? await deps.directory.byEmail(p.tenant, link.approver.email) : null;
  if (!user || (link.approver.id && user.id !== link.approver.id)) return null;
  if (mayApprove(p, user)) return user;
  // A role binding in the target environment may make them one (read only when the token's groups do not).
  return mayApprove(p, user, (await deps.store.getBindings(p.tenant))?.bindings ?? []) ? user : null;
}

/**
 * Approves or rejects through a link, by the same code path as the API (roles,
 * groups, separation of duties, N distinct approvers, the conditional write,
 * one SendTaskSuccess). The link is spent first, so it works exactly once.
 */
export async function actOnLink(
  deps: With<'workflow' | 'scheduler'>,
  tenant: string,
  token: string,
  action: 'approve' | 'reject',
  reason: string | undefined,
  requestId?: string,
): Promise<Promotion> {
  // Only the checks: an action needs neither the page's view nor the diff.
  const state = await checkLink(deps, tenant, token);
  if (state.refusal) throw new LinkRefused(state.refusal);
  if (!state.link.actions.includes(action))
    throw new LinkRefused(refuse('view-only', 'This link cannot do that', `It allows: ${state.link.actions.join(', ')}.`, 'Use the dashboard.'));
  const user = state.approver!;
  // The API route's role (approver), checked here: a link reaches the use cases without the route
  // table. Before the link is spent: a refusal does not use it up.
  // The role in the promotion's target environment: the token's roles, or a role binding there (domain/access/bindings.ts).
  const principal = await principalIn(deps, userPrincipal(user), state.promotion.targetEnvironment, 'approver');
  if (!hasRole(principal, 'approver')) {
    throw new LinkRefused(
      refuse(
        'not-eligible',
        'You are not an approver',
        `Approving or rejecting a promotion needs the 'approver' role in environment '${state.promotion.targetEnvironment}'; ${user.email} has there: ${principal.roles.join(', ') || 'none'}.`,
        'Ask an eligible approver.',
      ),
    );
  }
  if (!(await deps.store.useReviewLink(tenant, state.link.hash, deps.clock().toISOString(), action))) {
    throw new LinkRefused(refuse('used', 'This link was already used', 'Each link works once.', 'Open the promotion in the dashboard to see where it stands.'));
  }
  const ctx: Ctx = { principal, requestId };
  return action === 'approve'
    ? approvePromotion(deps, ctx, state.promotion.id, 'approved from a signed link', state.link.releaseDigest)
    : rejectPromotion(deps, ctx, state.promotion.id, reason ?? 'rejected from a signed link', state.link.releaseDigest);
}
