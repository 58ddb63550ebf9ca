import { checkCheckpoints, entryRef, linkEntries, pendingLinks, verifyChain, withPending, type ChainCheck, type CheckpointCheck } from './audit.ts';
import type { AuditEntry, ChainHead, ChainLink, Page } from '../kernel/model.ts';
import type { Ctx, Deps } from '../ports.ts';
import { retryOnConflict } from '../kernel/retry.ts';
import type { AuditQuery } from '../kernel/schemas.ts';

export async function queryAudit(deps: Deps, ctx: Ctx, query: AuditQuery): Promise<Page<AuditEntry>> {
  return deps.store.queryAudit(ctx.principal.tenant, query);
}

const CHAIN_PAGE = 1000;
/** Links per append: the head carries them until they are written (about 350 B each, so ≤ 17 KB). */
const LINKS_PER_COMMIT = 49;

export class ChainTampered extends Error {
  constructor(tenant: string, what = 'does not carry a valid signature') {
    super(`The audit chain head of tenant '${tenant}' ${what}: the chain was altered behind the API; refusing to extend it (run /audit/verify)`);
    this.name = 'ChainTampered';
  }
}

/**
 * The stream consumer's half of the audit trail: links new entries into the
 * tenant's chain (skipping any linked already: delivery is at least once),
 * then appends a signed checkpoint outside the table. Before extending the
 * chain it checks the head's own signature, so a head rolled back or forged
 * in the table is refused instead of being signed over.
 *
 * An append moves the head first (conditioned on the head read: of two racing
 * consumers one wins, the other re-reads and retries), carrying its links as
 * `pending`, then writes the links and their markers without a transaction
 * (1 WRU per item instead of 2). A consumer interrupted in between leaves the
 * head with links not in the table yet; readers take them from the head, and
 * the next append writes them (same content) before it moves the head on. So
 * every link before the head's pending ones is in the table with its marker,
 * which is why the markers are read after the head.
 */
export async function linkAuditEntries(deps: Deps, tenant: string, entries: AuditEntry[]): Promise<{ linked: number; seq: number }> {
  const unique = [...new Map(entries.map((e) => [entryRef(e), e])).values()].sort((a, b) => (entryRef(a) < entryRef(b) ? -1 : 1));
  let linked = 0;
  let seq = 0;
  let redelivered: ChainHead | null = null;
  for (let i = 0; i < unique.length; i += LINKS_PER_COMMIT) {
    const chunk = unique.slice(i, i + LINKS_PER_COMMIT);
    const done = await retryOnConflict(async () => {
      const head = await deps.store.chainHead(tenant);
      const signed = async () => {
        if (head && !(await deps.anchor.verify({ tenant, seq: head.seq, hash: head.hash, at: head.at, sig: head.sig }))) throw new ChainTampered(tenant);
      };
      const pending = pendingLinks(head);
      if (!pending) {
        await signed();
        throw new ChainTampered(tenant, 'carries pending links that do not end at it');
      }
      const { linked: marked, unwritten } = await deps.store.linkState(tenant, chunk.map(entryRef), pending);
      const inHead = new Set(pending.map((l) => l.entry));
      const todo = chunk.filter((e) => !marked.has(entryRef(e)) && !inHead.has(entryRef(e)));
      if (!todo.length && !unwritten.length) return { count: 0, head };
      await signed();
      // An append interrupted after its head write: its links and markers, before the head moves on.
      if (unwritten.length) await deps.store.writeLinks(tenant, unwritten);
      if (!todo.length) return { count: 0, head };
      const now = deps.clock();
      const next = linkEntries(head, todo, now);
      const at = now.toISOString();
      const sig = await deps.anchor.sign({ tenant, seq: next.head.seq, hash: next.head.hash, at });
      const nextHead = { ...next.head, at, sig };
      await deps.store.appendLinks(tenant, head, nextHead, next.links);
      return { count: todo.length, head: nextHead };
    });
    if (done.count && done.head) {
      await deps.anchor.append({ tenant, seq: done.head.seq, hash: done.head.hash, at: done.head.at, sig: done.head.sig });
      redelivered = null;
    } else if (done.head) redelivered = done.head;
    linked += done.count;
    seq = done.head?.seq ?? seq;
  }
  // Entries linked already (a redelivery): the append that linked them may have failed after moving
  // the head, before its checkpoint reached the anchor, and no later append would send it. The head's
  // checkpoint again (when its signature holds: the same object on S3), so the anchor never stays
  // behind the chain; else a tail it does not cover could be cut, with the head rolled back, unseen.
  if (redelivered) {
    const c = { tenant, seq: redelivered.seq, hash: redelivered.hash, at: redelivered.at, sig: redelivered.sig };
    if (await deps.anchor.verify(c)) await deps.anchor.append(c);
  }
  return { linked, seq };
}

/**
 * The chain as of `head`, a page at a time in sequence order (from link `fromSeq` on): the links in
 * the table up to the head's seq, the head's pending links in the places of those not written yet.
 * Links past the head (appended after it was read, or forged) are left out; `past` is the last seq
 * of those a page held.
 */
export async function* chainPages(deps: Deps, tenant: string, head: ChainHead | null, pageSize: number, fromSeq?: number): AsyncGenerator<{ links: ChainLink[]; past: number }> {
  const top = head?.seq ?? 0;
  const fill = withPending((pendingLinks(head) ?? []).filter((l) => l.seq >= (fromSeq ?? 1)));
  let cursor: string | undefined;
  do {
    const page = await deps.store.readChainLinks(tenant, pageSize, cursor, fromSeq);
    const within = page.items.filter((l) => l.seq <= top);
    yield { links: fill.page(within), past: within.length < page.items.length ? page.items.at(-1)!.seq : 0 };
    cursor = page.nextCursor;
  } while (cursor);
  const rest = fill.rest();
  if (rest.length) yield { links: rest, past: 0 };
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
  const { tenant } = ctx.principal;
  const checkpoints = await deps.anchor.list(tenant);
  // The head after the checkpoints (none is past it) and before the links (every link up to it is
  // in the table or pending in the head): the chain is verified as of this head.
  const head = await deps.store.chainHead(tenant);
  const wanted = new Set(checkpoints.map((c) => c.seq));
  const hashAt = new Map<number, string>();
  const linked = new Set<string>();
  let state: ChainCheck = { ok: true, checked: 0, head: null };
  let links = 0;
  let past = 0;
  for await (const page of chainPages(deps, tenant, head, CHAIN_PAGE)) {
    past = Math.max(past, page.past);
    if (!page.links.length) continue;
    const entries = await deps.store.getAuditEntries(tenant, page.links.map((l) => l.entry));
    for (const l of page.links) {
      linked.add(l.entry);
      if (wanted.has(l.seq)) hashAt.set(l.seq, l.hash);
    }
    links = Math.max(links, page.links.at(-1)!.seq);
    if (state.ok) {
      const step = verifyChain(page.links, entries, state.head);
      state = { ...step, checked: state.checked + step.checked };
    }
  }

  if (state.ok && head && (head.seq !== state.head?.seq || head.hash !== state.head?.hash)) {
    state = { ...state, ok: false, firstBroken: { seq: (state.head?.seq ?? 0) + 1, reason: `the chain head is at ${head.seq} but the links end at ${state.head?.seq ?? 0} (links were removed or the head was moved)` } };
  }
  if (state.ok && past) {
    // Links past the head read were appended since, unless they are past the head now too.
    const now = (await deps.store.chainHead(tenant))?.seq ?? 0;
    if (past > now) state = { ...state, ok: false, firstBroken: { seq: now + 1, reason: `the links go on to ${past} but the chain head is at ${now} (links were added or the head was moved back)` } };
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
