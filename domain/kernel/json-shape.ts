import type { Issue } from './errors.ts';
import { isReservedKey, RESERVED_KEY_MESSAGE } from './reserved-keys.ts';

/** DynamoDB stores documents nested at most 32 levels deep; a body may use 24 of them. */
export const MAX_JSON_DEPTH = 24;

/**
 * What every parsed request body must be before any schema runs (a schema walking 2,000 levels
 * overflows): nested at most MAX_JSON_DEPTH deep, numbers that neither lose precision nor fail to
 * store (within ±2^53, finite), and no object key JavaScript reserves (domain/kernel/reserved-keys.ts).
 * The first problem, at its path from `root`, or undefined. Iterative: depth cannot overflow it.
 * HTTP bodies (functions/http/handler.ts) and OFREP bodies (domain/config/effective.ts) both go through it.
 */
export function shapeProblem(value: unknown, root = 'body'): Issue | undefined {
  const stack: { v: unknown; depth: number; path: string }[] = [{ v: value, depth: 0, path: root }];
  while (stack.length) {
    const { v, depth, path } = stack.pop()!;
    if (typeof v === 'number') {
      if (!Number.isFinite(v) || (Number.isInteger(v) && !Number.isSafeInteger(v)) || Math.abs(v) > Number.MAX_SAFE_INTEGER) {
        return { path, message: `number ${String(v)} is out of range: numbers must lie within ±${Number.MAX_SAFE_INTEGER} (send larger values as strings)` };
      }
    } else if (v && typeof v === 'object') {
      if (depth >= MAX_JSON_DEPTH) return { path, message: `nested deeper than ${MAX_JSON_DEPTH} levels; flatten the value` };
      for (const [k, child] of Object.entries(v)) {
        if (!Array.isArray(v) && isReservedKey(k)) return { path: `${path}.${k}`, message: `a key ${RESERVED_KEY_MESSAGE}: rename it` };
        stack.push({ v: child, depth: depth + 1, path: `${path}.${k}` });
      }
    }
  }
  return undefined;
}
