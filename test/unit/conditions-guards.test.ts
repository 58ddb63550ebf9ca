import { describe, expect, it } from 'vitest';
import type { Condition } from '../../domain/kernel/promotion-model.ts';
import { evaluate } from '../../domain/promotion/request/conditions.ts';

/**
 * Rule conditions at their edges: an auto-promotion never fires on absent, null or mistyped
 * evidence, comparisons hold at their bounds, and the decision record names each leaf that failed.
 */
const ok = (c: Condition, facts: Record<string, unknown>) => evaluate(c, facts).ok;

describe('rule conditions at their edges', () => {
  it('a fact that is missing, undefined or null is absent: every op but exists is false on it', () => {
    for (const facts of [{}, { f: undefined }, { f: null }]) {
      for (const op of ['eq', 'ne', 'gt', 'gte', 'lt', 'lte', 'in', 'contains'] as const)
        expect(ok({ field: 'f', op, value: op === 'in' ? [null, undefined] : null }, facts), `${op} ${JSON.stringify(facts)}`).toBe(false);
      expect(ok({ field: 'f', op: 'exists' }, facts)).toBe(false);
      expect(ok({ field: 'f', op: 'exists', value: false }, facts)).toBe(true);
    }
    // An inherited key is no fact, whatever it holds.
    expect(ok({ field: 'toString', op: 'exists' }, {})).toBe(false);
    const inherited = Object.create({ branch: 'release-42', tags: ['hotfix'] }) as Record<string, unknown>;
    expect(ok({ field: 'branch', op: 'contains', value: '42' }, inherited)).toBe(false);
    expect(ok({ field: 'tags', op: 'contains', value: 'hotfix' }, inherited)).toBe(false);
    expect(ok({ field: 'f', op: 'exists', value: true }, { f: 0 })).toBe(true);
    expect(ok({ field: 'f', op: 'exists', value: false }, { f: 0 })).toBe(false);
  });

  it('comparisons hold at their bounds, between numbers or between strings only', () => {
    const f = { n: 5, s: 'b', b: true, o: { x: 1 } };
    expect([ok({ field: 'n', op: 'gt', value: 5 }, f), ok({ field: 'n', op: 'gte', value: 5 }, f)]).toEqual([false, true]);
    expect([ok({ field: 'n', op: 'lt', value: 5 }, f), ok({ field: 'n', op: 'lte', value: 5 }, f)]).toEqual([false, true]);
    expect([ok({ field: 'n', op: 'gt', value: 4 }, f), ok({ field: 'n', op: 'lt', value: 6 }, f)]).toEqual([true, true]);
    expect([ok({ field: 'n', op: 'gte', value: 6 }, f), ok({ field: 'n', op: 'lte', value: 4 }, f)]).toEqual([false, false]);
    expect([ok({ field: 's', op: 'gt', value: 'a' }, f), ok({ field: 's', op: 'lte', value: 'a' }, f)]).toEqual([true, false]);
    // Booleans and objects are not ordered, even against their own type.
    expect(ok({ field: 'b', op: 'gte', value: false }, f)).toBe(false);
    expect(ok({ field: 'o', op: 'gte', value: { x: 0 } }, f)).toBe(false);
  });

  it('eq, ne, in and contains compare values, not references; contains looks into lists and strings only', () => {
    const f = { o: { a: [1, 2] }, list: [{ k: 1 }], s: 'release-42', n: 42 };
    expect(ok({ field: 'o', op: 'eq', value: { a: [1, 2] } }, f)).toBe(true);
    expect(ok({ field: 'o', op: 'eq', value: { a: [2, 1] } }, f)).toBe(false);
    expect(ok({ field: 'n', op: 'eq', value: '42' }, f)).toBe(false);
    expect(ok({ field: 'o', op: 'ne', value: { a: [1, 2] } }, f)).toBe(false);
    expect(ok({ field: 'o', op: 'ne', value: { a: [2, 1] } }, f)).toBe(true);
    expect(ok({ field: 'n', op: 'in', value: [41, 42] }, f)).toBe(true);
    expect(ok({ field: 'n', op: 'in', value: [41] }, f)).toBe(false);
    expect(ok({ field: 'n', op: 'in', value: 42 }, f)).toBe(false);
    expect(ok({ field: 'list', op: 'contains', value: { k: 1 } }, f)).toBe(true);
    expect(ok({ field: 'list', op: 'contains', value: { k: 2 } }, f)).toBe(false);
    expect(ok({ field: 's', op: 'contains', value: '42' }, f)).toBe(true);
    expect(ok({ field: 's', op: 'contains', value: 42 }, f)).toBe(false);
    expect(ok({ field: 'n', op: 'contains', value: '4' }, f)).toBe(false);
  });

  it('no condition holds; an empty all or any holds; the record names each failed leaf, with its value', () => {
    expect(evaluate(null, {})).toEqual({ ok: true, failed: [] });
    expect(evaluate({ all: [] }, {})).toEqual({ ok: true, failed: [] });
    expect(evaluate({ any: [] }, {})).toEqual({ ok: true, failed: [] });
    expect(
      evaluate(
        {
          all: [
            { field: 'a', op: 'eq', value: 'x' },
            { field: 'b', op: 'exists' },
            { field: 'c', op: 'gte', value: 1 },
          ],
        },
        { c: 2 },
      ),
    ).toEqual({ ok: false, failed: ['a eq "x"', 'b exists'] });
    expect(
      evaluate(
        {
          any: [
            { field: 'a', op: 'exists' },
            { field: 'c', op: 'gte', value: 1 },
          ],
        },
        { c: 2 },
      ),
    ).toEqual({ ok: true, failed: [] });
  });
});
