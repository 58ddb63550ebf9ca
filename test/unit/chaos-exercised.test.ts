import { describe, expect, it } from 'vitest';
import { checkCounted, INVARIANTS, type Observed } from '../../chaos/checker.ts';
import { checkEffects, type EffectInputs } from '../../chaos/effects/checks.ts';
import { counter, exercisedLines, vacuous } from '../../chaos/exercised.ts';
import type { Promotion } from '../../domain/kernel/promotion-model.ts';
import { at, completed, digest, entry, observed, promotion, target, TENANT } from '../support/chaos-histories.ts';

/**
 * No vacuous invariant (chaos/exercised.ts): the checks count what each invariant examined, and a run whose kinds
 * should have exercised an invariant that examined nothing is named (the run fails on it).
 */
/** Observed with the workload's kinds: each promotion requested as `kind`. */
const ofKinds = (o: Observed, kinds: Record<string, string>): Observed => ({
  ...o,
  requested: o.requested.map((r) => ({ ...r, kind: kinds[r.id] ?? r.kind })),
});

const noEffects = (over: Partial<EffectInputs> = {}): EffectInputs => ({
  repositories: [],
  manifestPuts: [],
  webhooks: [],
  expectedWebhooks: [],
  gates: [],
  gatedPromotions: [],
  notifications: [],
  lost: [],
  promotions: [],
  ...over,
});

describe('what each invariant examined', () => {
  it('the checker counts promotions, transitions, approvals, executions, live values and audit entries it looked at', () => {
    const p = completed('p-1', {
      policy: { requiresApproval: true, requiredApprovers: 1, approverGroups: ['approver'], approvalExpirySeconds: 60 } as Promotion['policy'],
      approvedBy: ['ann'],
    });
    p.transitions.splice(2, 0, { status: 'AWAITING_APPROVAL', at: at(1), by: 'stageline' } as Promotion['transitions'][number]);
    const o = observed(
      [{ promotion: p, targets: [], approvals: [{ by: 'u-ann', name: 'ann', at: at(2), digest: digest('r') }] as never }],
      [entry('p-1', 'promotion.create', 0), entry('p-1', 'promotion.approve', 2, undefined, digest('r')), entry('p-1', 'promotion.complete', 9)],
      [{ name: 'staging', snapshot: { seq: 2, digest: digest('n') }, targets: [] }],
    );
    const { violations, exercised } = checkCounted(o);
    expect(violations).toEqual([]);
    expect(exercised['final-state']).toEqual({ promotions: 1 });
    expect(exercised['lifecycle']).toEqual({ transitions: 5 });
    expect(exercised['approvals-once']).toEqual({ approvals: 1 });
    expect(exercised['one-running']).toEqual({ executions: 1 });
    expect(exercised['live-value']).toEqual({ environments: 1 });
    expect(exercised['audit-chain']).toEqual({ 'chains verified': 1, 'audit entries': 3 });
    // Nothing stopped, nothing rolled back, no analysis: those invariants examined nothing, and say so.
    expect(exercised['no-wave-after-stop'] ?? {}).toEqual({});
    expect(exercised['rollback-order'] ?? {}).toEqual({});
    expect(exercisedLines(exercised, INVARIANTS).find((l) => l.trim().startsWith('lifecycle'))).toMatch(/lifecycle\s+5 transitions/);
    expect(exercisedLines(exercised, INVARIANTS).find((l) => l.trim().startsWith('rollback-order'))).toMatch(/rollback-order\s+0/);
  });

  it('the effect checks count commits, pull requests, tag moves, deliveries, notifications and gate calls', () => {
    const { count, exercised } = counter();
    checkEffects(
      noEffects({
        repositories: [
          {
            tenant: TENANT,
            repository: 'r',
            mode: 'pull-request',
            commits: [
              { sha: 'a', message: 'Promote\n\nStageline-Promotion: p-1\n' },
              { sha: 'b', message: 'initial values' },
            ],
            pulls: [{ number: 1, head: 'stageline/p-1', base: 'main', state: 'closed', merged: true }],
          },
        ],
        manifestPuts: [
          { tenant: TENANT, registry: 'east', repository: 'app', reference: 'latest-staging', digest: 'sha256:a', at: at(5) },
          { tenant: TENANT, registry: 'east', repository: 'app', reference: 'sha256:a', digest: 'sha256:a', at: at(5) },
        ],
        webhooks: [{ tenant: TENANT, webhookId: 'msg_1', type: 'promotion.completed', eventId: 'e1', verified: true, at: at(9), body: '{}' }],
        expectedWebhooks: [{ tenant: TENANT, type: 'promotion.completed', eventId: 'e1' }],
        gates: [{ tenant: TENANT, promotionId: 'p-1', verdict: 'PASS', at: at(1) }],
        notifications: [{ tenant: TENANT, channel: 'email', recipient: 'ops@acme.test', title: 'is live', at: at(9) }],
      }),
      [],
      count,
    );
    expect(exercised).toEqual({
      'git-once': { commits: 1, 'pull requests': 1 },
      'registry-once': { 'tag moves': 1 },
      'webhook-once': { deliveries: 1, 'events published': 1 },
      'gate-verdict': { 'webhook gate calls': 1 },
      'notify-once': { notifications: 1 },
    });
  });
});

describe('no vacuous invariant', () => {
  const gitRun = () => ofKinds(observed([{ promotion: completed('p-git'), targets: [], approvals: [] }], []), { 'p-git': 'git-commit' });

  it('names git-once when a git-commit promotion completed and no commit applying a promotion was seen (the hole of config promotions)', () => {
    const o = gitRun();
    const { count, exercised } = counter();
    checkCounted(o, {}, count);
    checkEffects(noEffects(), [], count);
    const found = vacuous(o, exercised, { effects: true });
    expect(found.map((v) => `${v.invariant} ${v.measure}`)).toContain('git-once commits');
    expect(found.find((v) => v.invariant === 'git-once')!.because).toContain('1 git-commit promotion completed');
  });

  it('passes once the commit is there; without the effect receivers it asks nothing of git', () => {
    const o = gitRun();
    const { count, exercised } = counter();
    checkCounted(o, {}, count);
    const commit = { sha: 'a', message: 'Promote app\n\nStageline-Promotion: p-git\n' };
    checkEffects(noEffects({ repositories: [{ tenant: TENANT, repository: 'r', mode: 'commit', commits: [commit], pulls: [] }] }), [], count);
    expect(vacuous(o, exercised, { effects: true }).filter((v) => v.invariant === 'git-once')).toEqual([]);
    const alone = counter();
    checkCounted(o, {}, alone.count);
    expect(vacuous(o, alone.exercised, { effects: false }).map((v) => v.invariant)).not.toContain('git-once');
  });

  it('a rollout its alarm rolled back after changing a target must have exercised the stop and the order of putting back', () => {
    const rolled = promotion('p-alarm', {
      targetEnvironment: 'production',
      path: [
        ['PENDING', 0],
        ['VALIDATING', 1],
        ['APPROVED', 2],
        ['EXECUTING', 3],
        ['ROLLED_BACK', 20],
      ],
      rollout: { waves: [], wave: 1, outcome: 'ROLLED_BACK', stopping: { at: at(10), reason: 'canary: 5xx' } } as unknown as Promotion['rollout'],
    });
    const o = ofKinds(observed([{ promotion: rolled, targets: [target('canary', 1, 'ROLLED_BACK', 5)], approvals: [] }], []), {
      'p-alarm': 'alarm-rollback',
    });
    const { exercised } = checkCounted(o);
    expect(exercised['no-wave-after-stop']).toEqual({ 'stopped rollouts': 1 });
    expect(exercised['rollback-order']).toEqual({ 'targets put back': 1 });
    const stops = (e: typeof exercised) =>
      vacuous(o, e, { effects: false })
        .filter((v) => v.invariant === 'no-wave-after-stop' || v.invariant === 'rollback-order')
        .map((v) => `${v.invariant} ${v.measure}: ${v.because}`);
    expect(stops(exercised)).toEqual([]);
    // The same history with the checks' counts lost: both named.
    expect(stops({ ...exercised, 'no-wave-after-stop': {}, 'rollback-order': {} })).toEqual([
      'no-wave-after-stop stopped rollouts: 1 alarm-rollback promotion rolled back after changing a target',
      'rollback-order targets put back: 1 alarm-rollback promotion rolled back after changing a target',
    ]);
    // This history has no audit, no approval and no gate: a run like it is named for those too.
    expect(vacuous(o, exercised, { effects: false }).map((v) => v.invariant)).toEqual(
      expect.arrayContaining(['audit-chain', 'approvals-once', 'gate-verdict']),
    );
  });
});
