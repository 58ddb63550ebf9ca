import { requireRole } from './auth.ts';
import { checkCheckpoints, entryRef, linkEntries, verifyChain, type ChainCheck, type CheckpointCheck } from './audit.ts';
import type { AuditEntry, Page } from './model.ts';
import type { Ctx, Deps } from './ports.ts';
import { retryOnConflict } from './retry.ts';
import type { AuditQuery } from './schemas.ts';

export async function queryAudit(deps: Deps, ctx: Ctx, query: AuditQuery): Promise<Page<AuditEntry>> {
  requireRole(ctx.principal, 'viewer');
  return deps.store.queryAudit(ctx.principal.tenant, query);
}

const CHAIN_PAGE = 1000;
/** 1 head + 2 items per entry within DynamoDB's 100 items per transaction */
const LINKS_PER_COMMIT = 49;

export class ChainTampered extends Error {
  constructor(tenant: string) {
    super(`The audit chain head of tenant '${tenant}' does not carry a valid signature: the chain was altered behind the API; refusing to extend it (run /audit/verify)`);
    this.name = 'ChainTampered';
  }
}

/**
 * The stream consumer's half of the audit trail: links new entries into the
 * tenant's chain (skipping any linked already: delivery is at least once),
 * then appends a signed checkpoint outside the table. Before extending the
 * chain it checks the head's own signature, so a head rolled back or forged
 * in the table is refused instead of being signed over.
 */
export async function linkAuditEntries(deps: Deps, tenant: string, entries: AuditEntry[]): Promise<{ linked: number; seq: number }> {
  const unique = [...new Map(entries.map((e) => [entryRef(e), e])).values()].sort((a, b) => (entryRef(a) < entryRef(b) ? -1 : 1));
  let linked = 0;
  let seq = 0;
  for (let i = 0; i < unique.length; i += LINKS_PER_COMMIT) {
    const chunk = unique.slice(i, i + LINKS_PER_COMMIT);
    const done = await retryOnConflict(async () => {
      const already = await deps.store.linkedRefs(tenant, chunk.map(entryRef));
      const todo = chunk.filter((e) => !already.has(entryRef(e)));
      const head = await deps.store.chainHead(tenant);
      if (!todo.length) return { count: 0, head };
      if (head && !(await deps.anchor.verify({ tenant, seq: head.seq, hash: head.hash, mac: head.mac }))) throw new ChainTampered(tenant);
      const now = deps.clock();
      const next = linkEntries(head, todo, now);
      const mac = await deps.anchor.sign(tenant, next.head.seq, next.head.hash);
      const nextHead = { ...next.head, at: now.toISOString(), mac };
      await deps.store.appendLinks(tenant, head, nextHead, next.links);
      return { count: todo.length, head: nextHead };
    });
    if (done.count && done.head) {
      await deps.anchor.append({ tenant, seq: done.head.seq, hash: done.head.hash, at: done.head.at, mac: done.head.mac });
    }
    linked += done.count;
    seq = done.head?.seq ?? seq;
  }
  return { linked, seq };
}

export interface AuditVerification extends ChainCheck {
  /** links in the chain */
  headSeq: number;
  /** entries written but not linked yet (the stream consumer links them within seconds): never counted as broken */
  pending: number;
  checkpoints: Omit<CheckpointCheck, 'firstBroken' | 'ok'>;
}

/**
 * Walks the chain in sequence order, re-hashing every link and the entry it
 * names (a missing, altered or re-indexed entry breaks it), compares it with
 * every signed checkpoint kept outside the table (a rewritten or cut chain
 * disagrees with them), and counts entries not linked yet as pending.
 */
export async function verifyAudit(deps: Deps, ctx: Ctx): Promise<AuditVerification> {
  requireRole(ctx.principal, 'viewer');
  const { tenant } = ctx.principal;
  const checkpoints = await deps.anchor.list(tenant);
  const wanted = new Set(checkpoints.map((c) => c.seq));
  const hashAt = new Map<number, string>();
  const linked = new Set<string>();
  let state: ChainCheck = { ok: true, checked: 0, head: null };
  let links = 0;
  let cursor: string | undefined;
  do {
    const page = await deps.store.readChainLinks(tenant, CHAIN_PAGE, cursor);
    const entries = await deps.store.getAuditEntries(tenant, page.items.map((l) => l.entry));
    for (const l of page.items) {
      linked.add(l.entry);
      if (wanted.has(l.seq)) hashAt.set(l.seq, l.hash);
    }
    links = Math.max(links, page.items.at(-1)?.seq ?? links);
    if (state.ok) {
      const step = verifyChain(page.items, entries, state.head);
      state = { ...step, checked: state.checked + step.checked };
    }
    cursor = page.nextCursor;
  } while (cursor);

  const head = await deps.store.chainHead(tenant);
  if (state.ok && head && (head.seq !== state.head?.seq || head.hash !== state.head?.hash)) {
    state = { ...state, ok: false, firstBroken: { seq: (state.head?.seq ?? 0) + 1, reason: `the chain head is at ${head.seq} but the links end at ${state.head?.seq ?? 0} (links were removed or the head was moved)` } };
  }
  const anchored = await checkCheckpoints(checkpoints, hashAt, links, (c) => deps.anchor.verify(c));
  if (!anchored.ok && (state.ok || anchored.firstBroken!.seq < state.firstBroken!.seq)) state = { ...state, ok: false, firstBroken: anchored.firstBroken };

  let pending = 0;
  let refs: string | undefined;
  do {
    const page = await deps.store.auditRefs(tenant, CHAIN_PAGE, refs);
    pending += page.items.filter((r) => !linked.has(r)).length;
    refs = page.nextCursor;
  } while (refs);
  const { ok: _ok, firstBroken: _fb, ...checkpointFigures } = anchored;
  return { ...state, headSeq: links, pending, checkpoints: checkpointFigures };
}
