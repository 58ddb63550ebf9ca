import { requireRole } from './auth.ts';
import { verifyChain, type ChainCheck } from './audit.ts';
import type { AuditEntry, Page } from './model.ts';
import type { Ctx, Deps } from './ports.ts';
import type { AuditQuery } from './schemas.ts';

export async function queryAudit(deps: Deps, ctx: Ctx, query: AuditQuery): Promise<Page<AuditEntry>> {
  requireRole(ctx.principal, 'viewer');
  return deps.store.queryAudit(ctx.principal.tenant, query);
}

const CHAIN_PAGE = 1000;

/**
 * Re-computes every hash of the tenant's chain in sequence and compares the
 * last one with the chain head, so an altered, removed or re-ordered entry
 * (including one cut from the end) is reported as the first broken link.
 */
export async function verifyAudit(deps: Deps, ctx: Ctx): Promise<ChainCheck & { headSeq: number }> {
  requireRole(ctx.principal, 'viewer');
  const { tenant } = ctx.principal;
  const head = await deps.store.auditHead(tenant);
  let state: ChainCheck = { ok: true, checked: 0, head: null };
  let cursor: string | undefined;
  do {
    const page = await deps.store.readAuditChain(tenant, CHAIN_PAGE, cursor);
    const step = verifyChain(page.items, state.head);
    state = { ...step, checked: state.checked + step.checked };
    if (!step.ok) break;
    cursor = page.nextCursor;
  } while (cursor);
  const headSeq = head?.seq ?? 0;
  if (state.ok && (state.head?.seq ?? 0) !== headSeq) {
    return { ...state, ok: false, headSeq, firstBroken: { seq: (state.head?.seq ?? 0) + 1, reason: `the chain head is at ${headSeq} but entries end at ${state.head?.seq ?? 0} (entries were removed)` } };
  }
  if (state.ok && head && state.head?.hash !== head.hash) {
    return { ...state, ok: false, headSeq, firstBroken: { seq: headSeq, reason: 'the last entry does not match the chain head' } };
  }
  return { ...state, headSeq };
}
