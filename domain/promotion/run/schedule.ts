import { flowDecision } from './deadlines.ts';
import { isTerminal } from '../../kernel/lifecycle.ts';
import { scheduleName } from './schedule-name.ts';
import { freezeOverridden, requestedBreakGlass } from '../../freeze/break-glass.ts';
import { RuleViolation, TransitionNotAllowed, ValidationFailed } from '../../kernel/errors.ts';
import { activeWindowOf, nextAllowedOf } from '../../freeze/windows.ts';
import type { Ctx, Deps, With } from '../../kernel/deps.ts';
import { actorOf, ENGINE, guard, moved, patched } from '../aggregate.ts';
import { stampFreezeOverride } from './freeze-override.ts';
import { heldByChange, type Promotion } from '../../kernel/promotion-model.ts';
import { GO_WAIT_SECONDS } from '../request/policy.ts';
import { loadPromotion, writePromotion } from '../write.ts';
import { parkedWave, pausedBefore, waveGate, waveStarted } from '../rollout/start.ts';
import { goOn } from '../rollout/wave-go.ts';

/** A promotion's go schedule: one per promotion, unique and within the scheduler's limits (domain/kernel/aws-names.ts). */

/** Deletes a promotion's go schedule. */
export async function cancelSchedule(deps: With<'scheduler'>, p: Pick<Promotion, 'tenant' | 'id'>): Promise<void> {
  await deps.scheduler.cancel(scheduleName(p));
}

/** An approved manual promotion runs at `at` (its go schedule resumes the flow then). */
export async function schedulePromotion(deps: With<'scheduler'>, ctx: Ctx, id: string, at: string): Promise<Promotion> {
  const glass = requestedBreakGlass(ctx, 'freeze-window', 'promotion.schedule', deps.clock());
  const me = actorOf(ctx.principal);
  const when = new Date(at);
  if (when.getTime() <= deps.clock().getTime()) throw new ValidationFailed([{ path: 'body.at', message: 'must be in the future' }]);
  let read: Promotion | undefined;
  if (glass) {
    const p = await loadPromotion(deps, ctx.principal.tenant, id);
    guard('schedule', p);
    read = await stampFreezeOverride(deps, ctx, id, glass, p);
  }
  const { after } = await writePromotion(
    deps,
    ctx.principal.tenant,
    id,
    async (p) => {
      guard('schedule', p);
      if (p.trigger === 'on_approval') {
        throw new TransitionNotAllowed(`Promotion ${id} runs as soon as it is approved; create it with "trigger": "manual" to schedule it`, {
          status: p.status,
        });
      }
      // The approved flow waits for its go at most GO_WAIT_SECONDS after approval: a later time would never fire.
      const approvedAt = [...p.transitions].reverse().find((x) => x.status === 'APPROVED')?.at ?? p.updatedAt;
      const latest = new Date(new Date(approvedAt).getTime() + GO_WAIT_SECONDS * 1000 - 3600 * 1000);
      if (when > latest) {
        throw new RuleViolation(
          `An approved promotion can be scheduled at most 7 days after its approval: no later than ${latest.toISOString()}; request a new promotion for a later date`,
          { latest: latest.toISOString() },
        );
      }
      if (!freezeOverridden(p)) {
        const windows = await deps.store.listFreezeWindows(p.tenant);
        const frozen = await activeWindowOf(windows, p.targetEnvironment, when);
        if (frozen) {
          const allowed = await nextAllowedOf(windows, p.targetEnvironment, when);
          throw new RuleViolation(
            `${when.toISOString()} falls in freeze window ${frozen.window.id} (${frozen.window.reason}) over '${p.targetEnvironment}'; the next allowed time is ${allowed.toISOString()}`,
            { window: frozen.window.id, nextAllowed: allowed.toISOString() },
          );
        }
      }
      return {
        next: moved(p, 'SCHEDULED', me, deps.clock(), { scheduledAt: when.toISOString(), trigger: 'scheduled' }),
        action: 'promotion.schedule',
        by: me,
        reason: `at ${when.toISOString()}`,
        requestId: ctx.requestId,
      };
    },
    { read },
  );
  const next = after!;
  await deps.scheduler.scheduleOnce(scheduleName(next), when, { tenant: next.tenant, promotionId: next.id });
  return next;
}

/**
 * A schedule fired: resume the flow parked at its go task. If the flow is not
 * parked yet (the token is not stored), throw so the scheduler retries.
 */
export async function fireSchedule(
  deps: With<'workflow' | 'scheduler'> & Partial<With<'changes'>>,
  tenant: string,
  id: string,
): Promise<{ fired: boolean; status: string }> {
  const p = await loadPromotion(deps, tenant, id);
  // Ended with its change request open (cancelled while it waited): the request is cancelled in the tool here, where its credential opens.
  if (isTerminal(p.status) && p.changeRequest?.ref && !p.changeRequest.closed && deps.changes) {
    await (await import('./change-hold.ts')).closeChange(deps as With<'changes'>, tenant, id);
    return { fired: false, status: p.status };
  }
  // Held for its change request: the request is looked at here, and the flow woken only when it may go on (domain/promotion/run/change-hold.ts).
  if (p.status === 'SCHEDULED' && heldByChange(p.heldBy) && deps.changes) {
    const looked = await (await import('./change-hold.ts')).recheckChange(deps as With<'workflow' | 'scheduler' | 'changes'>, p);
    return { fired: !looked.waiting && looked.status === 'SCHEDULED', status: looked.status };
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
  await deps.workflow.sendTaskSuccess(p.taskToken, { ...flowDecision(p, 'execute', deps.clock()) });
  return { fired: true, status: p.status };
}
