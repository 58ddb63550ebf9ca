import { describe, expect, it } from 'vitest';
import { ChainAnchorer } from '../../domain/audit/anchor.ts';
import { linkEntries } from '../../domain/audit/audit.ts';
import { chainPages, linkAuditEntries, verifyAudit } from '../../domain/audit/log.ts';
import type { AuditEntry, ChainHead, ChainLink } from '../../domain/kernel/model.ts';
import type { Ctx } from '../../domain/ports.ts';
import { keys } from '../../functions/adapters/keys.ts';
import { memoryAudit } from '../support/audit-memory.ts';
import { auditItem } from '../support/memory-store/audit.ts';

/**
 * What /audit/verify reports for a chain the table holds in every shape it can be found in: empty,
 * spanning pages, with an append interrupted after its head write, with links removed behind the
 * head or left past it, and with a break both in the links and against a signed checkpoint (the
 * first one is reported).
 */
const ctx = (tenant: string) => ({ principal: { tenant } }) as unknown as Ctx;
type Audit = ReturnType<typeof memoryAudit>;

/** The deps with a store that reads `n` links or entry refs a page (verify asks for 1,000), so a short chain spans pages. */
const smallPages = (m: Audit, n: number): Audit['deps'] => ({
  ...m.deps,
  store: {
    ...m.store,
    readChainLinks: (tenant: string, _limit: number, cursor?: string, fromSeq?: number) => m.store.readChainLinks(tenant, n, cursor, fromSeq),
    auditRefs: (tenant: string, _limit: number, cursor?: string) => m.store.auditRefs(tenant, n, cursor),
  },
});

const links = (m: Audit, tenant: string, ...seqs: number[]): ChainLink[] => seqs.map((s) => m.chain.link(tenant, s)!);
/** A link deleted from the table, and from the head's pending links (which would stand in for it). */
const removeLink = (m: Audit, tenant: string, seq: number) => {
  m.store.table.delete(keys.chainLink(tenant, seq));
  const head = m.store.table.get(keys.chainHead(tenant));
  if (head) m.store.table.put({ ...head, pending: [] });
};
/** An entry rewritten in place (same key, other content): its link's entryHash no longer matches it. */
const alter = (m: Audit, e: AuditEntry) => m.store.table.put(auditItem({ ...e, after: 'sha256:forged' }));
const headAt = (l: ChainLink): ChainHead => ({ seq: l.seq, hash: l.hash, at: l.linkedAt, pending: [] });

/** Links `n` entries of the tenant, then `unwritten` more whose append moved the head but wrote none of its links (the consumer stopped in between). */
async function interrupted(m: Audit, tenant: string, n: number, unwritten: number) {
  if (n) await linkAuditEntries(m.deps, tenant, m.write(tenant, n));
  const before = await m.store.chainHead(tenant);
  const next = linkEntries(before, m.write(tenant, unwritten), new Date('2030-01-02T00:00:00.000Z'));
  m.chain.setHead(tenant, { ...next.head, at: '2030-01-02T00:00:00.000Z', pending: next.links });
  return next.links;
}

describe('verify: the chain as the head has it', () => {
  it('a tenant without any audit trail holds, with nothing checked', async () => {
    const m = memoryAudit();
    expect(await verifyAudit(m.deps, ctx('new'))).toMatchObject({ ok: true, checked: 0, headSeq: 0, pending: 0, anchoredSeq: 0 });
  });

  it('walks every page of links and entry refs: entries linked are checked, entries not linked yet are pending', async () => {
    const m = memoryAudit();
    await linkAuditEntries(m.deps, 'acme', m.write('acme', 5));
    m.write('acme', 3);
    for (const deps of [m.deps, smallPages(m, 2)])
      expect(await verifyAudit(deps, ctx('acme'))).toMatchObject({ ok: true, checked: 5, headSeq: 5, pending: 3, head: { seq: 5 } });
  });

  it('an append interrupted after its head write: the head’s pending links stand in for the unwritten ones, on the first append too', async () => {
    const m = memoryAudit();
    await interrupted(m, 'acme', 3, 2);
    expect(await verifyAudit(m.deps, ctx('acme'))).toMatchObject({ ok: true, checked: 5, headSeq: 5, pending: 0 });
    await interrupted(m, 'fresh', 0, 2);
    expect(await verifyAudit(smallPages(m, 1), ctx('fresh'))).toMatchObject({ ok: true, checked: 2, headSeq: 2, pending: 0 });
  });

  it('links removed behind the head: broken where they stop, with no link left too', async () => {
    const m = memoryAudit();
    await linkAuditEntries(m.deps, 'acme', m.write('acme', 5));
    removeLink(m, 'acme', 5);
    expect(await verifyAudit(m.deps, ctx('acme'))).toMatchObject({
      ok: false,
      checked: 4,
      firstBroken: { seq: 5, reason: 'the chain head is at 5 but the links end at 4 (links were removed or the head was moved)' },
    });
    await linkAuditEntries(m.deps, 'gone', m.write('gone', 2));
    removeLink(m, 'gone', 1);
    removeLink(m, 'gone', 2);
    expect(await verifyAudit(m.deps, ctx('gone'))).toMatchObject({
      ok: false,
      checked: 0,
      firstBroken: { seq: 1, reason: 'the chain head is at 2 but the links end at 0 (links were removed or the head was moved)' },
    });
  });

  it('a head with another hash at the last link’s seq, or the last link’s hash at another seq, is broken', async () => {
    const m = memoryAudit();
    await linkAuditEntries(m.deps, 'acme', m.write('acme', 3));
    const [l3] = links(m, 'acme', 3);
    for (const [head, reason] of [
      [{ ...headAt(l3!), hash: 'f'.repeat(64) }, 'the chain head at 3 names another hash than the link there (the head was rewritten)'],
      [{ ...headAt(l3!), seq: 5 }, 'the chain head is at 5 but the links end at 3 (links were removed or the head was moved)'],
    ] as const) {
      m.chain.setHead('acme', head);
      expect(await verifyAudit(m.deps, ctx('acme')), JSON.stringify(head)).toMatchObject({ ok: false, firstBroken: { seq: 4, reason } });
    }
  });

  it('a break on the first page is the one reported, whatever the pages after it hold', async () => {
    const m = memoryAudit();
    const entries = m.write('acme', 5);
    await linkAuditEntries(m.deps, 'acme', entries);
    alter(m, entries[1]!);
    expect(await verifyAudit(smallPages(m, 2), ctx('acme'))).toMatchObject({
      ok: false,
      checked: 1,
      firstBroken: { seq: 2, reason: expect.stringMatching(/^entry .* does not match its hash \(it was altered\)$/) },
    });
  });
});

describe('verify: links past the head', () => {
  it('links left past a head moved back are a break, reported from the head on (also with no head left at all)', async () => {
    const m = memoryAudit();
    await linkAuditEntries(m.deps, 'acme', m.write('acme', 5));
    m.chain.setHead('acme', headAt(links(m, 'acme', 3)[0]!));
    expect(await verifyAudit(m.deps, ctx('acme'))).toMatchObject({
      ok: false,
      checked: 3,
      firstBroken: { seq: 4, reason: 'the links go on to 5 but the chain head is at 3 (links were added or the head was moved back)' },
    });
    m.store.table.delete(keys.chainHead('acme'));
    expect(await verifyAudit(m.deps, ctx('acme'))).toMatchObject({
      ok: false,
      checked: 0,
      firstBroken: { seq: 1, reason: 'the links go on to 5 but the chain head is at 0 (links were added or the head was moved back)' },
    });
  });

  it('links appended after the head was read are no break: the head has moved on to them since', async () => {
    const m = memoryAudit();
    await linkAuditEntries(m.deps, 'acme', m.write('acme', 3));
    const read = (await m.store.chainHead('acme'))!;
    await linkAuditEntries(m.deps, 'acme', m.write('acme', 2));
    let reads = 0;
    const racing = { ...m.deps, store: { ...m.store, chainHead: async (t: string) => (reads++ ? m.store.chainHead(t) : read) } };
    expect(await verifyAudit(racing, ctx('acme'))).toMatchObject({ ok: true, checked: 3, headSeq: 3, head: { seq: 3 } });
    expect(reads).toBe(2);
  });

  it('an earlier break in the links is the one reported, not the links past the head', async () => {
    const m = memoryAudit();
    const entries = m.write('acme', 5);
    await linkAuditEntries(m.deps, 'acme', entries);
    m.chain.setHead('acme', headAt(links(m, 'acme', 3)[0]!));
    alter(m, entries[1]!);
    expect(await verifyAudit(m.deps, ctx('acme'))).toMatchObject({ ok: false, firstBroken: { seq: 2, reason: expect.stringContaining('altered') } });
  });
});

describe('verify: the chain against its signed checkpoints, the first break reported', () => {
  /** A chain of `n` links with a signed checkpoint at `anchoredAt`. */
  async function anchored(n: number, anchoredAt: number) {
    const m = memoryAudit();
    const anchorer = new ChainAnchorer({ intervalMs: 0 });
    const entries = m.write('acme', n);
    await linkAuditEntries(m.deps, 'acme', entries.slice(0, anchoredAt), anchorer);
    await anchorer.flush(m.deps);
    if (n > anchoredAt) await linkAuditEntries(m.deps, 'acme', entries.slice(anchoredAt));
    return { m, entries };
  }

  it('a tail cut off under a checkpoint, the head moved back with it: broken at the first link cut', async () => {
    const { m } = await anchored(4, 4);
    removeLink(m, 'acme', 4);
    m.chain.setHead('acme', headAt(links(m, 'acme', 3)[0]!));
    expect(await verifyAudit(m.deps, ctx('acme'))).toMatchObject({
      ok: false,
      firstBroken: { seq: 4, reason: expect.stringMatching(/covers 4 entries but the chain has 3: entries were cut off$/) },
    });
  });

  it('the links’ own break comes first when it is earlier than the checkpoint’s, or at the same link', async () => {
    const cut = await anchored(4, 4);
    removeLink(cut.m, 'acme', 4);
    cut.m.chain.setHead('acme', headAt(links(cut.m, 'acme', 3)[0]!));
    alter(cut.m, cut.entries[1]!);
    expect(await verifyAudit(cut.m.deps, ctx('acme'))).toMatchObject({ ok: false, firstBroken: { seq: 2, reason: expect.stringContaining('altered') } });
    // The last link removed under the head (the head still at 6) and under the checkpoint at 6: both break at 6.
    const same = await anchored(6, 6);
    removeLink(same.m, 'acme', 6);
    expect(await verifyAudit(same.m.deps, ctx('acme'))).toMatchObject({
      ok: false,
      firstBroken: { seq: 6, reason: 'the chain head is at 6 but the links end at 5 (links were removed or the head was moved)' },
    });
  });

  it('the checkpoint’s break comes first when it is earlier: a chain re-linked from link 2 over a forged entry, with an entry after it altered', async () => {
    const { m, entries } = await anchored(6, 3);
    const forged = { ...entries[1]!, actorName: 'mallory' };
    m.store.table.put(auditItem(forged));
    const relinked = linkEntries({ seq: 1, hash: links(m, 'acme', 1)[0]!.hash }, [forged, ...entries.slice(2)], new Date());
    for (const l of relinked.links) m.chain.setLink('acme', l);
    m.chain.setHead('acme', { ...relinked.head, at: relinked.links.at(-1)!.linkedAt, pending: [] });
    alter(m, entries[4]!);
    expect(await verifyAudit(m.deps, ctx('acme'))).toMatchObject({
      ok: false,
      firstBroken: { seq: 1, reason: expect.stringMatching(/it was rewritten between entries 1 and 3$/) },
    });
  });
});

describe('chainPages: the chain as of a head, a page at a time', () => {
  const collect = async (it: AsyncIterable<{ links: ChainLink[]; past: number }>) => {
    const pages: { seqs: number[]; past: number }[] = [];
    for await (const p of it) pages.push({ seqs: p.links.map((l) => l.seq), past: p.past });
    return pages;
  };

  it('pages in seq order up to the head; the links past it are left out, each page saying the last seq it held past the head', async () => {
    const m = memoryAudit();
    await linkAuditEntries(m.deps, 'acme', m.write('acme', 5));
    const head = headAt(links(m, 'acme', 3)[0]!);
    expect(await collect(chainPages(m.deps, 'acme', head, 2))).toEqual([
      { seqs: [1, 2], past: 0 },
      { seqs: [3], past: 4 },
      { seqs: [], past: 5 },
    ]);
    expect(await collect(chainPages(m.deps, 'acme', head, 3, 2))).toEqual([
      { seqs: [2, 3], past: 4 },
      { seqs: [], past: 5 },
    ]);
  });

  it('from a link on, the head’s pending links from there on stand in for the unwritten ones, and none before it', async () => {
    const m = memoryAudit();
    const unwritten = await interrupted(m, 'acme', 2, 3); // 3, 4, 5 only in the head
    const head = (await m.store.chainHead('acme'))!;
    expect(await collect(chainPages(m.deps, 'acme', head, 2, 4))).toEqual([
      { seqs: [], past: 0 },
      { seqs: [4, 5], past: 0 },
    ]);
    expect(await collect(chainPages(m.deps, 'acme', head, 2))).toEqual([
      { seqs: [1, 2], past: 0 },
      { seqs: [], past: 0 },
      { seqs: [3, 4, 5], past: 0 },
    ]);
    expect(unwritten.map((l) => l.seq)).toEqual([3, 4, 5]);
  });
});
