import { describe, expect, it } from 'vitest';
import { compileGlobs, globMatch, type GlobMeter } from '../../domain/kernel/glob.ts';

describe('key globs', () => {
  it('keep the semantics promotions and machine principals rely on', () => {
    const cases: [string, string, boolean][] = [
      ['query.*', 'query.timeout', true],
      ['query.*', 'query.a/b', false],
      ['query.**', 'query.a/b', false],
      ['ai.*', 'ai.model', true],
      ['*', 'a/b', false],
      ['?b', 'ab', true],
      ['?b', '/b', false],
      ['a*b*c', 'aXbYc', true],
      ['a*b*c', 'aXbY', false],
      ['a/**', 'a', true],
      ['a/**', 'a/b/c', true],
      ['a/**', 'ab', false],
      ['a/**/c', 'a/c', true],
      ['a/**/c', 'a/x/y/c', true],
      ['a/**/c', 'a/x/yc', false],
      ['**/c', 'c', true],
      ['**', 'x/y/z', true],
      ['arn:aws:sts::1:assumed-role/ci/*', 'arn:aws:sts::1:assumed-role/ci/session', true],
      ['arn:aws:sts::1:assumed-role/ci/*', 'arn:aws:sts::1:assumed-role/ci/a/b', false],
    ];
    expect(cases.map(([p, k]) => [p, k, globMatch(k, p)])).toEqual(cases);
  });

  it('match the worst case in work linear in the key: no backtracking', () => {
    const attack = '*a*a*a*a*a*a*a*a*ab';
    const stars = 9;
    for (const n of [260, 520, 1040]) {
      const meter: GlobMeter = { steps: 0 };
      // 100 patterns (the most a promotion may send), every one a near miss on an all-'a' key
      const patterns = Array.from({ length: 100 }, (_, i) => `${attack}${'x'.repeat(i % 3)}`);
      const match = compileGlobs(patterns, meter);
      expect(match('a'.repeat(n))).toBe(false);
      // steps: at most (n + 1) × (2 × stars + 2) per distinct pattern (3 here)
      expect(meter.steps).toBeLessThanOrEqual(3 * (n + 1) * (2 * stars + 2));
      expect(meter.steps).toBeGreaterThan(n);
    }
    // and it still finds a match at the far end
    expect(globMatch(`${'a'.repeat(300)}b`, attack)).toBe(true);
  });
});
