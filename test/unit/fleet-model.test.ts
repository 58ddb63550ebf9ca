import { describe, expect, it } from 'vitest';
import { fleetFlowCounts } from '../../local/measure/fleet-model.ts';

/** The fleet's figures from the real ASL on the local runner: bounded histories, flat transitions per target. */
describe('a fleet rollout through child wave executions (the ASL path, counted on the local runner)', () => {
  it('keeps every execution history bounded and transitions per target under 4 at 100, 1,000 and 10,000 targets in 10 waves', async () => {
    const rows = [await fleetFlowCounts(100, 10), await fleetFlowCounts(1000, 10), await fleetFlowCounts(10_000, 10)];
    for (const r of rows) {
      expect(r.transitions / r.targets, `${r.targets}`).toBeLessThanOrEqual(4);
      expect(r.largestHistory, `${r.targets}`).toBeLessThan(25_000);
    }
    // Past the inline bound the parent's history does not grow with the targets (10 waves each time), a child's grows by its batches only.
    expect(rows[2]!.parentHistory).toBe(rows[1]!.parentHistory);
    expect(rows[2]!.largestHistory).toBeLessThan(2_000);
  }, 120_000);
});
