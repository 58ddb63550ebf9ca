import type { Condition, Leaf } from '../../kernel/promotion-model.ts';

/**
 * Rule conditions: `{"all"|"any": [...]}`, nestable, over leaves
 * `{field, op, value}`. Facts are a flat map keyed by dotted names
 * (`tests.pass_rate`, `metrics.error_rate`, `deployment.duration_hours`).
 * A leaf over a missing fact is false (except `exists`), so an auto-promotion
 * never fires on absent evidence.
 */
export type Facts = Record<string, unknown>;

export interface ConditionTrace {
  ok: boolean;
  failed: string[];
}

function leaf(c: Leaf, facts: Facts): boolean {
  const has = Object.prototype.hasOwnProperty.call(facts, c.field) && facts[c.field] !== undefined && facts[c.field] !== null;
  const actual = facts[c.field];
  switch (c.op) {
    case 'exists':
      return c.value === false ? !has : has;
    case 'eq':
      return has && JSON.stringify(actual) === JSON.stringify(c.value);
    case 'ne':
      return has && JSON.stringify(actual) !== JSON.stringify(c.value);
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte': {
      if (!has || typeof actual !== typeof c.value || (typeof actual !== 'number' && typeof actual !== 'string')) return false;
      const a = actual as number | string;
      const b = c.value as number | string;
      return c.op === 'gt' ? a > b : c.op === 'gte' ? a >= b : c.op === 'lt' ? a < b : a <= b;
    }
    case 'in':
      return has && Array.isArray(c.value) && c.value.some((v) => JSON.stringify(v) === JSON.stringify(actual));
    case 'contains':
      if (!has) return false;
      if (Array.isArray(actual)) return actual.some((v) => JSON.stringify(v) === JSON.stringify(c.value));
      return typeof actual === 'string' && typeof c.value === 'string' && actual.includes(c.value);
  }
}

function describe(c: Leaf): string {
  return `${c.field} ${c.op}${c.op === 'exists' ? '' : ` ${JSON.stringify(c.value)}`}`;
}

/** Evaluates a condition tree and says which leaves failed (for the decision record). */
export function evaluate(cond: Condition | null, facts: Facts): ConditionTrace {
  if (!cond) return { ok: true, failed: [] };
  if ('all' in cond) {
    const parts = cond.all.map((c) => evaluate(c, facts));
    return { ok: parts.every((p) => p.ok), failed: parts.flatMap((p) => p.failed) };
  }
  if ('any' in cond) {
    const parts = cond.any.map((c) => evaluate(c, facts));
    const ok = parts.length === 0 || parts.some((p) => p.ok);
    return { ok, failed: ok ? [] : [`none of: ${parts.flatMap((p) => p.failed).join('; ')}`] };
  }
  const ok = leaf(cond, facts);
  return { ok, failed: ok ? [] : [describe(cond)] };
}
