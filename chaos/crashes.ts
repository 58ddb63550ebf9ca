import { generator, type FaultPlan } from '../local/faults.ts';
import { outsideEpochs } from '../local/crash.ts';
import type { BusDelivery } from '../local/event-bus.ts';
import type { LocalStack } from '../local/stack.ts';

/**
 * Crashes of Stageline itself in a chaos run (`--crashes K`): at moments the seed chooses, the local stack is crashed
 * (local/crash.ts: its memory gone at once, none of its work has an effect afterwards, DynamoDB Local SIGKILLed) and a
 * new one starts on the same data (the table's -dbPath, the workflow's executions file, the stream positions, the
 * schedules, the outbox, the audit anchor, the issuer's keys), on the same gateway port. The workload, the settle and
 * the checker use `view`: whichever stack runs now, so the checker reads the whole run, before and after each crash.
 */

/** The functions' DynamoDB writes a promotion of the workload takes, about (measured: 839 writes, the tenants' set-up among them, for 10 promotions of seed 7). */
export const WRITES_PER_PROMOTION = 80;

/**
 * The moments of `crashes` crashes, as the ordinal of the functions' DynamoDB write after which each comes: spread over
 * the first two thirds of the writes `promotions` promotions make (so each comes while the workload still runs), each
 * at a point of its own stretch the seed chooses. Increasing; the same for the same seed.
 */
export function crashPlan(seed: number, crashes: number, promotions: number): number[] {
  if (crashes <= 0) return [];
  // A stream of its own (not the fault plan's): adding crashes moves no other fault of the seed.
  const next = generator((seed ^ 0x63726173) >>> 0);
  const span = Math.max(crashes * 4, promotions * WRITES_PER_PROMOTION);
  const moments: number[] = [];
  for (let i = 0; i < crashes; i++) {
    const at = Math.floor(span * (0.1 + (0.6 * (i + next())) / crashes));
    moments.push(Math.max(at, (moments.at(-1) ?? 0) + 1));
  }
  return moments;
}

export class CrashingStack {
  private stack: LocalStack;
  /** the events the crashed stacks' buses published (what went out before each crash) */
  private readonly published: LocalStack['bus']['published'] = [];
  private crashing?: Promise<void>;
  private failure?: unknown;
  /** crashes done */
  crashes = 0;

  constructor(
    first: LocalStack,
    /** starts a new stack on the old one's data; `deliveries` are what its bus had accepted and not done */
    private readonly restart: (old: LocalStack, deliveries: BusDelivery[]) => Promise<LocalStack>,
    private readonly log: (line: string) => void = () => {},
  ) {
    this.stack = first;
  }

  /** The stack running now; its bus's `published` holds every stack's, in order. */
  readonly view: LocalStack = new Proxy({} as LocalStack, {
    get: (_, key) => {
      const now = this.stack;
      if (key !== 'bus') return Reflect.get(now, key, now);
      return new Proxy(now.bus, {
        get: (bus, k) => (k === 'published' ? [...this.published, ...bus.published] : Reflect.get(bus, k, bus)),
      });
    },
  });

  /** Crashes the stack now and starts a new one on its data; `where` is recorded with the crash in the plan's log. */
  async crash(where: string): Promise<void> {
    const old = this.stack;
    old.faults?.record('crash', where);
    this.published.push(...old.bus.published);
    // Taken in the same turn as the crash (old.crash() marks its epoch crashed before it awaits anything): EventBridge
    // keeps what it accepted, so nothing in flight on the bus is lost with the stack (it may come twice: at least once).
    const deliveries = old.bus.inFlight();
    await old.crash();
    this.log(`chaos: the stack crashed (${where}); starting it again on the same data`);
    this.stack = await this.restart(old, deliveries);
    this.crashes++;
  }

  /**
   * Crashes at each of `moments` (crashPlan) as the functions' write of that ordinal is counted (the write seam's
   * chance, before the write is sent: the crash cuts it off), until the returned function is called (it waits for a
   * crash under way, and throws what a restart threw). One crash at a time: a moment reached during a restart comes at
   * the first write after it.
   */
  watch(plan: FaultPlan, moments: readonly number[]): () => Promise<void> {
    let i = 0;
    plan.onChance = (kind, chance) => {
      if (kind !== 'dynamo.conflict' || this.crashing || i >= moments.length || chance < moments[i]!) return;
      const at = moments[i++]!;
      // Begun from the crashing stack's own work (its write), run as no stack's: the restart must not be its.
      this.crashing = outsideEpochs(() =>
        this.crash(`after write ${at} of the functions (crash ${i} of ${moments.length})`)
          .catch((err) => void (this.failure ??= err))
          .finally(() => (this.crashing = undefined)),
      );
    };
    return async () => {
      plan.onChance = undefined;
      await this.crashing;
      if (this.failure) throw this.failure;
    };
  }
}
