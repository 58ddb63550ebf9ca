import { flowDecision } from '../terms/deadlines.ts';
import { isTerminal } from '../../kernel/lifecycle.ts';
import { scheduleName } from '../run/schedule-name.ts';
import type { With } from '../../kernel/deps.ts';
import { ENGINE, patched } from '../aggregate.ts';
import { heldByChange, heldByCi } from '../../kernel/promotion-model.ts';
import { loadPromotion, writePromotion } from '../write.ts';
import { parkedWave, pausedBefore, waveGate, waveStarted } from '../rollout/start.ts';
import { goOn } from '../rollout/wave-go.ts';

/**
 * What a promotion's one-time schedule does when it fires (functions/handlers/schedule-fire.ts alone): kept apart from
 * the scheduling itself (schedule.ts), which many functions bundle, so the change request's look (change-hold.ts,
 * loaded on first use) is a chunk of this function's bundle only.
 */

/**
 * A schedule fired: resume the flow parked at its go task. If the flow is not
 * parked yet (the token is not stored), throw so the scheduler retries.
 */
export async function fireSchedule(
  deps: With<'workflow' | 'scheduler'> & Partial<With<'changes' | 'ciRuns'>>,
  tenant: string,
  id: string,
): Promise<{ fired: boolean; status: string }> {
  const p = await loadPromotion(deps, tenant, id);
  // Ended with its change request open (cancelled while it waited): the request is cancelled in the tool here, where its credential opens.
  if (isTerminal(p.status) && p.changeRequest?.ref && !p.changeRequest.closed && deps.changes) {
    await (await import('../run/change-hold.ts')).closeChange(deps as With<'changes'>, tenant, id);
    return { fired: false, status: p.status };
  }
  // Held for its change request: the request is looked at here, and the flow woken only when it may go on (domain/promotion/run/change-hold.ts).
  if (p.status === 'SCHEDULED' && heldByChange(p.heldBy) && deps.changes) {
    const looked = await (await import('../run/change-hold.ts')).recheckChange(deps as With<'workflow' | 'scheduler' | 'changes'>, p);
    return { fired: !looked.waiting && looked.status === 'SCHEDULED', status: looked.status };
  }
  // Held for its CI gate's run: the run is read here, and the flow woken only once it has ended (domain/promotion/run/ci-hold.ts).
  if (p.status === 'SCHEDULED' && heldByCi(p.heldBy) && deps.ciRuns && p.taskToken) {
    const looked = await (await import('../run/ci-hold.ts')).recheckCi(deps as With<'scheduler' | 'ciRuns'>, p);
    if (looked.waiting) return { fired: false, status: p.status };
  }
  // A rollout whose next wave waited (a start window, a freeze; domain/promotion/rollout/): the wave is checked
  // again as any wave start is, then started (its task answered) or left waiting until the next look.
  if (p.status === 'EXECUTING' && p.rollout?.waiting && p.taskToken && !p.rollout.halted && !p.rollout.stopping) {
    const token = p.taskToken;
    const now = deps.clock();
    const wave = parkedWave(p.rollout);
    const windowOpened = p.rollout.waiting.for !== 'freeze';
    const gate = await waveGate(deps, p, await deps.store.getEnvironment(tenant, p.targetEnvironment), wave, now, { windowOpened });
    const { after } = await writePromotion(deps, tenant, id, (cur) => {
      // The flow decided to stop meanwhile: no wave starts (rollout/rollback.ts).
      if (cur.taskToken !== token || cur.status !== 'EXECUTING' || !cur.rollout || cur.rollout.stopping) return null;
      if (!gate.open) {
        const waiting = { reason: gate.reason, until: gate.until, for: gate.for };
        return { next: patched(cur, now, { rollout: { ...cur.rollout, waiting } }), action: 'promotion.wave.wait', by: ENGINE, reason: gate.reason };
      }
      // It may start: the parked wave starts (its audit entry and its `Promotion Wave Started` event).
      return (
        pausedBefore(cur, wave, now, token) ??
        waveStarted(
          deps,
          cur,
          wave,
          now,
          {},
          cur.rollout.waiting?.for === 'freeze' ? 'it waited for a freeze window to end, which it has' : 'it waited for its start window, which is open now',
        )
      );
    });
    if (after && !gate.open) {
      await deps.scheduler.scheduleOnce(scheduleName(after), new Date(gate.until), { tenant, promotionId: id });
      return { fired: false, status: p.status };
    }
    // A wave planned to pause halts now that its window is open (the token stays for the resume).
    if (after && !after.rollout?.halted) await goOn(deps, after, wave, token);
    return { fired: !!after, status: p.status };
  }
  if (p.status !== 'SCHEDULED') return { fired: false, status: p.status };
  if (!p.taskToken) throw new Error(`promotion ${id} is not waiting for its go signal yet`);
  if (await deps.workflow.sendTaskSuccess(p.taskToken, { ...flowDecision(p, 'execute', deps.clock()) })) return { fired: true, status: p.status };
  // The token read was no longer waiting (its task was retried, and a newer one is stored or soon will be): try again.
  throw new Error(`promotion ${id}'s go token is no longer waiting: the scheduler tries again`);
}
