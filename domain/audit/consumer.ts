import type { AuditEntry } from '../kernel/model.ts';
import type { DomainEvent } from '../kernel/ports.ts';
import type { With } from '../kernel/deps.ts';
import { ChainAnchorer, type AnchorerOptions } from './anchor.ts';
import { anchorLeftTails, linkAuditEntries } from './log.ts';

/** What an anchorer works with. */
type AnchorDeps = With<'anchor'>;

/**
 * The stream consumer's anchoring (domain/audit/anchor.ts), one anchorer per composition of adapters:
 * a process whose adapters are composed again (a local stack started anew, a test's) starts afresh,
 * never anchoring one table's heads with another's anchor.
 */
export class AnchorerPool<D extends AnchorDeps = AnchorDeps> {
  private readonly anchorers = new Map<D, ChainAnchorer>();

  constructor(private readonly opts: AnchorerOptions) {}

  /** The anchorer of these adapters (made on first use). */
  of(deps: D): ChainAnchorer {
    let a = this.anchorers.get(deps);
    if (!a) {
      a = new ChainAnchorer(this.opts);
      this.anchorers.set(deps, a);
    }
    return a;
  }

  /**
   * A consumer that stops (the local stack shutting down) signs what moved since its last anchor, so
   * no tail is left unsigned, and arms no timer after: every anchorer, each with the adapters it anchored with.
   */
  async stopAll(): Promise<void> {
    const all = [...this.anchorers];
    this.anchorers.clear();
    for (const [d, a] of all) await a.stop(d);
  }
}

/**
 * One batch of the table's stream, decoded (the events its changes wrote, the audit entries inserted):
 * the events first — relayed to the bus (then `relayed` is told, for the metrics), so a notification never
 * waits on the audit chain — then the entries linked into each tenant's hash chain (in the order they
 * came), then one anchor for every chain that moved: now if the last one is an interval old, else at
 * the interval's end (ChainAnchorer.settle). A failure throws: the batch is retried.
 */
export async function consumeStreamBatch(
  deps: With<'anchor' | 'events'>,
  anchorer: ChainAnchorer,
  batch: { events: DomainEvent[]; entries: AuditEntry[] },
  relayed?: (events: DomainEvent[]) => void,
): Promise<{ relayed: number; linked: number; anchored: number }> {
  if (batch.events.length) {
    await deps.events.publish(batch.events);
    relayed?.(batch.events);
  }
  const byTenant = new Map<string, AuditEntry[]>();
  for (const e of batch.entries) byTenant.set(e.tenant, [...(byTenant.get(e.tenant) ?? []), e]);
  let linked = 0;
  for (const [tenant, entries] of byTenant) linked += (await linkAuditEntries(deps, tenant, entries, anchorer)).linked;
  const anchored = await anchorer.settle(deps);
  return { relayed: batch.events.length, linked, anchored: anchored?.checkpoints.length ?? 0 };
}

/**
 * The scheduled tick (anchor what consumers left): this anchorer's own heads first (its consumer may be
 * the one that left them), then every chain a consumer marked as left an interval ago or more
 * (anchorLeftTails): a frozen or gone consumer's tail is signed within the interval and a tick. The
 * chains refused (a head that cannot be believed) are returned for the operator's log.
 */
export async function anchorTick(
  deps: AnchorDeps,
  anchorer: ChainAnchorer,
  intervalMs: number,
): Promise<{ anchored: number; covered: number; refused: { tenant: string; reason: string }[] }> {
  const own = await anchorer.flush(deps);
  const tails = await anchorLeftTails(deps, new Date(deps.clock().getTime() - intervalMs));
  return { anchored: (own?.checkpoints.length ?? 0) + tails.anchored, covered: tails.covered, refused: tails.refused };
}
