import { describe, expect, it } from 'vitest';
import { rolloutLines, rolloutStep } from '../../cli/rollout-view.ts';

/** A target row of a rollout as the API answers it. */
const row = (name: string, state: string, extra: Record<string, unknown> = {}) => ({
  name,
  state,
  appliedAt: state === 'PENDING' ? null : '2026-11-27T10:00:00.000Z',
  confirmation: null,
  bake: null,
  alarm: null,
  error: null,
  rolledBackAt: null,
  ...extra,
});

/** 1,000 targets in 10 waves: waves 1–2 done, wave 3 running (118 done or baking, 2 waiting for their deployer), the rest pending. */
const fleet = () => ({
  phase: 'ROLLING_OUT',
  wave: 3,
  halted: null,
  waiting: null,
  waves: Array.from({ length: 10 }, (_, w) => ({
    wave: w + 1,
    bakeSeconds: 60,
    maxParallel: 40,
    targets: Array.from({ length: 100 }, (_, i) => {
      const name = `cell-${String(w * 100 + i + 1).padStart(5, '0')}`;
      if (w < 2) return row(name, 'DONE');
      if (w > 2) return row(name, 'PENDING');
      if (i < 2) return row(name, 'CONFIRMING', { confirmation: { mode: 'callback', deadline: null, at: null, by: null } });
      return row(name, i < 90 ? 'DONE' : 'BAKING');
    }),
  })),
});

describe('the CLI says a fleet rollout wave by wave', () => {
  it('a progress line per wave (counts per state), the targets that need a person named, never a line or a name per target', () => {
    const lines = rolloutLines(fleet() as never, 'prm_1');
    expect(lines).toHaveLength(1 + 10 + 1);
    expect(lines[1]).toBe('wave 1/10  100 targets  100 applied  0 confirming  0 failed  (bake 60 seconds)');
    expect(lines[3]).toBe(
      'wave 3/10  100 targets  98 applied  2 confirming  0 failed  (bake 60 seconds): cell-00201 waits for its deployer, cell-00202 waits for its deployer',
    );
    expect(lines[10]).toBe('wave 10/10  100 targets  0 applied  0 confirming  0 failed  (bake 60 seconds)');
    expect(lines[11]).toBe('targets one by one: stageline promotions show prm_1 --targets [--state <state>] [--wave <n>] [--name <glob>]');
    expect(lines.join('\n').match(/cell-\d+/g)).toHaveLength(2);
    expect(rolloutStep('prm_1', fleet() as never)).toBe(
      'wave 3/10  100 targets  98 applied  2 confirming  0 failed: cell-00201 waits for its deployer, cell-00202 waits for its deployer',
    );
  });

  it('a paged answer (a count per wave and per state, a page of names) is said from its counts', () => {
    const paged = { ...fleet(), nextCursor: 'c1' } as any;
    paged.waves = paged.waves.map((w: any) => ({
      ...w,
      count: 100,
      states: w.wave < 3 ? { DONE: 97, FAILED: 1, ROLLED_BACK: 2 } : { PENDING: 100 },
      targets: w.targets.slice(0, 3),
    }));
    const lines = rolloutLines(paged, 'prm_1');
    expect(lines[1]).toBe('wave 1/10  100 targets  97 applied  0 confirming  1 failed  2 rolled back  (bake 60 seconds)');
    expect(lines[5]).toBe('wave 5/10  100 targets  0 applied  0 confirming  0 failed  (bake 60 seconds)');
  });

  it('a wave that fits a line is still said target by target', () => {
    const small = {
      phase: 'ROLLING_OUT',
      wave: 1,
      halted: null,
      waiting: null,
      waves: [{ wave: 1, bakeSeconds: 1, maxParallel: 2, targets: [row('canary', 'DONE'), row('eu-1', 'PENDING')] }],
    };
    expect(rolloutLines(small as never)).toEqual(['rollout: rolling out', 'wave 1 (bake 1 second): canary done, eu-1 pending']);
  });
});
