import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  auditEntry,
  checkCheckpoints,
  entryRef,
  linkEntries,
  linkHash,
  pendingLinks,
  verifyChain,
  withPending,
  type AuditDraft,
  type StoredEntry,
} from '../../domain/audit/audit.ts';
import type { AuditEntry, ChainLink, Checkpoint } from '../../domain/kernel/model.ts';

const draft = (i: number): AuditDraft => ({
  actor: `u${i % 3}`,
  actorName: `user${i % 3}@x.test`,
  action: 'config.update',
  entityType: 'config',
  entityId: `dev/key${i}`,
  before: `sha256:${i}`,
  after: `sha256:${i + 1}`,
});

function chain(n: number): { entries: AuditEntry[]; links: ChainLink[]; stored: Map<string, StoredEntry> } {
  const entries = Array.from({ length: n }, (_, i) => auditEntry('t1', draft(i), new Date(1e12 + i * 1000)));
  // linked in two batches, as the stream consumer would
  const first = linkEntries(null, entries.slice(0, Math.ceil(n / 2)), new Date());
  const second = linkEntries(first.head, entries.slice(Math.ceil(n / 2)), new Date());
  const stored = new Map(entries.map((e) => [entryRef(e), { entry: e }]));
  return { entries, links: [...first.links, ...second.links], stored };
}

describe('audit hash chain (linked off the write path)', () => {
  it('verifies an untouched chain of entries linked in batches', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 40 }), (n) => {
        const { links, stored } = chain(n);
        expect(verifyChain(links, stored)).toMatchObject({ ok: true, checked: n, head: { seq: n } });
      }),
    );
  });

  it('entry ids are unique and sort by time', () => {
    const a = auditEntry('t', draft(1), new Date(1e12));
    const b = auditEntry('t', draft(1), new Date(1e12));
    const c = auditEntry('t', draft(1), new Date(1e12 + 1));
    expect(a.id).not.toBe(b.id);
    expect(entryRef(c) > entryRef(a) && entryRef(c) > entryRef(b)).toBe(true);
  });

  it('reports the first altered entry', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 30 }), fc.nat(), fc.constantFrom('actor', 'action', 'after', 'reason', 'entityId'), (n, pick, field) => {
        const { entries, links, stored } = chain(n);
        const i = pick % n;
        const e = entries[i]!;
        stored.set(entryRef(e), { entry: { ...e, [field]: 'forged' } });
        const r = verifyChain(links, stored);
        expect(r.ok).toBe(false);
        expect(r.firstBroken).toMatchObject({ seq: i + 1, reason: expect.stringContaining('altered') });
      }),
    );
  });

  it('reports a removed entry, a removed link, a re-indexed entry, and a re-hashed link', () => {
    const { entries, links, stored } = chain(10);
    const gone = new Map(stored);
    gone.delete(entryRef(entries[4]!));
    expect(verifyChain(links, gone)).toMatchObject({ ok: false, firstBroken: { seq: 5, reason: expect.stringContaining('removed') } });
    expect(verifyChain([...links.slice(0, 4), ...links.slice(5)], stored)).toMatchObject({
      ok: false,
      firstBroken: { seq: 5, reason: 'expected link 5, found 6 (a link is missing or out of order)' },
    });
    // A link re-hashed onto another predecessor: its own hash holds, what it follows does not.
    const l4 = links[3]!;
    const rechained = { ...l4, prevHash: 'e'.repeat(64) };
    const rehashed = [...links.slice(0, 3), { ...rechained, hash: linkHash(rechained) }, ...links.slice(4)];
    expect(verifyChain(rehashed, stored)).toMatchObject({ ok: false, firstBroken: { seq: 4, reason: 'prevHash does not match the previous link' } });
    // A link naming another entry hash without its own hash recomputed.
    const altered = [...links.slice(0, 3), { ...l4, entryHash: 'e'.repeat(64) }, ...links.slice(4)];
    expect(verifyChain(altered, stored)).toMatchObject({
      ok: false,
      firstBroken: { seq: 4, reason: 'link content does not match its hash (it was altered)' },
    });
    const hidden = new Map(stored);
    hidden.set(entryRef(entries[2]!), { entry: entries[2]!, indexMismatch: "gsi2pk is 'T#t1#AUDIT#A#nobody'" });
    expect(verifyChain(links, hidden)).toMatchObject({ ok: false, firstBroken: { seq: 3, reason: expect.stringContaining('re-indexed') } });
    // Re-linking from entry 3 with a forged entry is consistent in itself: only the checkpoints catch it (below).
    const forged = { ...entries[2]!, actorName: 'mallory' };
    const relinked = linkEntries({ seq: 2, hash: links[1]!.hash }, [forged, ...entries.slice(3)], new Date());
    const forgedStore = new Map(stored);
    forgedStore.set(entryRef(forged), { entry: forged });
    expect(verifyChain([...links.slice(0, 2), ...relinked.links], forgedStore)).toMatchObject({ ok: true });
  });

  it('checkpoints catch a re-written chain and a cut tail, and ignore forged checkpoints', async () => {
    const { entries, links } = chain(10);
    const hashAt = new Map(links.map((l) => [l.seq, l.hash]));
    const cp = (seq: number, hash: string, sig = 'good'): Checkpoint => ({
      tenant: 't1',
      seq,
      hash,
      at: '2026-01-01T00:00:00Z',
      sig,
      proof: { root: hash, size: 1, index: 0, path: [] },
    });
    const macValid = async (c: Checkpoint) => c.sig === 'good';
    const genuine = [cp(5, links[4]!.hash), cp(10, links[9]!.hash)];
    expect(await checkCheckpoints(genuine, hashAt, 10, macValid)).toMatchObject({ ok: true, count: 2, latestSeq: 10, forged: 0 });
    // In any order (as listed): compared oldest first, the newest is the latest.
    const newestFirst = [...genuine].reverse();
    expect(await checkCheckpoints(newestFirst, hashAt, 10, macValid)).toMatchObject({ ok: true, count: 2, latestSeq: 10, forged: 0 });
    // re-chained from entry 7: the links disagree with the checkpoint at 10
    const relinked = linkEntries({ seq: 6, hash: links[5]!.hash }, [{ ...entries[6]!, actorName: 'mallory' }, ...entries.slice(7)], new Date());
    const rewritten = new Map([...hashAt, ...relinked.links.map((l) => [l.seq, l.hash] as const)]);
    for (const listed of [genuine, newestFirst])
      expect(await checkCheckpoints(listed, rewritten, 10, macValid)).toMatchObject({
        ok: false,
        firstBroken: { seq: 6, reason: expect.stringContaining('between entries 6 and 10') },
      });
    // tail cut to 8 links
    expect(await checkCheckpoints(genuine, new Map([...hashAt].filter(([s]) => s <= 8)), 8, macValid)).toMatchObject({
      ok: false,
      firstBroken: { seq: 9, reason: expect.stringContaining('cut off') },
    });
    // a forged checkpoint that disagrees is not believed
    expect(await checkCheckpoints([...genuine, cp(7, 'f'.repeat(64), 'bad')], hashAt, 10, macValid)).toMatchObject({ ok: true, forged: 1 });
  });

  it("a head's pending links count only when they run up to it, consecutive and unaltered", () => {
    const { links } = chain(6);
    const last = links.at(-1)!;
    const head = { seq: last.seq, hash: last.hash, at: last.linkedAt };
    expect(pendingLinks(null)).toEqual([]);
    expect(pendingLinks(head)).toEqual([]);
    expect(pendingLinks({ ...head, pending: links.slice(3) })).toEqual(links.slice(3));
    expect(pendingLinks({ ...head, pending: links.slice(2, 5) })).toBeNull(); // does not end at the head
    expect(pendingLinks({ ...head, pending: [links[3]!, links[5]!] })).toBeNull(); // a gap
    expect(pendingLinks({ ...head, pending: [links[4]!, { ...last, entryHash: 'f'.repeat(64) }] })).toBeNull(); // altered
    expect(pendingLinks({ ...head, seq: 7, pending: links.slice(4) })).toBeNull(); // the head moved on without them
  });

  it('pending links fill the places of links not written yet, across pages; a written link wins', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 30 }),
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 1, max: 7 }),
        fc.array(fc.boolean(), { minLength: 30, maxLength: 30 }),
        (n, pageSize, k, written) => {
          const { links, stored } = chain(n);
          const tail = Math.min(k, n);
          const pending = links.slice(n - tail);
          // Every link before the pending ones is in the table; of the pending ones, any subset.
          const inTable = links.filter((l, i) => i < n - tail || written[i]);
          const fill = withPending(pending);
          const walked: typeof links = [];
          for (let i = 0; i < inTable.length; i += pageSize) walked.push(...fill.page(inTable.slice(i, i + pageSize)));
          walked.push(...fill.rest());
          expect(walked).toEqual(links);
          expect(verifyChain(walked, stored)).toMatchObject({ ok: true, checked: n });
        },
      ),
    );
  });
});
