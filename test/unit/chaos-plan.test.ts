import { describe, expect, it } from 'vitest';
import { COST, EFFECT_KINDS, KINDS, planTenants } from '../../chaos/workload.ts';

/**
 * The chaos workload's plans (chaos/workload.ts planTenants): a small run sees every kind (the suite's seeded run
 * asserts each ran), within the promotions asked for; strict-only kinds go to strict tenants, and a tenant's
 * staging has one git mode.
 */
describe('chaos workload plans', () => {
  for (const seed of [20261127, 1, 7, 41, 90001])
    it(`plans every kind in 48 promotions (seed ${seed}), each tenant within what it allows`, () => {
      const plans = planTenants(seed, 48, KINDS);
      const planned = plans.flatMap((p) => p.kinds);
      expect(KINDS.filter((k) => !planned.includes(k))).toEqual([]);
      const cost = planned.reduce((n, k) => n + COST[k], 0);
      expect(cost).toBeGreaterThanOrEqual(48);
      expect(cost).toBeLessThan(48 + Math.max(...Object.values(COST)));
      for (const p of plans) {
        if (!p.strict) expect(p.kinds.filter((k) => k === 'approval-race' || k === 'deadline-race')).toEqual([]);
        expect(p.kinds.includes('git-pr') && p.kinds.includes('git-commit')).toBe(false);
      }
    });

  it('without the effect receivers, plans none of their kinds', () => {
    const kinds = KINDS.filter((k) => !EFFECT_KINDS.includes(k));
    expect(
      planTenants(5, 30, kinds)
        .flatMap((p) => p.kinds)
        .filter((k) => EFFECT_KINDS.includes(k)),
    ).toEqual([]);
  });
});
