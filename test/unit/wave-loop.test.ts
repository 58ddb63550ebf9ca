import { describe, expect, it } from 'vitest';
import { runsAsChild, INLINE_WAVE_TARGETS, WAVE_BATCH } from '../../domain/promotion/rollout/wave-go.ts';
import { BATCH_EVENTS, FIXED_EVENTS, loopEvents, maxLoops } from '../../domain/promotion/rollout/wave-loop.ts';
import { MAX_TARGETS } from '../../domain/kernel/target-schemas.ts';
import { DEFAULT_TUNABLES } from '../../domain/kernel/tunables.ts';

/** Which waves run as a child execution, and how many loops one execution of a child wave runs (part 2). */
describe('a child wave: routing and the bound of its history', () => {
  const names = (n: number) => Array.from({ length: n }, (_, i) => `t-${i + 1}`);
  const env = (n: number, confirm: Record<string, unknown> = { mode: 'immediate' }, more: Record<string, unknown> = {}) =>
    ({ targets: names(n).map((name) => ({ name, wave: 1, confirm, ...more })) }) as never;
  const wave = (n: number) => ({ wave: 1, targets: names(n), bakeSeconds: 0, maxParallel: 10 }) as never;
  const health = { mode: 'health', url: 'https://h.example.com/healthz', timeoutSeconds: 600, intervalSeconds: 15 };

  it('a wave of more than 25 targets runs as a child whatever its confirmation; a small one when something polls, or measures without a callback', () => {
    expect(runsAsChild(env(1), wave(1), names(1))).toBe(false);
    expect(runsAsChild(env(INLINE_WAVE_TARGETS), wave(INLINE_WAVE_TARGETS), names(INLINE_WAVE_TARGETS))).toBe(false);
    expect(runsAsChild(env(26), wave(26), names(26))).toBe(true);
    expect(runsAsChild(env(30, { mode: 'callback', timeoutSeconds: 600 }), wave(30), names(30))).toBe(true);
    expect(runsAsChild(env(3, { mode: 'callback', timeoutSeconds: 600 }), wave(3), names(3))).toBe(false);
    // One polled target, or one analysis (the target's, the wave's, the environment's, a comparison): a child, however small.
    expect(runsAsChild(env(1, health), wave(1), names(1))).toBe(true);
    expect(runsAsChild(env(2, undefined, { analysis: [{ template: 'latency' }] }), wave(2), names(2))).toBe(true);
    const immediate = { mode: 'immediate' };
    const byWave = {
      targets: names(2).map((name) => ({ name, wave: 1, confirm: immediate })),
      rollout: { waves: [{ wave: 1, analysis: [{ template: 'latency' }] }] },
    };
    expect(runsAsChild(byWave as never, wave(2), names(2))).toBe(true);
    const byEnv = { targets: names(2).map((name) => ({ name, wave: 1, confirm: immediate })), analysis: [{ template: 'latency' }] };
    expect(runsAsChild(byEnv as never, wave(2), names(2))).toBe(true);
    // The one inline measuring loop left: a small wave with a callback target (its deployer's token its own).
    const callback = { mode: 'callback', timeoutSeconds: 600 };
    expect(runsAsChild(env(2, callback, { analysis: [{ template: 'latency' }] }), wave(2), names(2))).toBe(false);
    // A polled target makes even that wave a child.
    const mixed = {
      targets: [
        { name: 't-1', wave: 1, confirm: callback },
        { name: 't-2', wave: 1, confirm: health },
      ],
      analysis: [{ template: 'latency' }],
    };
    expect(runsAsChild(mixed as never, wave(2), names(2))).toBe(true);
  });

  it('one execution stays within its budget for every wave size up to the most targets an environment has, and loops at least once', () => {
    const budget = DEFAULT_TUNABLES.waveHistoryEvents;
    for (let n = 1; n <= MAX_TARGETS; n += n < 300 ? 1 : 97) {
      const batches = Math.ceil(n / WAVE_BATCH);
      for (const part of [0, 1]) {
        const loops = maxLoops(n, budget, part);
        expect(loops, `${n} targets, part ${part}`).toBeGreaterThanOrEqual(1);
        const history = FIXED_EVENTS + (part ? 0 : BATCH_EVENTS * batches) + loops * loopEvents(batches);
        expect(history, `${n} targets, part ${part}`).toBeLessThanOrEqual(budget);
        // One loop more would pass the budget: the execution uses what it may.
        expect(history + loopEvents(batches), `${n} targets, part ${part}`).toBeGreaterThan(budget);
      }
    }
    // The arithmetic of wave-loop.ts: 1,000 targets loop 63 times per execution, 10,000 targets 6 times.
    expect(maxLoops(1000, 5000, 0)).toBe(63);
    expect(maxLoops(10_000, 5000, 0)).toBe(6);
    // A budget too small for one loop still loops once (the test stacks' small budgets).
    expect(maxLoops(60, 20, 0)).toBe(1);
    expect(maxLoops(60, 50, 0)).toBe(2);
    expect(maxLoops(60, 50, 1)).toBe(2);
    expect(maxLoops(60, 60, 1)).toBe(3);
  });
});

describe('a wave execution and its continuations: a name of its own each, one per parent token and part', () => {
  it('names a continuation apart from the first execution, and a retried start the same; Step Functions’ names stay within 80 characters', async () => {
    const { waveExecutionName } = await import('../../functions/adapters/sfn-workflow.ts');
    const { LocalWorkflow } = await import('../../local/workflow.ts');
    const input = { tenant: 'acme', promotionId: `prm_${'x'.repeat(90)}`, wave: 3, parentToken: 'token-1' };
    const names = [0, 1, 2].map((part) => waveExecutionName({ ...input, part }));
    expect(new Set(names).size).toBe(3);
    expect(waveExecutionName(input)).toBe(names[0]);
    expect(waveExecutionName({ ...input, part: 1 })).toBe(names[1]);
    for (const n of names) expect(n.length).toBeLessThanOrEqual(80);
    expect(names[0]).not.toBe(waveExecutionName({ ...input, parentToken: 'token-2' }));
    const ids = [0, 1].map((part) => LocalWorkflow.waveExecutionId({ ...input, part }));
    expect(ids[0]).not.toBe(ids[1]);
  });
});
