import { generateKeyPairSync, sign } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ChainAnchorer } from '../../domain/audit/anchor.ts';
import { CHECKPOINT_MESSAGE, entryHash, GENESIS_HASH, linkHash, rootMessage } from '../../domain/audit/audit.ts';
import { exportAudit, toJsonLines } from '../../domain/audit/export.ts';
import { verifyExport } from '../../domain/audit/verify-export.ts';
import { linkAuditEntries } from '../../domain/audit/log.ts';
import type { Checkpoint } from '../../domain/kernel/model.ts';
import type { Ctx } from '../../domain/ports.ts';
import { memoryAudit } from '../support/audit-memory.ts';

type Row = Record<string, any>;
const ctx = (tenant: string) => ({ principal: { tenant } }) as unknown as Ctx;
const text = (rows: Row[]) => rows.map((r) => JSON.stringify(r)).join('\n') + '\n';
const rowsOf = (t: string) =>
  t
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l) as Row);

/**
 * Two tenants' chains, anchored together: acme links 1..3 (signed at once, alone), then acme 4..6
 * and beta 1..2 within the interval, signed together by ONE root at its end; then acme 7 alone.
 */
async function twoTenants() {
  let clock = Date.parse('2030-01-01T00:00:00.000Z');
  const m = memoryAudit(() => new Date(clock));
  const anchorer = new ChainAnchorer({ intervalMs: 10_000, now: () => clock });
  await linkAuditEntries(m.deps, 'acme', m.write('acme', 3), anchorer);
  await anchorer.settle(m.deps);
  clock += 2_000;
  await linkAuditEntries(m.deps, 'acme', m.write('acme', 3), anchorer);
  await linkAuditEntries(m.deps, 'beta', m.write('beta', 2), anchorer);
  expect(await anchorer.settle(m.deps)).toBeNull();
  clock += 10_000;
  const shared = await anchorer.settle(m.deps);
  expect(shared!.roots).toEqual([expect.objectContaining({ size: 2 })]);
  clock += 10_000;
  await linkAuditEntries(m.deps, 'acme', m.write('acme', 1), anchorer);
  await anchorer.settle(m.deps);
  expect(m.calls.sign).toBe(3);
  const exported = async (tenant: string, q = {}) => toJsonLines((await exportAudit(m.deps, ctx(tenant), q)).lines);
  return { m, anchorer, exported, advance: (ms: number) => (clock += ms) };
}

describe('export v3: checkpoints with their inclusion proof and signed root, verified offline with the public key alone', () => {
  it('the intact exports of both tenants verify; each anchor line names its tenant, root, size, index, path, time and signature', async () => {
    const { m, exported } = await twoTenants();
    const acme = await exported('acme');
    const rows = rowsOf(acme);
    expect(rows[0]).toMatchObject({ type: 'header', format: 'stageline-audit-export/v3', tenant: 'acme', signing: CHECKPOINT_MESSAGE });
    const anchors = rows.filter((r) => r.type === 'anchor');
    expect(anchors.map((a) => [a.seq, a.size])).toEqual([
      [3, 1],
      [6, 2],
      [7, 1],
    ]);
    expect(Object.keys(anchors[1]!)).toEqual(['type', 'tenant', 'seq', 'hash', 'root', 'size', 'index', 'path', 'at', 'sig']);
    expect(rows.at(-1)).toEqual({ type: 'trailer', count: 7, firstSeq: 1, lastSeq: 7, headSeq: 7, checkpoints: 3, next: null });
    expect(verifyExport(acme, m.publicKey)).toMatchObject({ ok: true, checked: 7, checkpoints: 3, anchoredThrough: { seq: 7 }, problems: [] });
    expect(verifyExport(await exported('beta'), m.publicKey)).toMatchObject({
      ok: true,
      checked: 2,
      checkpoints: 1,
      anchoredThrough: { seq: 2 },
      problems: [],
    });
    // The PEM works as well as the key object (what an auditor pins).
    expect(verifyExport(acme, (await m.anchor.publicKey()).publicKeyPem).ok).toBe(true);
  });

  it('exports the chain up to its newest signed checkpoint: links not anchored yet come with a later export', async () => {
    const { m, exported, anchorer } = await twoTenants();
    await linkAuditEntries(m.deps, 'acme', m.write('acme', 2), anchorer); // 8, 9: within the interval
    const early = rowsOf(await exported('acme'));
    expect(early.filter((r) => r.type === 'entry').map((r) => r.seq)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(early.at(-1)).toMatchObject({ lastSeq: 7, headSeq: 7, next: null });
    expect(verifyExport(text(early), m.publicKey).ok).toBe(true);
    await anchorer.flush(m.deps);
    expect(verifyExport(await exported('acme'), m.publicKey)).toMatchObject({ ok: true, lastSeq: 9, anchoredThrough: { seq: 9 } });
  });

  it("refuses another tenant's proof presented as this tenant's: as it is, renamed, or its index and path under this chain's leaf", async () => {
    const { m, exported } = await twoTenants();
    const acme = rowsOf(await exported('acme'));
    const beta = rowsOf(await exported('beta'));
    const theirs = beta.find((r) => r.type === 'anchor')!;
    const mine = acme.find((r) => r.type === 'anchor' && r.size === 2)!;
    expect(theirs.root).toBe(mine.root); // signed by the same root
    const lineOf = (rows: Row[], r: Row) => rows.indexOf(r) + 1;
    // Spliced in as it is (a genuine line of beta's export): another tenant's.
    const spliced = [...acme.slice(0, -1), theirs, { ...acme.at(-1)!, checkpoints: 4 }];
    expect(verifyExport(text(spliced), m.publicKey).problems).toEqual([
      { line: spliced.length - 1, seq: 2, what: 'a checkpoint of tenant "beta" in an export of "acme"' },
    ]);
    // Renamed to acme: its proof leads from acme's leaf elsewhere.
    const renamed = acme.map((r) => (r === mine ? { ...theirs, tenant: 'acme', seq: mine.seq, hash: mine.hash } : r));
    const refused = verifyExport(text(renamed), m.publicKey);
    expect(refused.ok).toBe(false);
    expect(refused.problems[0]).toEqual({
      line: lineOf(acme, mine),
      seq: 6,
      what: expect.stringMatching(/inclusion proof does not lead to its signed root.*not anchored by the root it names/),
    });
    // beta's index and path under acme's (seq, hash), in the root both share.
    const borrowed = acme.map((r) => (r === mine ? { ...mine, index: theirs.index, path: theirs.path } : r));
    expect(verifyExport(text(borrowed), m.publicKey).problems).toContainEqual({
      line: lineOf(acme, mine),
      seq: 6,
      what: expect.stringMatching(/inclusion proof does not lead to its signed root/),
    });
  });

  it('refuses a proof that does not lead to its signed root, and a root whose signature does not verify', async () => {
    const { m, exported } = await twoTenants();
    const rows = rowsOf(await exported('acme'));
    const last = rows.findLast((r) => r.type === 'anchor')!;
    const shared = rows.find((r) => r.type === 'anchor' && r.size === 2)!;
    const at = (rowsIn: Row[], r: Row) => rowsIn.indexOf(r) + 1;
    const problemsAt = (edit: (r: Row) => Row, target = shared) => {
      const edited = rows.map((r) => (r === target ? edit(structuredClone(r)) : r));
      return verifyExport(text(edited), m.publicKey).problems.filter((p) => p.line === at(rows, target));
    };
    // A sibling of the audit path altered.
    expect(problemsAt((r) => ({ ...r, path: [r.path[0].replace(/^./, (c: string) => (c === '0' ? '1' : '0'))] }))).toEqual([
      { line: at(rows, shared), seq: 6, what: expect.stringMatching(/does not lead to its signed root/) },
    ]);
    // Another genuine signed root (of another interval), with its time and signature: the proof leads elsewhere.
    expect(problemsAt((r) => ({ ...r, root: last.root, size: last.size, at: last.at, sig: last.sig }))).toEqual([
      { line: at(rows, shared), seq: 6, what: expect.stringMatching(/does not lead to its signed root/) },
    ]);
    // A malformed proof: index out of the tree, a path that is no list of hashes.
    expect(problemsAt((r) => ({ ...r, index: 2 }))[0]!.what).toMatch(/no place in a tree/);
    expect(problemsAt((r) => ({ ...r, path: ['x'] }))[0]!.what).toMatch(/not a list of hashes/);
    // The root's time, size or signature altered: the signature does not verify.
    expect(problemsAt((r) => ({ ...r, at: '2030-01-01T00:00:13.000Z' }))[0]!.what).toMatch(
      /signature does not verify with the pinned public key sha256:.*the root was altered/,
    );
    expect(problemsAt((r) => ({ ...r, sig: last.sig }))[0]!.what).toMatch(/signature does not verify/);
    // Another size: the proof does not fit it, or (where it does) the signature covers the size.
    expect(problemsAt((r) => ({ ...r, size: 3 }))[0]!.what).toMatch(/does not lead to its signed root|signature does not verify/);
    expect(problemsAt((r) => ({ ...r, size: 1, index: 0, path: [] }), last)).toEqual([]); // unchanged: last is a tree of 1
    expect(problemsAt((r) => ({ ...r, size: 2, path: [shared.hash] }), last)[0]!.what).toMatch(/does not lead to its signed root|signature does not verify/);
    // A root signed by another key (the attacker's), the chain re-hashed and re-anchored consistently.
    const mallory = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const forged = rows.map((r) =>
      r.type === 'anchor'
        ? { ...r, sig: sign('sha256', Buffer.from(rootMessage(r as never)), { key: mallory.privateKey, dsaEncoding: 'der' }).toString('base64url') }
        : r,
    );
    const foreign = verifyExport(text(forged), m.publicKey);
    expect(foreign.problems.filter((p) => /signature does not verify with the pinned public key/.test(p.what))).toHaveLength(3);
    expect(verifyExport(text(forged), mallory.publicKey).ok).toBe(true);
  });

  it('refuses what it refused before: a rewritten chain, a dropped or spliced checkpoint, a cut chain', async () => {
    const { m, exported } = await twoTenants();
    const rows = rowsOf(await exported('acme'));
    const problems = (rs: Row[], opts = {}) => verifyExport(text(rs), m.publicKey, opts).problems;
    const lineOfSeq = (seq: number) => rows.findIndex((r) => r.type === 'entry' && r.seq === seq) + 1;
    // Rewritten: entry 5 altered, the chain re-hashed from it; the anchor lines kept.
    const rewritten = structuredClone(rows);
    let prevHash = GENESIS_HASH;
    for (const r of rewritten.filter((x) => x.type === 'entry')) {
      if (r.seq === 5) r.entry.actorName = 'mallory';
      r.prevHash = prevHash;
      r.entryHash = entryHash(r.entry);
      r.hash = linkHash({ seq: r.seq, entry: `${r.entry.at}#${r.entry.id}`, entryHash: r.entryHash, prevHash });
      prevHash = r.hash;
    }
    expect(problems(rewritten)).toContainEqual(
      expect.objectContaining({ seq: 6, what: expect.stringMatching(/disagrees with this signed checkpoint: links 4\.\.6/) }),
    );
    // ... and its anchors re-pointed at the new hashes: their proofs no longer lead to the signed roots.
    const newHash = new Map(rewritten.filter((r) => r.type === 'entry').map((r) => [r.seq, r.hash]));
    const repointed = rewritten.map((r) => (r.type === 'anchor' ? { ...r, hash: newHash.get(r.seq) } : r));
    expect(
      problems(repointed)
        .filter((p) => /does not lead to its signed root/.test(p.what))
        .map((p) => p.seq),
    ).toEqual([6, 7]);
    // Dropped: the last anchor line (and the trailer made to match).
    const dropped = structuredClone(rows).filter((r) => !(r.type === 'anchor' && r.seq === 7));
    dropped.at(-1)!.checkpoints = 2;
    expect(problems(dropped)).toEqual([
      {
        line: lineOfSeq(7),
        seq: 7,
        what: expect.stringMatching(/links 7..7 .*covered by no valid signed checkpoint: the export is anchored only up to link 6/),
      },
    ]);
    // Dropped without fixing the trailer: the count says so too.
    expect(problems(rows.filter((r) => !(r.type === 'anchor' && r.seq === 7)))).toContainEqual(
      expect.objectContaining({ what: expect.stringMatching(/the trailer counts 3 checkpoints, the page has 2/) }),
    );
    // Spliced: a genuine anchor line of this tenant moved onto another link's seq and hash.
    const moved = rows.map((r) => (r.type === 'anchor' && r.seq === 3 ? { ...r, seq: 2, hash: rows[lineOfSeq(2) - 1]!.hash } : r));
    expect(problems(moved)).toContainEqual(expect.objectContaining({ seq: 2, what: expect.stringMatching(/does not lead to its signed root/) }));
    // Cut after link 5 (no checkpoint there), the trailer made to match: the tail is unanchored.
    const cut = (at: number) => {
      const c = structuredClone(rows).filter((r) => !((r.type === 'entry' || r.type === 'anchor') && r.seq > at));
      Object.assign(c.at(-1)!, { count: at, lastSeq: at, headSeq: at, checkpoints: c.filter((r) => r.type === 'anchor').length });
      return c;
    };
    expect(problems(cut(5))).toEqual([{ line: lineOfSeq(4), seq: 4, what: expect.stringMatching(/links 4..5 .*covered by no valid signed checkpoint/) }]);
    // Cut on a signed checkpoint: a genuine, shorter history; refused with --min-seq.
    expect(problems(cut(6))).toEqual([]);
    expect(problems(cut(6), { minSeq: 7 })).toEqual([expect.objectContaining({ what: expect.stringMatching(/anchored through link 6, short of link 7/) })]);
  });

  it('refuses an export of another format, and a checkpoint without its inclusion proof, clearly: one format, one signing rule', async () => {
    const { m, exported } = await twoTenants();
    const rows = rowsOf(await exported('beta'));
    const anchor = rows.find((r) => r.type === 'anchor')!;
    const anchorLine = rows.indexOf(anchor) + 1;
    // Another format (a draft's, never released) is refused as such, whatever it holds.
    const other = rows.map((r) => (r.type === 'header' ? { ...r, format: 'stageline-audit-export/v2' } : r));
    expect(verifyExport(text(other), m.publicKey).problems).toEqual([
      { line: 1, what: 'unknown format "stageline-audit-export/v2" (expected stageline-audit-export/v3)' },
    ]);
    // The format's own signing rule, and no other.
    expect(
      verifyExport(text(rows.map((r) => (r.type === 'header' ? { ...r, signing: 'ECDSA P-256 over each checkpoint' } : r))), m.publicKey).problems,
    ).toEqual([{ line: 1, what: 'the signing rule was altered' }]);
    // A checkpoint signed alone, without a proof (a line of another type), anchors nothing: the links it would cover are reported.
    const { root: _r, size: _s, index: _i, path: _p, ...bare } = anchor;
    const unproved = rows.map((r) => (r === anchor ? { ...bare, type: 'checkpoint' } : r));
    expect(verifyExport(text(unproved), m.publicKey).problems).toEqual([
      { line: 2, seq: 1, what: 'links 1..2 (lines 2..3) are covered by no valid signed checkpoint: nothing in the export is anchored' },
      { line: anchorLine, what: 'unknown line type "checkpoint"' },
      { line: anchorLine + 1, what: 'the trailer counts 1 checkpoints, the page has 0 (checkpoint lines were dropped or added)' },
    ]);
    // An anchor line stripped of its proof: refused as such.
    const stripped = verifyExport(text(rows.map((r) => (r === anchor ? bare : r))), m.publicKey);
    expect(stripped.ok).toBe(false);
    expect(stripped.problems).toContainEqual({ line: anchorLine, what: 'missing root, size, index, path' });
    expect(stripped.problems).toContainEqual({ line: anchorLine, seq: 2, what: expect.stringMatching(/not anchored by the root it names/) });
    // Nor does an anchor's verify hold one: without its proof a checkpoint's signature covers nothing of its chain.
    expect(await m.anchor.verify({ tenant: 'beta', seq: anchor.seq, hash: anchor.hash, at: anchor.at, sig: anchor.sig } as Checkpoint)).toBe(false);
  });
});
