import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canaryBound, resolveWavePlan, shareCount, type PlanTarget } from '../../domain/config/wave-plan.ts';

const fleet = (n: number): PlanTarget[] =>
  Array.from({ length: n }, (_, i) => ({
    name: `cell-${String(i + 1).padStart(5, '0')}`,
    labels: { region: ['eu-west-1', 'eu-central-1', 'us-east-1', 'ap-south-1'][i % 4]! },
  }));

const refusal = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    return (e as { issues: { path: string; message: string }[] }).issues;
  }
  throw new Error('not refused');
};

/** Waves by share (1, 1%, 10%, rest) and by label selector, resolved into a plan. */
describe('resolveWavePlan', () => {
  it('takes 1, then 1%, then 10%, then the rest, in declaration order, rounding a share down', () => {
    const plan = resolveWavePlan(fleet(1000), [
      { wave: 1, share: '1' },
      { wave: 2, share: '1%' },
      { wave: 3, share: '10%' },
      { wave: 4, share: 'rest' },
    ]);
    expect(plan.map((w) => w.names.length)).toEqual([1, 10, 100, 889]);
    expect(plan[0]!.names).toEqual(['cell-00001']);
    expect(plan[1]!.names[0]).toBe('cell-00002');
    expect(shareCount('0.5%', 999)).toBe(4);
  });

  it('takes by label selector (a glob), and keeps targets that name their wave where they are', () => {
    const targets: PlanTarget[] = [{ name: 'canary', wave: 1 }, ...fleet(8)];
    const plan = resolveWavePlan(targets, [
      { wave: 2, selector: 'region=eu-*' },
      { wave: 3, share: 'rest' },
    ]);
    expect(plan).toEqual([
      { wave: 1, names: ['canary'] },
      { wave: 2, names: ['cell-00001', 'cell-00002', 'cell-00005', 'cell-00006'] },
      { wave: 3, names: ['cell-00003', 'cell-00004', 'cell-00007', 'cell-00008'] },
    ]);
  });

  it('refuses an empty wave naming it and why: a share that rounds to none, a selector that matches nothing, nothing left', () => {
    expect(
      refusal(() =>
        resolveWavePlan(fleet(50), [
          { wave: 1, share: '1%' },
          { wave: 2, share: 'rest' },
        ]),
      ),
    ).toEqual([{ path: 'rollout.waves.0.share', message: expect.stringMatching(/^wave 1 would be empty: 1% of 50 targets rounds down to none/) }]);
    expect(
      refusal(() =>
        resolveWavePlan(fleet(8), [
          { wave: 1, selector: 'region=mars-*' },
          { wave: 2, share: 'rest' },
        ]),
      ),
    ).toEqual([{ path: 'rollout.waves.0.selector', message: expect.stringMatching(/wave 1 would be empty: selector region=mars-\* matches no target/) }]);
    expect(
      refusal(() =>
        resolveWavePlan(fleet(8), [
          { wave: 1, share: 'rest' },
          { wave: 2, share: '1' },
        ]),
      )[0],
    ).toMatchObject({
      path: 'rollout.waves.1.share',
      message: expect.stringContaining('no target is left'),
    });
    expect(refusal(() => resolveWavePlan(fleet(8), [{ wave: 1, share: '2' }]))[0]).toMatchObject({ path: 'targets.2.wave' });
    expect(refusal(() => resolveWavePlan(fleet(8), [{ wave: 1, share: '-1' }]))[0]).toMatchObject({ path: 'rollout.waves.0.share' });
  });

  it('refuses a first wave larger than the canary bound (10% of the fleet or 100, whichever is larger)', () => {
    expect(canaryBound(50)).toBe(100);
    expect(canaryBound(10_000)).toBe(1000);
    expect(
      refusal(() =>
        resolveWavePlan(fleet(10_000), [
          { wave: 1, share: '11%' },
          { wave: 2, share: 'rest' },
        ]),
      )[0],
    ).toMatchObject({ path: 'rollout.waves', message: expect.stringContaining('more than the canary bound of 1000') });
    expect(
      resolveWavePlan(fleet(10_000), [
        { wave: 1, share: '10%' },
        { wave: 2, share: 'rest' },
      ]).map((w) => w.names.length),
    ).toEqual([1000, 9000]);
  });

  it('every target lands in exactly one wave, in declaration order within it, whatever the shares (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 400 }),
        fc.array(
          fc.oneof(
            fc.integer({ min: 1, max: 30 }).map(String),
            fc.integer({ min: 1, max: 50 }).map((p) => `${p}%`),
          ),
          { maxLength: 5 },
        ),
        (n, shares) => {
          const specs = [...shares.map((share, i) => ({ wave: i + 1, share })), { wave: shares.length + 1, share: 'rest' }];
          let plan;
          try {
            plan = resolveWavePlan(fleet(n), specs);
          } catch (e) {
            // Refused only with a 400 naming a wave's share or the canary bound.
            for (const i of (e as { issues: { path: string }[] }).issues) expect(i.path).toMatch(/^rollout\.waves(\.\d+\.share)?$/);
            return;
          }
          const all = plan.flatMap((w) => w.names);
          expect(all).toEqual(fleet(n).map((t) => t.name));
          expect(plan[0]!.names.length <= canaryBound(n) || plan.length === 1).toBe(true);
        },
      ),
      { numRuns: 200 },
    );
  });
});
