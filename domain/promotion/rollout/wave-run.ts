import { auditEntry } from '../../audit/audit.ts';
import type { Promotion } from '../../kernel/promotion-model.ts';
import type { With } from '../../kernel/deps.ts';
import { WriteConflict } from '../../kernel/retry.ts';
import { ENGINE } from '../aggregate.ts';
import { type Next } from '../terms/deadlines.ts';
import { PromotionFailed } from '../deliver/target-change.ts';
import { auditDraft, loadPromotion } from '../write.ts';
import { changeTarget, stoppedFor } from './apply.ts';
import { waveTargets } from './plan.ts';
import { INLINE_WAVE_TARGETS } from './wave-go.ts';
import type { WaveBatch, WaveStartInput } from '../ports.ts';
import { batchOf, BATCH_PARALLEL, eachLimited, RolloutStopped } from './wave-batch.ts';
import { answer, type LoopInput } from './wave-loop.ts';

export { RolloutStopped } from './wave-batch.ts';
export { waveBakedStep, waveConfirmStep, waveContinueStep, waveWaitStep } from './wave-loop.ts';

/** What the child execution is started with (its execution input; the status-change rule reads `parentToken` back). */
export type WaveRunInput = WaveStartInput;

/**
 * A wave of many targets as a child execution of its own (statemachines/wave.asl.json), started with the parent flow's
 * WaveStart token when the wave may start (wave-go.ts goOn): the child applies the wave's targets a batch at a time (WaveApply,
 * {@link WAVE_BATCH} per task), waits the wave's bake once (a Wait state), reads every target's monitors a batch at a
 * time (WaveBaked), then answers the parent's token (WaveEnd). Its history is bounded by the number of batches, not
 * by the targets' polls. Any failure inside it answers the parent's token with that failure; a child that fails
 * otherwise, times out or is stopped is caught by the status-change rule ({@link waveExecutionEnded}). Either way
 * the parent's Waves map fails into MarkFailed, which rolls every changed target back, newest wave first.
 */

/**
 * WaveApply: one batch of the wave's targets changed, each as TargetApply changes one (its own transaction,
 * conditioned on the promotion's version: a decision to stop written since makes it lose, and it reads again and
 * stops). An immediate target bakes at once; a polled or callback one is CONFIRMING (a callback's without a task
 * token: its wave's confirm loop reads the confirmation) and counted pending: the wave's confirm loop follows.
 */
export async function waveApplyStep(deps: With<'workflow' | 'git' | 'registry' | 'metrics'>, input: LoopInput): Promise<WaveBatch & { next: Next }> {
  const { tenant, promotionId: id, wave } = input;
  const offset = input.batch.phase === 'apply' ? input.batch.offset : 0;
  const { names, batch, next, done } = await batchOf(deps, tenant, id, wave, offset);
  let p = await loadPromotion(deps, tenant, id);
  let pending = 0;
  await eachLimited(batch, BATCH_PARALLEL, async (name) => {
    for (let lost = 0; ;) {
      const stopped = stoppedFor(p, name, wave);
      if (stopped) throw new RolloutStopped(stopped);
      const item = await deps.store.getRolloutTarget(tenant, id, name);
      if (item) {
        if (item.state === 'ROLLED_BACK' || item.state === 'FAILED') throw new RolloutStopped(`target ${name} is ${item.state}`);
        if (item.state === 'CONFIRMING') pending++;
        return;
      }
      try {
        // A wave of at most INLINE_WAVE_TARGETS (a small wave that polls or measures) is audited per target, as inline.
        const audit = names.length <= INLINE_WAVE_TARGETS;
        if ((await changeTarget(deps, p, name, '', { audit, byWave: true })).state === 'CONFIRMING') pending++;
        return;
      } catch (err) {
        // Another run of this task wrote it first (a retried task): go on from what it wrote.
        const again = await deps.store.getRolloutTarget(tenant, id, name);
        if (again) return void (again.state === 'CONFIRMING' && pending++);
        // The promotion was written since it was read (a decision to stop, a halt, a wave start): read it again, decide again.
        if (!(err instanceof WriteConflict) || ++lost > 10) throw err;
        p = await loadPromotion(deps, tenant, id);
      }
    }
  });
  const env = done ? await deps.store.getEnvironment(tenant, p.targetEnvironment) : null;
  const pendingSoFar = (input.batch.phase === 'apply' ? input.batch.pending : 0) + pending;
  return answer(deps, input, 'apply', { offset: next, pending: pendingSoFar, loops: input.batch.loops, done, names, env });
}

/** Names an audit entry of a wave lists at most (the rest are counted). */
export const AUDIT_NAMES = 50;

/**
 * WaveEnd: the child's last task, however the wave went. Every target of a wave of many targets is audited in ONE entry
 * (counts by state and a bounded page of names; a small one's were audited one by one), then the parent's token is answered: success, or the failure the
 * child caught (its error name and cause, which the parent's MarkFailed reads as the reason to roll back).
 */
export async function waveEndStep(
  deps: With<'workflow'>,
  tenant: string,
  id: string,
  wave: number,
  parentToken: string,
  error?: unknown,
): Promise<{ next: Next }> {
  const p = await loadPromotion(deps, tenant, id);
  await auditWave(deps, p, wave);
  if (error) {
    const e = error as { Error?: unknown; Cause?: unknown };
    const name = typeof e.Error === 'string' && e.Error ? e.Error : 'WaveFailed';
    const cause = typeof e.Cause === 'string' ? e.Cause : JSON.stringify(error);
    await deps.workflow.sendTaskFailure(parentToken, name, causeMessage(cause) || `wave ${wave} failed`);
    return { next: 'done' };
  }
  await deps.workflow.sendTaskSuccess(parentToken, { wave });
  return { next: 'execute' };
}

/** A Lambda failure's cause is `{errorType, errorMessage}` JSON: its message is what a person reads. */
function causeMessage(cause: string): string {
  try {
    const parsed = JSON.parse(cause) as { errorMessage?: unknown };
    if (typeof parsed?.errorMessage === 'string') return parsed.errorMessage;
  } catch {
    // not JSON: the cause as it is
  }
  return cause;
}

/** One audit entry for a child wave of more than INLINE_WAVE_TARGETS targets: how many targets changed, by state, and the first {@link AUDIT_NAMES} names. */
async function auditWave(deps: With<'workflow'>, p: Promotion, wave: number) {
  const names = await waveTargets(deps, p.tenant, p.id, wave);
  // A small wave's targets were audited one by one when they changed (waveApplyStep), as an inline wave's are.
  if (names.length <= INLINE_WAVE_TARGETS) return;
  const mine = new Set(names);
  const items = (await deps.store.listRolloutTargets(p.tenant, p.id)).filter((t) => mine.has(t.name) && t.appliedAt);
  const byState = new Map<string, number>();
  for (const t of items) byState.set(t.state, (byState.get(t.state) ?? 0) + 1);
  const counts = [...byState].map(([s, n]) => `${n} ${s}`).join(', ') || 'none';
  const page = items.map((t) => t.name).slice(0, AUDIT_NAMES);
  const more = items.length > page.length ? ` and ${items.length - page.length} more` : '';
  const reason = `wave ${wave}: ${items.length} of ${names.length} targets changed (${counts}): ${page.join(', ')}${more}`;
  const draft = auditDraft({ principal: ENGINE }, p, 'promotion.wave.apply', null, `wave ${wave}: ${items.length}/${names.length}`, reason);
  await deps.store.commit(p.tenant, [{ kind: 'audit', entry: auditEntry(p.tenant, draft, deps.clock()) }]);
}

/** The wave child executions' ends the status-change rule answers for: every end but success. */
export const CAUGHT_STATUSES = ['FAILED', 'TIMED_OUT', 'ABORTED'] as const;

/**
 * Target of the rule on "Step Functions Execution Status Change" for the wave state machine: a child that failed
 * without answering its parent (a States.Runtime error, a time-out of the whole execution) or that was stopped
 * answers the parent's token with a failure here, so the parent rolls back at once instead of waiting for its
 * task's time-out or the sweep. A token already answered (the child's own WaveEnd did) is ignored.
 */
export async function waveExecutionEnded(deps: With<'workflow'>, event: unknown): Promise<{ answered: boolean; status: string }> {
  const detail = (event as { detail?: { status?: unknown; input?: unknown; executionArn?: unknown } })?.detail ?? {};
  const status = String(detail.status ?? '');
  if (!(CAUGHT_STATUSES as readonly string[]).includes(status)) return { answered: false, status };
  let input: Partial<WaveRunInput> = {};
  try {
    input = JSON.parse(String(detail.input ?? '{}')) as Partial<WaveRunInput>;
  } catch {
    throw new PromotionFailed(`the wave execution ${String(detail.executionArn)} has no readable input`);
  }
  if (typeof input.parentToken !== 'string' || !input.parentToken) return { answered: false, status };
  const answered = await deps.workflow.sendTaskFailure(
    input.parentToken,
    `WaveExecution${status === 'TIMED_OUT' ? 'TimedOut' : status === 'ABORTED' ? 'Stopped' : 'Failed'}`,
    `the execution of wave ${input.wave ?? '?'} ended ${status} before it reported to the rollout: the rollout stops and rolls back`,
  );
  return { answered, status };
}
