import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { evaluate } from '../../domain/promotion/request/conditions.ts';
import type { Condition } from '../../domain/kernel/promotion-model.ts';

describe('rule conditions (seed 002 shape)', () => {
  const facts = {
    'tests.pass_rate': 100,
    'metrics.error_rate': 0.004,
    'deployment.duration_hours': 30,
    'deployment.environment': 'dev',
    tags: ['canary', 'eu'],
  };

  it('evaluates every op', () => {
    const cases: [Condition, boolean][] = [
      [{ field: 'tests.pass_rate', op: 'eq', value: 100 }, true],
      [{ field: 'tests.pass_rate', op: 'ne', value: 100 }, false],
      [{ field: 'metrics.error_rate', op: 'lte', value: 0.01 }, true],
      [{ field: 'metrics.error_rate', op: 'lt', value: 0.001 }, false],
      [{ field: 'deployment.duration_hours', op: 'gte', value: 24 }, true],
      [{ field: 'deployment.duration_hours', op: 'gt', value: 30 }, false],
      [{ field: 'deployment.environment', op: 'in', value: ['dev', 'qa'] }, true],
      [{ field: 'tags', op: 'contains', value: 'eu' }, true],
      [{ field: 'deployment.environment', op: 'contains', value: 'ev' }, true],
      [{ field: 'missing', op: 'exists' }, false],
      [{ field: 'missing', op: 'exists', value: false }, true],
      [{ field: 'missing', op: 'gte', value: 0 }, false],
      [{ field: 'tests.pass_rate', op: 'gte', value: '100' }, false],
    ];
    for (const [c, want] of cases) expect(evaluate(c, facts).ok, JSON.stringify(c)).toBe(want);
  });

  it('nests all/any and reports the failed leaves', () => {
    const c: Condition = {
      all: [
        { field: 'tests.pass_rate', op: 'gte', value: 100 },
        {
          any: [
            { field: 'metrics.error_rate', op: 'gt', value: 1 },
            { field: 'x', op: 'exists' },
          ],
        },
      ],
    };
    const r = evaluate(c, facts);
    expect(r.ok).toBe(false);
    expect(r.failed).toEqual(['none of: metrics.error_rate gt 1; x exists']);
  });

  it('all is a conjunction and any a disjunction of their parts (property)', () => {
    const leaf = fc.record({
      field: fc.constantFrom('a', 'b', 'c'),
      op: fc.constantFrom('eq', 'gte', 'lt', 'exists' as const),
      value: fc.integer({ min: 0, max: 3 }),
    }) as fc.Arbitrary<Condition>;
    fc.assert(
      fc.property(fc.array(leaf, { maxLength: 5 }), fc.record({ a: fc.integer({ min: 0, max: 3 }), b: fc.integer({ min: 0, max: 3 }) }), (parts, f) => {
        const each = parts.map((p) => evaluate(p, f).ok);
        expect(evaluate({ all: parts }, f).ok).toBe(each.every(Boolean));
        expect(evaluate({ any: parts }, f).ok).toBe(parts.length === 0 || each.some(Boolean));
      }),
    );
  });
});
