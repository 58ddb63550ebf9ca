import type { With } from '../../kernel/deps.ts';
import type { Environment } from '../../kernel/model.ts';
import type { Promotion } from '../../kernel/promotion-model.ts';
import { soakHold } from './soak-hold.ts';
import { hoursHold } from './hours-hold.ts';
import { withChanges } from './with-changes.ts';

/**
 * The holds a promotion passes, after its freeze hold, whenever it is about to execute (step/steps.ts executeStep,
 * rollout/begin.ts rolloutStartStep), in this order: the soak in the source (soak-hold.ts), the target's allowed hours
 * (hours-hold.ts), its CI gate's run (ci-hold.ts) and its change request (change-hold.ts). Each either lets it go on,
 * ends it (null: REJECTED by the CI gate or the change tool) or holds it SCHEDULED and throws `Frozen`. The target is
 * read once for all of them; the CI gate's and change control's code is loaded only for a target that has them.
 */
export async function holdsBeforeExecute(
  deps: With<'scheduler'> & Partial<With<'changes' | 'ciRuns'>>,
  unfrozen: Promotion,
): Promise<{ read: Promotion | null; env: Environment | null }> {
  const env = await deps.store.getEnvironment(unfrozen.tenant, unfrozen.targetEnvironment);
  let read: Promotion | null = await hoursHold(deps, await soakHold(deps, unfrozen), env);
  if (read && env?.ciGate && !read.rollback) {
    if (!deps.ciRuns) throw new Error('a CI-gated promotion, and no CI hosts composed in this function');
    read = await (await import('./ci-hold.ts')).ciHold(deps as typeof deps & With<'ciRuns'>, read, env);
  }
  // Change control: read and loaded only for a promotion whose target had a rule when its gates ran.
  if (read?.changeControlled) read = await (await import('./change-hold.ts')).changeHold(withChanges(deps), read, env);
  return { read, env };
}
