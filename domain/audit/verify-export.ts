import type { KeyObject } from 'node:crypto';
import { canonicalJson } from '../kernel/canonical.ts';
import { CHECKPOINT_MESSAGE, checkpointPublicKey, describePublicKey, entryHash, GENESIS_HASH, linkHash, proofProblem, rootSignatureValid } from './audit.ts';
import type { AuditEntry, Checkpoint } from '../kernel/model.ts';

/**
 * The audit export format and its offline verification: an auditor checks the chain with nothing
 * but the service's public key (GET /api/v1/audit/public-key, pinned once). An export (written by
 * domain/audit/export.ts) is one or more pages, each a header, the chain in order — each line an
 * entry with its link (seq, prevHash, entryHash, hash) — then the signed checkpoints that fall in
 * it (`anchor` lines), then a trailer. Every field of every line is covered: an entry by its
 * entryHash, a link by its hash, and the chain up to a checkpoint by its inclusion proof, which
 * leads from the leaf of its own (tenant, seq, hash) to the Merkle root it carries, and that
 * root's ECDSA signature (rootMessage: root, size, time). Header and trailer fields are checked
 * against what is signed (tenant, seq range, counts, times) or must be the known constants.
 * `verifyExport` re-hashes every entry and link exactly as the service does
 * (domain/audit/audit.ts), checks each checkpoint's proof and signature with the pinned key, and
 * requires one at or after the last entry: a tail no signature covers is reported, line by line.
 * It depends on nothing but the hashing and signature rules: no store, no service.
 */
export const EXPORT_FORMAT = 'stageline-audit-export/v3';

/** How entries and links are hashed: what an export's header states as `hashing` (a verifier refuses an export whose rule differs). */
export const HASHING =
  'entryHash = sha256(canonical JSON of entry); hash = sha256(canonical JSON of {seq, entry: "<at>#<id>", entryHash, prevHash}); canonical JSON = keys sorted, no spaces; the first link of a chain has prevHash "0"×64';

/** A line of an export (JSON Lines), as the service writes it. */
export type ExportLine =
  | {
      type: 'header';
      format: string;
      tenant: string;
      exportedAt: string;
      from: string | null;
      to: string | null;
      fromSeq: number;
      hashing: string;
      signing: string;
    }
  | { type: 'entry'; seq: number; prevHash: string; entryHash: string; hash: string; entry: AuditEntry }
  | { type: 'anchor'; tenant: string; seq: number; hash: string; root: string; size: number; index: number; path: string[]; at: string; sig: string }
  | { type: 'trailer'; count: number; firstSeq: number | null; lastSeq: number | null; headSeq: number; checkpoints: number; next: { fromSeq: number } | null };

/** The fields of each line, in the order the service writes them: anything else is covered by nothing. */
const FIELDS: Record<ExportLine['type'], string[]> = {
  header: ['type', 'format', 'tenant', 'exportedAt', 'from', 'to', 'fromSeq', 'hashing', 'signing'],
  entry: ['type', 'seq', 'prevHash', 'entryHash', 'hash', 'entry'],
  anchor: ['type', 'tenant', 'seq', 'hash', 'root', 'size', 'index', 'path', 'at', 'sig'],
  trailer: ['type', 'count', 'firstSeq', 'lastSeq', 'headSeq', 'checkpoints', 'next'],
};

export interface ExportProblem {
  /** 1-based line of the export */
  line: number;
  seq?: number;
  what: string;
}

export interface ExportVerification {
  ok: boolean;
  /** entries whose hashes and links were checked */
  checked: number;
  firstSeq: number | null;
  lastSeq: number | null;
  /** checkpoints whose signature verified with the pinned key and that agree with the chain */
  checkpoints: number;
  /** the last link a valid signature covers (with the time it was signed), null when none */
  anchoredThrough: { seq: number; at: string } | null;
  /** the pinned key's id (`sha256:` of its DER SubjectPublicKeyInfo) */
  keyId: string;
  tenant: string | null;
  problems: ExportProblem[];
}

const isTime = (v: unknown): v is string => typeof v === 'string' && !Number.isNaN(Date.parse(v));
const isSeq = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 1;

/**
 * Verifies an export offline with the pinned public key (pure: no AWS, no network). Several pages
 * may be concatenated in order: each continues the previous one's chain. A tampered entry, link,
 * order, field, a missing or added line, an unknown format or line type, a checkpoint without its
 * inclusion proof or whose signature does not verify, one that disagrees with the chain, and a tail
 * no valid signature covers are reported with their lines.
 * A cut that ends exactly on a signed checkpoint leaves a genuine, shorter history: `anchoredThrough`
 * says how far it goes, and `minSeq` (the head the auditor knows of) refuses one that stops short.
 */
export function verifyExport(text: string, publicKey: string | Buffer | KeyObject, opts: { minSeq?: number } = {}): ExportVerification {
  const key = checkpointPublicKey(publicKey);
  // Values read from the file are shown quoted: a message never carries its control characters to a terminal.
  const show = (v: unknown) => JSON.stringify(v) ?? 'undefined';
  const { keyId } = describePublicKey(key);
  const problems: ExportProblem[] = [];
  const report = (line: number, what: string, seq?: unknown) => problems.push(isSeq(seq) ? { line, seq, what } : { line, what });
  const hashAt = new Map<number, { hash: string; line: number }>();
  const checkpoints: { line: number; c: Checkpoint }[] = [];
  let prev: { seq: number; hash: string } | null = null;
  let checked = 0;
  let firstSeq: number | null = null;
  let tenant: string | null = null;
  let sawHeader = false;
  let sawTrailer = false;
  let page: {
    line: number;
    header: Extract<ExportLine, { type: 'header' }>;
    count: number;
    first: number | null;
    last: number | null;
    checkpoints: number;
    closed: boolean;
    latestSigned: string | null;
  } | null = null;
  let promised: { line: number; fromSeq: number } | null = null;
  const rows = text.split('\n');
  let lastLine = 1;
  rows.forEach((text, i) => {
    const line = i + 1;
    const raw = text.endsWith('\r') ? text.slice(0, -1) : text;
    if (!raw.trim()) return;
    lastLine = line;
    let row: ExportLine;
    try {
      row = JSON.parse(raw) as ExportLine;
    } catch {
      return report(line, 'not a JSON line');
    }
    if (!row || typeof row !== 'object' || Array.isArray(row) || typeof row.type !== 'string' || !Object.hasOwn(FIELDS, row.type))
      return report(line, `unknown line type ${canonicalJson((row as { type?: unknown } | null)?.type ?? null)}`);
    const fields = FIELDS[row.type];
    const extra = Object.keys(row).filter((k) => !fields.includes(k));
    const missing = fields.filter((k) => !(k in row));
    if (extra.length)
      report(
        line,
        `${extra.map((k) => JSON.stringify(k)).join(', ')}: no hash or signature covers ${extra.length > 1 ? 'these fields' : 'this field'} (not part of a Stageline export)`,
        row.type === 'entry' ? row.seq : undefined,
      );
    if (missing.length) report(line, `missing ${missing.join(', ')}`);
    // Byte for byte as the service wrote it: a duplicate key or a re-serialised line could show a reader something else.
    if (!extra.length && !missing.length && JSON.stringify(row) !== raw)
      report(line, 'the line is not as the service wrote it (duplicate keys, re-ordered fields or extra spaces)', row.type === 'entry' ? row.seq : undefined);
    if (row.type !== 'header' && row.type !== 'trailer' && (!page || page.closed)) report(line, 'a line outside a page (no header before it)');
    switch (row.type) {
      case 'header':
        if (page && !page.closed) report(line, `a header inside the page that starts at line ${page.line} (its trailer is missing)`);
        // One format, one signing rule: any other format is refused as such.
        if (row.format !== EXPORT_FORMAT) report(line, `unknown format ${show(row.format)} (expected ${EXPORT_FORMAT})`);
        else if (row.signing !== CHECKPOINT_MESSAGE) report(line, 'the signing rule was altered');
        if (row.hashing !== HASHING) report(line, 'the hashing rule was altered');
        if (!isTime(row.exportedAt)) report(line, 'exportedAt is not a time');
        if (tenant !== null && row.tenant !== tenant) report(line, `a page of tenant ${JSON.stringify(row.tenant)} in an export of ${JSON.stringify(tenant)}`);
        tenant ??= typeof row.tenant === 'string' ? row.tenant : null;
        if (promised && row.fromSeq !== promised.fromSeq)
          report(line, `the previous page continues at ${show(promised.fromSeq)}, this one starts at ${show(row.fromSeq)}`);
        promised = null;
        page = { line, header: row, count: 0, first: null, last: null, checkpoints: 0, closed: false, latestSigned: null };
        sawHeader = true;
        return;
      case 'entry': {
        const seq = row.seq;
        if (!isSeq(seq)) return report(line, 'seq is not a positive integer');
        if (page && !page.closed) {
          if (page.first === null && seq !== page.header.fromSeq)
            report(line, `the header says the page starts at ${show(page.header.fromSeq)}, its first link is ${seq}`, seq);
          page.first ??= seq;
          page.last = seq;
          page.count++;
        }
        if (prev && seq !== prev.seq + 1) report(line, `expected link ${prev.seq + 1}, found ${seq} (a line is missing, added or out of order)`, seq);
        else if (!prev && seq === 1 && row.prevHash !== GENESIS_HASH) report(line, 'the first link does not start from the genesis hash', seq);
        if (prev && row.prevHash !== prev.hash) report(line, 'prevHash does not match the previous link', seq);
        if (!row.entry || typeof row.entry !== 'object') report(line, 'the entry of this link is missing (removed)', seq);
        else {
          if (row.entry.tenant !== tenant) report(line, `the entry belongs to tenant ${JSON.stringify(row.entry.tenant)}`, seq);
          if (entryHash(row.entry) !== row.entryHash) report(line, 'the entry does not match its entryHash (it was altered)', seq);
          const ref = `${row.entry.at}#${row.entry.id}`;
          if (linkHash({ seq, entry: ref, entryHash: row.entryHash, prevHash: row.prevHash }) !== row.hash)
            report(line, 'the link does not match its hash (it was altered)', seq);
        }
        firstSeq ??= seq;
        if (!hashAt.has(seq)) hashAt.set(seq, { hash: row.hash, line });
        prev = { seq, hash: row.hash };
        checked++;
        return;
      }
      case 'anchor':
        if (page && !page.closed) page.checkpoints++;
        checkpoints.push({
          line,
          c: {
            tenant: row.tenant,
            seq: row.seq,
            hash: row.hash,
            at: row.at,
            sig: row.sig,
            proof: { root: row.root, size: row.size, index: row.index, path: row.path },
          },
        });
        if (page && !page.closed && isTime(row.at) && (page.latestSigned === null || row.at > page.latestSigned)) page.latestSigned = row.at;
        return;
      case 'trailer': {
        sawTrailer = true;
        if (!page || page.closed) return report(line, 'a trailer without its header');
        page.closed = true;
        const lastSeq = page.last;
        if (row.count !== page.count) report(line, `the trailer counts ${show(row.count)} entries, the page has ${page.count} (lines were cut or added)`);
        if (row.firstSeq !== page.first || row.lastSeq !== lastSeq)
          report(
            line,
            `the trailer says links ${show(row.firstSeq)}..${show(row.lastSeq)}, the page holds ${page.first}..${lastSeq} (lines were cut or added)`,
          );
        if (row.checkpoints !== page.checkpoints)
          report(line, `the trailer counts ${show(row.checkpoints)} checkpoints, the page has ${page.checkpoints} (checkpoint lines were dropped or added)`);
        if (!Number.isSafeInteger(row.headSeq) || (lastSeq !== null && row.headSeq < lastSeq))
          report(line, `the trailer says the chain had ${show(row.headSeq)} links, the page goes to ${lastSeq}`);
        else if (row.next === null && page.header.to === null && lastSeq !== null && row.headSeq !== lastSeq)
          report(line, `the chain had ${show(row.headSeq)} links when exported, the export ends at ${lastSeq} with no next page (lines were cut)`);
        if (row.next !== null && (typeof row.next !== 'object' || row.next.fromSeq !== (lastSeq ?? 0) + 1))
          report(line, `the next page must start at ${(lastSeq ?? 0) + 1}`);
        if (row.next) promised = { line, fromSeq: row.next.fromSeq };
        if (page.latestSigned && isTime(page.header.exportedAt) && page.header.exportedAt < page.latestSigned)
          report(page.line, `exported at ${show(page.header.exportedAt)}, before the checkpoint it holds was signed (${show(page.latestSigned)})`);
        return;
      }
    }
  });

  // Every checkpoint: its signature with the pinned key, then its agreement with the chain.
  let anchoredThrough: { seq: number; at: string } | null = null;
  let agreed = 0;
  let valid = 0;
  const ordered = [...checkpoints].sort((a, b) => a.c.seq - b.c.seq || a.line - b.line);
  for (const { line, c } of ordered) {
    if (tenant !== null && c.tenant !== tenant) {
      report(line, `a checkpoint of tenant ${JSON.stringify(c.tenant)} in an export of ${JSON.stringify(tenant)}`, c.seq);
      continue;
    }
    // The proof must lead from this chain's own leaf to the root, and the root's signature hold.
    const wrong = proofProblem(c);
    if (wrong) {
      report(line, `${wrong}: this checkpoint is not anchored by the root it names`, c.seq);
      continue;
    }
    if (!rootSignatureValid(key, { root: c.proof.root, size: c.proof.size, at: c.at, sig: c.sig })) {
      report(line, `the signature does not verify with the pinned public key ${keyId} (the root was altered, forged or signed by another key)`, c.seq);
      continue;
    }
    const h = hashAt.get(c.seq);
    if (h === undefined) report(line, 'a checkpoint outside the exported links', c.seq);
    else if (h.hash !== c.hash) {
      const from = Math.max(agreed + 1, firstSeq ?? 1);
      report(
        line,
        `the chain at ${show(c.seq)} disagrees with this signed checkpoint: links ${from}..${show(c.seq)} (lines ${hashAt.get(from)?.line ?? '?'}..${h.line}) were rewritten`,
        c.seq,
      );
    } else {
      valid++;
      agreed = Math.max(agreed, c.seq);
      if (!anchoredThrough || c.seq > anchoredThrough.seq) anchoredThrough = { seq: c.seq, at: c.at };
    }
  }
  const lastSeq = (prev as { seq: number } | null)?.seq ?? null;
  if (lastSeq !== null && (anchoredThrough?.seq ?? 0) < lastSeq) {
    const from = Math.max((anchoredThrough?.seq ?? 0) + 1, firstSeq ?? 1);
    const first = hashAt.get(from)?.line ?? 1;
    report(
      first,
      `links ${from}..${lastSeq} (lines ${first}..${hashAt.get(lastSeq)?.line ?? '?'}) are covered by no valid signed checkpoint: ${anchoredThrough ? `the export is anchored only up to link ${anchoredThrough.seq}` : 'nothing in the export is anchored'}`,
      from,
    );
  }
  if (opts.minSeq !== undefined && (anchoredThrough?.seq ?? 0) < opts.minSeq)
    report(
      lastLine,
      `the export is anchored through link ${anchoredThrough?.seq ?? 0}, short of link ${opts.minSeq} that the chain is known to reach (links were cut)`,
    );
  if (!sawHeader) report(1, 'no header line: not a Stageline audit export');
  if (!sawTrailer || (page && !(page as { closed: boolean }).closed)) report(lastLine, 'no trailer line: the export was cut off');
  if (promised)
    report(
      (promised as { line: number }).line,
      `the export goes on at link ${show((promised as { fromSeq: number }).fromSeq)} but no page follows (pages were dropped)`,
    );
  problems.sort((a, b) => a.line - b.line);
  return { ok: problems.length === 0, checked, firstSeq, lastSeq, checkpoints: valid, anchoredThrough, keyId, tenant, problems };
}
