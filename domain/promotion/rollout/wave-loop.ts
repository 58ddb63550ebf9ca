import { targetsOf } from '../../config/targets.ts';
import type { Environment } from '../../kernel/model.ts';
import type { Promotion } from '../../kernel/promotion-model.ts';
import type { With } from '../../kernel/deps.ts';
import { isPolled } from '../../kernel/target-schemas.ts';
import type { WaveBatch, WaveStartInput } from '../ports.ts';
import { type Next } from '../terms/deadlines.ts';
import { PromotionFailed } from '../deliver/target-change.ts';
import { retryOnConflict } from '../../kernel/retry.ts';
import { loadPromotion } from '../write.ts';
import { analysisNames, measureTiming, templateBook } from './analysis.ts';
import { MeasureAgain, targetBakedStep } from './bake.ts';
import { pollOnce } from './confirm.ts';
import type { PollDeps } from './confirm-modes.ts';
import { WAVE_BATCH } from './wave-go.ts';
import { batchOf, BATCH_PARALLEL, eachLimited, RolloutStopped } from './wave-batch.ts';

/**
 * The loops of a wave's child execution (statemachines/wave.asl.json), each a pass over the wave's targets a batch at a
 * time (one task reads, polls or measures up to {@link WAVE_BATCH} targets), then one wait for the whole wave (a
 * task-token wait a stop ends at once: {@link waveWaitStep}). WaveConfirm polls every CONFIRMING target of a batch
 * once (a polled mode through its mode's function, a callback's confirmation read: the deployer's POST writes it),
 * WaveBaked reads the bake's end (and measures the analyses that are
 * due) of every target of a batch. Nothing waits or polls per target: the history grows with the wave's batches and
 * its loops, never with targets x polls.
 *
 * History, in Step Functions' events (each execution of the wave counts its own; the limit is 25,000):
 * - a Task state (lambda:invoke) is 5 events (entered, scheduled, started, succeeded, exited), a Choice 2, a task-token
 *   wait 6 (entered, scheduled, started, submitted, timed out, exited);
 * - the execution's start and end and its first Choice (WaveResume), its WaveEnd task and its end state: {@link FIXED_EVENTS};
 * - applying a wave of b batches: b x (Task + Choice) = 7b;
 * - one loop: a wait (and the Choice before a bake's), then a pass of b batches = 8 + 7b ({@link loopEvents}).
 * An execution runs at most {@link maxLoops} loops: (budget - fixed - apply) / loop, at least 1; then, instead of its
 * next wait, it starts the next execution of the wave (WaveContinue: the same input, its part + 1 and where it was)
 * and ends SUCCEEDED without answering the parent: the last one answers. With the default budget of 5,000 events
 * (a fifth of the limit: retries add 3 events each), a wave of 1,000 targets (10 batches) loops 63 times per
 * execution; a wave of 10,000 (100 batches, the most targets an environment has: MAX_TARGETS) 6 times, its apply and
 * one loop 1,419 events: every wave fits, test/unit/wave-loop.test.ts checks it for every size.
 */

/** The events of an execution of the wave whatever it does (start, WaveResume, WaveEnd, its end). */
export const FIXED_EVENTS = 2 + 2 + 5 + 2;
/** The events of one task of a pass and the Choice after it. */
export const BATCH_EVENTS = 5 + 2;
/** The events of a wave's wait: a Choice (WaveBakes) and a task-token wait (entered, scheduled, started, submitted, timed out, exited). */
export const WAIT_EVENTS = 2 + 6;
/** The events of one loop over a wave of `batches` batches: its wait, then one pass. */
export const loopEvents = (batches: number) => WAIT_EVENTS + BATCH_EVENTS * batches;

/**
 * How many loops one execution of a wave of `targets` targets runs before it continues as a new one, so its history
 * stays within `budget` events: the first execution applies the wave too (part 0), a continuation does not.
 */
export function maxLoops(targets: number, budget: number, part: number): number {
  const batches = Math.max(1, Math.ceil(targets / WAVE_BATCH));
  const apply = part > 0 ? 0 : BATCH_EVENTS * batches;
  return Math.max(1, Math.floor((budget - FIXED_EVENTS - apply) / loopEvents(batches)));
}

/** How long the wave's confirm loop waits between polls when only callbacks are pending (s): a read of the store per batch. */
export const CALLBACK_READ_SECONDS = 15;

/** What a step of the loop is given: the wave's execution (its input) and the batch it is at. */
export type LoopInput = Pick<WaveStartInput, 'tenant' | 'promotionId' | 'wave' | 'bakeSeconds' | 'part'> & { batch: WaveBatch };

/** The next pass's start: a task given a finished pass (or another phase's) starts a new one at 0, one loop more. */
const passOf = (b: WaveBatch, phase: WaveBatch['phase']) =>
  b.done || b.phase !== phase ? { offset: 0, pending: 0, loops: b.loops + (b.done ? 1 : 0) } : { offset: b.offset, pending: b.pending, loops: b.loops };

/** The wave's waits: between polls (the smallest poll interval of its polled targets), its bake's first wait, between measurements. */
async function waveWaits(deps: With<'metrics'>, tenant: string, env: Environment, names: readonly string[], wave: number, bakeSeconds: number) {
  const mine = new Set(names);
  const targets = targetsOf(env).filter((t) => mine.has(t.name));
  const polls = targets.flatMap((t) => (isPolled(t.confirm) ? [t.confirm.intervalSeconds] : []));
  const book = await bookOf(deps, tenant, env);
  const timing = targets.map((t) => measureTiming(env, book, t.name, wave, bakeSeconds));
  const measures = timing.map((x) => x.measureSeconds).filter((s) => s > 0);
  // Whole seconds (a task's time-out): at least 1 between two passes; a first bake of 0 is no wait (WaveBakes).
  return {
    poll: Math.max(1, Math.ceil(polls.length ? Math.min(...polls) : CALLBACK_READ_SECONDS)),
    firstBake: Math.ceil(timing.length ? Math.min(...timing.map((x) => x.firstWaitSeconds)) : bakeSeconds),
    measure: Math.max(1, Math.ceil(measures.length ? Math.min(...measures) : 1)),
  };
}

/** The analysis templates a rollout of `env` reads (none when its targets measure nothing). */
const bookOf = async (deps: With<'metrics'>, tenant: string, env: Environment) =>
  analysisNames(env).length ? templateBook((await deps.store.getAnalysisTemplates(tenant))?.templates) : templateBook([]);

/** The batch a pass's task answers: the pass over, its wait (or, past the execution's loops, its continuation). */
export async function answer(
  deps: With<'metrics'>,
  input: LoopInput,
  phase: WaveBatch['phase'],
  at: { offset: number; pending: number; loops: number; done: boolean; names: readonly string[]; env: Environment | null },
): Promise<WaveBatch & { next: Next }> {
  const out = { next: 'execute' as const, phase, offset: at.offset, done: at.done, pending: at.pending, loops: at.loops, waitSeconds: 0, renew: false };
  if (!at.done || (!at.pending && phase === 'bake')) return out;
  if (!at.env) throw new PromotionFailed(`the environment of wave ${input.wave} no longer exists`);
  const waits = await waveWaits(deps, input.tenant, at.env, at.names, input.wave, input.bakeSeconds);
  // Confirmed (or applied) and nothing pending: the bake's first wait, then the bake's end is read.
  if (!at.pending) return { ...out, phase: 'bake', waitSeconds: waits.firstBake };
  const renew = at.loops >= maxLoops(at.names.length, deps.tunables.waveHistoryEvents, input.part ?? 0);
  return { ...out, waitSeconds: phase === 'bake' ? waits.measure : waits.poll, renew };
}

/** The rollout may go on (or the wave stops: the parent's MarkFailed rolls back). */
const goingOn = (p: Promotion) => {
  if (p.status !== 'EXECUTING' || !p.rollout) throw new RolloutStopped(`promotion is ${p.status}`);
  if (p.rollout.stopping) throw new RolloutStopped(`the rollout stopped: ${p.rollout.stopping.reason}`);
};

/**
 * WaveConfirm: every CONFIRMING target of one batch polled once (pollOnce, as the inline TargetHealth polls one), a
 * callback target's confirmation read; pending counted. Past a target's deadline the wave fails (PromotionFailed).
 */
export async function waveConfirmStep(deps: With<'metrics'> & PollDeps, input: LoopInput): Promise<WaveBatch & { next: Next }> {
  const { tenant, promotionId: id, wave } = input;
  const pass = passOf(input.batch, 'confirm');
  const { names, batch, next, done } = await batchOf(deps, tenant, id, wave, pass.offset);
  const p = await loadPromotion(deps, tenant, id);
  goingOn(p);
  const env = await deps.store.getEnvironment(tenant, p.targetEnvironment);
  if (!env) throw new PromotionFailed(`target environment '${p.targetEnvironment}' no longer exists`);
  const byName = new Map(targetsOf(env).map((t) => [t.name, t]));
  let pending = 0;
  await eachLimited(batch, BATCH_PARALLEL, async (name) => {
    const item = await deps.store.getRolloutTarget(tenant, id, name);
    const target = byName.get(name);
    if (!item || !target) throw new PromotionFailed(`target '${name}' of wave ${wave} is ${item ? 'no longer defined' : 'not changed'}`);
    if (item.state === 'ROLLED_BACK' || item.state === 'FAILED') throw new RolloutStopped(`target ${name} is ${item.state}`);
    if (item.state !== 'CONFIRMING') return;
    if (isPolled(target.confirm)) {
      if ((await pollOnce(deps, p, env, target, item)) !== null) pending++;
      return;
    }
    const deadline = item.confirm?.deadline;
    if (deadline && deps.clock().getTime() >= new Date(deadline).getTime()) {
      throw new PromotionFailed(`target '${name}' was not confirmed by ${deadline}: nobody confirmed it (POST /promotions/${id}/targets/${name}/confirm)`);
    }
    pending++;
  });
  return answer(deps, input, 'confirm', { offset: next, pending: pass.pending + pending, loops: pass.loops, done, names, env });
}

/**
 * WaveBaked: the wave's bake (its first wait) over, one batch of its targets read as TargetBaked reads one: the
 * analyses that are due measured (a target still measuring is pending: MeasureAgain), then, its bake over, its monitors
 * and its controller. A failed analysis or a monitor in ALARM fails the target and the wave; an inconclusive analysis
 * halts the rollout (the next wave waits), as inline.
 */
export async function waveBakedStep(deps: With<'workflow' | 'alarms' | 'metrics' | 'gitopsStatus'>, input: LoopInput): Promise<WaveBatch & { next: Next }> {
  const { tenant, promotionId: id, wave } = input;
  const pass = passOf(input.batch, 'bake');
  const { names, batch, next, done } = await batchOf(deps, tenant, id, wave, pass.offset);
  const p = await loadPromotion(deps, tenant, id);
  goingOn(p);
  const env = await deps.store.getEnvironment(tenant, p.targetEnvironment);
  if (!env) throw new PromotionFailed(`target environment '${p.targetEnvironment}' no longer exists`);
  const book = await bookOf(deps, tenant, env);
  const now = deps.clock().getTime();
  let pending = 0;
  await eachLimited(batch, BATCH_PARALLEL, async (name) => {
    // A target that measures nothing bakes its own bake time (from its confirmation): read once it is over.
    if (!measureTiming(env, book, name, wave, input.bakeSeconds).measureSeconds) {
      const item = await deps.store.getRolloutTarget(tenant, id, name);
      if (item?.state === 'BAKING' && item.bake && now + 1000 < new Date(item.bake.until).getTime()) return void pending++;
    }
    try {
      await targetBakedStep(deps, tenant, id, name, input.bakeSeconds);
    } catch (err) {
      if (!(err instanceof MeasureAgain)) throw err;
      pending++;
    }
  });
  return answer(deps, input, 'bake', { offset: next, pending: pass.pending + pending, loops: pass.loops, done, names, env });
}

/**
 * WaveConfirmWait, WaveBake (task-token waits, their timers the wave's wait): the token is kept on the wave's first
 * target's item, where whoever asks the flow to stop finds it (askToStop: an alarm, the sweep), so a stop ends the
 * wave's wait at once, not one interval later; a deployer's confirmation of that target answers it (the wave polls
 * again at once). The token is written first and the promotion read after it, as TargetBake does: a decision to stop
 * written meanwhile is seen by one side or the other.
 */
export async function waveWaitStep(deps: With<'workflow'>, input: LoopInput, token: string): Promise<{ next: Next }> {
  const { tenant, promotionId: id } = input;
  const stopped = (p: Promotion) =>
    p.status !== 'EXECUTING' || !p.rollout ? `promotion is ${p.status}` : p.rollout.stopping ? `the rollout stopped: ${p.rollout.stopping.reason}` : null;
  const refuse = async (why: string) => (await deps.workflow.sendTaskFailure(token, 'RolloutStopped', why), { next: 'done' as const });
  let why = stopped(await loadPromotion(deps, tenant, id));
  if (why) return refuse(why);
  const [first] = (await batchOf(deps, tenant, id, input.wave, 0)).batch;
  if (!first) throw new PromotionFailed(`wave ${input.wave} has no targets`);
  await retryOnConflict(deps.tunables, async () => {
    const item = await deps.store.getRolloutTarget(tenant, id, first);
    if (!item || item.taskToken === token) return;
    await deps.store.commit(tenant, [
      { kind: 'rolloutTarget', target: { ...item, taskToken: token, version: item.version + 1 }, expectedVersion: item.version },
    ]);
  });
  why = stopped(await loadPromotion(deps, tenant, id));
  if (why) return refuse(why);
  return { next: 'await-go' };
}

/**
 * WaveContinue: the execution has looped as often as its history allows: the wave goes on in a NEW execution of the
 * wave's state machine (the same input, part + 1, the batch where it was, its loops counted from 0), which carries
 * the parent's token; this one ends SUCCEEDED without a word to the parent (the status-change rule ignores SUCCEEDED).
 */
export async function waveContinueStep(
  deps: With<'workflow'>,
  input: LoopInput & Pick<WaveStartInput, 'parentToken'>,
): Promise<{ next: Next; execution: string }> {
  const part = (input.part ?? 0) + 1;
  const execution = await deps.workflow.startWave({
    tenant: input.tenant,
    promotionId: input.promotionId,
    wave: input.wave,
    bakeSeconds: input.bakeSeconds,
    parentToken: input.parentToken,
    part,
    batch: { ...input.batch, loops: 0, renew: false },
  });
  return { next: 'execute', execution };
}
