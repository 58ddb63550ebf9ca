import { generator, type FaultPlan } from '../local/faults.ts';
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

/** The functions' DynamoDB writes so far: the chances the plan's write seam saw (every write rolls `dynamo.conflict`). */
export const writesOf = (plan: FaultPlan) => plan.counts()['dynamo.conflict'].chances;

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
    private readonly restart: (old: LocalStack) => Promise<LocalStack>,
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
    await old.crash();
    this.log(`chaos: the stack crashed (${where}); starting it again on the same data`);
    this.stack = await this.restart(old);
    this.crashes++;
  }

  /**
   * Crashes at each of `moments` (crashPlan) once the functions' writes reach it, until the returned function is
   * called (it waits for a crash under way, and throws what a restart threw).
   */
  watch(plan: FaultPlan, moments: readonly number[]): () => Promise<void> {
    let i = 0;
    const timer = setInterval(() => {
      if (this.crashing || i >= moments.length || writesOf(plan) < moments[i]!) return;
      const at = moments[i++]!;
      this.crashing = this.crash(`after write ${at} of the functions (crash ${i} of ${moments.length})`)
        .catch((err) => void (this.failure ??= err))
        .finally(() => (this.crashing = undefined));
    }, 20);
    return async () => {
      clearInterval(timer);
      await this.crashing;
      if (this.failure) throw this.failure;
    };
  }
}
