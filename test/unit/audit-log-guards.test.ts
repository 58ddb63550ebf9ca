import { describe, expect, it } from 'vitest';
import { anchorHeads, ChainAnchorer } from '../../domain/audit/anchor.ts';
import { linkHash } from '../../domain/audit/audit.ts';
import { ChainTampered, checkHead, linkAuditEntries } from '../../domain/audit/log.ts';
import type { ChainHead, ChainLink } from '../../domain/kernel/model.ts';
import { WriteConflict } from '../../domain/kernel/retry.ts';
import { keys } from '../../functions/adapters/keys.ts';
import { memoryAudit } from '../support/audit-memory.ts';

/**
 * checkHead against a table rewritten by someone who recomputes every hash they touch (the link
 * hash is no secret): what still gives them away is where a link sits and what it follows.
 */
const relinked = (l: Omit<ChainLink, 'hash'>): ChainLink => ({ ...l, hash: linkHash(l) });

describe('the head check against a rewritten table', () => {
  it('a link whose prevHash names another link is refused, even with its own hash recomputed and the links after it re-chained', async () => {
    const m = memoryAudit();
    await linkAuditEntries(m.deps, 'fresh', m.write('fresh', 3));
    const [l1, l2, l3] = [1, 2, 3].map((s) => m.chain.link('fresh', s)!);
    const forged2 = relinked({ ...l2!, prevHash: 'e'.repeat(64) });
    const forged3 = relinked({ ...l3!, prevHash: forged2.hash });
    m.chain.setLink('fresh', forged2);
    m.chain.setLink('fresh', forged3);
    const head = { ...(await m.store.chainHead('fresh'))!, hash: forged3.hash, pending: [] };
    m.chain.setHead('fresh', head);
    await expect(checkHead(m.deps, 'fresh', head)).rejects.toThrow(/heads a chain that does not hold at link 2/);
    expect(l1).toBeDefined();
  });

  it('a link that skips a seq is refused, even chained onto the one before with its hash recomputed', async () => {
    const m = memoryAudit();
    await linkAuditEntries(m.deps, 'fresh', m.write('fresh', 3));
    const l3 = m.chain.link('fresh', 3)!;
    const l5 = relinked({ seq: 5, entry: l3.entry, entryHash: l3.entryHash, prevHash: l3.hash, linkedAt: l3.linkedAt } as ChainLink);
    m.chain.setLink('fresh', l5);
    const head = { ...(await m.store.chainHead('fresh'))!, seq: 5, hash: l5.hash, pending: [] };
    m.chain.setHead('fresh', head);
    await expect(checkHead(m.deps, 'fresh', head)).rejects.toThrow(/heads a chain that does not hold at link 4/);
  });

  it('the checkpointed link rewritten (its hash recomputed, the links after it re-chained) is refused: it is no longer the signed one', async () => {
    const m = memoryAudit();
    const anchorer = new ChainAnchorer({ intervalMs: 0 });
    await linkAuditEntries(m.deps, 'acme', m.write('acme', 4), anchorer);
    await anchorer.flush(m.deps);
    await linkAuditEntries(m.deps, 'acme', m.write('acme', 1), anchorer); // 5: past the checkpoint at 4
    const [l4, l5] = [4, 5].map((s) => m.chain.link('acme', s)!);
    const forged4 = relinked({ ...l4!, entryHash: 'd'.repeat(64) });
    const forged5 = relinked({ ...l5!, prevHash: forged4.hash });
    m.chain.setLink('acme', forged4);
    m.chain.setLink('acme', forged5);
    const head = { ...(await m.store.chainHead('acme'))!, hash: forged5.hash, pending: [] };
    m.chain.setHead('acme', head);
    await expect(checkHead(m.deps, 'acme', head)).rejects.toThrow(/does not extend its newest signed checkpoint \(link 4\)/);
  });
});

type Audit = ReturnType<typeof memoryAudit>;
const headAt = (l: Pick<ChainLink, 'seq' | 'hash'>): ChainHead => ({ seq: l.seq, hash: l.hash, at: '2030-01-01T00:00:00.000Z', pending: [] });

/** A chain of `n` links with a signed checkpoint at `anchoredAt` (linked by a consumer that anchors after every batch). */
async function anchored(n: number, anchoredAt: number) {
  const m = memoryAudit();
  const anchorer = new ChainAnchorer({ intervalMs: 0 });
  await linkAuditEntries(m.deps, 'acme', m.write('acme', anchoredAt), anchorer);
  await anchorer.flush(m.deps);
  if (n > anchoredAt) await linkAuditEntries(m.deps, 'acme', m.write('acme', n - anchoredAt));
  return m;
}

describe('the head check: which checkpoint it holds the head to', () => {
  /** The deps with an anchor that notes the seq each listing of checkpoints starts from (undefined: all of them). */
  const listing = (m: Audit) => {
    const from: (number | undefined)[] = [];
    return { from, deps: { ...m.deps, anchor: { ...m.anchor, list: (tenant: string, seq?: number) => (from.push(seq), m.anchor.list(tenant, seq)) } } };
  };

  it('lists the checkpoints once, from 10,000 links behind the head (from the first link for a shorter chain)', async () => {
    const m = memoryAudit();
    const hash = 'c'.repeat(64);
    for (const [seq, from] of [
      [3, 1],
      [10_000, 1],
      [10_001, 1],
      [10_005, 5],
      [20_000, 10_000],
    ] as const) {
      const tenant = `t${seq}`;
      await anchorHeads(m.deps, [{ tenant, seq, hash }], new Date());
      const l = listing(m);
      await expect(checkHead(l.deps, tenant, headAt({ seq, hash }))).resolves.toBeUndefined();
      expect(l.from, `head at ${seq}`).toEqual([from]);
    }
    const none = listing(m);
    await expect(checkHead(none.deps, 'new', null)).resolves.toBeUndefined();
    expect(none.from).toEqual([1]);
  });

  it('a checkpoint more than 10,000 links behind the head is found by listing them all, and the head held to it', async () => {
    const m = memoryAudit();
    await anchorHeads(m.deps, [{ tenant: 'acme', seq: 5, hash: 'c'.repeat(64) }], new Date());
    const l = listing(m);
    await expect(checkHead(l.deps, 'acme', headAt({ seq: 10_010, hash: 'f'.repeat(64) }))).rejects.toThrow(
      /does not extend its newest signed checkpoint \(link 5\):/,
    );
    expect(l.from).toEqual([10, undefined]);
  });

  it('a forged checkpoint past the head is not believed; a head at its genuine checkpoint holds', async () => {
    const m = await anchored(6, 4);
    const genuine = m.records.find((c) => c.tenant === 'acme')!;
    m.records.push({ ...genuine, seq: 9, hash: 'f'.repeat(64) });
    await expect(checkHead(m.deps, 'acme', (await m.store.chainHead('acme'))!)).resolves.toBeUndefined();
    const at4 = await anchored(4, 4);
    await expect(checkHead(at4.deps, 'acme', (await at4.store.chainHead('acme'))!)).resolves.toBeUndefined();
  });

  it('a head read behind its checkpoint that has moved since (to another seq, or another hash) is a lost race, not tampering', async () => {
    const m = await anchored(4, 4);
    const read = headAt(m.chain.link('acme', 2)!);
    for (const now of [
      { ...read, seq: 6 },
      { ...read, hash: 'e'.repeat(64) },
    ]) {
      m.chain.setHead('acme', now);
      await expect(checkHead(m.deps, 'acme', read), JSON.stringify(now)).rejects.toMatchObject({ name: 'WriteConflict', reason: 'chain' });
    }
    m.chain.setHead('acme', read);
    await expect(checkHead(m.deps, 'acme', read)).rejects.toThrow(/behind its signed checkpoint at link 4/);
    await expect(checkHead(m.deps, 'acme', read)).rejects.not.toBeInstanceOf(WriteConflict);
  });
});

describe('the head check: links under the checkpoint moved or gone', () => {
  it('the checkpointed link moved to the next seq (its hash kept) is refused: the first link read must be the checkpoint’s own', async () => {
    const m = await anchored(5, 4);
    const l4 = m.chain.link('acme', 4)!;
    m.store.table.delete(keys.chainLink('acme', 4));
    m.chain.setLink('acme', { ...l4, seq: 5 });
    const head = headAt({ seq: 5, hash: l4.hash });
    m.chain.setHead('acme', head);
    await expect(checkHead(m.deps, 'acme', head)).rejects.toThrow(/does not extend its newest signed checkpoint \(link 4\):/);
  });

  it('no link left from the checkpoint on is refused as tampering', async () => {
    const m = await anchored(6, 4);
    for (const seq of [4, 5, 6]) m.store.table.delete(keys.chainLink('acme', seq));
    const head = { ...(await m.store.chainHead('acme'))!, pending: [] };
    m.chain.setHead('acme', head);
    const refused = checkHead(m.deps, 'acme', head);
    await expect(refused).rejects.toBeInstanceOf(ChainTampered);
    await expect(refused).rejects.toThrow(/does not extend its newest signed checkpoint \(link 4\):/);
  });

  it('without a checkpoint, a head past the last link (with that link’s hash) is refused: it is not where its links end', async () => {
    const m = memoryAudit();
    await linkAuditEntries(m.deps, 'fresh', m.write('fresh', 3));
    const head = headAt({ seq: 5, hash: m.chain.link('fresh', 3)!.hash });
    m.chain.setHead('fresh', head);
    await expect(checkHead(m.deps, 'fresh', head)).rejects.toThrow(/'fresh' is not where its links end:/);
  });
});
