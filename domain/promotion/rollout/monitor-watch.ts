import type { Deps, With } from '../../kernel/deps.ts';
import type { MonitorBlock, Promotion } from '../../kernel/promotion-model.ts';
import { ENGINE, patched, waitsToExecute } from '../aggregate.ts';
import { PromotionFailed } from '../deliver/target-change.ts';
import { loadPromotion, writePromotion } from '../write.ts';
import { monitorRefusal, monitorsBlock, type AlarmState } from '../../freeze/monitors.ts';

/** The target's monitors during a promotion: checked before executing, and an alarm while baking rolls it back. */

/**
 * The target's monitors (domain/freeze/monitors.ts) before anything changes: one alarm in ALARM blocks the
 * execution, and so does a check that cannot be made (fail closed). A rollback is not held back by
 * the alarms it may be answering.
 */
export async function monitorCheck(deps: With<'alarms'>, p: Promotion): Promise<void> {
  if (p.rollback || !waitsToExecute(p)) return;
  const target = await deps.store.getEnvironment(p.tenant, p.targetEnvironment);
  const arns = target?.monitors ?? [];
  if (!arns.length) return;
  // A monitor outside the tenant's namespace (saved before the rule) is never read: it blocks (fail closed).
  const foreign = arns.map((a) => monitorRefusal(p.tenant, a)).filter(Boolean);
  if (foreign.length)
    await blocked(deps, p, [], `the monitors of '${p.targetEnvironment}' could not be checked, so nothing was executed (fail closed): ${foreign.join('; ')}`);
  let states: AlarmState[];
  try {
    states = await deps.alarms.states(arns);
  } catch (err) {
    return blocked(
      deps,
      p,
      [],
      `the monitors of '${p.targetEnvironment}' could not be checked, so nothing was executed (fail closed): ${(err as Error).message}`,
    );
  }
  const why = monitorsBlock(arns, states);
  if (why) {
    const firing = states
      .filter((s) => s.state === 'ALARM' && arns.includes(s.arn))
      .map((s) => ({ arn: s.arn, name: s.name, reason: (s.reason ?? '').slice(0, 500), ...(s.updatedAt ? { at: s.updatedAt } : {}) }));
    await blocked(deps, p, firing, `'${p.targetEnvironment}' is not healthy: ${why}; nothing was executed`);
  }
}

/**
 * The monitors refused the execution: recorded on the promotion (its decision record says BLOCKED_BY_MONITORS,
 * with the alarms in ALARM, names and reasons) and in the audit trail, then the step fails (the promotion FAILED,
 * nothing changed).
 */
async function blocked(deps: Deps, p: Promotion, alarms: MonitorBlock['alarms'], why: string): Promise<never> {
  const monitorBlock: MonitorBlock = { at: deps.clock().toISOString(), reason: why.slice(0, 2000), alarms };
  await writePromotion(deps, p.tenant, p.id, (cur) =>
    !waitsToExecute(cur)
      ? null
      : { next: patched(cur, deps.clock(), { monitorBlock }), action: 'promotion.monitors.block', by: ENGINE, reason: monitorBlock.reason },
  );
  throw new PromotionFailed(why);
}
