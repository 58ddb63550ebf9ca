import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { INVARIANTS } from '../../chaos/checker.ts';
import { applyMutant, MUTANTS, occurrences, violationsIn } from '../../chaos/mutants.ts';

/**
 * The mutants of `npm run chaos:mutants` (chaos/mutants.ts) stay in step with the code: each edit's text is in the
 * product's source exactly once (a refactoring that moves it makes the mutant stale here, not silently harmless),
 * and each names invariants the checker has. Running them is `npm run chaos:mutants` (each runs the seeded chaos test).
 */
const root = resolve(import.meta.dirname, '../..');

describe('chaos mutants', () => {
  it.each(MUTANTS.map((m) => [m.id, m] as const))('%s: its text is in the source exactly once and it names known invariants', (_id, m) => {
    expect(occurrences(root, m)).toEqual(m.edits.map(() => 1));
    for (const i of m.caughtBy) expect(INVARIANTS as readonly string[]).toContain(i);
    for (const e of m.edits) expect(e.replace).not.toBe(e.find);
  });

  it('a stale mutant is refused, not applied', () => {
    expect(() =>
      applyMutant(root, { id: 'stale', defect: '', caughtBy: [], edits: [{ file: 'chaos/mutants.ts', find: 'no such text ' + '¤', replace: '' }] }),
    ).toThrow(/stale mutant/);
  });

  it('reads the report’s violations by invariant', () => {
    const out = 'x\nviolations by invariant:\n  final-state          0\n  no-wave-after-stop   2\n  live-value           1\n\n7 violations\n';
    expect(violationsIn(out)).toEqual({ 'final-state': 0, 'no-wave-after-stop': 2, 'live-value': 1 });
    expect(violationsIn('no report')).toEqual({});
  });
});
