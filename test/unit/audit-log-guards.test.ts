import { describe, expect, it } from 'vitest';
import { ChainAnchorer } from '../../domain/audit/anchor.ts';
import { linkHash } from '../../domain/audit/audit.ts';
import { checkHead, linkAuditEntries } from '../../domain/audit/log.ts';
import type { ChainLink } from '../../domain/kernel/model.ts';
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
