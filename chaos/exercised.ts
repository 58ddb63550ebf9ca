import type { RolloutTarget } from '../domain/kernel/promotion-model.ts';
import type { Count, Exercised, Observed, ObservedPromotion } from './types.ts';
import type { Kind } from './workload.ts';

/**
 * No vacuous invariant: the checks count what each invariant examined (chaos/checker.ts `check`, chaos/effects/checks.ts
 * `checkEffects`: promotions, transitions, commits, deliveries...), and `vacuous` names each invariant that examined
 * nothing though the run's promotions should have given it something: a git-commit promotion that completed and no
 * commit applying a promotion anywhere, a rollout its alarm rolled back and no stop decision read. A run with one fails.
 */

/** A counter: `count` adds to `exercised` (a measure of 0 is left out: it examined nothing). */
export function counter(): { count: Count; exercised: Exercised } {
  const exercised: Exercised = {};
  const count: Count = (invariant, measure, n = 1) => {
    if (!n) return;
    const m = (exercised[invariant] ??= {});
    m[measure] = (m[measure] ?? 0) + n;
  };
  return { count, exercised };
}

const FINAL = ['COMPLETED', 'ROLLED_BACK', 'FAILED', 'REJECTED', 'CANCELLED', 'EXPIRED'];
const entered = (x: ObservedPromotion | undefined, status: string) => Boolean(x?.promotion.transitions.some((t) => t.status === status));
const applied = (g: RolloutTarget) => Boolean(g.appliedAt) || ['CONFIRMING', 'BAKING', 'DONE', 'ROLLED_BACK'].includes(g.state);

/** How far a promotion got, as a rule asks it (`x` is undefined for one requested and not in the table). */
const REACHED = {
  requested: { text: 'requested', test: (_x: ObservedPromotion | undefined) => true },
  ended: { text: 'ended', test: (x: ObservedPromotion | undefined) => FINAL.includes(x?.promotion.status ?? '') },
  executed: { text: 'executed', test: (x: ObservedPromotion | undefined) => entered(x, 'EXECUTING') },
  completed: { text: 'completed', test: (x: ObservedPromotion | undefined) => entered(x, 'COMPLETED') },
  /** its own rollout put it back after changing a target (not a later rollback's mark of a completed one) */
  'rolled back': {
    text: 'rolled back after changing a target',
    test: (x: ObservedPromotion | undefined) =>
      x?.promotion.status === 'ROLLED_BACK' && !entered(x, 'COMPLETED') && entered(x, 'EXECUTING') && x.targets.some(applied),
  },
  /** completed, or rolled back by its rollout after changing a target: it ran its targets' bakes */
  'rolled out': {
    text: 'completed or rolled back after changing a target',
    test: (x: ObservedPromotion | undefined) => REACHED.completed.test(x) || REACHED['rolled back'].test(x),
  },
} as const;
type Reached = keyof typeof REACHED;

const ANY = 'any' as const;
/** production kinds whose promotion was approved before it executed (production is protected: it needs an approval) */
const INTO_PRODUCTION: readonly Kind[] = [
  'config-production',
  'alarm-rollback',
  'alarm-after',
  'stop-race',
  'halt-resume',
  'callback-confirm',
  'analysis-pass',
  'analysis-fail',
  'guarded-wave',
  'soak',
  'fleet-confirm',
];
/** kinds whose promotions are configuration releases into staging or production (what `live-value` compares) */
const CONFIG: readonly Kind[] = [...INTO_PRODUCTION, 'config-staging', 'flag-staging', 'webhook-gate', 'recurring', 'approval-race', 'deadline-race'];
/** kinds whose rollout is stopped by an alarm or a failed analysis */
const STOPPED: readonly Kind[] = ['alarm-rollback', 'stop-race', 'analysis-fail'];

/** Which invariant (and which of its measures) the promotions of `kinds` exercise once one of them `reached` that far. */
export interface Expected {
  invariant: string;
  measure: string;
  kinds: readonly Kind[] | typeof ANY;
  reached: Reached;
  /** only with the effect receivers */
  effects?: boolean;
}

export const EXPECTED: readonly Expected[] = [
  { invariant: 'final-state', measure: 'promotions', kinds: ANY, reached: 'requested' },
  { invariant: 'lifecycle', measure: 'transitions', kinds: ANY, reached: 'ended' },
  { invariant: 'audit-chain', measure: 'audit entries', kinds: ANY, reached: 'requested' },
  { invariant: 'attestation', measure: 'attestations', kinds: ANY, reached: 'ended' },
  { invariant: 'one-running', measure: 'executions', kinds: ANY, reached: 'executed' },
  { invariant: 'live-value', measure: 'environments', kinds: CONFIG, reached: 'completed' },
  { invariant: 'live-value', measure: 'targets', kinds: INTO_PRODUCTION, reached: 'completed' },
  { invariant: 'approvals-once', measure: 'approvals', kinds: [...INTO_PRODUCTION, 'approval-race', 'deadline-race'], reached: 'executed' },
  { invariant: 'no-wave-after-stop', measure: 'stopped rollouts', kinds: STOPPED, reached: 'rolled back' },
  { invariant: 'rollback-order', measure: 'targets put back', kinds: [...STOPPED, 'guarded-wave', 'fleet-confirm'], reached: 'rolled back' },
  { invariant: 'rollback-scope', measure: 'rollbacks completed', kinds: ['rollback-promotion', 'env-rollback'], reached: 'completed' },
  { invariant: 'analysis-verdict', measure: 'analysis runs', kinds: ['analysis-pass', 'analysis-fail', 'guarded-wave'], reached: 'rolled out' },
  { invariant: 'soak-respected', measure: 'soaks', kinds: ['soak'], reached: 'executed' },
  { invariant: 'gate-verdict', measure: 'gate verdicts', kinds: ANY, reached: 'executed' },
  { invariant: 'recurring-once', measure: 'calendars', kinds: ['recurring'], reached: 'requested' },
  { invariant: 'fleet-confirmed', measure: 'fleet targets', kinds: ['fleet-confirm'], reached: 'completed' },
  { invariant: 'git-once', measure: 'commits', kinds: ['git-commit'], reached: 'completed', effects: true },
  { invariant: 'git-once', measure: 'pull requests', kinds: ['git-pr'], reached: 'completed', effects: true },
  { invariant: 'registry-once', measure: 'tag moves', kinds: ['artifact', 'bundle', 'git-commit', 'git-pr'], reached: 'completed', effects: true },
  { invariant: 'webhook-once', measure: 'deliveries', kinds: ANY, reached: 'ended', effects: true },
  { invariant: 'notify-once', measure: 'notifications', kinds: ANY, reached: 'completed', effects: true },
  { invariant: 'gate-verdict', measure: 'webhook gate calls', kinds: ['webhook-gate'], reached: 'executed', effects: true },
];

/** An invariant that examined nothing of what its run's promotions should have given it. */
export interface Vacuous {
  invariant: string;
  measure: string;
  /** which promotions should have exercised it: "2 git-commit promotions completed" */
  because: string;
}

/**
 * The invariants (and measures) of `EXPECTED` that examined nothing though a promotion of their kinds got as far as
 * the rule asks (`effects`: the run had the effect receivers, so their invariants are asked too).
 */
export function vacuous(o: Observed, exercised: Exercised, opts: { effects: boolean }, expected: readonly Expected[] = EXPECTED): Vacuous[] {
  const byId = new Map(o.tenants.flatMap((t) => t.promotions.map((x) => [`${t.tenant}\n${x.promotion.id}`, x] as const)));
  const out: Vacuous[] = [];
  for (const e of expected) {
    if (e.effects && !opts.effects) continue;
    if ((exercised[e.invariant]?.[e.measure] ?? 0) > 0) continue;
    const reached = o.requested.filter(
      (r) => (e.kinds === ANY || (e.kinds as readonly string[]).includes(r.kind)) && REACHED[e.reached].test(byId.get(`${r.tenant}\n${r.id}`)),
    );
    if (!reached.length) continue;
    const kinds = [...new Set(reached.map((r) => r.kind))].sort().join(', ');
    const n = reached.length;
    out.push({
      invariant: e.invariant,
      measure: e.measure,
      because: `${n} ${kinds} promotion${n === 1 ? '' : 's'} ${REACHED[e.reached].text}`,
    });
  }
  return out;
}

/** The report's table: per invariant (in `order`, then any other), what it examined ("12 promotions, 3 targets"), or 0. */
export function exercisedLines(exercised: Exercised, order: readonly string[] = []): string[] {
  const names = [...new Set([...order, ...Object.keys(exercised)])];
  return names.map((k) => {
    const m = Object.entries(exercised[k] ?? {});
    return `  ${k.padEnd(20)} ${m.length ? m.map(([what, n]) => `${n} ${what}`).join(', ') : '0'}`;
  });
}
