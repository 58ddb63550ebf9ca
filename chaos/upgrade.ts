import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Promotion } from '../domain/kernel/promotion-model.ts';
import type { RolloutTarget } from '../domain/kernel/rollout-model.ts';
import { DynamoStore } from '../functions/adapters/dynamo-store.ts';
import { LOCAL_REGION, localCredentials } from '../local/dynamodb.ts';
import type { LocalStack } from '../local/stack.ts';
import { definitionsLabel, PREVIOUS_RELEASE_DIR } from '../local/workflow-definitions.ts';
import type { JournalEntry } from '../local/workflow-journal.ts';
import { MACHINE, WAVE_MACHINE } from '../local/workflow.ts';
import type { Vacuous } from './exercised.ts';
import { WRITES_PER_PROMOTION } from './crashes.ts';

/**
 * An upgrade of Stageline itself in a chaos run (`--upgrade`): the run's first stack runs the previous release's state
 * machines (test/fixtures/previous-release/), and at a moment the seed chooses, with promotions in flight, it is
 * crashed and a new stack on the same data runs the current ones (chaos/crashes.ts `upgradeMoment`, `CrashingStack`).
 * Each execution running then is resumed on the definitions it started on, to its end; new executions start on the
 * current ones (local/workflow-definitions.ts). What the report says of it, and when the run fails for it, is here.
 */

/** The previous release's definitions as a journal records them. */
export const PREVIOUS_RELEASE = definitionsLabel(PREVIOUS_RELEASE_DIR);

/** How a promotion whose execution ran at the upgrade stood then. */
export const PHASES = ['waiting for approval', 'baking', 'rolling back', 'executing', 'other'] as const;
export type Phase = (typeof PHASES)[number];

/** What the run says of its upgrade (run.json `upgrade`; none without `--upgrade`). */
export interface UpgradeFacts {
  /** where it came (the write of the functions), absent when it never did */
  where?: string;
  /** executions running on the previous release's definitions at the upgrade, by machine (the new stack resumed them on those) */
  resumed: Record<string, number>;
  /** of those, how many ended by the end of the run, still on the previous release's definitions */
  ended: number;
  /** their promotions, by how each stood in the table at the upgrade */
  inFlight: Record<Phase, number>;
}

export const noUpgrade = (): UpgradeFacts => ({ resumed: {}, ended: 0, inFlight: Object.fromEntries(PHASES.map((p) => [p, 0])) as Record<Phase, number> });

/** How a promotion stood, from its item and its rollout's targets. */
export function phaseOf(p: Promotion | null, targets: readonly RolloutTarget[]): Phase {
  if (p?.status === 'AWAITING_APPROVAL') return 'waiting for approval';
  if (p?.status !== 'EXECUTING') return 'other';
  // The flow decided to stop (an alarm, a failed step): it puts back what it changed.
  if (p.rollout?.stopping || p.monitorAlarm) return 'rolling back';
  if (p.rollout ? targets.some((t) => t.state === 'BAKING') : Boolean(p.result)) return 'baking';
  return 'executing';
}

/** The executions running on the previous release's definitions (the old stack's journal at the upgrade). */
export const runningOnPrevious = (stack: LocalStack): JournalEntry[] =>
  [MACHINE, WAVE_MACHINE].flatMap((m) => stack.workflow.executions(m)).filter((e) => e.status === 'RUNNING' && e.definitions === PREVIOUS_RELEASE);

/**
 * A reader of the table the stack's functions do not see: a client of its own, outside the fault plan's seams (its
 * reads are no chances of the plan, and move no crash or upgrade).
 */
function tableReader(stack: LocalStack): { endpoint: string; store: DynamoStore; close: () => void } {
  const endpoint = stack.dynamo.endpoint;
  const client = new DynamoDBClient({ endpoint, region: LOCAL_REGION, credentials: localCredentials, maxAttempts: 1 });
  return {
    endpoint,
    store: new DynamoStore(DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } }), stack.tableName),
    close: () => client.destroy(),
  };
}

/** How the promotions of `running` executions stand in the table, by phase (each promotion once, whatever its executions). */
async function phasesOf(store: DynamoStore, running: readonly JournalEntry[]): Promise<Record<Phase, number>> {
  const phases = noUpgrade().inFlight;
  const promotions = new Map(running.map((e) => [`${e.input.tenant}\n${e.input.promotionId}`, e.input] as const));
  await Promise.all(
    [...promotions.values()].map(async ({ tenant, promotionId }) => {
      const [p, targets] = await Promise.all([store.getPromotion(tenant, promotionId), store.listRolloutTargets(tenant, promotionId)]);
      phases[phaseOf(p, targets)]++;
    }),
  );
  return phases;
}

/**
 * At the upgrade (the old stack's work cut off, its DynamoDB Local not killed yet): the executions running and how
 * their promotions stood, read from the table as the upgrade left it. Returns the executions' ids (followed to their end).
 */
export async function atTheUpgrade(old: LocalStack, where: string, facts: UpgradeFacts): Promise<Set<string>> {
  const running = runningOnPrevious(old);
  facts.where = where;
  for (const e of running) facts.resumed[e.machine] = (facts.resumed[e.machine] ?? 0) + 1;
  const reader = tableReader(old);
  try {
    facts.inFlight = await phasesOf(reader.store, running);
  } finally {
    reader.close();
  }
  return new Set(running.map((e) => e.id));
}

/** The phases an upgrade is made to meet: a promotion in each of them is what it is to cross. */
const SOUGHT: readonly Phase[] = ['waiting for approval', 'baking', 'rolling back'];

/** How many of the sought phases the upgrade asks for, `steps` twentieths of the run's writes after its moment: all three, then two (for three steps: three at once is rare, a rollback brief), one, and at last none. */
const ASKED = [3, 2, 2, 2, 1];

/**
 * Whether the upgrade may come at the functions' write `chance` (its moment `at`, a twentieth of the run's writes
 * `step`), with `running` promotion executions on the previous release and their promotions last `seen` so.
 */
export function upgradeMayCome(chance: number, at: number, step: number, running: number, seen: Record<Phase, number>): boolean {
  if (chance < at || running === 0) return false;
  const asked = ASKED[Math.floor((chance - at) / Math.max(1, step))] ?? 0;
  return SOUGHT.filter((p) => seen[p] > 0).length >= asked;
}

/** A twentieth of the writes `promotions` promotions make (the upgrade's step: `upgradeMayCome`). */
export const upgradeStep = (promotions: number) => Math.max(1, Math.floor((promotions * WRITES_PER_PROMOTION) / 20));

/**
 * When the upgrade may come (chaos/crashes.ts `UpgradePlan.ready`): from its moment, at the first write at which the
 * promotions running on the previous release were last seen (the table read every `everyMs`) waiting for approval,
 * baking and rolling back, all three; from a twentieth of the run's writes later two of them, from a fifth one, from
 * a quarter any promotion running on the previous release (`upgradeMayCome`).
 */
export class UpgradeReadiness {
  private seen: Record<Phase, number> = noUpgrade().inFlight;
  private timer?: NodeJS.Timeout;
  private reading = false;

  constructor(
    /** the stack running now (chaos/crashes.ts `CrashingStack.view`) */
    private readonly stack: LocalStack,
    /** the write from which the upgrade may come (upgradeMoment) */
    readonly at: number,
    /** a twentieth of the run's writes (upgradeStep) */
    private readonly step: number,
    private readonly everyMs = 200,
  ) {}

  /** Reads the table every `everyMs` until stopped (a read that fails is skipped: the next one comes). */
  start(): this {
    let reader = tableReader(this.stack);
    const read = async () => {
      if (this.reading) return;
      this.reading = true;
      try {
        // A crash before the upgrade: the new stack's DynamoDB Local is read from then.
        if (reader.endpoint !== this.stack.dynamo.endpoint) {
          reader.close();
          reader = tableReader(this.stack);
        }
        this.seen = await phasesOf(reader.store, runningOnPrevious(this.stack));
      } catch {
        // The stack went down under the read (the upgrade itself): the moment is taken already.
      } finally {
        this.reading = false;
      }
    };
    this.timer = setInterval(() => void read(), this.everyMs);
    this.stop = () => {
      clearInterval(this.timer);
      reader.close();
      this.stop = () => {};
    };
    return this;
  }

  stop: () => void = () => {};

  /** Whether the upgrade may come at the functions' write `chance` (synchronous: asked within the write). */
  ready(chance: number): boolean {
    if (chance < this.at) return false;
    return upgradeMayCome(chance, this.at, this.step, runningOnPrevious(this.stack).filter((e) => e.machine === MACHINE).length, this.seen);
  }
}

/** How many of `crossed` ended on the previous release's definitions (the journal of the stack running now). */
export const endedOnPrevious = (stack: LocalStack, crossed: ReadonlySet<string>): number =>
  [MACHINE, WAVE_MACHINE]
    .flatMap((m) => stack.workflow.executions(m))
    .filter((e) => crossed.has(e.id) && e.status !== 'RUNNING' && e.definitions === PREVIOUS_RELEASE).length;

/** The report's lines of an upgrade. */
export function upgradeLines(u: UpgradeFacts): string[] {
  const resumed = Object.values(u.resumed).reduce((n, x) => n + x, 0);
  const machines = Object.entries(u.resumed).map(([m, n]) => `${n} ${m}`);
  return [
    `upgrade from the previous release (${PREVIOUS_RELEASE}) to this one: ${u.where ?? 'never came (no promotion ran on the previous release from its moment)'}`,
    `  executions resumed on the previous release's definitions ${resumed}${machines.length ? ` (${machines.join(', ')})` : ''}, ended on them ${u.ended}`,
    `  their promotions at the upgrade: ${PHASES.map((p) => `${p} ${u.inFlight[p]}`).join(', ')}`,
  ];
}

/** An upgrade no execution crossed (none ran then, or none ended on the definitions it started on) proves nothing: the run fails. */
export function upgradeVacuous(u: UpgradeFacts): Vacuous[] {
  if (u.ended > 0) return [];
  return [
    {
      invariant: 'upgrade',
      measure: 'execution that crossed it',
      because: u.where ? 'the run was upgraded and none of the executions it resumed ended' : '--upgrade was asked and the upgrade never came',
    },
  ];
}
