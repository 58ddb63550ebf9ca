import { readFileSync } from 'node:fs';
import { z } from 'zod';

/**
 * The fault plan of the local stack (`npm run chaos`, the chaos tests): what the cloud does to a
 * deployed Stageline now and then, made to happen often, at the seams where it happens there. Off
 * unless a plan is given; refused outside local mode (a Lambda never reads it).
 *
 * Seams (each applies its kinds; nothing in domain/ knows about faults):
 * - the local workflow runner's Lambda tasks (local/stack.ts invokeStep): `step.before` fails a task before
 *   it does anything, `step.after` lets it run and loses its answer (its effects are done, Step Functions
 *   sees an error), `step.timeout` answers `Sandbox.Timedout` (Lambda stopped it at its timeout), `step.twice`
 *   runs it twice (at-least-once: the first answer is dropped);
 * - the table's stream (local/stream.ts handler): `stream.twice`, `stream.late`;
 * - the bus's rule targets (local/event-bus.ts): `bus.twice`, `bus.late`;
 * - the DynamoDB client of the functions (functions/adapters/dynamo-store.ts middleware): `dynamo.conflict`
 *   (a transaction cancelled for a conflicting one, before it is applied), `dynamo.lostAck` (a write applied
 *   whose answer is lost: the SDK sends it again);
 * - outbound calls to tenant hosts (functions/adapters/outbound.ts guardedFetch): `outbound.5xx`,
 *   `outbound.429`, `outbound.reset` (before the host sees it), `outbound.resetAfter` (the host acted, the
 *   answer is lost), `outbound.slow`;
 * - the whole stack (chaos/run.ts `--crashes K`, local/crash.ts): `crash` kills it at the moments the seed chose and
 *   starts a new one on the same data; no rate applies, each crash is recorded where it happened. `upgrade`
 *   (`--upgrade`) is such a crash whose new stack runs the current release's state machines where the old one ran
 *   the previous release's (chaos/crashes.ts).
 *
 * Every decision comes from one seeded generator, so a plan's seed names a run (the interleaving of a
 * concurrent workload still varies; the checker prints the seed and the promotion's history).
 */
export const FAULT_KINDS = [
  'step.before',
  'step.after',
  'step.timeout',
  'step.twice',
  'stream.twice',
  'stream.late',
  'bus.twice',
  'bus.late',
  'dynamo.conflict',
  'dynamo.lostAck',
  'outbound.5xx',
  'outbound.429',
  'outbound.reset',
  'outbound.resetAfter',
  'outbound.slow',
  'crash',
  'upgrade',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/** One fault the plan injected: its kind, when, and where its seam says it was (a step and its promotion, a delivery, a call). */
export interface FaultRecord {
  at: string;
  kind: FaultKind;
  where: string;
}

const rate = z.number().min(0).max(1);

export const faultPlanSpec = z
  .object({
    seed: z.number().int().nonnegative(),
    /** the rate of every kind not named in `rates` (0 to 1) */
    rate: rate.default(0),
    /** a rate per kind, over `rate` */
    rates: z.partialRecord(z.enum(FAULT_KINDS), rate).default({}),
    /** how late a late delivery or a slow answer is, ms */
    delayMs: z.number().int().min(0).max(60_000).default(200),
    /** the Retry-After (whole seconds) an injected 429 asks for: 1 as a host's rate limit says it; a chaos run's 0 lets its clients' own (short) backoff decide */
    retryAfterSeconds: z.number().int().min(0).max(60).default(1),
  })
  .strict();
export type FaultPlanSpec = z.input<typeof faultPlanSpec>;

/** mulberry32: small, fast, and the same sequence for the same seed everywhere. */
export function generator(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class FaultPlan {
  readonly seed: number;
  readonly delayMs: number;
  readonly retryAfterSeconds: number;
  private readonly rates: Record<FaultKind, number>;
  private readonly next: () => number;
  private readonly injected = new Map<FaultKind, number>();
  private readonly chances = new Map<FaultKind, number>();
  private paused = false;
  /**
   * Answers this plan lost after the other side acted (`outbound.resetAfter`): "<METHOD> <origin><path>" and when. An
   * at-least-once sender may do such a request again; a checker of effects counts that as a redelivery, not a
   * second effect (chaos/effects/checks.ts).
   */
  readonly lost: { at: string; what: string }[] = [];
  /** called at each chance, as it is counted (before it is rolled): a crash of the stack comes at a chance's ordinal */
  onChance?: (kind: FaultKind, chance: number) => void;
  /** every fault injected, in order (a chaos run writes it with its history: chaos/history.ts) */
  readonly log: FaultRecord[] = [];

  constructor(spec: FaultPlanSpec) {
    const s = faultPlanSpec.parse(spec);
    this.seed = s.seed;
    this.delayMs = s.delayMs;
    this.retryAfterSeconds = s.retryAfterSeconds;
    this.rates = Object.fromEntries(FAULT_KINDS.map((k) => [k, s.rates[k] ?? s.rate])) as Record<FaultKind, number>;
    this.next = generator(s.seed);
  }

  /** true when this chance of `kind` is a fault (and counts it, and logs it with `where`) */
  roll(kind: FaultKind, where = ''): boolean {
    if (this.paused) return false;
    const chance = (this.chances.get(kind) ?? 0) + 1;
    this.chances.set(kind, chance);
    this.onChance?.(kind, chance);
    const r = this.rates[kind];
    if (r <= 0 || this.next() >= r) return false;
    this.injected.set(kind, (this.injected.get(kind) ?? 0) + 1);
    this.log.push({ at: new Date().toISOString(), kind, where });
    return true;
  }

  /** Records a fault injected at a moment chosen outside the rates (a crash of the stack): counted and logged. */
  record(kind: FaultKind, where = ''): void {
    this.chances.set(kind, (this.chances.get(kind) ?? 0) + 1);
    this.injected.set(kind, (this.injected.get(kind) ?? 0) + 1);
    this.log.push({ at: new Date().toISOString(), kind, where });
  }

  /** The first of `kinds` that rolls a fault at `where`, or null: one draw per kind, in order. */
  pick<K extends FaultKind>(kinds: readonly K[], where = ''): K | null {
    for (const k of kinds) if (this.roll(k, where)) return k;
    return null;
  }

  /** Records an answer lost after the other side acted. */
  lose(what: string): void {
    this.lost.push({ at: new Date().toISOString(), what });
  }

  /** a delay up to delayMs (late deliveries, slow answers) */
  delay(): number {
    return Math.floor(this.next() * this.delayMs);
  }

  /** No more faults (the checker reads the end state without them); `resume()` undoes it. */
  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
  }

  rateOf(kind: FaultKind): number {
    return this.rates[kind];
  }

  /** faults injected and chances seen, by kind */
  counts(): Record<FaultKind, { injected: number; chances: number }> {
    return Object.fromEntries(FAULT_KINDS.map((k) => [k, { injected: this.injected.get(k) ?? 0, chances: this.chances.get(k) ?? 0 }])) as Record<
      FaultKind,
      { injected: number; chances: number }
    >;
  }

  total(): number {
    let n = 0;
    for (const v of this.injected.values()) n += v;
    return n;
  }
}

/** An error as the AWS side names it (Step Functions matches `name` in Retry/Catch; the SDK reads `code`/`$metadata`). */
export function faultError(name: string, message: string, extra: Record<string, unknown> = {}): Error {
  const e = new Error(`injected fault: ${message}`);
  e.name = name;
  Object.assign(e, extra);
  return e;
}

/** True where the code runs as a Lambda function (a deployed stack): no fault plan is ever taken there. */
export function inLambda(env: NodeJS.ProcessEnv = process.env): boolean {
  return Boolean(env.AWS_LAMBDA_FUNCTION_NAME || env.AWS_EXECUTION_ENV || env.LAMBDA_TASK_ROOT);
}

/**
 * The plan `STAGELINE_FAULTS` names: inline JSON (`{"seed":1,"rate":0.1}`) or `@<file>` holding it.
 * Unset: no plan. Refused (thrown) in a Lambda: faults are for the local stack alone.
 */
export function faultPlanFromEnv(env: NodeJS.ProcessEnv = process.env): FaultPlan | undefined {
  const raw = env.STAGELINE_FAULTS?.trim();
  if (!raw) return undefined;
  if (inLambda(env)) throw new Error('STAGELINE_FAULTS is for the local stack only: a deployed function never injects faults');
  const text = raw.startsWith('@') ? readFileSync(raw.slice(1), 'utf8') : raw;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new Error(`STAGELINE_FAULTS is not JSON (${(err as Error).message}): e.g. {"seed":7,"rate":0.1}`);
  }
  const parsed = faultPlanSpec.safeParse(json);
  if (!parsed.success) throw new Error(`STAGELINE_FAULTS: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(plan)'}: ${i.message}`).join('; ')}`);
  return new FaultPlan(parsed.data);
}

/** `faults` as startLocalStack takes it: a plan, its spec, or nothing (then STAGELINE_FAULTS, if set). */
export function toFaultPlan(given: FaultPlan | FaultPlanSpec | undefined): FaultPlan | undefined {
  if (given instanceof FaultPlan) {
    if (inLambda()) throw new Error('fault plans are for the local stack only');
    return given;
  }
  if (given) {
    if (inLambda()) throw new Error('fault plans are for the local stack only');
    return new FaultPlan(given);
  }
  return faultPlanFromEnv();
}
