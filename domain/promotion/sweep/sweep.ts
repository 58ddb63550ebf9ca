import type { Deps, With } from '../../kernel/deps.ts';
import { isTerminal } from '../../kernel/lifecycle.ts';
import { expireWaiting } from '../decide/expire.ts';
import { expireStep, failStep } from '../step/fail.ts';
import { armSweep, askedBySweep, NO_PROGRESS, stuckAfter } from '../terms/stuck.ts';
import { startFlow } from '../run/flow.ts';
import { askToStop } from '../rollout/stop.ts';
import { handOnWave } from '../rollout/halt.ts';

/** What a promotion's deadline schedule runs (sweep-deadline.ts arms it and says when a promotion is stuck). */
export type SweepOutcome = { swept: boolean; status: string; reason?: string; next?: string };

/** What the deadline schedule runs. */
export async function sweepPromotion(deps: With<'git' | 'registry' | 'scheduler' | 'workflow'>, tenant: string, id: string): Promise<SweepOutcome> {
  const p = await deps.store.getPromotion(tenant, id);
  if (!p) return { swept: false, status: 'GONE' };
  if (isTerminal(p.status)) return { swept: false, status: p.status };
  const target = await deps.store.getEnvironment(tenant, p.targetEnvironment);
  const due = stuckAfter(p, target?.bakeSeconds ?? 0, deps.tunables)!;
  const now = deps.clock();
  if (now < due) {
    await armSweep(deps, p, due);
    return { swept: false, status: p.status, next: due.toISOString() };
  }
  const reason = `no progress since ${p.updatedAt} (status ${p.status}, due by ${due.toISOString()}): its flow is gone; swept`;
  switch (p.status) {
    case 'PENDING':
    case 'VALIDATION_FAILED':
      if (!p.flowStartedAt || p.status === 'VALIDATION_FAILED') {
        const r = await expireWaiting(deps, tenant, id);
        return { swept: r.expired, status: r.status, reason: 'not validated in time' };
      }
      // Its flow never took it: the request that wrote it ended before the start (the schedule was armed
      // first). Started now, once (the same execution name: a flow that did start is not started twice);
      // still untouched a grace later, it fails.
      if (now.getTime() < new Date(p.flowStartedAt).getTime() + 2 * deps.tunables.sweepGraceSeconds * 1000) {
        await startFlow(deps, p);
        return { swept: true, status: p.status, reason: 'its flow had not started: started now' };
      }
      await failStep(deps, tenant, id, { message: reason });
      break;
    case 'EXECUTING': {
      // A wave started by a resume and never handed on (its answer lost): the step is restarted, the wave handed on now.
      if (p.rollout?.handOn && p.taskToken && !p.rollout.stopping) {
        const after = await handOnWave(deps, p, p.rollout.handOn, p.taskToken);
        const handed = !after.rollout?.handOn;
        if (!handed) await armSweep(deps, after, new Date(now.getTime() + deps.tunables.sweepGraceSeconds * 1000));
        return {
          swept: handed,
          status: after.status,
          reason: `wave ${p.rollout.handOn} was started and not handed on to its flow: ${handed ? 'handed on now' : 'tried again later'}`,
        };
      }
      // A flow asked to end a rollout a while ago that has not (it answered, and did nothing): ended here.
      const asked = `${NO_PROGRESS} ${p.updatedAt} (status ${p.status}, due by ${due.toISOString()}): swept`;
      const overdue = askedBySweep(p) !== null;
      // A flow that is alive is asked (it waits on a token: its bake, a rollout's parked wave or a target's wait) and ends it
      // itself through MarkFailed, the one writer of the end; only a flow that answers nothing (gone) is ended here.
      const answered = overdue
        ? 0
        : p.rollout
          ? await askToStop(deps, p, asked, 'Swept')
          : p.taskToken
            ? Number(await deps.workflow.sendTaskFailure(p.taskToken, 'Swept', asked))
            : 0;
      if (answered) {
        // Looked at again past the grace twice over: a flow that answered and then did nothing is ended then.
        await armSweep(deps, p, new Date(now.getTime() + 2 * deps.tunables.sweepGraceSeconds * 1000 + 1000));
        return { swept: true, status: p.status, reason: `${asked}; its flow was asked to end it` };
      }
      // Its flow is gone: a rollout's rollback runs here, batch after batch (each its reason carried to the next), to the end.
      let error: unknown = { message: reason };
      for (let out = await failStep(deps, tenant, id, error); out.more; out = await failStep(deps, tenant, id, error)) error = out;
      break;
    }
    case 'VALIDATING':
      await failStep(deps, tenant, id, { message: reason });
      break;
    default:
      // AWAITING_APPROVAL → EXPIRED; APPROVED / SCHEDULED → CANCELLED (not executed in time).
      await expireStep(deps, tenant, id, `not executed in time: ${reason}`);
  }
  const after = await deps.store.getPromotion(tenant, id);
  return { swept: after?.status !== p.status, status: after?.status ?? 'GONE', reason };
}
