import { describe, expect, it } from 'vitest';
import { firstOf, targetsNamed } from '../../domain/kernel/display.ts';
import type { RolloutTarget } from '../../domain/kernel/promotion-model.ts';
import { stopReason } from '../../domain/promotion/rollout/rollback.ts';

const cells = (n: number, wave: number, from = 1) => Array.from({ length: n }, (_, i) => ({ name: `cell-${String(from + i).padStart(5, '0')}`, wave }));

/** A target of a fleet waiting for its callback, its deadline passed. */
const waiting = (t: { name: string; wave: number }) =>
  ({ ...t, state: 'CONFIRMING', confirm: { mode: 'callback', deadline: '2026-11-27T10:05:00.000Z' } }) as unknown as RolloutTarget;

describe('reasons that name a fleet’s targets', () => {
  it('name a few one by one, and count a fleet’s with the first few and the waves they are in', () => {
    expect(targetsNamed([{ name: 'canary', wave: 1 }])).toBe('canary (wave 1)');
    expect(targetsNamed(cells(3, 2))).toBe('cell-00001 (wave 2), cell-00002 (wave 2), cell-00003 (wave 2)');
    expect(targetsNamed(cells(100, 7, 601))).toBe('100 targets in wave 7 (cell-00601, cell-00602, cell-00603 and 97 more)');
    expect(targetsNamed([...cells(100, 6, 501), ...cells(20, 7, 601)])).toBe('120 targets in waves 6 and 7 (cell-00501, cell-00502, cell-00503 and 117 more)');
    expect(targetsNamed([...cells(10, 1), ...cells(10, 2, 11), ...cells(10, 4, 21)])).toBe(
      '30 targets in waves 1–4 (cell-00001, cell-00002, cell-00003 and 27 more)',
    );
    // A page of names of a larger whole: the rest are counted from the whole.
    expect(firstOf(['a', 'b', 'c', 'd'], 700)).toBe('a, b, c and 697 more');
    expect(firstOf(['a', 'b'])).toBe('a, b');
    expect(firstOf([], 12)).toBe('12 more');
  });

  it('a confirmation wait that ran out on 40 targets of a wave says how many, the first few and one deadline, not 40 sentences', () => {
    const one = stopReason('States.Timeout', [waiting({ name: 'canary', wave: 1 })]);
    expect(one).toBe('canary was not confirmed by 2026-11-27T10:05:00.000Z (no confirmation came)');
    const many = stopReason('States.Timeout', cells(40, 3, 201).map(waiting));
    expect(many).toBe(
      '40 targets in wave 3 (cell-00201, cell-00202, cell-00203 and 37 more) were not confirmed in time; cell-00201 was not confirmed by 2026-11-27T10:05:00.000Z (no confirmation came)',
    );
  });
});
