import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  addDora,
  daysBetween,
  doraDeltas,
  doraFigures,
  emptyDora,
  FIX_FORWARD_HOURS,
  openFailureOf,
  OPEN_FAILURE_DAY,
  type PromotionEnd,
} from '../../domain/artifacts/dora.ts';
import { metricDelta } from '../../domain/artifacts/deployments.ts';
import type { Deployment } from '../../domain/kernel/promotion-model.ts';
import { doraExposition } from '../../functions/http/prometheus.ts';

const H = 3_600_000;
const at = (h: number) => new Date(Date.UTC(2026, 10, 2) + h * H);
const end = (outcome: PromotionEnd['outcome'], h: number, more: Partial<PromotionEnd> = {}): PromotionEnd => ({
  environment: 'production',
  outcome,
  rollback: false,
  at: at(h),
  ...more,
});

/** Applies ends in order to one environment's counters, as the store would (ADD per day and on the open-failure item). */
function replay(ends: PromotionEnd[]) {
  const counters = new Map<string, Record<string, number>>();
  for (const e of ends) {
    const { deltas } = doraDeltas(e, openFailureOf(counters.get(OPEN_FAILURE_DAY)));
    for (const d of deltas) {
      const c = counters.get(d.day) ?? {};
      for (const [k, v] of Object.entries(d.add)) c[k] = (c[k] ?? 0) + v;
      counters.set(d.day, c);
    }
  }
  const sums = emptyDora();
  for (const [day, c] of counters) if (day !== OPEN_FAILURE_DAY) addDora(sums, c);
  return { sums, open: openFailureOf(counters.get(OPEN_FAILURE_DAY)) };
}

describe("DORA's counters at a promotion's end (domain/artifacts/dora.ts)", () => {
  it('a failure opens, the next success recovers from its start and counts as a fix-forward within the window', () => {
    const { sums, open } = replay([end('FAILED', 0), end('ROLLED_BACK', 1), end('COMPLETED', 3)]);
    expect(open).toBeNull();
    expect(sums).toMatchObject({ recoveryMs: 3 * H, recoveryCount: 1, rework: 1 });
  });

  it('a success long after the failure recovers but is no fix-forward (planned work)', () => {
    const { sums } = replay([end('FAILED', 0), end('COMPLETED', FIX_FORWARD_HOURS + 1)]);
    expect(sums).toMatchObject({ recoveryMs: (FIX_FORWARD_HOURS + 1) * H, recoveryCount: 1, rework: 0 });
  });

  it('a rollback promotion is rework; with no open failure it recovers from when the undone change went live', () => {
    const { sums } = replay([end('COMPLETED', 0), end('COMPLETED', 2, { rollback: true, undoneLiveAt: at(0).toISOString() })]);
    expect(sums).toMatchObject({ recoveryMs: 2 * H, recoveryCount: 1, rework: 1 });
  });

  it('successes with nothing open add nothing: the one-target promotion writes no DORA item', () => {
    expect(doraDeltas(end('COMPLETED', 0), null).deltas).toEqual([]);
  });

  it('a failed or rolled-back deployment counts once as a change failure', () => {
    const dep = (status: Deployment['status']): Deployment =>
      ({ id: 'd', environment: 'production', imageTag: 'v1', status, deployedAt: at(0).toISOString(), completedAt: at(1).toISOString() }) as Deployment;
    expect(metricDelta(dep('FAILED'), 'PENDING', at(1).toISOString())?.add.changeFailed).toBe(1);
    expect(metricDelta(dep('ROLLED_BACK'), 'DEPLOYED', at(1).toISOString())?.add.changeFailed).toBe(1);
    expect(metricDelta(dep('ROLLED_BACK'), 'ROLLED_BACK', at(1).toISOString())).toBeNull();
    expect(metricDelta(dep('DEPLOYED'), 'PENDING', at(1).toISOString())?.add.changeFailed).toBeUndefined();
  });

  it('any sequence of ends: the open item is 0 or 1 failure, recoveries never outnumber the failures, and recovery times are the gaps a reference model computes', () => {
    const step = fc.record({
      gapH: fc.integer({ min: 0, max: 72 }),
      outcome: fc.constantFrom('COMPLETED', 'FAILED', 'ROLLED_BACK') as fc.Arbitrary<PromotionEnd['outcome']>,
    });
    fc.assert(
      fc.property(fc.array(step, { maxLength: 40 }), (steps) => {
        let h = 0;
        const ends = steps.map((s) => end(s.outcome, (h += s.gapH)));
        const { sums, open } = replay(ends);
        // The reference model: a run of failures is open from its first; the next success closes it.
        let since: number | null = null;
        let recoveries = 0;
        let ms = 0;
        let fixes = 0;
        for (const e of ends) {
          if (e.outcome !== 'COMPLETED') since ??= e.at.getTime();
          else if (since !== null) {
            recoveries++;
            ms += e.at.getTime() - since;
            if (e.at.getTime() - since <= FIX_FORWARD_HOURS * H) fixes++;
            since = null;
          }
        }
        expect(sums.recoveryCount).toBe(recoveries);
        expect(sums.recoveryMs).toBe(ms);
        expect(sums.rework).toBe(fixes);
        expect(open?.sinceMs ?? null).toBe(since);
      }),
    );
  });

  it('the five from counters: rates bounded to 0..1, per day over the range, null when nothing was measured', () => {
    expect(doraFigures(emptyDora(), 7)).toMatchObject({
      deploymentFrequencyPerDay: 0,
      leadTimeHours: null,
      changeFailureRate: null,
      recoveryTimeHours: null,
      reworkRate: null,
    });
    const f = doraFigures({ deployments: 14, changeFailed: 2, leadMs: 3 * H, leadCount: 2, recoveryMs: 5 * H, recoveryCount: 2, rework: 1 }, 7);
    expect(f).toMatchObject({ deploymentFrequencyPerDay: 2, leadTimeHours: 1.5, changeFailureRate: 0.1429, recoveryTimeHours: 2.5, reworkRate: 0.0714 });
    expect(daysBetween('2026-11-01', '2026-11-30')).toBe(30);
  });

  it('times in seconds are to the second from the exact durations (9.2 s reads 9, 47.6 s reads 48), in the figures and in the Prometheus exposition; hours keep 2 decimals', async () => {
    const sums = { ...emptyDora(), deployments: 2, leadMs: 9_200, leadCount: 1, recoveryMs: 47_600, recoveryCount: 1 };
    const f = doraFigures(sums, 1);
    expect(f).toMatchObject({ leadTimeSeconds: 9, recoveryTimeSeconds: 48, leadTimeHours: 0, recoveryTimeHours: 0.01 });
    // A mean over several: 3 leads of 1.4 s, 2.2 s and 4.0 s are 2.533… s, 3 to the second (never a multiple of 36 s).
    expect(doraFigures({ ...sums, leadMs: 7_600, leadCount: 3 }, 1).leadTimeSeconds).toBe(3);
    expect(doraFigures(emptyDora(), 1)).toMatchObject({ leadTimeSeconds: null, recoveryTimeSeconds: null });
    const text = (await doraExposition({ from: '2026-11-02', to: '2026-11-02', days: 1, environments: [{ environment: 'production', dora: f }], line: f }))
      .body;
    const sample = (name: string, labels: string) => Number(new RegExp(`^${name}\\{${labels}\\} (\\S+)$`, 'm').exec(text)?.[1]);
    expect(sample('dora_change_lead_time_seconds', 'environment="production"')).toBe(9);
    expect(sample('dora_failed_deployment_recovery_time_seconds', 'environment="production"')).toBe(48);
    expect(sample('dora_change_lead_time_seconds', 'line="all"')).toBe(9);
    expect(sample('dora_failed_deployment_recovery_time_seconds', 'line="all"')).toBe(48);
  });
});
