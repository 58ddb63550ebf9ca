import { canonicalJson } from './canonical.ts';
import { entryHash, GENESIS_HASH, linkHash } from './audit.ts';
import { chainPages } from './audit-log.ts';
import { requireRole } from './auth.ts';
import type { AuditEntry, ChainLink, Checkpoint } from './model.ts';
import type { Ctx, Deps } from './ports.ts';
import type { Promotion } from './promotion/model.ts';

/**
 * Audit export (JSON Lines) and its offline verification: an auditor checks the chain without
 * access to the service. The export is the chain in order — each line an entry with its link
 * (seq, prevHash, entryHash, hash) — then the signed checkpoints that fall in it, then a trailer.
 * `verifyExport` re-hashes every entry and link exactly as the service does (domain/audit.ts),
 * checks that each link follows the previous one, and that every checkpoint in range names the
 * chain's hash at its seq. The checkpoints' MACs need the signing key (KMS on AWS), so offline
 * they are compared, not authenticated: `GET /api/v1/audit/verify` authenticates them online.
 */
export const EXPORT_FORMAT = 'stageline-audit-export/v1';
/** Links per response (a Lambda response is buffered: 6 MB at most); `next` continues. */
export const EXPORT_PAGE = 1000;

export const HASHING =
  'entryHash = sha256(canonical JSON of entry); hash = sha256(canonical JSON of {seq, entry: "<at>#<id>", entryHash, prevHash}); canonical JSON = keys sorted, no spaces; the first link of a chain has prevHash "0"×64';

/** Seed 003's audit record, readable from each promotion line of the export (derived: not hashed). */
export interface SeedAuditRecord {
  promotion_id: string;
  artifact: string;
  source_env: string;
  target_env: string;
  promoted_by: string;
  approval: { required: boolean; approvers: string[] };
  validation_gates: Record<string, string>;
  result: string;
}

export type ExportLine =
  | { type: 'header'; format: string; tenant: string; exportedAt: string; from: string | null; to: string | null; fromSeq: number; hashing: string }
  | { type: 'entry'; seq: number; prevHash: string; entryHash: string; hash: string; entry: AuditEntry; record: SeedAuditRecord | null }
  | { type: 'checkpoint'; tenant: string; seq: number; hash: string; at: string; mac: string }
  | { type: 'trailer'; count: number; firstSeq: number | null; lastSeq: number | null; headSeq: number; next: { fromSeq: number } | null };

export interface ExportQuery {
  from?: string;
  to?: string;
  fromSeq?: number;
  limit?: number;
}

/** Seed 003's audit record of a promotion (also attached to the promoted artifact in its registries). */
export function seedRecord(p: Promotion | undefined): SeedAuditRecord | null {
  if (!p) return null;
  return {
    promotion_id: p.id,
    artifact: p.subject.type === 'artifact' ? `${p.subject.name}@${p.subject.version}` : `config@${p.subject.sourceSnapshot.seq}`,
    source_env: p.sourceEnvironment,
    target_env: p.targetEnvironment,
    promoted_by: p.requestedBy.name,
    approval: { required: p.policy.requiresApproval, approvers: p.approvedBy },
    validation_gates: Object.fromEntries((p.gates ?? []).map((g) => [g.gate, g.verdict])),
    result: p.status,
  };
}

/**
 * One page of the export, in chain order. `from`/`to` (entry times) pick the first and last link
 * of the page; everything linked between them is exported too, so the page is one unbroken run.
 */
export async function exportAudit(deps: Deps, ctx: Ctx, q: ExportQuery): Promise<{ lines: ExportLine[]; next: number | null }> {
  requireRole(ctx.principal, 'viewer');
  const { tenant } = ctx.principal;
  const limit = Math.min(q.limit ?? EXPORT_PAGE, EXPORT_PAGE);
  const from = q.from ? new Date(q.from).toISOString() : undefined;
  const to = q.to ? new Date(q.to).toISOString() : undefined;
  // The chain as of its head: the head's pending links included, links appended after it left to the next export.
  const head = await deps.store.chainHead(tenant);
  const headSeq = head?.seq ?? 0;
  const picked: { link: ChainLink; entry: AuditEntry }[] = [];
  let next: number | null = null;
  let started = false;
  scan: for await (const page of chainPages(deps, tenant, head, Math.min(limit + 1, 200), q.fromSeq ?? 1)) {
    if (!page.links.length) continue;
    const entries = await deps.store.getAuditEntries(tenant, page.links.map((l) => l.entry));
    for (const link of page.links) {
      const stored = entries.get(link.entry);
      const at = stored?.entry.at ?? link.entry.split('#')[0]!;
      if (!started && from && at < from) continue;
      if (to && at > to) break scan;
      started = true;
      if (picked.length === limit) {
        next = link.seq;
        break scan;
      }
      // A removed entry is exported as a link without its entry: the verifier reports it.
      picked.push({ link, entry: stored?.entry ?? (null as unknown as AuditEntry) });
    }
  }

  const promotions = new Map<string, Promotion | undefined>();
  for (const { entry } of picked) {
    if (entry?.entityType === 'promotion' && !promotions.has(entry.entityId)) promotions.set(entry.entityId, (await deps.store.getPromotion(tenant, entry.entityId)) ?? undefined);
  }
  const first = picked[0]?.link.seq ?? null;
  const last = picked.at(-1)?.link.seq ?? null;
  const checkpoints: Checkpoint[] = first === null ? [] : (await deps.anchor.list(tenant)).filter((c) => c.seq >= first && c.seq <= last!).sort((a, b) => a.seq - b.seq);
  const lines: ExportLine[] = [
    { type: 'header', format: EXPORT_FORMAT, tenant, exportedAt: deps.clock().toISOString(), from: q.from ?? null, to: q.to ?? null, fromSeq: first ?? q.fromSeq ?? 1, hashing: HASHING },
    ...picked.map(({ link, entry }): ExportLine => ({
      type: 'entry',
      seq: link.seq,
      prevHash: link.prevHash,
      entryHash: link.entryHash,
      hash: link.hash,
      entry,
      record: entry?.entityType === 'promotion' ? seedRecord(promotions.get(entry.entityId)) : null,
    })),
    ...checkpoints.map((c): ExportLine => ({ type: 'checkpoint', tenant: c.tenant, seq: c.seq, hash: c.hash, at: c.at, mac: c.mac })),
    { type: 'trailer', count: picked.length, firstSeq: first, lastSeq: last, headSeq, next: next === null ? null : { fromSeq: next } },
  ];
  return { lines, next };
}

export const toJsonLines = (lines: ExportLine[]) => lines.map((l) => JSON.stringify(l)).join('\n') + '\n';

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
  /** checkpoints compared with the chain (their MACs need the key: verify them online) */
  checkpoints: number;
  tenant: string | null;
  problems: ExportProblem[];
}

/**
 * Verifies an export offline (pure: no AWS, no network). Several pages may be concatenated in
 * order: each continues the previous one's chain. A tampered entry, link, order, a missing
 * line or a checkpoint that disagrees with the chain is reported with its line.
 */
export function verifyExport(text: string): ExportVerification {
  const problems: ExportProblem[] = [];
  const hashAt = new Map<number, string>();
  const checkpoints: { line: number; seq: number; hash: string }[] = [];
  let prev: { seq: number; hash: string } | null = null;
  let checked = 0;
  let firstSeq: number | null = null;
  let tenant: string | null = null;
  let sawHeader = false;
  let sawTrailer = false;
  const rows = text.split('\n');
  rows.forEach((raw, i) => {
    const line = i + 1;
    if (!raw.trim()) return;
    let row: ExportLine;
    try {
      row = JSON.parse(raw) as ExportLine;
    } catch {
      problems.push({ line, what: 'not a JSON line' });
      return;
    }
    switch (row.type) {
      case 'header':
        if (row.format !== EXPORT_FORMAT) problems.push({ line, what: `unknown format ${JSON.stringify(row.format)} (expected ${EXPORT_FORMAT})` });
        if (tenant && row.tenant !== tenant) problems.push({ line, what: `a page of tenant ${row.tenant} in an export of ${tenant}` });
        tenant ??= row.tenant;
        sawHeader = true;
        return;
      case 'entry': {
        const seq = row.seq;
        if (prev && seq !== prev.seq + 1) problems.push({ line, seq, what: `expected link ${prev.seq + 1}, found ${seq} (a line is missing or out of order)` });
        else if (!prev && seq === 1 && row.prevHash !== GENESIS_HASH) problems.push({ line, seq, what: 'the first link does not start from the genesis hash' });
        if (prev && row.prevHash !== prev.hash) problems.push({ line, seq, what: 'prevHash does not match the previous link' });
        if (!row.entry) problems.push({ line, seq, what: 'the entry of this link is missing (removed)' });
        else {
          if (row.entry.tenant !== tenant) problems.push({ line, seq, what: `the entry belongs to tenant ${row.entry.tenant}` });
          if (entryHash(row.entry) !== row.entryHash) problems.push({ line, seq, what: 'the entry does not match its entryHash (it was altered)' });
          const ref = `${row.entry.at}#${row.entry.id}`;
          if (linkHash({ seq, entry: ref, entryHash: row.entryHash, prevHash: row.prevHash }) !== row.hash) problems.push({ line, seq, what: 'the link does not match its hash (it was altered)' });
        }
        firstSeq ??= seq;
        hashAt.set(seq, row.hash);
        prev = { seq, hash: row.hash };
        checked++;
        return;
      }
      case 'checkpoint':
        checkpoints.push({ line, seq: row.seq, hash: row.hash });
        return;
      case 'trailer':
        sawTrailer = true;
        if (row.lastSeq !== null && prev && row.lastSeq !== prev.seq) problems.push({ line, what: `the trailer says the page ends at ${row.lastSeq}, the lines end at ${prev.seq} (lines were cut)` });
        return;
      default:
        problems.push({ line, what: `unknown line type ${canonicalJson((row as { type?: unknown }).type ?? null)}` });
    }
  });
  for (const c of checkpoints) {
    const h = hashAt.get(c.seq);
    if (h === undefined) problems.push({ line: c.line, seq: c.seq, what: 'a checkpoint outside the exported links' });
    else if (h !== c.hash) problems.push({ line: c.line, seq: c.seq, what: `the chain at ${c.seq} disagrees with this signed checkpoint (the chain was rewritten)` });
  }
  if (!sawHeader) problems.push({ line: 1, what: 'no header line: not a Stageline audit export' });
  if (!sawTrailer) problems.push({ line: rows.length, what: 'no trailer line: the export was cut off' });
  problems.sort((a, b) => a.line - b.line);
  return { ok: problems.length === 0, checked, firstSeq, lastSeq: (prev as { seq: number } | null)?.seq ?? null, checkpoints: checkpoints.length, tenant, problems };
}
