import { describe, expect, it } from 'vitest';
import { runChaos } from '../../chaos/run.ts';
import { FINAL, KINDS, planTenants } from '../../chaos/workload.ts';

/**
 * Seed 424242 at 15 %, as an outside run sent it (`npm run chaos -- --seed 424242 --rate 0.15 --promotions 40`). There a
 * halt-resume promotion was halted while its wave 1 was applied and resumed 2 s later: its canary was done, wave 2 never
 * started, it stayed EXECUTING past 6 minutes, and the promotion queued behind it on the same environment stayed
 * SCHEDULED. The sweep now hands on a wave whose resume was lost and ends a rollout whose flow does nothing
 * (domain/promotion/sweep/), and the checker's final-state invariant holds every promotion to an end within its deadline
 * and the sweep's grace. This replays the seed: every promotion ends, the halt-resume one among them, and no invariant
 * breaks. (test/integration/chaos.test.ts runs every kind under another seed.)
 */
describe('chaos: seed 424242 at 15 %', () => {
  it(
    'every promotion ends (none left EXECUTING or SCHEDULED behind a rollout that hangs), the halt-resume one among them, and the checker finds no violation',
    { timeout: 1_500_000 },
    async () => {
      const logged: string[] = [];
      const report = await runChaos({ seed: 424242, rate: 0.15, promotions: 40, concurrency: 6, log: (l) => logged.push(l) });
      if (logged.length) console.log(logged.join('\n'));
      console.log(report.text);
      // Every kind the seed's plan holds ran (40 promotions' worth: not every kind fits), halt-resume among them.
      const planned = new Set(planTenants(424242, 40, KINDS).flatMap((p) => p.kinds));
      expect(planned.has('halt-resume')).toBe(true);
      for (const kind of planned) expect(report.byKind[kind] ?? 0, `promotions of kind ${kind}`).toBeGreaterThan(0);
      expect(Object.keys(report.byStatus).filter((s) => !(FINAL as readonly string[]).includes(s.split(' ')[0]!))).toEqual([]);
      expect(report.exercised['final-state']?.promotions).toBe(report.promotions);
      expect(report.violations.map((v) => `${v.invariant} ${v.tenant}/${v.promotionId}: ${v.detail}`)).toEqual([]);
      expect(report.vacuous.map((v) => `${v.invariant}: no ${v.measure}, though ${v.because}`)).toEqual([]);
    },
  );
});
