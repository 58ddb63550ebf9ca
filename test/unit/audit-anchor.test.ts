import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { anchorCosts, anchorHeads, anchorLag, ChainAnchorer, MAX_LEAVES } from '../../domain/audit/anchor.ts';
import { chainLeafHash, checkpointValid, proofProblem, rootMessage, rootSignatureValid } from '../../domain/audit/audit.ts';
import { anchorLeftTails, checkHead, linkAuditEntries, verifyAudit } from '../../domain/audit/log.ts';
import { inclusionPath, leafHash, merkleRoot, merkleTree, nodeHash, rootFromPath } from '../../domain/audit/merkle.ts';
import type { Ctx } from '../../domain/ports.ts';
import { memoryAudit } from '../support/audit-memory.ts';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** An independent reference: RFC 6962's tree built level by level (an unpaired node moves up as it is). */
function referenceRoot(leaves: string[]): string {
  let level = leaves;
  while (level.length > 1) {
    const next: string[] = [];
    for (let i = 0; i < level.length; i += 2) next.push(i + 1 < level.length ? nodeHash(level[i]!, level[i + 1]!) : level[i]!);
    level = next;
  }
  return level[0]!;
}

const leavesArb = fc
  .array(fc.uint8Array({ minLength: 0, maxLength: 40 }), { minLength: 1, maxLength: 17 })
  .map((data) => data.map((d) => leafHash(Buffer.from(d))));

describe('Merkle tree (RFC 6962): build and inclusion proofs, sizes 1..17', () => {
  it('matches the RFC 6962 test vectors (the certificate-transparency reference leaves)', () => {
    const data = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'].map((h) => Buffer.from(h, 'hex'));
    const roots = [
      '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
      'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
      'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
      '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
      '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
      'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
      '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
    ];
    for (let n = 1; n <= 8; n++) expect(merkleRoot(data.slice(0, n).map((d) => leafHash(d))), `size ${n}`).toBe(roots[n - 1]);
    // Domain separation: a leaf is SHA-256(0x00 ‖ data), a node SHA-256(0x01 ‖ left ‖ right).
    expect(leafHash(Buffer.alloc(0))).toBe(createHash('sha256').update(Buffer.of(0)).digest('hex'));
  });

  it("every leaf's audit path leads to the root; the tree and the paths agree with the reference", () => {
    fc.assert(
      fc.property(leavesArb, (leaves) => {
        const { root, paths } = merkleTree(leaves);
        expect(root).toBe(referenceRoot(leaves));
        expect(root).toBe(merkleRoot(leaves));
        leaves.forEach((leaf, i) => {
          expect(paths[i]).toEqual(inclusionPath(leaves, i));
          // log2 depth at most
          expect(paths[i]!.length).toBeLessThanOrEqual(Math.ceil(Math.log2(leaves.length)));
          expect(rootFromPath(i, leaves.length, leaf, paths[i]!)).toBe(root);
        });
      }),
    );
  });

  it("a proof does not lead to the root when anything changes: a sibling, the index, the size, the leaf, the path's length", () => {
    fc.assert(
      fc.property(leavesArb, fc.nat(), fc.nat(), fc.uint8Array({ minLength: 32, maxLength: 32 }), (leaves, pick, flip, other) => {
        const n = leaves.length;
        const { root, paths } = merkleTree(leaves);
        const i = pick % n;
        const path = paths[i]!;
        const leaf = leaves[i]!;
        const leads = (index: number, size: number, l: string, p: string[]) => rootFromPath(index, size, l, p) === root;
        // Another leaf (other data) at this place.
        const forged = leafHash(Buffer.from(other));
        if (forged !== leaf) expect(leads(i, n, forged, path)).toBe(false);
        // The leaf presented at another index, with its own path (leaves are distinct unless the data was).
        const j = (i + 1 + (flip % Math.max(1, n - 1))) % n;
        if (j !== i && leaves[j] !== leaf) expect(leads(j, n, leaf, path)).toBe(false);
        if (n > 1) {
          // One sibling altered.
          const k = flip % path.length;
          const bent = path.map((h, x) => (x === k ? hex(createHash('sha256').update(h).digest()) : h));
          expect(leads(i, n, leaf, bent)).toBe(false);
          // Cut short, or one hash too many.
          expect(leads(i, n, leaf, path.slice(0, -1))).toBe(false);
        }
        expect(leads(i, n, leaf, [...path, root])).toBe(false);
        // Out of the tree. (A path may also fit a tree of another size: the size is signed with the
        // root, so a checkpoint claiming another size fails the root's signature — tested below.)
        expect(rootFromPath(n, n, leaf, path)).toBeNull();
        expect(rootFromPath(i, n, leaf, ['not a hash'])).toBeNull();
      }),
    );
  });

  it("a leaf names its tenant, seq and hash (another tenant's leaf differs), and is never an interior node", () => {
    const h = 'a'.repeat(64);
    expect(chainLeafHash({ tenant: 'acme', seq: 7, hash: h })).not.toBe(chainLeafHash({ tenant: 'beta', seq: 7, hash: h }));
    expect(chainLeafHash({ tenant: 'acme', seq: 7, hash: h })).not.toBe(chainLeafHash({ tenant: 'acme', seq: 8, hash: h }));
    // "acme\n7" + seq 1 is not "acme" + seq 71: seq and hash are read from the end.
    expect(chainLeafHash({ tenant: 'acme\n7', seq: 1, hash: h })).not.toBe(chainLeafHash({ tenant: 'acme', seq: 71, hash: h }));
    const l = leafHash('x');
    expect(nodeHash(l, l)).not.toBe(leafHash(Buffer.concat([Buffer.from(l, 'hex'), Buffer.from(l, 'hex')])));
  });
});

describe('anchoring many chains with one signature', () => {
  it('one root signed once covers every chain that moved; each checkpoint carries its proof, the root and its signature', async () => {
    const m = memoryAudit();
    const heads = ['gamma', 'acme', 'beta'].map((tenant, i) => ({ tenant, seq: i + 3, hash: hex(createHash('sha256').update(tenant).digest()) }));
    const run = await anchorHeads(m.deps, heads, new Date('2030-01-01T00:00:10.000Z'));
    expect(m.calls.sign).toBe(1);
    expect(m.calls.append).toBe(3);
    expect(run.roots).toHaveLength(1);
    expect(run.checkpoints.map((c) => [c.tenant, c.proof!.index])).toEqual([
      ['acme', 0],
      ['beta', 1],
      ['gamma', 2],
    ]);
    for (const c of run.checkpoints) {
      expect(c).toMatchObject({ at: '2030-01-01T00:00:10.000Z', sig: run.roots[0]!.sig, proof: { root: run.roots[0]!.root, size: 3 } });
      expect(proofProblem(c)).toBeNull();
      expect(checkpointValid(m.publicKey, c)).toBe(true);
      // Presented as another tenant's, or at another link: the proof leads elsewhere.
      expect(proofProblem({ ...c, tenant: 'mallory' })).toMatch(/does not lead to its signed root/);
      expect(checkpointValid(m.publicKey, { ...c, seq: c.seq + 1 })).toBe(false);
    }
    // Another chain's proof (index and path) under this chain's (tenant, seq, hash): refused.
    const [a, b] = run.checkpoints;
    expect(checkpointValid(m.publicKey, { ...a!, proof: b!.proof })).toBe(false);
    // The root's signature covers root, size and time.
    const root = run.roots[0]!;
    expect(rootSignatureValid(m.publicKey, root)).toBe(true);
    for (const change of [{ root: 'b'.repeat(64) }, { size: 4 }, { at: '2030-01-01T00:00:11.000Z' }])
      expect(rootSignatureValid(m.publicKey, { ...root, ...change }), JSON.stringify(change)).toBe(false);
    expect(rootMessage(root)).toBe(`stageline-audit-root:v3\n${root.root}\n3\n2030-01-01T00:00:10.000Z`);
  });

  it(`more than ${MAX_LEAVES} chains at once: one root per ${MAX_LEAVES} (an S3 key holds the path of ≤ 9 levels)`, async () => {
    const m = memoryAudit();
    const heads = Array.from({ length: MAX_LEAVES + 3 }, (_, i) => ({ tenant: `t${String(i).padStart(4, '0')}`, seq: 1, hash: 'c'.repeat(64) }));
    const run = await anchorHeads(m.deps, heads, new Date());
    expect(run.roots.map((r) => r.size)).toEqual([MAX_LEAVES, 3]);
    expect(m.calls.sign).toBe(2);
    expect(Math.max(...run.checkpoints.map((c) => c.proof!.path.length))).toBe(9);
  });

  it('at most once per interval: a change after a quiet spell is signed at once; changes within the interval wait for its end, then ONE signature covers them all', async () => {
    const m = memoryAudit();
    let now = 1_000_000;
    const anchorer = new ChainAnchorer({ intervalMs: 10_000, now: () => now });
    const head = (tenant: string, seq: number) => ({ seq, hash: hex(createHash('sha256').update(`${tenant}${seq}`).digest()) });
    expect(await anchorer.settle(m.deps)).toBeNull(); // nothing moved: nothing signed
    anchorer.note('acme', head('acme', 1));
    expect((await anchorer.settle(m.deps))?.checkpoints).toHaveLength(1); // first change: at once
    expect(m.calls.sign).toBe(1);
    now += 2_000;
    anchorer.note('acme', head('acme', 2));
    anchorer.note('beta', head('beta', 1));
    now += 1_000;
    anchorer.note('acme', head('acme', 3));
    expect(await anchorer.settle(m.deps)).toBeNull(); // within the interval: deferred
    expect(anchorer.dueIn()).toBe(7_000);
    expect(m.calls.sign).toBe(1);
    now += 7_000;
    const run = await anchorer.settle(m.deps);
    expect(m.calls.sign).toBe(2);
    expect(run!.roots).toEqual([expect.objectContaining({ size: 2 })]);
    expect(run!.checkpoints.map((c) => [c.tenant, c.seq])).toEqual([
      ['acme', 3],
      ['beta', 1],
    ]);
    // The same head again (a redelivered batch): not signed twice.
    anchorer.note('acme', head('acme', 3));
    now += 60_000;
    expect(await anchorer.settle(m.deps)).toBeNull();
    // An anchor that fails keeps its heads for the next.
    anchorer.note('beta', head('beta', 2));
    const failing = { ...m.deps, anchor: { ...m.anchor, append: async () => Promise.reject(new Error('bucket unavailable')) } };
    await expect(anchorer.flush(failing)).rejects.toThrow('bucket unavailable');
    expect(anchorer.waiting).toBe(1);
    expect((await anchorer.flush(m.deps))!.checkpoints.map((c) => [c.tenant, c.seq])).toEqual([['beta', 2]]);
    expect(anchorer.counts).toEqual({ anchors: 3, roots: 3, checkpoints: 4 });
  });

  it('interval 0 signs after every batch (as before roots)', async () => {
    const m = memoryAudit();
    const anchorer = new ChainAnchorer({ intervalMs: 0 });
    for (let i = 1; i <= 3; i++) {
      anchorer.note('acme', { seq: i, hash: String(i).repeat(64) });
      await anchorer.settle(m.deps);
    }
    expect(m.calls.sign).toBe(3);
  });
});

describe('the consumer links, then anchors; it refuses a head it cannot believe', () => {
  const ctx = (tenant: string) => ({ principal: { tenant } }) as unknown as Ctx;

  it('links without any key-service call; anchors both tenants with one signature; verify reports the lag until then', async () => {
    let clock = Date.parse('2030-01-01T00:00:00.000Z');
    const m = memoryAudit(() => new Date(clock));
    const anchorer = new ChainAnchorer({ intervalMs: 10_000, now: () => clock });
    await linkAuditEntries(m.deps, 'acme', m.write('acme', 3), anchorer);
    await linkAuditEntries(m.deps, 'beta', m.write('beta', 2), anchorer);
    expect(m.calls).toMatchObject({ sign: 0, append: 0 });
    clock += 4_000;
    expect(await verifyAudit(m.deps, ctx('acme'))).toMatchObject({ ok: true, headSeq: 3, anchoredSeq: 0, unanchored: 3, anchorLagSeconds: 4 });
    await anchorer.settle(m.deps);
    expect(m.calls).toMatchObject({ sign: 1, append: 2 });
    expect(await verifyAudit(m.deps, ctx('acme'))).toMatchObject({
      ok: true,
      headSeq: 3,
      anchoredSeq: 3,
      unanchored: 0,
      anchorLagSeconds: 0,
      checkpoints: { count: 1, latestSeq: 3, forged: 0 },
    });
    expect(await verifyAudit(m.deps, ctx('beta'))).toMatchObject({ ok: true, headSeq: 2, anchoredSeq: 2, unanchored: 0 });
    // Two more links of acme within the interval: not anchored yet, the lag counted from the older.
    clock += 1_000;
    await linkAuditEntries(m.deps, 'acme', m.write('acme', 1), anchorer);
    clock += 1_500;
    await linkAuditEntries(m.deps, 'acme', m.write('acme', 1), anchorer);
    expect(await anchorer.settle(m.deps)).toBeNull();
    clock += 2_000;
    expect(await verifyAudit(m.deps, ctx('acme'))).toMatchObject({ ok: true, headSeq: 5, anchoredSeq: 3, unanchored: 2, anchorLagSeconds: 3.5 });
  });

  it("anchorLag: anchored through, unanchored count, the oldest one's wait", () => {
    const now = new Date('2030-01-01T00:00:10.000Z');
    expect(anchorLag({ headSeq: 9, anchoredSeq: 9, oldestUnanchoredLinkedAt: null, now })).toEqual({ anchoredSeq: 9, unanchored: 0, anchorLagSeconds: 0 });
    expect(anchorLag({ headSeq: 9, anchoredSeq: 6, oldestUnanchoredLinkedAt: '2030-01-01T00:00:02.500Z', now })).toEqual({
      anchoredSeq: 6,
      unanchored: 3,
      anchorLagSeconds: 7.5,
    });
    expect(anchorLag({ headSeq: 0, anchoredSeq: 0, oldestUnanchoredLinkedAt: null, now })).toEqual({ anchoredSeq: 0, unanchored: 0, anchorLagSeconds: 0 });
    // A checkpoint past the head (a cut chain: verify reports the break): nothing counted as waiting.
    expect(anchorLag({ headSeq: 5, anchoredSeq: 7, oldestUnanchoredLinkedAt: null, now })).toEqual({ anchoredSeq: 5, unanchored: 0, anchorLagSeconds: 0 });
  });

  it('checkHead: a link past the checkpoint whose content was rewritten (its hash and prevHash kept) is refused by its own hash, and so is one in a chain never anchored', async () => {
    const m = memoryAudit();
    const anchorer = new ChainAnchorer({ intervalMs: 0 });
    await linkAuditEntries(m.deps, 'acme', m.write('acme', 4), anchorer);
    await anchorer.flush(m.deps);
    await linkAuditEntries(m.deps, 'acme', m.write('acme', 2), anchorer); // 5, 6: past the checkpoint at 4
    const head = (await m.store.chainHead('acme'))!;
    await expect(checkHead(m.deps, 'acme', head)).resolves.toBeUndefined();
    // Link 5 says another entry was written, while keeping the hash and the prevHash it had: only its own hash tells.
    const l5 = m.chain.link('acme', 5)!;
    m.chain.setLink('acme', { ...l5, entryHash: 'd'.repeat(64) });
    await expect(checkHead(m.deps, 'acme', head)).rejects.toThrow(/does not extend its newest signed checkpoint \(link 4\): link 5 does not follow/);
    m.chain.setLink('acme', l5);
    await expect(checkHead(m.deps, 'acme', head)).resolves.toBeUndefined();
    // No checkpoint yet: the chain from its first link is checked the same way.
    await linkAuditEntries(m.deps, 'fresh', m.write('fresh', 3));
    const fresh = (await m.store.chainHead('fresh'))!;
    m.chain.setLink('fresh', { ...m.chain.link('fresh', 2)!, entry: 'forged-entry' });
    await expect(checkHead(m.deps, 'fresh', fresh)).rejects.toThrow(/heads a chain that does not hold at link 2/);
  });

  it('checkHead: a head extending its newest signed checkpoint holds; forged, moved back, or gone, it is refused', async () => {
    const m = memoryAudit();
    const anchorer = new ChainAnchorer({ intervalMs: 0 });
    await linkAuditEntries(m.deps, 'acme', m.write('acme', 4), anchorer);
    await anchorer.flush(m.deps);
    await linkAuditEntries(m.deps, 'acme', m.write('acme', 2), anchorer); // 5, 6: not anchored yet
    const genuine = (await m.store.chainHead('acme'))!;
    await expect(checkHead(m.deps, 'acme', genuine)).resolves.toBeUndefined();
    // A consumer that did not write it (no anchorer) extends it after checking it.
    expect(await linkAuditEntries(m.deps, 'acme', m.write('acme', 1))).toEqual({ linked: 1, seq: 7 });
    const head = (await m.store.chainHead('acme'))!;
    // Forged: another hash at the head.
    await expect(checkHead(m.deps, 'acme', { ...head, hash: 'f'.repeat(64), pending: [] })).rejects.toThrow(/does not extend its newest signed checkpoint/);
    // Moved back behind the signed checkpoint at 4.
    await anchorer.flush(m.deps); // nothing moved for this anchorer since: acme 7 was linked without it
    await anchorHeads(m.deps, [{ tenant: 'acme', seq: 7, hash: head.hash }], new Date());
    const l3 = (await m.store.readChainLinks('acme', 100)).items[2]!;
    const movedBack = { seq: 3, hash: l3.hash, at: head.at };
    m.chain.setHead('acme', movedBack);
    await expect(checkHead(m.deps, 'acme', movedBack)).rejects.toThrow(/behind its signed checkpoint at link 7/);
    // A link under the checkpoint rewritten (and the head with it): the link at the checkpoint disagrees.
    m.chain.setHead('acme', head);
    m.chain.setLink('acme', { ...m.chain.link('acme', 7)!, hash: 'e'.repeat(64) });
    await expect(checkHead(m.deps, 'acme', { ...head, hash: 'e'.repeat(64), pending: [] })).rejects.toThrow(/does not match its signed checkpoint at link 7/);
    // Gone, while checkpoints of its chain exist.
    await expect(checkHead(m.deps, 'acme', null)).rejects.toThrow(/is gone, yet a signed checkpoint says its chain reached link 7/);
    // A new tenant: no head, no checkpoint.
    await expect(checkHead(m.deps, 'new', null)).resolves.toBeUndefined();
  });
});

describe('a tail nobody anchors: the durable marks and the tick', () => {
  const ctx = (tenant: string) => ({ principal: { tenant } }) as unknown as Ctx;

  it('a consumer frozen after deferring (Lambda, traffic stopped) leaves a mark; the tick, in another process, anchors it with one signature and clears it', async () => {
    let clock = Date.parse('2030-01-01T00:00:00.000Z');
    const m = memoryAudit(() => new Date(clock));
    const frozen = new ChainAnchorer({ intervalMs: 10_000, now: () => clock });
    await linkAuditEntries(m.deps, 'acme', m.write('acme', 2), frozen);
    await frozen.settle(m.deps); // the first change after a quiet spell: signed at once, nothing marked
    expect(m.calls.sign).toBe(1);
    expect(m.chain.marks()).toEqual([]);
    clock += 1_000;
    await linkAuditEntries(m.deps, 'acme', m.write('acme', 1), frozen);
    expect(await frozen.settle(m.deps)).toBeNull(); // deferred: marked in the table
    const marked = m.chain.marks();
    expect(marked).toEqual([{ tenant: 'acme', seq: 3, at: new Date(clock).toISOString() }]);
    clock += 1_000;
    await linkAuditEntries(m.deps, 'acme', m.write('acme', 1), frozen);
    expect(await frozen.settle(m.deps)).toBeNull();
    expect(m.chain.marks()).toEqual(marked); // once per chain and interval, not once per batch
    // The consumer is frozen from here on. A tick before the mark is an interval old leaves it to its consumer.
    expect(await anchorLeftTails(m.deps, new Date(clock - 10_000))).toEqual({ anchored: 0, covered: 0, refused: [] });
    clock += 15_000;
    expect(await verifyAudit(m.deps, ctx('acme'))).toMatchObject({ headSeq: 4, anchoredSeq: 2, unanchored: 2 });
    expect(await anchorLeftTails(m.deps, new Date(clock - 10_000))).toEqual({ anchored: 1, covered: 0, refused: [] });
    expect(m.calls.sign).toBe(2);
    expect(m.chain.marks()).toEqual([]);
    expect(await verifyAudit(m.deps, ctx('acme'))).toMatchObject({ ok: true, headSeq: 4, anchoredSeq: 4, unanchored: 0 });
  });

  it("a consumer that anchors at its interval's end clears its mark; a mark already covered is cleared by the tick without a signature", async () => {
    let clock = Date.parse('2030-01-01T00:00:00.000Z');
    const m = memoryAudit(() => new Date(clock));
    const anchorer = new ChainAnchorer({ intervalMs: 10_000, now: () => clock });
    await linkAuditEntries(m.deps, 'acme', m.write('acme', 1), anchorer);
    await anchorer.settle(m.deps);
    clock += 2_000;
    await linkAuditEntries(m.deps, 'acme', m.write('acme', 1), anchorer);
    await anchorer.settle(m.deps);
    expect(m.chain.marks().length).toBe(1);
    clock += 10_000;
    await linkAuditEntries(m.deps, 'beta', m.write('beta', 1), anchorer);
    await anchorer.settle(m.deps); // due: one signature for acme and beta, and acme's mark cleared
    expect(m.calls.sign).toBe(2);
    expect(m.chain.marks().length).toBe(0);
    // A mark whose chain a signed checkpoint covers already (its clear was lost): cleared, nothing signed.
    await m.store.markUnanchored('acme', 2, new Date(clock - 60_000).toISOString());
    expect(await anchorLeftTails(m.deps, new Date(clock - 10_000))).toEqual({ anchored: 0, covered: 1, refused: [] });
    expect(m.chain.marks().length).toBe(0);
    expect(m.calls.sign).toBe(2);
  });

  it('the tick refuses to sign over a head it cannot believe, and keeps its mark', async () => {
    let clock = Date.parse('2030-01-01T00:00:00.000Z');
    const m = memoryAudit(() => new Date(clock));
    const anchorer = new ChainAnchorer({ intervalMs: 0 });
    await linkAuditEntries(m.deps, 'acme', m.write('acme', 3), anchorer);
    await anchorer.settle(m.deps);
    const head = (await m.store.chainHead('acme'))!;
    // Someone with table access moves the head to a chain of their own and leaves a mark for the tick.
    m.chain.setHead('acme', { ...head, seq: 4, hash: 'f'.repeat(64), pending: [] });
    await m.store.markUnanchored('acme', 4, new Date(clock - 60_000).toISOString());
    const run = await anchorLeftTails(m.deps, new Date(clock - 10_000));
    expect(run.anchored).toBe(0);
    expect(run.refused).toEqual([{ tenant: 'acme', reason: expect.stringMatching(/refusing to extend it/) }]);
    expect(m.calls.sign).toBe(1);
    expect(m.chain.marks().length).toBe(1);
  });
});

describe('what the anchor costs', () => {
  it('at 1 promotion per second with a 10 s interval: ≤ 0.1 KMS Sign and 0.1 PUT per promotion, $0.0015 + $0.0005 per 1,000 (was 4 + 4: $0.08)', () => {
    const c = anchorCosts({ promotionsPerSecond: 1 });
    expect(c.signsPerPromotion).toBeCloseTo(0.1);
    expect(c.putsPerPromotion).toBeCloseTo(0.1);
    expect(c.per1000Promotions.usd.kms).toBeCloseTo(0.0015, 6);
    expect(c.per1000Promotions.usd.s3).toBeCloseTo(0.0005, 6);
    expect(c.before.usdPer1000.total).toBeCloseTo(0.08, 6);
    // Rare changes (one promotion an hour): one anchor per batch, never more than before.
    expect(anchorCosts({ promotionsPerSecond: 1 / 3600 }).signsPerPromotion).toBeCloseTo(4);
    // Ten tenants each promoting within every interval: one signature, ten records.
    const spread = anchorCosts({ promotionsPerSecond: 1, tenantsPerInterval: 10 });
    expect(spread.signsPerPromotion).toBeCloseTo(0.1);
    expect(spread.putsPerPromotion).toBeCloseTo(1);
  });
});
