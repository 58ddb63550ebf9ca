import { describe, expect, it } from 'vitest';
import { check, type Observed } from '../../chaos/checker.ts';
import type { Promotion, RolloutTarget } from '../../domain/kernel/promotion-model.ts';
import type { AuditEntry } from '../../domain/kernel/model.ts';
import { at, digest, entry, observed, promotion, target, TENANT } from '../support/chaos-histories.ts';

/**
 * The chaos checker fails histories that break the model: histories built as data, each with the defect a
 * past round had, and the same history without it (which it passes).
 */
const names = (o: Observed) => check(o).map((v) => `${v.invariant} ${v.promotionId}`);

describe('chaos checker: no wave after the stop decision', () => {
  /** A rollout over three waves whose wave 2 regressed at 20 s: the flow decided to stop and put back what it changed. */
  const stopped = (wave3: RolloutTarget, late: AuditEntry[]) => {
    const p = promotion('p-stop', {
      targetEnvironment: 'production',
      path: [
        ['PENDING', 0],
        ['VALIDATING', 1],
        ['APPROVED', 2],
        ['EXECUTING', 3],
        ['ROLLED_BACK', 30],
      ],
      result: { digest: digest('n') } as Promotion['result'],
      rollout: {
        waves: [
          { wave: 1, targets: ['canary'], bakeSeconds: 1, maxParallel: 1 },
          { wave: 2, targets: ['us-east-1'], bakeSeconds: 1, maxParallel: 1 },
          { wave: 3, targets: ['cell-1'], bakeSeconds: 1, maxParallel: 1 },
        ],
        wave: 3,
        stopping: { at: at(20), reason: 'us-east-1: 5xx above 2%' },
        outcome: 'ROLLED_BACK',
      },
    });
    const targets = [target('canary', 1, 'ROLLED_BACK', 5), target('us-east-1', 2, 'ROLLED_BACK', 12), wave3];
    const audit = [
      entry(p.id, 'promotion.wave.start', 4, 'wave 1: canary'),
      entry(p.id, 'promotion.target.apply', 5, 'wave 1: canary changed', `canary:${digest('n')}`),
      entry(p.id, 'promotion.wave.start', 11, 'wave 2: us-east-1'),
      entry(p.id, 'promotion.target.apply', 12, 'wave 2: us-east-1 changed', `us-east-1:${digest('n')}`),
      entry(p.id, 'promotion.rollback.auto', 30, 'us-east-1: 5xx above 2%'),
      ...late,
    ];
    return observed([{ promotion: p, targets, approvals: [] }], audit);
  };

  it('fails a history where wave 3 started and was applied after the stop decision (this round defect)', () => {
    const o = stopped(target('cell-1', 3, 'ROLLED_BACK', 22), [
      entry('p-stop', 'promotion.wave.start', 21, 'wave 3: cell-1'),
      entry('p-stop', 'promotion.target.apply', 22, 'wave 3: cell-1 changed', `cell-1:${digest('n')}`),
    ]);
    const found = check(o).filter((v) => v.invariant === 'no-wave-after-stop');
    expect(found.map((v) => v.detail)).toEqual([
      expect.stringContaining('target cell-1 (wave 3) was applied at'),
      expect.stringContaining('audit promotion.wave.start (wave 3: cell-1)'),
      expect.stringContaining('audit promotion.target.apply (wave 3: cell-1 changed)'),
    ]);
    expect(found[0]).toMatchObject({ tenant: TENANT, promotionId: 'p-stop' });
    // The excerpt shows the history of that promotion, ending with the rollout's state.
    expect(found[0]!.history.some((h) => h.includes('audit promotion.wave.start: wave 3: cell-1'))).toBe(true);
    expect(found[0]!.history.at(-1)).toContain('cell-1:ROLLED_BACK@');
  });

  it('passes the same history when wave 3 never started', () => {
    expect(names(stopped(target('cell-1', 3, 'PENDING'), []))).toEqual([]);
  });

  /** The same stop, which wrote the promotion's version 9, and a cell changed on version `on`, its clock read at 20.5 s. */
  const racing = (on: number) => {
    const o = stopped({ ...target('cell-1', 3, 'ROLLED_BACK'), appliedAt: new Date(Date.parse(at(20)) + 500).toISOString(), appliedOn: on }, [
      {
        ...entry('p-stop', 'promotion.target.apply', 20, 'wave 3: cell-1 changed', `cell-1:${digest('n')}`),
        at: new Date(Date.parse(at(20)) + 500).toISOString(),
      },
    ]);
    o.tenants[0]!.promotions[0]!.promotion.rollout!.stopping!.version = 9;
    return o;
  };

  // Seed 20261127 at 20 %: a cell's change read its clock 28 ms after the stop decision read its own, but its write was
  // conditioned on the version before the stop's and so landed first. Clocks are read before writes land: the order is
  // the versions'.
  it('passes a change clocked after the stop decision that was written against the version before it', () => {
    expect(names(racing(8))).toEqual([]);
  });

  it("fails a change written against the stop decision's own version, whatever its clock", () => {
    expect(check(racing(9)).map((v) => v.detail)).toEqual([expect.stringContaining("cell-1 (wave 3) was applied on the promotion's version 9")]);
  });
});

describe('chaos checker: a rollback marks only the promotion it rolls back', () => {
  const completedThenRolledBack = (id: string, done: number, marked: number) =>
    promotion(id, {
      path: [
        ['PENDING', done - 5],
        ['VALIDATING', done - 5],
        ['APPROVED', done - 4],
        ['EXECUTING', done - 3],
        ['COMPLETED', done],
        ['ROLLED_BACK', marked],
      ],
      result: { digest: digest(id.slice(-1)) } as Promotion['result'],
    });
  const rollbackOf = (of: string) =>
    promotion('p-rb', {
      path: [
        ['PENDING', 40],
        ['VALIDATING', 40],
        ['APPROVED', 41],
        ['EXECUTING', 42],
        ['COMPLETED', 45],
      ],
      rollback: { of, reason: 'reports broken', impact: {}, override: null } as unknown as Promotion['rollback'],
      result: { digest: digest('a') } as Promotion['result'],
    });

  it('fails a history where the rollback of one promotion also marked an unrelated one ROLLED_BACK (last round defect)', () => {
    const a = completedThenRolledBack('p-a', 10, 45);
    const b = completedThenRolledBack('p-b', 30, 45);
    const o = observed(
      [a, b, rollbackOf('p-a')].map((promotion) => ({ promotion, targets: [], approvals: [] })),
      [entry('p-rb', 'promotion.complete', 45)],
    );
    expect(names(o).filter((n) => n.startsWith('rollback-scope'))).toEqual(['rollback-scope p-b']);
  });

  it('fails the same defect when the rollback of the earlier one replaced the newest one’s deployment (chaos mutant rollback-marks-replaced)', () => {
    // The rollback of p-a completed over p-b's deployment (the environment ran p-b): p-b is still live, not rolled back.
    const a = completedThenRolledBack('p-a', 10, 45);
    const b = completedThenRolledBack('p-b', 30, 45);
    const rb = rollbackOf('p-a');
    rb.result = { ...rb.result!, replaced: { id: 'dep-b', promotionId: 'p-b' } } as Promotion['result'];
    const o = observed(
      [a, b, rb].map((promotion) => ({ promotion, targets: [], approvals: [] })),
      [entry('p-rb', 'promotion.complete', 45)],
    );
    expect(names(o).filter((n) => n.startsWith('rollback-scope'))).toEqual(['rollback-scope p-b']);
  });

  it('passes an environment’s rollback that marked the promotion whose deployment it replaced', () => {
    const b = completedThenRolledBack('p-b', 30, 45);
    const rb = rollbackOf('p-a');
    rb.rollback = { ...rb.rollback!, of: undefined } as unknown as Promotion['rollback'];
    rb.result = { ...rb.result!, replaced: { id: 'dep-b', promotionId: 'p-b' } } as Promotion['result'];
    const o = observed(
      [b, rb].map((promotion) => ({ promotion, targets: [], approvals: [] })),
      [entry('p-rb', 'promotion.complete', 45)],
    );
    expect(names(o).filter((n) => n.startsWith('rollback-scope'))).toEqual([]);
  });

  it('fails a rollback that completed while the promotion it rolls back is not marked', () => {
    const a = promotion('p-a', {
      path: [
        ['PENDING', 5],
        ['VALIDATING', 6],
        ['APPROVED', 6],
        ['EXECUTING', 7],
        ['COMPLETED', 10],
      ],
      result: { digest: digest('a') } as Promotion['result'],
    });
    const o = observed(
      [a, rollbackOf('p-a')].map((promotion) => ({ promotion, targets: [], approvals: [] })),
      [],
    );
    expect(names(o)).toContain('rollback-scope p-a');
  });

  it('passes when the rollback marked only the promotion it rolls back', () => {
    const a = completedThenRolledBack('p-a', 10, 45);
    const o = observed(
      [a, rollbackOf('p-a')].map((promotion) => ({ promotion, targets: [], approvals: [] })),
      [],
    );
    expect(names(o)).toEqual([]);
  });
});

describe('chaos checker: other invariants fail what they describe', () => {
  it('one-running: two promotions executing into one environment at once', () => {
    const a = promotion('p-1', {
      path: [
        ['PENDING', 0],
        ['VALIDATING', 0],
        ['APPROVED', 1],
        ['EXECUTING', 2],
        ['COMPLETED', 20],
      ],
      result: { digest: digest('1') } as Promotion['result'],
    });
    const b = promotion('p-2', {
      path: [
        ['PENDING', 3],
        ['VALIDATING', 3],
        ['APPROVED', 4],
        ['EXECUTING', 5],
        ['COMPLETED', 25],
      ],
      result: { digest: digest('2') } as Promotion['result'],
    });
    expect(
      names(
        observed(
          [a, b].map((promotion) => ({ promotion, targets: [], approvals: [] })),
          [],
        ),
      ),
    ).toEqual(['one-running p-2']);
  });

  it('approvals-once: one approver counted twice, and an approval of another digest', () => {
    const p = promotion('p-ap', {
      path: [
        ['PENDING', 0],
        ['VALIDATING', 0],
        ['AWAITING_APPROVAL', 1],
        ['APPROVED', 2],
        ['EXECUTING', 3],
        ['COMPLETED', 9],
      ],
      policy: { requiresApproval: true, requiredApprovers: 2, approverGroups: ['approver'], approvalExpirySeconds: 60 } as Promotion['policy'],
      approvedBy: ['ann', 'ann'],
      result: { digest: digest('r') } as Promotion['result'],
    });
    const approvals = [
      { by: 'u-ann', name: 'ann', at: at(2), digest: digest('r') },
      { by: 'u-ann', name: 'ann', at: at(2), digest: digest('r') },
    ];
    const v = check(observed([{ promotion: p, targets: [], approvals }], [entry('p-ap', 'promotion.approve', 2, undefined, digest('x'))])).filter(
      (x) => x.invariant === 'approvals-once',
    );
    expect(v.map((x) => x.detail)).toEqual([
      'u-ann has 2 approvals of it',
      'approvedBy names someone twice: ann, ann',
      expect.stringContaining('APPROVED with 1 approval(s) of its digest; the policy needs 2'),
      expect.stringContaining(`an approval of ${digest('x')}`),
    ]);
  });

  it('live-value: a target that still serves a release its rollout put back; final-state: a promotion still executing', () => {
    const p = promotion('p-live', {
      targetEnvironment: 'production',
      path: [
        ['PENDING', 0],
        ['VALIDATING', 0],
        ['APPROVED', 0],
        ['EXECUTING', 2],
        ['ROLLED_BACK', 9],
      ],
      result: { digest: digest('n') } as Promotion['result'],
      rollout: { waves: [], wave: 1, outcome: 'ROLLED_BACK' },
    });
    const stuck = promotion('p-stuck', {
      targetEnvironment: 'staging',
      path: [
        ['PENDING', 10],
        ['VALIDATING', 10],
        ['APPROVED', 10],
        ['EXECUTING', 12],
      ],
    });
    const o = observed(
      [
        { promotion: p, targets: [target('canary', 1, 'ROLLED_BACK', 3, digest('0'))], approvals: [] },
        { promotion: stuck, targets: [], approvals: [] },
      ],
      [],
      [{ name: 'production', snapshot: { seq: 1, digest: digest('0') }, targets: [{ name: 'canary', config: { seq: 2, digest: digest('n') } }] }],
    );
    expect(names(o)).toEqual(['final-state p-stuck', 'live-value p-live']);
  });
});

/** A production rollout over three waves that executed from 3 s: `targets`, `end` its status at 40 s, `over` the rest. */
const rollout = (id: string, end: Promotion['status'], targets: RolloutTarget[], over: Partial<Promotion> = {}) => ({
  promotion: promotion(id, {
    targetEnvironment: 'production',
    sourceEnvironment: 'staging',
    path: [
      ['PENDING', 0],
      ['VALIDATING', 1],
      ['APPROVED', 2],
      ['EXECUTING', 3],
      [end, 40],
    ],
    result: { digest: digest('n') } as Promotion['result'],
    ...over,
  }),
  targets,
  approvals: [],
});
const measured = (x: RolloutTarget, phase: string, failed = 0) =>
  ({
    ...x,
    analysis: [
      {
        template: 'chaos-errors',
        scope: 'bake',
        phase,
        measurements: [],
        tally: { successful: 2 - failed, failed, inconclusive: 0, error: 0, consecutiveErrors: 0 },
      },
    ],
  }) as unknown as RolloutTarget;
const rolledBack = (x: RolloutTarget, s: number) => ({ ...x, rolledBackAt: at(s) }) as RolloutTarget;

describe('chaos checker: a failed analysis stops the rollout, a passing one lets it complete', () => {
  it('fails a promotion that COMPLETED though an analysis of its targets failed, and a run marked Failed with no failed measurement', () => {
    const o = observed(
      [
        rollout('p-done', 'COMPLETED', [measured(target('canary', 1, 'DONE', 5), 'Successful'), measured(target('us-east-1', 2, 'DONE', 12), 'Failed', 2)]),
        rollout('p-back', 'ROLLED_BACK', [rolledBack(measured(target('canary', 1, 'ROLLED_BACK', 5), 'Failed'), 30), target('us-east-1', 2, 'PENDING')], {
          targetEnvironment: 'eu-production',
          rollout: { wave: 1, stopping: { at: at(20), reason: 'analysis' }, outcome: 'ROLLED_BACK' } as Promotion['rollout'],
        }),
      ],
      [],
    );
    const found = check(o).filter((v) => v.invariant === 'analysis-verdict');
    expect(found.map((v) => `${v.promotionId}: ${v.detail}`)).toEqual([
      expect.stringMatching(/^p-done: .*COMPLETED.*analysis 'chaos-errors' of us-east-1 failed/),
      expect.stringMatching(/^p-back: .*analysis 'chaos-errors' of canary is Failed, but none of its measurements failed/),
    ]);
  });

  it('passes a rollout whose analyses succeeded and one that rolled back after a failed one', () => {
    const o = observed(
      [
        rollout('p-done', 'COMPLETED', [measured(target('canary', 1, 'DONE', 5), 'Successful'), measured(target('us-east-1', 2, 'DONE', 12), 'Successful')]),
        rollout('p-back', 'ROLLED_BACK', [rolledBack(measured(target('canary', 1, 'ROLLED_BACK', 5), 'Failed', 1), 30), target('us-east-1', 2, 'PENDING')], {
          targetEnvironment: 'eu-production',
          rollout: { wave: 1, stopping: { at: at(20), reason: 'analysis' }, outcome: 'ROLLED_BACK' } as Promotion['rollout'],
        }),
      ],
      [],
    );
    expect(names(o)).toEqual([]);
  });
});

describe('chaos checker: a rollout puts back only the targets it changed, newest wave first', () => {
  const stopped = (targets: RolloutTarget[], order: string) =>
    observed(
      [
        rollout('p-r', 'ROLLED_BACK', targets, {
          rollout: { wave: 2, stopping: { at: at(20), reason: 'analysis' }, outcome: 'ROLLED_BACK' } as Promotion['rollout'],
        }),
      ],
      [entry('p-r', 'promotion.rollback.auto', 30, `analysis failed; targets rolled back in reverse wave order: ${order}`)],
    );

  it('fails a history that put back a target never changed, and one that put wave 1 back before wave 2', () => {
    const o = stopped(
      [
        rolledBack(target('canary', 1, 'ROLLED_BACK', 5), 30),
        rolledBack(target('us-east-1', 2, 'ROLLED_BACK', 12), 31),
        rolledBack(target('cell-1', 3, 'ROLLED_BACK'), 30),
      ],
      'canary (wave 1), us-east-1 (wave 2)',
    );
    const found = check(o).filter((v) => v.invariant === 'rollback-order');
    expect(found.map((v) => v.detail)).toEqual([
      expect.stringContaining('target cell-1 (wave 3) was put back, but the rollout never changed it'),
      expect.stringContaining('us-east-1 (wave 2) was put back at'),
      expect.stringContaining('the audit says it put back canary (wave 1) before us-east-1 (wave 2)'),
    ]);
  });

  it('passes the history that put back wave 2 then wave 1, and left wave 3 alone', () => {
    const o = stopped(
      [rolledBack(target('canary', 1, 'ROLLED_BACK', 5), 30), rolledBack(target('us-east-1', 2, 'ROLLED_BACK', 12), 30), target('cell-1', 3, 'PENDING')],
      'us-east-1 (wave 2), canary (wave 1)',
    );
    expect(names(o)).toEqual([]);
  });
});

describe('chaos checker: a soak-delayed promotion never starts before its soak ends', () => {
  /** staging's promotion executed at 3 s and completed at 6 s; production's was requested at 7 s and executed at `exec`. */
  const soaked = (exec: number, heldBy: boolean) => {
    const staging = promotion('p-stg', {
      path: [
        ['PENDING', 0],
        ['VALIDATING', 1],
        ['APPROVED', 2],
        ['EXECUTING', 3],
        ['COMPLETED', 6],
      ],
      targetEnvironment: 'staging',
    });
    const production = promotion('p-prd', {
      sourceEnvironment: 'staging',
      targetEnvironment: 'production',
      path: [
        ['PENDING', 7],
        ['VALIDATING', 7],
        ['APPROVED', 8],
        ['SCHEDULED', 8],
        ['EXECUTING', exec],
        ['COMPLETED', exec + 2],
      ],
      ...(heldBy
        ? {
            heldBy: { soak: { environment: 'staging', seconds: 5, since: at(4), from: 'environment' }, reason: 'soaking', until: at(9) } as Promotion['heldBy'],
          }
        : {}),
    });
    const o = observed(
      [
        { promotion: staging, targets: [], approvals: [] },
        { promotion: production, targets: [], approvals: [] },
      ],
      [],
    );
    o.requested = o.requested.map((r) => (r.id === 'p-prd' ? { ...r, soakSeconds: 5 } : r));
    return o;
  };

  it('fails a promotion that executed before its hold said, and one the soak never held that executed too soon after its release landed', () => {
    expect(
      check(soaked(8, true))
        .filter((v) => v.invariant === 'soak-respected')
        .map((v) => v.detail),
    ).toEqual([expect.stringMatching(/started executing at .*, before its soak of 5 s in staging from .* ended/)]);
    expect(
      check(soaked(7, false))
        .filter((v) => v.invariant === 'soak-respected')
        .map((v) => v.detail),
    ).toEqual([expect.stringContaining('after its release went live in staging')]);
  });

  it('passes the promotion that executed once the soak had ended', () => {
    expect(names(soaked(9, true))).toEqual([]);
  });
});

describe("chaos checker: a webhook gate's verdict is what the promotion did", () => {
  const gated = (verdict: 'PASS' | 'FAIL', end: 'COMPLETED' | 'CANCELLED') =>
    observed(
      [
        {
          promotion: promotion('p-g', {
            path:
              end === 'COMPLETED'
                ? [
                    ['PENDING', 0],
                    ['VALIDATING', 1],
                    ['APPROVED', 2],
                    ['EXECUTING', 3],
                    ['COMPLETED', 6],
                  ]
                : [
                    ['PENDING', 0],
                    ['VALIDATING', 1],
                    ['VALIDATION_FAILED', 2],
                    ['CANCELLED', 6],
                  ],
            gates: [{ gate: 'webhook:change-board', verdict, blocking: true, reason: 'board', evidenceRefs: [] }],
          }),
          targets: [],
          approvals: [],
        },
      ],
      [],
    );
  it('fails a promotion that executed though a blocking gate failed', () => {
    expect(check(gated('FAIL', 'COMPLETED')).map((v) => `${v.invariant}: ${v.detail}`)).toEqual([
      expect.stringMatching(/^gate-verdict: .*webhook:change-board.*FAIL/),
    ]);
  });
  it('passes a completed promotion whose gate passed, and a cancelled one whose gate failed', () => {
    expect(names(gated('PASS', 'COMPLETED'))).toEqual([]);
    expect(names(gated('FAIL', 'CANCELLED'))).toEqual([]);
  });
});

describe('chaos checker: a recurring promotion fires once per occurrence', () => {
  /** calendar `train` fired one occurrence (delivered twice): `n` promotions requested by it. */
  const fired = (n: number) => {
    const byCalendar = (id: string, s: number) =>
      promotion(id, {
        requestedBy: { id: 'recurring:train', name: "recurring promotion 'train'" },
        path: [
          ['PENDING', s],
          ['VALIDATING', s],
          ['CANCELLED', s + 1],
        ],
      } as Partial<Promotion> & { path: [Promotion['status'], number][] });
    const o = observed(
      Array.from({ length: n }, (_, i) => ({ promotion: byCalendar(`p-r${i}`, i * 2), targets: [], approvals: [] })),
      [],
    );
    o.requested = o.requested.map((r) => ({ ...r, recurring: { name: 'train', occurrences: 1 } }));
    return o;
  };
  it('fails two promotions requested by one occurrence of a calendar', () => {
    expect(check(fired(2)).map((v) => `${v.invariant} ${v.promotionId}: ${v.detail}`)).toEqual([
      expect.stringMatching(/^recurring-once p-r1: recurring promotion 'train' requested 2 promotions \(p-r0, p-r1\) for 1 occurrence/),
    ]);
  });
  it('passes one promotion for the occurrence', () => {
    expect(names(fired(1))).toEqual([]);
  });
});

describe('chaos checker: a fleet target confirms only when its fleet took the release', () => {
  const fleetTarget = (state: RolloutTarget['state'], took: number, seen: number) =>
    ({
      ...target('cell-1', 3, state, 20),
      confirm: { mode: 'fleet', at: at(25), fleet: { seen, took, share: seen ? took / seen : 0, minShare: 0.9 } },
    }) as RolloutTarget;
  const run = (end: Promotion['status'], cell: RolloutTarget, readers: number) => {
    const o = observed([rollout('p-f', end, [target('canary', 1, 'DONE', 5), cell])], []);
    o.requested = o.requested.map((r) => ({ ...r, fleet: { readers, minInstances: 2 } }));
    return o;
  };
  it('fails a cell confirmed while 1 of 2 instances took the release, and a promotion that completed though only one instance ever read it', () => {
    expect(check(run('COMPLETED', fleetTarget('DONE', 1, 2), 1)).map((v) => `${v.invariant}: ${v.detail}`)).toEqual([
      expect.stringMatching(/^fleet-confirmed: target cell-1 was confirmed by its fleet with 1\/2 instances \(50 %\); it needs 90 %/),
      expect.stringMatching(/^fleet-confirmed: it COMPLETED, but only 1 instance of its fleet target read anything; confirming needs 2/),
    ]);
  });
  it('passes a cell confirmed by both instances, and a promotion rolled back when one never read', () => {
    expect(names(run('COMPLETED', fleetTarget('DONE', 2, 2), 2))).toEqual([]);
    expect(names(run('ROLLED_BACK', fleetTarget('ROLLED_BACK', 0, 2), 1))).toEqual([]);
  });
});
