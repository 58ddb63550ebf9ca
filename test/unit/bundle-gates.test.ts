import { describe, expect, it } from 'vitest';
import { evaluateGates } from '../../domain/promotion/terms/gate-verdicts.ts';
import type { Evidence } from '../../domain/kernel/promotion-model.ts';

const GATES = { policy_compliance: true as const, tests: true, security_scan: false, cost_analysis: true, performance_baseline: false };
let n = 0;
const ev = (type: Evidence['type'], payload: Record<string, unknown>): Evidence => ({
  id: `ev_${++n}`,
  type,
  payload,
  submittedBy: 'ci',
  submittedAt: `2026-11-26T10:00:${String(n).padStart(2, '0')}Z`,
});
const judged = (own: Evidence[], members: { member: string; evidence: Evidence[] }[], violations: string[] = []) =>
  Object.fromEntries(evaluateGates(GATES, own, { violations }, [], new Set(), members).map((g) => [g.gate, g]));

describe("a bundle's gates judge its own evidence and each member's apart", () => {
  it("the bundle's own failing evidence fails it, even when every member passed", () => {
    const g = judged([ev('test_results', { passed: 1, failed: 2 })], [{ member: 'api@1', evidence: [ev('test_results', { passed: 3, failed: 0 })] }]);
    expect(g.tests).toMatchObject({ verdict: 'FAIL', reason: 'the bundle: 2 of 3 tests failed' });
    expect(g.tests!.evidenceRefs).toHaveLength(2);
  });

  it("the bundle's own passing evidence covers a member without any; a member's failure is never covered", () => {
    const own = [ev('test_results', { passed: 9, failed: 0 })];
    expect(judged(own, [{ member: 'api@1', evidence: [] }]).tests).toMatchObject({ verdict: 'PASS', reason: 'the bundle: all 9 tests passed' });
    const g = judged(own, [
      { member: 'api@1', evidence: [] },
      { member: 'worker@2', evidence: [ev('test_results', { passed: 0, failed: 1 })] },
    ]);
    expect(g.tests).toMatchObject({ verdict: 'FAIL', reason: 'worker@2: 1 of 1 tests failed' });
  });

  it("the engine's own checks fail policy_compliance, and so does a member's failed policy report", () => {
    expect(judged([], [{ member: 'api@1', evidence: [] }], ['the bundle would break x']).policy_compliance).toMatchObject({
      verdict: 'FAIL',
      reason: 'the bundle: the bundle would break x',
    });
    const g = judged([], [{ member: 'api@1', evidence: [ev('policy', { passed: false, violations: ['no SBOM'] })] }]);
    expect(g.policy_compliance).toMatchObject({ verdict: 'FAIL', reason: 'api@1: no SBOM' });
  });

  it('a warning gate warns naming the member over budget, or the members without an estimate', () => {
    const over = judged([], [{ member: 'api@1', evidence: [ev('cost_estimate', { monthlyDelta: 50, budget: 10 })] }]);
    expect(over.cost_analysis).toMatchObject({ verdict: 'WARN', reason: 'api@1: the monthly cost rises by 50, over the budget of 10' });
    const none = judged(
      [],
      [
        { member: 'api@1', evidence: [ev('cost_estimate', { monthlyDelta: 1 })] },
        { member: 'worker@2', evidence: [] },
      ],
    );
    expect(none.cost_analysis).toMatchObject({ verdict: 'WARN', reason: "no cost estimate was attached: neither on the bundle's promotion nor on worker@2" });
  });

  it('without members (one artifact or a config release) the gates read as before', () => {
    expect(judged([], []).tests).toMatchObject({ verdict: 'FAIL', reason: 'no test results were attached (this gate fails closed)' });
  });
});
