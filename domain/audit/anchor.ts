import { chainLeafHash } from './audit.ts';
import { merkleTree } from './merkle.ts';
import type { Checkpoint, SignedRoot } from '../kernel/model.ts';
import type { Deps, Ports, With } from '../kernel/deps.ts';

/**
 * Anchoring many chains with one signature, as transparency logs do: at most once per
 * interval, and only when some tenant's chain head moved since the last anchor, the stream
 * consumer builds ONE Merkle tree over the heads that moved (leaf = chainLeaf(tenant, seq, hash),
 * ordered by tenant; domain/audit/merkle.ts), signs its root ONCE (rootMessage: root, size, time)
 * and appends, under each tenant, that chain's checkpoint: its (seq, hash), the root with its time
 * and signature, and its inclusion proof. Each record carries the signed root, so a tenant's
 * verify and export read only the tenant's own records, and no separate root object is written:
 * with one chain moving, one signature and one object per interval.
 *
 * Why only the heads that moved, not every tenant's: an unchanged head's earlier checkpoint still
 * holds (its chain has not moved past it), so a new leaf for it would anchor nothing new yet cost
 * its record, and finding every tenant's head would mean scanning the table.
 *
 * Cost (KMS Sign $0.15 / 10,000; S3 PUT $0.005 / 1,000): one signature per interval at most, per
 * consumer instance (one per active stream shard), and one record per chain anchored —
 * `anchorCosts` computes the figures. The trade-off: a link is signed up to one interval after it
 * is linked (what /audit/verify reports as `unanchored` and `anchorLagSeconds`); until then it is
 * in the table only, as an entry not linked yet is.
 */

/** A chain's head as it is anchored. */
export interface AnchoredHead {
  tenant: string;
  seq: number;
  hash: string;
}

/** Leaves per signed root: an S3 record names everything in its key (≤ 1,024 bytes), its audit path included (64 hex per level: 9 levels at most). */
export const MAX_LEAVES = 512;

/** What one anchor did: the roots it signed (one, unless more than MAX_LEAVES chains moved) and the checkpoints it appended. */
export interface AnchorRun {
  roots: SignedRoot[];
  checkpoints: Checkpoint[];
}

/**
 * Anchors these heads now: one tree (per MAX_LEAVES chains), one signature, then each chain's
 * checkpoint with its proof. Throws when a signature or a record fails: the caller keeps the heads
 * to anchor again (a record written twice is the same record).
 */
export async function anchorHeads(deps: Pick<Ports, 'anchor'>, heads: AnchoredHead[], now: Date): Promise<AnchorRun> {
  // One leaf per tenant (the newest head given), in tenant order: a leaf's index says nothing but its place.
  const byTenant = new Map<string, AnchoredHead>();
  for (const h of heads) if ((byTenant.get(h.tenant)?.seq ?? -1) < h.seq) byTenant.set(h.tenant, h);
  const sorted = [...byTenant.values()].sort((a, b) => (a.tenant < b.tenant ? -1 : a.tenant > b.tenant ? 1 : 0));
  const at = now.toISOString();
  const run: AnchorRun = { roots: [], checkpoints: [] };
  for (let i = 0; i < sorted.length; i += MAX_LEAVES) {
    const chunk = sorted.slice(i, i + MAX_LEAVES);
    const { root, paths } = merkleTree(chunk.map(chainLeafHash));
    const sig = await deps.anchor.sign({ root, size: chunk.length, at });
    const checkpoints = chunk.map((h, index): Checkpoint => ({
      tenant: h.tenant,
      seq: h.seq,
      hash: h.hash,
      at,
      sig,
      proof: { root, size: chunk.length, index, path: paths[index]! },
    }));
    await Promise.all(checkpoints.map((c) => deps.anchor.append(c)));
    run.roots.push({ root, size: chunk.length, at, sig });
    run.checkpoints.push(...checkpoints);
  }
  return run;
}

const key = (h: { seq: number; hash: string }) => `${h.seq}:${h.hash}`;

export interface AnchorerOptions {
  /** the anchor interval, ms (read each time: a function may read it from its environment) */
  intervalMs: number | (() => number);
  /** heads remembered per tenant before the memory starts again (bounded, as a warm consumer's) */
  capacity?: number;
  /** a timed anchor that failed (its heads are kept for the next one) */
  onError?: (err: unknown) => void;
  now?: () => number;
}

/**
 * The stream consumer's anchoring, one per process (a Lambda container): which heads moved since
 * the last anchor, when that was, and which heads this process wrote or checked itself (it believes
 * them without reading the anchor: domain/audit/log.ts checkHead).
 *
 * `settle` after each batch anchors at once when the last anchor is at least one interval old —
 * so a change after a quiet spell is signed immediately, at most one signature per batch as
 * before — and otherwise leaves the heads for the interval's end: the next batch after it, or a
 * timer (a long-running consumer, as locally; on Lambda a timer only runs while the container is
 * invoked, so a tail left when the traffic stops waits for the next batch: /audit/verify shows it).
 * `flush` anchors whatever moved, now (the local stream's `idle()`, tests). Anchors never overlap.
 */
export class ChainAnchorer {
  private readonly moved = new Map<string, AnchoredHead>();
  private readonly anchored = new Map<string, string>();
  private readonly believed = new Map<string, string>();
  /** chains marked in the table as left for the interval's end (markUnanchored), by the seq marked */
  private readonly marked = new Map<string, number>();
  private last: number | null = null;
  private queue: Promise<unknown> = Promise.resolve();
  private timer: ReturnType<typeof setTimeout> | null = null;
  private stopped = false;
  /** signatures made, roots and records (what the key service and the bucket bill) */
  readonly counts = { anchors: 0, roots: 0, checkpoints: 0 };

  constructor(private readonly opts: AnchorerOptions) {}

  private interval(): number {
    const ms = typeof this.opts.intervalMs === 'function' ? this.opts.intervalMs() : this.opts.intervalMs;
    return Number.isFinite(ms) && ms >= 0 ? ms : 10_000;
  }

  private now(): number {
    return this.opts.now?.() ?? Date.now();
  }

  /** Whether this process wrote or checked this very head (same seq and hash). */
  believes(tenant: string, head: { seq: number; hash: string } | null): boolean {
    return !!head && this.believed.get(tenant) === key(head);
  }

  /** A head this process wrote, or found to extend the tenant's newest signed checkpoint. */
  remember(tenant: string, head: { seq: number; hash: string }): void {
    if (this.believed.size >= (this.opts.capacity ?? 4096)) this.believed.clear();
    this.believed.set(tenant, key(head));
  }

  /** A head to anchor (a redelivered batch's head too, unless this process anchored it already). */
  note(tenant: string, head: { seq: number; hash: string }): void {
    if (this.anchored.get(tenant) === key(head)) return;
    const prev = this.moved.get(tenant);
    if (!prev || prev.seq < head.seq) this.moved.set(tenant, { tenant, seq: head.seq, hash: head.hash });
  }

  /** Chains waiting for the next anchor. */
  get waiting(): number {
    return this.moved.size;
  }

  /** ms until the next anchor is due (0: now), null when no head moved. */
  dueIn(now = this.now()): number | null {
    if (!this.moved.size) return null;
    return this.last === null ? 0 : Math.max(0, this.last + this.interval() - now);
  }

  /**
   * After a batch: anchor now if due, else make sure something anchors at the interval's end: a timer
   * in this process, and a mark in the table for each chain left (once per chain and interval), so
   * the tick anchors it even if this process is frozen until it is gone (Lambda: log.ts anchorLeftTails).
   */
  async settle(deps: Pick<With<'anchor'>, 'anchor' | 'clock' | 'store'>): Promise<AnchorRun | null> {
    const wait = this.dueIn();
    if (wait === null) return null;
    if (wait === 0) return this.flush(deps);
    const at = deps.clock().toISOString();
    for (const h of this.moved.values()) {
      if (this.marked.has(h.tenant)) continue;
      await deps.store.markUnanchored(h.tenant, h.seq, at);
      this.marked.set(h.tenant, h.seq);
    }
    if (!this.timer && !this.stopped) {
      this.timer = setTimeout(() => {
        this.timer = null;
        this.settle(deps).catch((err) => this.opts.onError?.(err));
      }, wait);
      this.timer.unref?.();
    }
    return null;
  }

  /** Anchors what moved (one signature) and arms no timer any more: the consumer stops. */
  async stop(deps: Pick<With<'anchor'>, 'anchor' | 'clock' | 'store'>): Promise<void> {
    this.stopped = true;
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    await this.flush(deps);
  }

  /** Anchors every head that moved, now, whatever the interval (one signature). */
  flush(deps: Pick<With<'anchor'>, 'anchor' | 'clock' | 'store'>): Promise<AnchorRun | null> {
    const run = async (): Promise<AnchorRun | null> => {
      if (!this.moved.size) return null;
      if (this.timer) {
        clearTimeout(this.timer);
        this.timer = null;
      }
      const heads = [...this.moved.values()];
      this.moved.clear();
      try {
        const done = await anchorHeads(deps, heads, deps.clock());
        this.last = this.now();
        if (this.anchored.size >= (this.opts.capacity ?? 4096)) this.anchored.clear();
        for (const h of heads) this.anchored.set(h.tenant, key(h));
        // The marks of the chains anchored: they are no one's to-do any more (a newer mark stays).
        for (const h of heads) {
          const m = this.marked.get(h.tenant);
          if (m === undefined || m > h.seq) continue;
          this.marked.delete(h.tenant);
          await deps.store.clearUnanchored(h.tenant, h.seq).catch((err) => this.opts.onError?.(err));
        }
        this.counts.anchors++;
        this.counts.roots += done.roots.length;
        this.counts.checkpoints += done.checkpoints.length;
        return done;
      } catch (err) {
        // Kept for the next anchor, unless the chain moved on meanwhile (its newer head covers it).
        for (const h of heads) if ((this.moved.get(h.tenant)?.seq ?? -1) < h.seq) this.moved.set(h.tenant, h);
        throw err;
      }
    };
    const next = this.queue.then(run, run);
    this.queue = next.catch(() => undefined);
    return next;
  }
}

/**
 * How far the newest anchored link is behind the head, as /audit/verify reports it: the newest link
 * a valid signature covers, how many links after it no signature covers yet, and for how long the
 * oldest of them has waited (0 when none): at most about one anchor interval while the consumer runs.
 */
export function anchorLag(a: { headSeq: number; anchoredSeq: number; oldestUnanchoredLinkedAt: string | null; now: Date }): {
  anchoredSeq: number;
  unanchored: number;
  anchorLagSeconds: number;
} {
  const anchoredSeq = Math.min(a.anchoredSeq, a.headSeq);
  const unanchored = Math.max(0, a.headSeq - anchoredSeq);
  const since = unanchored && a.oldestUnanchoredLinkedAt ? Date.parse(a.oldestUnanchoredLinkedAt) : NaN;
  const anchorLagSeconds = Number.isNaN(since) ? 0 : Math.max(0, Math.round((a.now.getTime() - since) / 100) / 10);
  return { anchoredSeq, unanchored, anchorLagSeconds };
}

/** List prices of what the anchor uses (us-east-1): KMS Sign with an ECC key, S3 PUT. */
export const ANCHOR_PRICES = { kmsSign: 0.15 / 10_000, s3Put: 0.005 / 1000 };

export interface AnchorCostInput {
  /** the anchor interval (STAGELINE_ANCHOR_INTERVAL_SECONDS), default 10 */
  intervalSeconds?: number;
  /** promotions per second, all together */
  promotionsPerSecond: number;
  /** stream batches that move a chain per promotion (an approved promotion: 4, one per audit entry, when they come apart) */
  batchesPerPromotion?: number;
  /** distinct tenants whose chains move within one interval (1: one tenant; at most one per promotion of the interval) */
  tenantsPerInterval?: number;
  /** stream consumer instances anchoring independently (one per active shard) */
  consumers?: number;
}

/**
 * KMS Sign calls and S3 PUTs per promotion, and their cost per 1,000 promotions, with one anchor
 * per interval at most and, for comparison (`before`), with a signature and a record per chain
 * append: the figure the bench prints (bench/promotion.ts can call it with the rate it measures
 * at). Reasoned from the interval: anchors per second = min(batches per second, consumers /
 * interval); each anchor signs once and appends one record per tenant that moved.
 */
export function anchorCosts(i: AnchorCostInput, prices = ANCHOR_PRICES) {
  const interval = i.intervalSeconds ?? 10;
  const batchesPerPromotion = i.batchesPerPromotion ?? 4;
  const consumers = i.consumers ?? 1;
  const batchesPerSecond = i.promotionsPerSecond * batchesPerPromotion;
  const anchorsPerSecond = interval > 0 ? Math.min(batchesPerSecond, consumers / interval) : batchesPerSecond;
  // A tenant moves in an interval only if one of its promotions does.
  const tenants = Math.max(1, Math.min(i.tenantsPerInterval ?? 1, Math.ceil(i.promotionsPerSecond * interval)));
  const signsPerPromotion = anchorsPerSecond / i.promotionsPerSecond;
  const putsPerPromotion = signsPerPromotion * tenants;
  const per1000 = (signs: number, puts: number) => ({
    kms: signs * prices.kmsSign * 1000,
    s3: puts * prices.s3Put * 1000,
    total: (signs * prices.kmsSign + puts * prices.s3Put) * 1000,
  });
  return {
    signsPerPromotion,
    putsPerPromotion,
    per1000Promotions: { signs: signsPerPromotion * 1000, puts: putsPerPromotion * 1000, usd: per1000(signsPerPromotion, putsPerPromotion) },
    before: { signsPerPromotion: batchesPerPromotion, putsPerPromotion: batchesPerPromotion, usdPer1000: per1000(batchesPerPromotion, batchesPerPromotion) },
  };
}
