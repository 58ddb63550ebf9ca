import { CHECKPOINT_MESSAGE } from './audit.ts';
import { chainPages } from './log.ts';
import { EXPORT_FORMAT, HASHING, type ExportLine } from './verify-export.ts';
import type { AnchorPublicKey, AuditEntry, ChainLink, Checkpoint } from '../kernel/model.ts';
import type { Ctx, With } from '../kernel/deps.ts';
import type { Promotion } from '../kernel/promotion-model.ts';

/**
 * Audit export (JSON Lines; the format and its offline verification: domain/audit/verify-export.ts):
 * the chain in order — each line an entry with its link — then the signed checkpoints that fall in
 * it, each with its inclusion proof and signed root (`anchor` lines), then a trailer. The export
 * reaches the chain's newest signed checkpoint (links linked since, at most one anchor interval's,
 * come with a later export), and a page ends at a signed checkpoint, so each page, and the pages
 * together, verify on their own with the public key alone.
 */

/** Links per response (a Lambda response is buffered: 6 MB at most); `next` continues. */
export const EXPORT_PAGE = 1000;
/** How far a page may run past its size (or `to`) to end at a signed checkpoint: an anchor signs every interval. */
const ANCHOR_REACH = 1000;

/** The audit record of a promotion (attached to the promoted artifact in its registries; not in the export: it is no part of the chain). */
export interface ArtifactAuditRecord {
  promotion_id: string;
  artifact: string;
  source_env: string;
  target_env: string;
  promoted_by: string;
  approval: { required: boolean; approvers: string[] };
  validation_gates: Record<string, string>;
  result: string;
}

export interface ExportQuery {
  from?: string;
  to?: string;
  fromSeq?: number;
  limit?: number;
}

/**
 * The keys a tenant's verifier pins: the deployment's, which signs the Merkle anchor over every chain (the same for
 * every tenant: the top-level fields, as an auditor pins it to verify an export), and the caller's tenant's own
 * attestation key (`attestation`: its promotions' attestations verify with it and no other; null until its first).
 */
export async function auditPublicKey(
  deps: With<'anchor'>,
  ctx: Ctx,
): Promise<AnchorPublicKey & { signedMessage: string; tenant: string; attestation: (AnchorPublicKey & { tenant: string }) | null }> {
  const tenant = ctx.principal.tenant;
  const [anchor, own] = await Promise.all([deps.anchor.publicKey(), deps.anchor.tenantKey(tenant)]);
  return { ...anchor, signedMessage: CHECKPOINT_MESSAGE, tenant, attestation: own ? { ...own, tenant } : null };
}

/** The audit record of a promotion (also attached to the promoted artifact in its registries). */
export function artifactAuditRecord(p: Promotion | undefined): ArtifactAuditRecord | null {
  if (!p) return null;
  return {
    promotion_id: p.id,
    artifact:
      p.subject.type === 'artifact'
        ? `${p.subject.name}@${p.subject.version}`
        : p.subject.type === 'bundle'
          ? `bundle:${p.subject.name}@${p.subject.digest} (${p.subject.members.map((m) => `${m.name}@${m.version}`).join(', ')})`
          : `config@${p.subject.sourceSnapshot.seq}`,
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
 * The page then goes on to the next signed checkpoint (the chain head is one), so it verifies alone.
 */
export async function exportAudit(deps: With<'anchor'>, ctx: Ctx, q: ExportQuery): Promise<{ lines: ExportLine[]; next: number | null }> {
  const { tenant } = ctx.principal;
  const limit = Math.min(q.limit ?? EXPORT_PAGE, EXPORT_PAGE);
  const from = q.from ? new Date(q.from).toISOString() : undefined;
  const to = q.to ? new Date(q.to).toISOString() : undefined;
  // The chain as of its head: the head's pending links included, links appended after it left to the next export.
  const listed = await deps.anchor.list(tenant);
  const head = await deps.store.chainHead(tenant);
  const headSeq = head?.seq ?? 0;
  const signed = new Map<number, Checkpoint[]>();
  for (const c of listed) {
    if (c.seq > headSeq) continue;
    const at = signed.get(c.seq) ?? [];
    if (!at.some((o) => o.hash === c.hash && o.sig === c.sig && o.at === c.at && o.proof.root === c.proof.root)) at.push(c);
    signed.set(c.seq, at);
  }
  // What can be exported: the chain up to its newest signed checkpoint (no signature covers the links after it yet).
  const anchoredTop = Math.max(0, ...signed.keys());
  const picked: { link: ChainLink; entry: AuditEntry }[] = [];
  let next: number | null = null;
  let started = false;
  let reach = 0;
  scan: for await (const page of chainPages(deps, tenant, head, Math.min(limit + 1, 200), q.fromSeq ?? 1)) {
    if (!page.links.length) continue;
    const entries = await deps.store.getAuditEntries(
      tenant,
      page.links.map((l) => l.entry),
    );
    for (const link of page.links) {
      if (link.seq > anchoredTop) break scan;
      const stored = entries.get(link.entry);
      const at = stored?.entry.at ?? link.entry.split('#')[0]!;
      if (!started && from && at < from) continue;
      const pastTo = !!to && at > to;
      if (pastTo || picked.length >= limit) {
        const last = picked.at(-1);
        if (!last || signed.has(last.link.seq) || reach >= ANCHOR_REACH) {
          next = pastTo ? null : link.seq;
          break scan;
        }
        reach++;
      }
      started = true;
      // A removed entry is exported as a link without its entry: the verifier reports it.
      picked.push({ link, entry: stored?.entry ?? (null as unknown as AuditEntry) });
    }
  }

  const first = picked[0]?.link.seq ?? null;
  const last = picked.at(-1)?.link.seq ?? null;
  const checkpoints =
    first === null
      ? []
      : [...signed.entries()]
          .filter(([seq]) => seq >= first && seq <= last!)
          .sort(([a], [b]) => a - b)
          .flatMap(([, cs]) => cs);
  const lines: ExportLine[] = [
    {
      type: 'header',
      format: EXPORT_FORMAT,
      tenant,
      exportedAt: deps.clock().toISOString(),
      from: q.from ?? null,
      to: q.to ?? null,
      fromSeq: first ?? q.fromSeq ?? 1,
      hashing: HASHING,
      signing: CHECKPOINT_MESSAGE,
    },
    ...picked.map(({ link, entry }): ExportLine => ({
      type: 'entry',
      seq: link.seq,
      prevHash: link.prevHash,
      entryHash: link.entryHash,
      hash: link.hash,
      entry,
    })),
    ...checkpoints.map((c): ExportLine => ({
      type: 'anchor',
      tenant: c.tenant,
      seq: c.seq,
      hash: c.hash,
      root: c.proof.root,
      size: c.proof.size,
      index: c.proof.index,
      path: c.proof.path,
      at: c.at,
      sig: c.sig,
    })),
    // headSeq: the chain as exported, up to its newest signed checkpoint.
    {
      type: 'trailer',
      count: picked.length,
      firstSeq: first,
      lastSeq: last,
      headSeq: anchoredTop,
      checkpoints: checkpoints.length,
      next: next === null ? null : { fromSeq: next },
    },
  ];
  return { lines, next };
}

export const toJsonLines = (lines: ExportLine[]) => lines.map((l) => JSON.stringify(l)).join('\n') + '\n';
