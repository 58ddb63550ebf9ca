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
 * An upgrade (`--upgrade`) is such a crash, once, whose new stack runs the current release's state machines where the
 * old one ran the previous release's (chaos/upgrade.ts).
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

/**
 * The moment of the upgrade (`--upgrade`): the ordinal of the functions' DynamoDB write from which it may come, from a
 * stream of its own (the crashes' moments and the fault plan's draws stay the seed's), between a fifth and a half of
 * the writes `promotions` promotions make: promotions wait for approval, bake and roll back by then. It comes at the
 * first write from there at which promotions are in flight on the previous release (`UpgradePlan.ready`, chaos/upgrade.ts
 * `UpgradeReadiness`).
 */
export function upgradeMoment(seed: number, promotions: number): number {
  const next = generator((seed ^ 0x75706772) >>> 0);
  const span = Math.max(4, promotions * WRITES_PER_PROMOTION);
  return Math.max(1, Math.floor(span * (0.2 + 0.3 * next())));
}

/** The upgrade a crashing stack makes (once). */
export interface UpgradePlan {
  /** the functions' write from which it may come (upgradeMoment) */
  at: number;
  /** whether it may come at the functions' write `chance`, asked at each write from `at` (synchronously, within the write) */
  ready: (chance: number) => boolean;
  /** runs once the old stack's work is cut off and before its DynamoDB Local is killed (its table as the upgrade left it) */
  atTheMoment?: (old: LocalStack, where: string) => Promise<void>;
}

export class CrashingStack {
  private stack: LocalStack;
  /** the events the crashed stacks' buses published (what went out before each crash) */
  private readonly published: LocalStack['bus']['published'] = [];
  private crashing?: Promise<void>;
  private failure?: unknown;
  /** crashes done */
  crashes = 0;
  /** upgrades done (0 or 1) */
  upgrades = 0;

  constructor(
    first: LocalStack,
    /** starts a new stack on the old one's data; `deliveries` are what its bus had accepted and not done; `upgrade`: on the current release */
    private readonly restart: (old: LocalStack, deliveries: BusDelivery[], upgrade: boolean) => Promise<LocalStack>,
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

  /**
   * Crashes the stack now and starts a new one on its data; `where` is recorded with the crash in the plan's log. An
   * upgrade (`upgrade` given) is recorded as one, and its new stack runs the current release.
   */
  async crash(where: string, upgrade?: Pick<UpgradePlan, 'atTheMoment'>): Promise<void> {
    const old = this.stack;
    old.faults?.record(upgrade ? 'upgrade' : 'crash', where);
    this.published.push(...old.bus.published);
    // Taken in the same turn as the crash (old.crash() marks its epoch crashed before it awaits anything): EventBridge
    // keeps what it accepted, so nothing in flight on the bus is lost with the stack (it may come twice: at least once).
    const deliveries = old.bus.inFlight();
    let unread: unknown;
    const atTheMoment = upgrade?.atTheMoment;
    await old.crash(atTheMoment && (() => atTheMoment(old, where).catch((err) => void (unread = err))));
    this.log(
      upgrade
        ? `chaos: the stack was upgraded (${where}); starting the current release on the same data`
        : `chaos: the stack crashed (${where}); starting it again on the same data`,
    );
    this.stack = await this.restart(old, deliveries, Boolean(upgrade));
    if (upgrade) this.upgrades++;
    else this.crashes++;
    if (unread) throw unread;
  }

  /**
   * Crashes at each of `moments` (crashPlan) as the functions' write of that ordinal is counted (the write seam's
   * chance, before the write is sent: the crash cuts it off), until the returned function is called (it waits for a
   * crash under way, and throws what a restart threw). One crash at a time: a moment reached during a restart comes at
   * the first write after it. With `upgrade`, the upgrade comes once, at the first write from its moment at which it is
   * `ready` (before a crash due at the same write).
   */
  watch(plan: FaultPlan, moments: readonly number[], upgrade?: UpgradePlan): () => Promise<void> {
    let i = 0;
    let upgrading = upgrade;
    // Begun from the crashing stack's own work (its write), run as no stack's: the restart must not be its.
    const begin = (where: string, as?: UpgradePlan) =>
      (this.crashing = outsideEpochs(() =>
        this.crash(where, as)
          .catch((err) => void (this.failure ??= err))
          .finally(() => (this.crashing = undefined)),
      ));
    plan.onChance = (kind, chance) => {
      if (kind !== 'dynamo.conflict' || this.crashing) return;
      if (upgrading && chance >= upgrading.at && upgrading.ready(chance)) {
        const as = upgrading;
        upgrading = undefined;
        begin(`after write ${chance} of the functions (the upgrade, from write ${as.at})`, as);
        return;
      }
      if (i >= moments.length || chance < moments[i]!) return;
      const at = moments[i++]!;
      begin(`after write ${at} of the functions (crash ${i} of ${moments.length})`);
    };
    return async () => {
      plan.onChance = undefined;
      await this.crashing;
      if (this.failure) throw this.failure;
    };
  }
}
