import { hasRole, type Principal } from '../../access/auth.ts';
import type { Deps } from '../../kernel/deps.ts';
import type { Approval, ApprovalGrant } from '../../kernel/promotion-model.ts';

/**
 * The approvals that still stand: one whose approver lost their access after giving it (removed,
 * deactivated or deleted by SCIM, a role taken away: their "not before" second is later than the
 * approval) no longer counts, wherever approvals are counted (the approval that completes the policy,
 * the decision record, the promotion's view). One consistent read per approver other than `me`
 * (whose approval is given now, with a token the handler just accepted).
 */
export async function standing(deps: Pick<Deps, 'store'>, tenant: string, approvals: Approval[], me: string | null): Promise<Approval[]> {
  const others = [...new Set(approvals.filter((a) => a.by !== me).map((a) => a.by))];
  const since = new Map(await Promise.all(others.map(async (by) => [by, await deps.store.notBefore(tenant, by)] as const)));
  return approvals.filter((a) => {
    const nb = since.get(a.by);
    return nb === undefined || nb === null || Date.parse(a.at) >= nb * 1000;
  });
}

/** Whether an approval was voided by its approver losing their access after giving it. */
export const revoked = (stand: Approval[]) => {
  const kept = new Set(stand);
  return (a: Approval) => !kept.has(a);
};

/**
 * The role binding an approver approves under, for the decision record: the binding that granted the
 * approver role where the promotion goes (the authorization's `grants`). Undefined when their token's
 * tenant-wide role lets them approve (as before bindings: the record then names no binding).
 */
export function grantOf(principal: Principal): ApprovalGrant | undefined {
  const token = principal.tokenRoles ?? principal.roles;
  if (hasRole({ roles: token }, 'approver')) return undefined;
  const b = (principal.grants ?? []).find((g) => g.role === 'approver' || g.role === 'admin');
  if (!b) return undefined;
  return { source: 'binding', role: b.role, environments: b.environments, ...(b.user !== undefined ? { user: b.user } : { group: b.group! }) };
}
