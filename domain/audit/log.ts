import {
  checkCheckpoints,
  entryRef,
  GENESIS_HASH,
  linkEntries,
  linkHash,
  pendingLinks,
  verifyChain,
  withPending,
  type ChainCheck,
  type CheckpointCheck,
} from './audit.ts';
import { anchorHeads, anchorLag, type AnchoredHead, type ChainAnchorer } from './anchor.ts';
import type { AuditEntry, ChainHead, ChainLink, Checkpoint, Page } from '../kernel/model.ts';
import type { Ctx, Deps, With } from '../kernel/deps.ts';
import { retryOnConflict, WriteConflict } from '../kernel/retry.ts';
import type { AuditQuery } from '../kernel/schemas.ts';

export async function queryAudit(deps: Deps, ctx: Ctx, query: AuditQuery): Promise<Page<AuditEntry>> {
  return deps.store.queryAudit(ctx.principal.tenant, query);
}

const CHAIN_PAGE = 1000;
/** Links per append: the head carries them until they are written (about 350 B each, so ≤ 17 KB). */
const LINKS_PER_COMMIT = 49;

export class ChainTampered extends Error {
  constructor(tenant: string, what = 'does not extend its newest signed checkpoint') {
    super(`The audit chain head of tenant '${tenant}' ${what}: the chain was altered behind the API; refusing to extend it (run /audit/verify)`);
    this.name = 'ChainTampered';
  }
}

/**
 * The stream consumer's half of the audit trail: links new entries into the tenant's chain
 * (skipping any linked already: delivery is at least once) and hands the moved head to the
 * anchorer, which signs many chains at once, at most once per interval (domain/audit/anchor.ts).
 * Before extending the chain it checks the head (checkHead), so a head rolled back or forged in
 * the table is refused instead of being anchored over.
 *
 * An append moves the head first (conditioned on the head read: of two racing consumers one wins,
 * the other re-reads and retries), carrying its links as `pending`, then writes the links and their
 * markers without a transaction (1 WRU per item instead of 2). A consumer interrupted in between
 * leaves the head with links not in the table yet; readers take them from the head, and the next
 * append writes them (same content) before it moves the head on. So every link before the head's
 * pending ones is in the table with its marker, which is why the markers are read after the head.
 * No key-service call on this path: the head carries no signature, the anchor signs roots.
 *
 * Without an anchorer (a test linking by hand) nothing is anchored and every head is checked.
 */
export async function linkAuditEntries(
  deps: With<'anchor'>,
  tenant: string,
  entries: AuditEntry[],
  anchorer?: ChainAnchorer,
): Promise<{ linked: number; seq: number }> {
  const unique = [...new Map(entries.map((e) => [entryRef(e), e])).values()].sort((a, b) => (entryRef(a) < entryRef(b) ? -1 : 1));
  let linked = 0;
  let seq = 0;
  let redelivered: ChainHead | null = null;
  for (let i = 0; i < unique.length; i += LINKS_PER_COMMIT) {
    const chunk = unique.slice(i, i + LINKS_PER_COMMIT);
    const done = await retryOnConflict(deps.tunables, async () => {
      const head = await deps.store.chainHead(tenant);
      const believed = async () => {
        if (anchorer?.believes(tenant, head)) return;
        await checkHead(deps, tenant, head);
        if (head) anchorer?.remember(tenant, head);
      };
      const pending = pendingLinks(head);
      if (!pending) {
        await believed();
        throw new ChainTampered(tenant, 'carries pending links that do not end at it');
      }
      const { linked: marked, unwritten } = await deps.store.linkState(tenant, chunk.map(entryRef), pending);
      const inHead = new Set(pending.map((l) => l.entry));
      const todo = chunk.filter((e) => !marked.has(entryRef(e)) && !inHead.has(entryRef(e)));
      if (!todo.length && !unwritten.length) return { count: 0, head };
      await believed();
      // An append interrupted after its head write: its links and markers, before the head moves on.
      if (unwritten.length) await deps.store.writeLinks(tenant, unwritten);
      if (!todo.length) return { count: 0, head };
      const now = deps.clock();
      const next = linkEntries(head, todo, now);
      const nextHead: ChainHead = { ...next.head, at: now.toISOString() };
      await deps.store.appendLinks(tenant, head, nextHead, next.links);
      return { count: todo.length, head: nextHead };
    });
    if (done.count && done.head) {
      anchorer?.remember(tenant, done.head);
      anchorer?.note(tenant, done.head);
      redelivered = null;
    } else if (done.head) redelivered = done.head;
    linked += done.count;
    seq = done.head?.seq ?? seq;
  }
  // Entries linked already (a redelivery): the batch that linked them may have failed after moving
  // the head, before it was anchored (this process or another, whose memory is gone). The head is
  // anchored again when it holds, so the anchor never stays behind the chain for good; else a tail
  // no signature covers could be cut, with the head rolled back, unseen. (One this process anchored
  // already is not signed twice.)
  if (redelivered && anchorer) {
    const head = redelivered;
    const holds =
      anchorer.believes(tenant, head) ||
      (await checkHead(deps, tenant, head).then(
        () => true,
        () => false,
      ));
    if (holds) {
      anchorer.remember(tenant, head);
      anchorer.note(tenant, head);
    }
  }
  return { linked, seq };
}

/** What a tick did with the chains left for it: anchored (one signature for all), found anchored already, refused (ChainTampered). */
export interface TailRun {
  anchored: number;
  covered: number;
  refused: { tenant: string; reason: string }[];
}

/**
 * The tick (a scheduled invocation of the stream consumer, about once a minute on AWS; the local
 * stream poller's timer too): anchors the chains a consumer marked as left for its interval's end
 * (AnchorPending) at least `olderThan` ago and that no signed checkpoint covers yet — what a
 * consumer frozen between invocations (Lambda, when the traffic stops) or gone would otherwise
 * leave unsigned. Each head is checked as the consumer checks a head it did not write (checkHead):
 * a head forged or moved back is refused, not signed over, and its mark stays for /audit/verify and
 * the operator. One signature for every chain anchored, as at an interval's end.
 */
export async function anchorLeftTails(deps: With<'anchor'>, olderThan: Date, limit = 500): Promise<TailRun> {
  const run: TailRun = { anchored: 0, covered: 0, refused: [] };
  const marks = (await deps.store.unanchored(limit)).filter((m) => Date.parse(m.at) <= olderThan.getTime());
  const heads: AnchoredHead[] = [];
  for (const m of marks) {
    const head = await deps.store.chainHead(m.tenant);
    if (!head) {
      await deps.store.clearUnanchored(m.tenant, m.seq);
      continue;
    }
    const signed = await deps.anchor.list(m.tenant, head.seq);
    let covered = false;
    for (const c of signed) if (c.seq === head.seq && c.hash === head.hash && (await deps.anchor.verify(c))) covered = true;
    if (covered) {
      await deps.store.clearUnanchored(m.tenant, head.seq);
      run.covered++;
      continue;
    }
    try {
      await checkHead(deps, m.tenant, head);
    } catch (err) {
      if (!(err instanceof ChainTampered)) throw err;
      run.refused.push({ tenant: m.tenant, reason: err.message });
      continue;
    }
    heads.push({ tenant: m.tenant, seq: head.seq, hash: head.hash });
  }
  if (!heads.length) return run;
  await anchorHeads(deps, heads, deps.clock());
  for (const h of heads) await deps.store.clearUnanchored(h.tenant, h.seq);
  run.anchored = heads.length;
  return run;
}

/** How far back the consumer looks for a head's newest signed checkpoint before it lists them all: more links than an interval ever links. */
const HEAD_CHECK_REACH = 10_000;

/**
 * Whether a chain head the consumer did not write itself may be extended; throws ChainTampered when
 * not. A head holds when it extends the tenant's newest valid signed checkpoint: the link at that
 * checkpoint's seq has its hash, and every link from there to the head follows the one before (seq,
 * prevHash, its own hash); with no checkpoint yet, every link from the first. So a head forged or
 * moved back in the table, or a chain rewritten under a signed checkpoint, is refused; a head gone
 * while checkpoints of its chain exist too. (Links after the newest checkpoint, at most
 * one interval's, are believed as the table has them: verify re-hashes their entries.)
 */
export async function checkHead(deps: With<'anchor'>, tenant: string, head: ChainHead | null): Promise<void> {
  const from = head && head.seq > HEAD_CHECK_REACH ? head.seq - HEAD_CHECK_REACH : 1;
  const listed = await deps.anchor.list(tenant, from);
  const newest = async (cs: Checkpoint[]) => {
    for (const c of [...cs].sort((a, b) => b.seq - a.seq)) if (await deps.anchor.verify(c)) return c;
    return null;
  };
  let signed = await newest(listed);
  if (!signed && from > 1) signed = await newest(await deps.anchor.list(tenant));
  if (!head) {
    if (signed) throw new ChainTampered(tenant, `is gone, yet a signed checkpoint says its chain reached link ${signed.seq}`);
    return;
  }
  // A checkpoint past the head: the head was moved back, unless it moved on since it was read (retry).
  if (signed && signed.seq > head.seq) {
    const now = await deps.store.chainHead(tenant);
    if (now && (now.seq !== head.seq || now.hash !== head.hash)) throw new WriteConflict('chain');
    throw new ChainTampered(tenant, `is at link ${head.seq}, behind its signed checkpoint at link ${signed.seq} (it was moved back)`);
  }
  const upTo = signed;
  if (upTo && upTo.seq === head.seq) {
    if (upTo.hash !== head.hash) throw new ChainTampered(tenant, `does not match its signed checkpoint at link ${upTo.seq}`);
    return;
  }
  let prev: { seq: number; hash: string } | null = upTo ? null : { seq: 0, hash: GENESIS_HASH };
  for await (const page of chainPages(deps, tenant, head, CHAIN_PAGE, upTo?.seq ?? 1)) {
    for (const l of page.links) {
      if (!prev) {
        // The first link read is the checkpoint's own.
        if (l.seq !== upTo!.seq || l.hash !== upTo!.hash) throw new ChainTampered(tenant, `does not extend its newest signed checkpoint (link ${upTo!.seq})`);
      } else if (l.seq !== prev.seq + 1 || l.prevHash !== prev.hash || linkHash(l) !== l.hash) {
        throw new ChainTampered(
          tenant,
          upTo
            ? `does not extend its newest signed checkpoint (link ${upTo.seq}): link ${prev.seq + 1} does not follow`
            : `heads a chain that does not hold at link ${prev.seq + 1}`,
        );
      }
      prev = { seq: l.seq, hash: l.hash };
    }
  }
  if (!prev || prev.seq !== head.seq || prev.hash !== head.hash)
    throw new ChainTampered(tenant, upTo ? `does not extend its newest signed checkpoint (link ${upTo.seq})` : 'is not where its links end');
}

/**
 * The chain as of `head`, a page at a time in sequence order (from link `fromSeq` on): the links in
 * the table up to the head's seq, the head's pending links in the places of those not written yet.
 * Links past the head (appended after it was read, or forged) are left out; `past` is the last seq
 * of those a page held.
 */
export async function* chainPages(
  deps: Deps,
  tenant: string,
  head: ChainHead | null,
  pageSize: number,
  fromSeq?: number,
): AsyncGenerator<{ links: ChainLink[]; past: number }> {
  const top = head?.seq ?? 0;
  // Stryker disable next-line ArrayDeclaration: the filter keeps only links at or after fromSeq, so any element without a seq is dropped: every array without links gives the same empty fill
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
  /** the newest link a valid signed checkpoint covers (0: none) */
  anchoredSeq: number;
  /** links after it that no signature covers yet (the anchor signs at most once per interval) */
  unanchored: number;
  /** how long the oldest of those has waited for its signature, seconds (0 when none) */
  anchorLagSeconds: number;
}

/**
 * Walks the chain in sequence order, re-hashing every link and the entry it
 * names (a missing, altered or re-indexed entry breaks it), compares it with
 * every signed checkpoint kept outside the table (a rewritten or cut chain
 * disagrees with them; a checkpoint counts only when its inclusion proof
 * leads to its signed root), counts entries not linked yet as pending, and says
 * how far the newest anchored link is behind the head (anchorLag).
 */
export async function verifyAudit(deps: With<'anchor'>, ctx: Ctx): Promise<AuditVerification> {
  const { tenant } = ctx.principal;
  const checkpoints = await deps.anchor.list(tenant);
  // The head after the checkpoints (none is past it) and before the links (every link up to it is
  // in the table or pending in the head): the chain is verified as of this head.
  const head = await deps.store.chainHead(tenant);
  const wanted = new Set(checkpoints.map((c) => c.seq));
  // When the link after each checkpoint was linked: how long the oldest link no signature covers has waited.
  const after = new Set([1, ...checkpoints.map((c) => c.seq + 1)]);
  const linkedAt = new Map<number, string>();
  const hashAt = new Map<number, string>();
  const linked = new Set<string>();
  let state: ChainCheck = { ok: true, checked: 0, head: null };
  let links = 0;
  let past = 0;
  for await (const page of chainPages(deps, tenant, head, CHAIN_PAGE)) {
    past = Math.max(past, page.past);
    if (!page.links.length) continue;
    const entries = await deps.store.getAuditEntries(
      tenant,
      page.links.map((l) => l.entry),
    );
    for (const l of page.links) {
      linked.add(l.entry);
      // Stryker disable next-line ConditionalExpression: hashAt is read only at the checkpoints' seqs (checkCheckpoints), so keeping every link's hash changes nothing but memory
      if (wanted.has(l.seq)) hashAt.set(l.seq, l.hash);
      // Stryker disable next-line ConditionalExpression: linkedAt is read only after the newest valid checkpoint (or at link 1), which is in `after`, so keeping every link's time changes nothing but memory
      if (after.has(l.seq)) linkedAt.set(l.seq, l.linkedAt);
    }
    links = Math.max(links, page.links.at(-1)!.seq);
    if (state.ok) {
      const step = verifyChain(page.links, entries, state.head);
      state = { ...step, checked: state.checked + step.checked };
    }
  }

  if (state.ok && head && (head.seq !== state.head?.seq || head.hash !== state.head.hash)) {
    state = {
      ...state,
      ok: false,
      firstBroken: {
        seq: (state.head?.seq ?? 0) + 1,
        reason:
          head.seq === state.head?.seq
            ? `the chain head at ${head.seq} names another hash than the link there (the head was rewritten)`
            : `the chain head is at ${head.seq} but the links end at ${state.head?.seq ?? 0} (links were removed or the head was moved)`,
      },
    };
  }
  if (state.ok && past) {
    // Links past the head read were appended since, unless they are past the head now too.
    const now = (await deps.store.chainHead(tenant))?.seq ?? 0;
    if (past > now)
      state = {
        ...state,
        ok: false,
        firstBroken: { seq: now + 1, reason: `the links go on to ${past} but the chain head is at ${now} (links were added or the head was moved back)` },
      };
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
  const lag = anchorLag({
    headSeq: links,
    anchoredSeq: anchored.latestSeq,
    oldestUnanchoredLinkedAt: linkedAt.get(anchored.latestSeq + 1) ?? null,
    now: deps.clock(),
  });
  return { ...state, headSeq: links, pending, checkpoints: checkpointFigures, ...lag };
}
