import { digestOf } from '../../kernel/canonical.ts';
import { BackwardPromotion, EnvironmentNotFound, RuleViolation } from '../../kernel/errors.ts';
import type { Environment } from '../../kernel/model.ts';
import { lineOf } from '../../kernel/line.ts';
import type { Evidence, Policy, Promotion, Rule } from '../../kernel/promotion-model.ts';
import type { Tunables } from '../../kernel/tunables.ts';

/**
 * Default rules: promoting into the last environment of the line
 * (production) needs one approval; earlier hops need none.
 */
export function defaultPolicy(line: Environment[], target: Environment): Policy {
  const last = line[line.length - 1];
  const gated = last?.name === target.name || target.protected;
  return {
    ruleId: null,
    requiresApproval: gated,
    requiredApprovers: gated ? 1 : 0,
    approverGroups: ['approver', 'admin'],
    separationOfDuties: true,
    approvalExpirySeconds: 86_400,
  };
}

export function activeRule(rules: Rule[], source: string, target: string): Rule | undefined {
  return rules
    .filter((r) => r.status === 'active' && r.sourceEnvironment === source && r.targetEnvironment === target)
    .sort((a, b) => (a.createdAt < b.createdAt ? -1 : 1))[0];
}

export function resolvePolicy(rules: Rule[], line: Environment[], source: Environment, target: Environment): Policy {
  const rule = activeRule(rules, source.name, target.name);
  if (!rule) return defaultPolicy(line, target);
  return {
    ruleId: rule.id,
    requiresApproval: rule.requiresApproval,
    requiredApprovers: rule.requiresApproval ? Math.max(1, rule.requiredApprovers) : 0,
    approverGroups: rule.approverGroups,
    separationOfDuties: rule.separationOfDuties,
    approvalExpirySeconds: rule.approvalExpirySeconds,
    ...(rule.evidenceFrom && rule.evidenceFrom !== 'anyone' ? { evidenceFrom: rule.evidenceFrom } : {}),
    ...(typeof rule.soakSeconds === 'number' ? { soakSeconds: rule.soakSeconds } : {}),
    ...(rule.requireAttestationFrom?.length ? { requireAttestationFrom: rule.requireAttestationFrom } : {}),
  };
}

/** Whether a piece of evidence counts for a promotion under its policy's `evidenceFrom`. */
export function evidenceAccepted(e: Evidence, policy: Policy, choosers: string[]): boolean {
  const rule = policy.evidenceFrom ?? 'anyone';
  if (rule === 'anyone') return true;
  // Evidence from before provenance was recorded counts only where anyone's evidence does.
  if (!e.source) return false;
  if (rule === 'not-requester') return !choosers.includes(e.source.id);
  if (rule === 'machine') return e.source.kind === 'machine';
  return e.source.groups.includes(rule.slice('group:'.length)) && !choosers.includes(e.source.id);
}

// Kept with the aggregate, which reads them (the aggregate imports nothing above it).
export { contentChoosers, policyDigest } from '../aggregate.ts';

/** Environments in line order. */
export { lineOf };

/**
 * Forward only: the target must be the next environment after the source,
 * unless an active rule for the pair allows skipping ahead. Going back is a
 * rollback, not a promotion.
 */
export function checkForward(line: Environment[], rules: Rule[], sourceName: string, targetName: string): { source: Environment; target: Environment } {
  const source = line.find((e) => e.name === sourceName);
  const target = line.find((e) => e.name === targetName);
  if (!source) throw new EnvironmentNotFound(sourceName);
  if (!target) throw new EnvironmentNotFound(targetName);
  if (source.name === target.name) throw new RuleViolation('Source and target are the same environment');
  // An environment with edges of its own (after) is entered from those, whatever their positions.
  if (target.after?.length) {
    if (target.after.includes(source.name) || activeRule(rules, source.name, target.name)?.allowSkip) return { source, target };
    throw new RuleViolation(
      `'${target.name}' comes after ${target.after.map((a) => `'${a}'`).join(target.afterMode === 'any' ? ' or ' : ' and ')}, not '${source.name}'; promote from ${target.after.length > 1 ? 'one of them' : 'there'}`,
      { after: target.after },
    );
  }
  const si = line.indexOf(source);
  const ti = line.indexOf(target);
  // Stryker disable next-line EqualityOperator: ti equals si only when source and target are one environment, refused above
  if (ti < si) {
    throw new BackwardPromotion(
      `Promotion goes forward only (${line.map((e) => e.name).join(' → ')}); to go from '${source.name}' back to '${target.name}', roll '${target.name}' back instead`,
    );
  }
  if (ti > si + 1 && !activeRule(rules, source.name, target.name)?.allowSkip) {
    throw new RuleViolation(
      `'${target.name}' is not the next environment after '${source.name}' (that is '${line[si + 1]!.name}'); promote there first, or add a rule for ${source.name} → ${target.name} with allowSkip`,
    );
  }
  return { source, target };
}

/**
 * A promotion nobody validates (PENDING) or whose gates failed and nobody
 * validated again (VALIDATION_FAILED) expires this long after its request:
 * `pendingExpiryHours` of the deps' tunables (72 by default).
 */
export function pendingExpirySeconds({ pendingExpiryHours }: Pick<Tunables, 'pendingExpiryHours'>): number {
  return pendingExpiryHours * 3600;
}

/** How long an approved manual promotion waits for its go (execute or schedule) before it is given up. */
export const GO_WAIT_SECONDS = 7 * 24 * 3600;
