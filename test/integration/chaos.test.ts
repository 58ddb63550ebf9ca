import { describe, expect, inject, it } from 'vitest';
import { runChaos } from '../../chaos/run.ts';
import { KINDS } from '../../chaos/workload.ts';

/**
 * Proof under faults and races: a small seeded chaos run (the workload of chaos/workload.ts on the local stack
 * with a fault plan at rate 0.2) breaks no invariant of chaos/checker.ts, and faults of every step kind were
 * injected (so the run proved something). `npm run chaos` runs larger ones.
 */
describe('chaos: a seeded run under faults', () => {
  it('runs every kind of promotion, injects every step fault, and the checker finds no violation', { timeout: 900_000 }, async () => {
    const report = await runChaos({ seed: 20261127, rate: 0.2, promotions: 36, dynamoEndpoint: inject('dynamoEndpoint') });
    console.log(report.text);
    expect(report.promotions).toBeGreaterThanOrEqual(30);
    for (const kind of KINDS) expect(report.byKind[kind] ?? 0, `promotions of kind ${kind}`).toBeGreaterThan(0);
    for (const kind of ['step.before', 'step.after', 'step.timeout', 'step.twice'] as const)
      expect(report.faults[kind].injected, `faults of kind ${kind}`).toBeGreaterThan(0);
    expect(report.violations.map((v) => `${v.invariant} ${v.tenant}/${v.promotionId}: ${v.detail}`)).toEqual([]);
  });
});
