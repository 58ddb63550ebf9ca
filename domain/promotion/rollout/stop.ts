import type { Promotion } from '../../kernel/promotion-model.ts';
import type { Deps, With } from '../../kernel/deps.ts';
import { ENGINE, patched } from '../aggregate.ts';
import { writePromotion } from '../write.ts';

/**
 * How a rollout is stopped by what is not its flow: the decision to stop (written by whoever decides first, the flow's
 * MarkFailed included: rollback.ts) and the question to the flow. The flow is the one writer of a promotion's end.
 */

/**
 * Another actor (a monitor's alarm, the sweep of a stuck promotion) asks the flow to end a rollout; it does not end it
 * itself (the flow is the one writer of the end: its MarkFailed runs rollBackRollout). The decision to stop first, so no
 * step of the flow goes on past it (each reads it and fails into MarkFailed); then every wait of the flow is answered with
 * a failure (`error`, the reason as its cause): the promotion's token (a wave parked by a halt or a start window) and each
 * target's (its bake, a callback confirmation). A token is written before its step reads the promotion again, and this
 * decision before the tokens are read here, so a wait that begins meanwhile is answered by one side or the other. Returns
 * how many waits were answered (0: the flow waits on nothing now, or it is gone).
 */
export async function askToStop(deps: With<'workflow'>, p: Promotion, reason: string, error: string): Promise<number> {
  await decideToStop(deps, p, reason);
  const cur = await deps.store.getPromotion(p.tenant, p.id);
  if (!cur || cur.status !== 'EXECUTING') return 0;
  const items = await deps.store.listRolloutTargets(p.tenant, p.id);
  const tokens = new Set([cur.taskToken, ...items.map((t) => t.taskToken)].filter((t): t is string => !!t));
  let answered = 0;
  for (const token of tokens) if (await deps.workflow.sendTaskFailure(token, error, reason.slice(0, 2000))) answered++;
  return answered;
}

/** The rollout's `stopping`, once (the first reason is kept): no wave starts and no target changes from this write on. */
export async function decideToStop(deps: Deps, p: Promotion, reason: string): Promise<void> {
  await writePromotion(deps, p.tenant, p.id, (cur) => {
    if (cur.status !== 'EXECUTING' || !cur.rollout || cur.rollout.stopping) return null;
    const now = deps.clock();
    return {
      next: patched(cur, now, { rollout: { ...cur.rollout, stopping: { at: now.toISOString(), reason: reason.slice(0, 500), version: cur.version + 1 } } }),
      action: null,
      by: ENGINE,
    };
  });
}
