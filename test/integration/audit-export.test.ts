import { createHash, createPublicKey, generateKeyPairSync, sign } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chainLeafHash, entryHash, GENESIS_HASH, linkHash, rootMessage } from '../../domain/audit/audit.ts';
import { rootFromPath } from '../../domain/audit/merkle.ts';
import { verifyExport } from '../../domain/audit/verify-export.ts';
import { cliWith, outcome } from '../support/cli.ts';
import { waitFor } from '../support/promotions.ts';
import { makeLine, startTestStack, type TestStack } from '../support/stack.ts';

// Anchor after every batch (as before roots): each page of this file's histories can end on a signed
// checkpoint of its own (test/integration/audit.test.ts and the unit tests exercise the interval).
process.env.STAGELINE_ANCHOR_INTERVAL_SECONDS = '0';

let t: TestStack;
beforeAll(async () => {
  t = await startTestStack();
});
afterAll(() => t.stop());

/** Some history: environments, configs, a promotion with approval, all linked. */
async function history() {
  const tenant = t.tenant();
  const u = await t.users(tenant);
  await makeLine(t, u.admin);
  await t.call('POST', '/api/v1/environments/dev/items/batch', {
    token: u.deployer,
    body: {
      set: [
        { key: 'a', value: 1 },
        { key: 'b', value: 2 },
      ],
    },
  });
  const toStaging = await t.call('POST', '/api/v1/promotions', { token: u.deployer, body: { sourceEnvironment: 'dev', targetEnvironment: 'staging' } });
  await waitFor(t, u.viewer, toStaging.body.id, ['COMPLETED']);
  const toProd = await t.call('POST', '/api/v1/promotions', { token: u.deployer, body: { sourceEnvironment: 'staging', targetEnvironment: 'production' } });
  await waitFor(t, u.viewer, toProd.body.id, ['AWAITING_APPROVAL']);
  expect((await t.call('POST', `/api/v1/promotions/${toProd.body.id}/approve`, { token: u.approver, body: { comment: 'ok' } })).status).toBe(200);
  await waitFor(t, u.viewer, toProd.body.id, ['COMPLETED']);
  await t.stack.stream.idle();
  return { tenant, u, promotion: toProd.body.id as string };
}

const lines = (text: string) =>
  text
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l));
/** The pinned key, as an auditor gets it once. */
const publicKey = async (token: string) => {
  const r = await t.call('GET', '/api/v1/audit/public-key', { token });
  expect(r.status).toBe(200);
  return r.body as { publicKeyPem: string; keyId: string; algorithm: string; curve: string; signedMessage: string };
};

/** The attacker's tools: re-hash entries and links from a seq on, as the service would. */
type Row = Record<string, any>;
function rehash(rows: Row[], edit: (entryRows: Row[]) => void): Row[] {
  const out = rows.map((r) => structuredClone(r));
  const entries = out.filter((r) => r.type === 'entry');
  edit(entries);
  let prevHash = GENESIS_HASH;
  entries.forEach((r, i) => {
    r.seq = i + 1;
    r.prevHash = prevHash;
    r.entryHash = entryHash(r.entry);
    r.hash = linkHash({ seq: r.seq, entry: `${r.entry.at}#${r.entry.id}`, entryHash: r.entryHash, prevHash });
    prevHash = r.hash;
  });
  return out;
}
const text = (rows: (Row | string)[]) => rows.map((r) => (typeof r === 'string' ? r : JSON.stringify(r))).join('\n') + '\n';

describe('audit export (JSON Lines), signed checkpoints and offline verification with the public key', () => {
  it('serves the public key to any viewer of a tenant; the intact export verifies with it alone, anchored through its last link', async () => {
    const { tenant, u } = await history();
    const key = await publicKey(u.viewer);
    expect(key).toMatchObject({ algorithm: 'ECDSA_SHA_256', curve: 'P-256', keyId: expect.stringMatching(/^sha256:[0-9a-f]{64}$/) });
    // The key id is the sha256 of the DER public key (what `openssl pkey -pubin -outform der | sha256sum` prints).
    expect(key.keyId).toBe(
      `sha256:${createHash('sha256')
        .update(createPublicKey(key.publicKeyPem).export({ type: 'spki', format: 'der' }))
        .digest('hex')}`,
    );
    expect((await t.call('GET', '/api/v1/audit/public-key')).status).toBe(401);
    // One key per deployment: another tenant's viewer pins the same.
    expect((await publicKey((await t.users(t.tenant())).viewer)).keyId).toBe(key.keyId);

    const r = await t.call('GET', '/api/v1/audit/export', { token: u.viewer });
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('application/x-ndjson');
    const rows = lines(r.body as string);
    expect(rows[0]).toMatchObject({ type: 'header', format: 'stageline-audit-export/v3', tenant });
    const entries = rows.filter((l) => l.type === 'entry');
    expect(entries.map((e) => e.seq)).toEqual(entries.map((_e, i) => i + 1));
    // No line carries anything a hash or signature does not cover (seed 003's record left the export).
    expect(entries.every((e) => Object.keys(e).join() === 'type,seq,prevHash,entryHash,hash,entry')).toBe(true);
    const checkpoints = rows.filter((l) => l.type === 'anchor');
    expect(checkpoints.at(-1)).toMatchObject({ seq: entries.length, hash: entries.at(-1).hash, tenant });
    expect(rows.at(-1)).toEqual({
      type: 'trailer',
      count: entries.length,
      firstSeq: 1,
      lastSeq: entries.length,
      headSeq: entries.length,
      checkpoints: checkpoints.length,
      next: null,
    });
    expect(verifyExport(r.body as string, key.publicKeyPem)).toMatchObject({
      ok: true,
      checked: entries.length,
      firstSeq: 1,
      lastSeq: entries.length,
      checkpoints: checkpoints.length,
      anchoredThrough: { seq: entries.length },
      keyId: key.keyId,
      tenant,
      problems: [],
    });
  });

  it('the attacker: every edit, deletion, insertion, reorder, cut, re-hash, dropped or foreign-signed checkpoint fails with its line named', async () => {
    const { u, promotion } = await history();
    const key = (await publicKey(u.viewer)).publicKeyPem;
    const intact = (await t.call('GET', '/api/v1/audit/export', { token: u.viewer })).body as string;
    const raw = intact.trimEnd().split('\n');
    const rows = raw.map((l) => JSON.parse(l) as Row);
    const lineOf = (seq: number) => rows.findIndex((r) => r.type === 'entry' && r.seq === seq) + 1;
    const cpLines = rows.flatMap((r, i) => (r.type === 'anchor' ? [i + 1] : []));
    const last = rows.filter((r) => r.type === 'entry').length;
    const problems = (t: string) => verifyExport(t, key).problems;
    expect(problems(intact)).toEqual([]);

    // (a) a record block (promoted_by, approvers, result) added to a promotion line: covered by nothing, so refused.
    const complete = rows.findIndex((r) => r.type === 'entry' && r.entry.entityId === promotion && r.entry.action === 'promotion.complete');
    const withRecord = rows.map((r, i) =>
      i === complete
        ? { ...r, record: { promotion_id: promotion, promoted_by: 'mallory', approval: { required: true, approvers: ['mallory'] }, result: 'COMPLETED' } }
        : r,
    );
    expect(problems(text(withRecord))).toEqual([
      { line: complete + 1, seq: rows[complete]!.seq, what: expect.stringMatching(/^"record": no hash or signature covers this field/) },
    ]);
    // ... and an entry's own fields (who did it) are hashed.
    const edited = [...raw];
    edited[lineOf(3) - 1] = edited[lineOf(3) - 1]!.replace(/"actorName":"[^"]+"/, '"actorName":"mallory"');
    expect(problems(edited.join('\n'))).toEqual([{ line: lineOf(3), seq: 3, what: 'the entry does not match its entryHash (it was altered)' }]);

    // (b) a deleted entry line, an inserted one, two lines swapped.
    const deleted = raw.filter((_l, i) => i !== lineOf(4) - 1);
    expect(problems(deleted.join('\n'))[0]).toMatchObject({ line: lineOf(4), seq: 5, what: expect.stringMatching(/expected link 4, found 5/) });
    const inserted = [...raw.slice(0, lineOf(3)), raw[lineOf(3) - 1]!, ...raw.slice(lineOf(3))];
    expect(problems(inserted.join('\n'))[0]).toMatchObject({ line: lineOf(3) + 1, seq: 3, what: expect.stringMatching(/expected link 4, found 3/) });
    const swapped = [...raw];
    [swapped[lineOf(2) - 1], swapped[lineOf(5) - 1]] = [swapped[lineOf(5) - 1]!, swapped[lineOf(2) - 1]!];
    expect(problems(swapped.join('\n'))[0]).toMatchObject({ line: lineOf(2), seq: 5, what: expect.stringMatching(/expected link 2, found 5/) });

    // (c) truncation: the file cut short; the tail cut with the trailer made to match.
    expect(problems(raw.slice(0, lineOf(last)).join('\n')).at(-1)!.what).toMatch(/no trailer line/);
    const signedAt = new Set(rows.filter((r) => r.type === 'anchor').map((r) => r.seq as number));
    /** The export cut after link `at`, its checkpoints past it dropped and the trailer made to match. */
    const cutAfter = (at: number) => {
      const cut = structuredClone(rows).filter((r) => !(r.type === 'entry' && r.seq > at) && !(r.type === 'anchor' && r.seq > at));
      Object.assign(cut.at(-1)!, { count: at, lastSeq: at, headSeq: at, checkpoints: cut.filter((r) => r.type === 'anchor').length });
      return cut;
    };
    const cuts = {
      unsigned: Math.max(0, ...[...Array(last).keys()].map((i) => i + 1).filter((seq) => seq < last && !signedAt.has(seq))),
      signed: Math.max(0, ...[...signedAt].filter((seq) => seq < last)),
    };
    expect(cuts.signed).toBeGreaterThan(0);
    if (cuts.unsigned) {
      // Cut where no checkpoint was signed: the new tail is named as unanchored.
      const before = Math.max(0, ...[...signedAt].filter((seq) => seq < cuts.unsigned));
      expect(problems(text(cutAfter(cuts.unsigned)))).toEqual([
        {
          line: lineOf(before + 1),
          seq: before + 1,
          what: expect.stringMatching(new RegExp(`links ${before + 1}..${cuts.unsigned} .*covered by no valid signed checkpoint`)),
        },
      ]);
    }
    // Cut on a signed checkpoint: a genuine, shorter history. The verifier says how far it is anchored, and an
    // auditor who knows the head (GET /audit/verify, or the last export) refuses it with --min-seq.
    const onSigned = cutAfter(cuts.signed);
    expect(verifyExport(text(onSigned), key)).toMatchObject({ ok: true, anchoredThrough: { seq: cuts.signed } });
    expect(verifyExport(text(onSigned), key, { minSeq: last }).problems).toEqual([
      { line: onSigned.length, what: expect.stringMatching(new RegExp(`anchored through link ${cuts.signed}, short of link ${last}`)) },
    ]);
    // The trailer's head left as it was: it says more links existed.
    onSigned.at(-1)!.headSeq = last;
    expect(problems(text(onSigned))).toEqual([
      { line: onSigned.length, what: expect.stringMatching(new RegExp(`chain had ${last} links when exported, the export ends at ${cuts.signed}`)) },
    ]);

    // (d) re-hashed from genesis after an edit, the checkpoints realigned to the new hashes: their proofs no longer lead to their signed roots.
    const realigned = rehash(rows, (es) => (es[2]!.entry.actorName = 'mallory'));
    const newHash = new Map(realigned.filter((r) => r.type === 'entry').map((r) => [r.seq, r.hash]));
    for (const r of realigned) if (r.type === 'anchor') r.hash = newHash.get(r.seq);
    const rehashed = problems(text(realigned));
    // Checkpoints before the edit (links 1 and 2) still hold; every one realigned from link 3 on is refused, by line.
    const moved = cpLines.filter((line) => rows[line - 1]!.seq >= 3);
    expect(moved.length).toBeGreaterThan(0);
    for (const line of moved)
      expect(rehashed).toContainEqual({ line, seq: rows[line - 1]!.seq, what: expect.stringMatching(/inclusion proof does not lead to its signed root/) });
    const held = Math.max(0, ...cpLines.map((line) => rows[line - 1]!.seq).filter((seq) => seq < 3));
    expect(rehashed).toContainEqual({
      line: lineOf(held + 1),
      seq: held + 1,
      what: expect.stringMatching(new RegExp(`links ${held + 1}..${last} .* covered by no valid signed checkpoint`)),
    });
    expect(rehashed).toHaveLength(moved.length + 1);
    // Re-hashed but the genuine checkpoints kept: the chain disagrees with them, the rewritten stretch named.
    const kept = rehash(rows, (es) => (es[2]!.entry.actorName = 'mallory'));
    const disagree = problems(text(kept));
    const firstMoved = moved[0]!;
    expect(disagree).toContainEqual({
      line: firstMoved,
      seq: rows[firstMoved - 1]!.seq,
      what: expect.stringMatching(
        new RegExp(
          `disagrees with this signed checkpoint: links ${held + 1}\\.\\.${rows[firstMoved - 1]!.seq} \\(lines ${lineOf(held + 1)}\\.\\.\\d+\\) were rewritten`,
        ),
      ),
    });
    expect(disagree).toContainEqual({ line: lineOf(held + 1), seq: held + 1, what: expect.stringMatching(/covered by no valid signed checkpoint/) });
    // A deletion re-hashed from genesis (every later seq moves up): the same.
    const shifted = rehash(rows, (es) => es.splice(3, 1));
    expect(verifyExport(text(shifted.filter((r) => r.type !== 'trailer')), key).ok).toBe(false);

    // (e) dropped checkpoints: all of them; the last one.
    const none = structuredClone(rows).filter((r) => r.type !== 'anchor');
    none.at(-1)!.checkpoints = 0;
    expect(problems(text(none))).toEqual([
      { line: lineOf(1), seq: 1, what: expect.stringMatching(new RegExp(`links 1..${last} .*nothing in the export is anchored`)) },
    ]);
    const copy = structuredClone(rows);
    const lastCp = copy.filter((r) => r.type === 'anchor').at(-1)!;
    const noLast = copy.filter((r) => r !== lastCp);
    noLast.at(-1)!.checkpoints -= 1;
    const before = Math.max(0, ...noLast.filter((r) => r.type === 'anchor' && r.seq < last).map((r) => r.seq));
    expect(problems(text(noLast))).toEqual([
      {
        line: lineOf(before + 1),
        seq: before + 1,
        what: expect.stringMatching(new RegExp(`links ${before + 1}..${last} .*anchored only up to link ${before}|nothing in the export is anchored`)),
      },
    ]);

    // (f) roots signed by another key (the attacker's own, after re-hashing and re-computing each root from its proof): refused against the pinned key.
    const mallory = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const forged = rehash(rows, (es) => (es[2]!.entry.actorName = 'mallory'));
    const forgedHash = new Map(forged.filter((r) => r.type === 'entry').map((r) => [r.seq, r.hash]));
    for (const r of forged) {
      if (r.type !== 'anchor') continue;
      r.hash = forgedHash.get(r.seq);
      r.root = rootFromPath(r.index, r.size, chainLeafHash(r as never), r.path);
      r.sig = sign('sha256', Buffer.from(rootMessage(r as never)), { key: mallory.privateKey, dsaEncoding: 'der' }).toString('base64url');
    }
    const foreign = problems(text(forged));
    for (const line of cpLines)
      expect(foreign).toContainEqual({
        line,
        seq: rows[line - 1]!.seq,
        what: expect.stringMatching(/signature does not verify with the pinned public key sha256:/),
      });
    // (the same file "verifies" only against the attacker's key: what the auditor pins is what counts)
    expect(verifyExport(text(forged), mallory.publicKey).ok).toBe(true);

    // (g) header and trailer: another tenant's name, an altered hashing rule, a trailer that miscounts.
    const renamed = structuredClone(rows);
    renamed[0]!.tenant = 'someone-else';
    expect(problems(text(renamed))[0]).toMatchObject({ line: 2, what: expect.stringMatching(/the entry belongs to tenant/) });
    const rule = structuredClone(rows);
    rule[0]!.hashing = 'anything';
    expect(problems(text(rule))).toEqual([{ line: 1, what: 'the hashing rule was altered' }]);
    // Lines of no known type (a prototype name too) are reported, never thrown on.
    expect(problems(text([...rows.slice(0, 2), { type: 'toString' }, ['x'], ...rows.slice(2)]))).toEqual([
      { line: 3, what: 'unknown line type "toString"' },
      { line: 4, what: 'unknown line type null' },
    ]);
    // A line re-serialised (a duplicate key a reader would see differently) is not as the service wrote it.
    const dup = [...raw];
    dup[lineOf(2) - 1] = dup[lineOf(2) - 1]!.replace('{"type":"entry",', '{"type":"entry","seq":99,');
    expect(problems(dup.join('\n'))).toContainEqual({ line: lineOf(2), seq: 2, what: expect.stringMatching(/not as the service wrote it/) });
  });

  it('pages with fromSeq (x-next-cursor) each end on a signed checkpoint and verify alone and together; time ranges; isolation, roles and bad input', async () => {
    const { tenant, u } = await history();
    const key = (await publicKey(u.viewer)).publicKeyPem;
    const whole = (await t.call('GET', '/api/v1/audit/export', { token: u.viewer })).body as string;
    const total = lines(whole).filter((l) => l.type === 'entry').length;
    let fromSeq: string | null = null;
    const pages: string[] = [];
    do {
      const r: { body: unknown; headers: Headers } = await t.call('GET', `/api/v1/audit/export?limit=3${fromSeq ? `&fromSeq=${fromSeq}` : ''}`, {
        token: u.viewer,
      });
      pages.push(r.body as string);
      fromSeq = r.headers.get('x-next-cursor');
    } while (fromSeq);
    expect(pages.length).toBeGreaterThan(1);
    for (const page of pages) {
      const rows = lines(page);
      const trailer = rows.at(-1);
      if (trailer.next) expect(trailer.count).toBeGreaterThanOrEqual(3);
      expect(rows.some((r) => r.type === 'anchor' && r.seq === trailer.lastSeq)).toBe(true);
      // Alone, a page is anchored to its end; one that says more follows is an incomplete export, and says so.
      const alone = verifyExport(page, key);
      expect(alone.anchoredThrough).toMatchObject({ seq: trailer.lastSeq });
      expect(alone.problems).toEqual(
        trailer.next ? [{ line: rows.length, what: `the export goes on at link ${trailer.next.fromSeq} but no page follows (pages were dropped)` }] : [],
      );
    }
    expect(verifyExport(pages.join(''), key)).toMatchObject({ ok: true, checked: total, firstSeq: 1, lastSeq: total });
    // A page dropped from the middle: the next one does not continue it.
    if (pages.length > 2) expect(verifyExport([pages[0], ...pages.slice(2)].join(''), key).ok).toBe(false);
    // The last page dropped: the one before promised more.
    expect(verifyExport(pages.slice(0, -1).join(''), key).problems.at(-1)!.what).toMatch(/no page follows/);

    // A time range picks a run of the chain; it verifies on its own.
    const all = lines(whole).filter((l) => l.type === 'entry');
    const mid = all[Math.floor(total / 2)].entry.at as string;
    const ranged = (await t.call('GET', `/api/v1/audit/export?from=${encodeURIComponent(mid)}`, { token: u.viewer })).body as string;
    const rangedEntries = lines(ranged).filter((l) => l.type === 'entry');
    expect(rangedEntries.every((e) => e.entry.at >= mid)).toBe(true);
    expect(rangedEntries.length).toBeLessThan(total);
    expect(verifyExport(ranged, key).ok).toBe(true);

    // Another tenant's admin sees only its own chain; no token is 401; bad input names the field.
    const other = await t.users(t.tenant());
    const theirs = (await t.call('GET', '/api/v1/audit/export', { token: other.admin })).body as string;
    expect(theirs).not.toContain(tenant);
    expect(lines(theirs).at(-1)).toMatchObject({ type: 'trailer', count: 0 });
    expect((await t.call('GET', '/api/v1/audit/export')).status).toBe(401);
    const bad = await t.call('GET', '/api/v1/audit/export?from=yesterday', { token: u.viewer });
    expect(bad.status).toBe(400);
    expect(bad.body.error.issues[0].path).toBe('query.from');
    expect((await t.call('GET', '/api/v1/audit/export?fromSeq=0', { token: u.viewer })).status).toBe(400);
  });

  it('CLI: audit public-key pins the key; audit export writes every page; audit verify --file --public-key checks it offline (exit 1 and the line when tampered)', async () => {
    const { u } = await history();
    const env = { ...process.env, STAGELINE_URL: t.url, STAGELINE_TOKEN: u.viewer };
    const cli = (...args: string[]) => cliWith(env, ...args);
    const failed = (...args: string[]) => outcome(cli(...args));
    const dir = mkdtempSync(join(tmpdir(), 'stageline-export-'));
    const file = join(dir, 'export.jsonl');
    const pem = join(dir, 'key.pem');
    const pinned = await cli('audit', 'public-key', '--output', pem);
    expect(pinned.stderr).toMatch(/ECDSA_SHA_256 P-256 key sha256:[0-9a-f]{64}/);
    expect(readFileSync(pem, 'utf8')).toBe((await publicKey(u.viewer)).publicKeyPem);
    await cli('audit', 'export', '--output', file);
    const ok = await cli('audit', 'verify', '--file', file, '--public-key', pem);
    expect(ok.stdout).toMatch(
      /export intact: \d+ entries \(links 1\.\.(\d+)\) .* checkpoint signatures verified with key sha256:[0-9a-f]{64}; anchored through link \1/,
    );
    // No key: refused with what to do (2).
    const noKey = await failed('audit', 'verify', '--file', file);
    expect(noKey.code).toBe(2);
    expect(noKey.stderr).toMatch(/--public-key <key\.pem> is needed/);
    // Tampered: exit 1, the line named.
    const tampered = readFileSync(file, 'utf8').replace(/"action":"environment\.create"/, '"action":"environment.delete"');
    writeFileSync(file, tampered);
    const err = await failed('audit', 'verify', '--file', file, '--public-key', pem);
    expect(err.code).toBe(1);
    expect(err.stdout).toMatch(/^line \d+ \(link \d+\): the entry does not match its entryHash/m);
    // Every checkpoint dropped: exit 1, the unanchored tail named.
    writeFileSync(
      file,
      readFileSync(file, 'utf8')
        .replace(/"action":"environment\.delete"/, '"action":"environment.create"')
        .split('\n')
        .filter((l) => !l.startsWith('{"type":"anchor"'))
        .join('\n')
        .replace(/"checkpoints":\d+/, '"checkpoints":0'),
    );
    const bare = await failed('audit', 'verify', '--file', file, '--public-key', pem);
    expect(bare.code).toBe(1);
    expect(bare.stdout).toMatch(/^line 2 \(link 1\): links 1\.\.\d+ \(lines 2\.\.\d+\) are covered by no valid signed checkpoint/m);
    // Another key pinned (the attacker's): every checkpoint refused.
    await cli('audit', 'export', '--output', file);
    writeFileSync(pem, String(generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({ type: 'spki', format: 'pem' })));
    const other = await failed('audit', 'verify', '--file', file, '--public-key', pem);
    expect(other.code).toBe(1);
    expect(other.stdout).toMatch(/^line \d+ \(link \d+\): the signature does not verify with the pinned public key/m);
  });
});
