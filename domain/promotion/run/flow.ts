import type { Deps, With } from '../../kernel/deps.ts';
import type { Promotion } from '../../kernel/promotion-model.ts';
import { lineOf, policyDigest, resolvePolicy } from '../terms/policy.ts';
import { armSweep } from '../terms/stuck.ts';
import { approvalTimerSeconds } from '../terms/deadlines.ts';

/** When a promotion whose flow starts now is stuck, unless its flow moved it (its first deadline schedule). */
export const flowSweepAt = (deps: Pick<Deps, 'clock' | 'tunables'>) => new Date(deps.clock().getTime() + deps.tunables.sweepGraceSeconds * 1000);

/**
 * Starts (or re-starts, idempotently: one execution name per promotion and attempt) the state machine for a
 * promotion. `armed`: its deadline schedule was armed already (before the promotion was written, so a request
 * that fails between its write and this start still leaves a schedule that starts the flow: sweep.ts).
 */
export async function startFlow(deps: With<'scheduler' | 'workflow'>, p: Promotion, armed = false): Promise<void> {
  // Its deadline schedule: if the flow is gone, the sweeper fails the promotion with a reason (sweep-deadline.ts arms it, sweep.ts runs it).
  if (!armed) await armSweep(deps, p, flowSweepAt(deps));
  // The approval wait's timer starts with the flow's first task, before the gates: the window of the policy the gates
  // will apply (resolved the same way, now), with a little slack (deadlines.ts approvalTimerSeconds).
  const { policy } = await currentPolicy(deps, p);
  await deps.workflow.start({
    tenant: p.tenant,
    promotionId: p.id,
    approvalTimeoutSeconds: approvalTimerSeconds(policy.approvalExpirySeconds),
    ...(p.attempt ? { attempt: p.attempt } : {}),
  });
}

/**
 * The approval policy as the rules say NOW: resolved when validation starts, so a rule
 * tightened after the request (but before validation) applies. Returns a patch for `moved()`.
 */
export async function currentPolicy(deps: Deps, p: Promotion): Promise<Pick<Promotion, 'policy' | 'policyDigest'>> {
  if (p.rollback) return { policy: p.policy, policyDigest: p.policyDigest };
  const [envs, rules] = await Promise.all([deps.store.listEnvironments(p.tenant), deps.store.listRules(p.tenant)]);
  const line = lineOf(envs);
  const source = line.find((e) => e.name === p.sourceEnvironment);
  const target = line.find((e) => e.name === p.targetEnvironment);
  if (!source || !target) return { policy: p.policy, policyDigest: p.policyDigest };
  const policy = resolvePolicy(rules, line, source, target);
  return { policy, policyDigest: policyDigest(policy) };
}
