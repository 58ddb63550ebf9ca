import type { Issue } from './errors.ts';
import { isReservedKey, RESERVED_KEY_MESSAGE } from './reserved-keys.ts';

/** DynamoDB stores documents nested at most 32 levels deep; a body may use 24 of them. */
export const MAX_JSON_DEPTH = 24;

/**
 * What every parsed request body must be before any schema runs (a schema walking 2,000 levels
 * overflows): nested at most MAX_JSON_DEPTH deep, numbers that neither lose precision nor fail to
 * store (within ±2^53, finite), no object key JavaScript reserves (domain/kernel/reserved-keys.ts),
 * and text that is Unicode: no string or key holding half of a UTF-16 surrogate pair alone (loneSurrogate).
 * The first problem, at its path from `root`, or undefined. Iterative: depth cannot overflow it.
 * HTTP bodies (functions/http/handler.ts), SCIM bodies (functions/handlers/scim.ts) and OFREP bodies
 * (domain/config/effective.ts) go through it.
 */
export function shapeProblem(value: unknown, root = 'body'): Issue | undefined {
  const stack: { v: unknown; depth: number; path: string }[] = [{ v: value, depth: 0, path: root }];
  while (stack.length) {
    const { v, depth, path } = stack.pop()!;
    if (typeof v === 'string') {
      if (loneSurrogate(v)) return { path, message: LONE_SURROGATE_MESSAGE(v) };
    } else if (typeof v === 'number') {
      if (!Number.isFinite(v) || (Number.isInteger(v) && !Number.isSafeInteger(v)) || Math.abs(v) > Number.MAX_SAFE_INTEGER) {
        return { path, message: `number ${String(v)} is out of range: numbers must lie within ±${Number.MAX_SAFE_INTEGER} (send larger values as strings)` };
      }
    } else if (v && typeof v === 'object') {
      if (depth >= MAX_JSON_DEPTH) return { path, message: `nested deeper than ${MAX_JSON_DEPTH} levels; flatten the value` };
      for (const [k, child] of Object.entries(v)) {
        if (!Array.isArray(v) && isReservedKey(k)) return { path: `${path}.${k}`, message: `a key ${RESERVED_KEY_MESSAGE}: rename it` };
        if (loneSurrogate(k)) return { path: `${path}.${escapeLoneSurrogates(k)}`, message: `a key ${LONE_SURROGATE_MESSAGE(k)}` };
        stack.push({ v: child, depth: depth + 1, path: `${path}.${k}` });
      }
    }
  }
  return undefined;
}

/**
 * The first object key a JSON text gives twice in one object, as an issue at its path, or undefined. `JSON.parse`
 * keeps the last of two equal keys, so a reader that looked at the first would act on another value than the one
 * used: a body names each field once (a 400 otherwise, never "the later one wins"). The text must already be valid
 * JSON (call it after JSON.parse succeeded); one pass over it, whatever its depth.
 */
export function duplicateKeyOf(text: string, root = 'body'): Issue | undefined {
  type Open = { keys: Set<string> | null; at: string; key: string | null; index: number; expectKey: boolean };
  const open: Open[] = [];
  const pathOf = (o: Open) => (o.keys ? `${o.at}.${o.key}` : `${o.at}.${o.index}`);
  const where = () => (open.length ? pathOf(open[open.length - 1]!) : root);
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    const top = open[open.length - 1];
    if (c === '{' || c === '[') open.push({ keys: c === '{' ? new Set() : null, at: where(), key: null, index: 0, expectKey: c === '{' });
    else if (c === '}' || c === ']') open.pop();
    else if (c === ',' && top) {
      if (top.keys) top.expectKey = true;
      else top.index++;
    } else if (c === ':' && top) top.expectKey = false;
    else if (c === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      if (top?.keys && top.expectKey) {
        const key = JSON.parse(text.slice(i, j + 1)) as string;
        if (top.keys.has(key)) return { path: `${top.at}.${key}`, message: 'is given twice in one object (a duplicate JSON key): send each field once' };
        top.keys.add(key);
        top.key = key;
      }
      i = j;
    }
  }
  return undefined;
}

/** Half of a UTF-16 surrogate pair without its other half (JSON text may write one: "\ud800"). No `u` flag: with it, a regular expression reads pairs only. */
const LONE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** A lone surrogate written as its escape (\ud800). */
const escaped = (c: string) => `\\u${c.charCodeAt(0).toString(16)}`;

/**
 * Whether a string holds a lone surrogate: text no UTF-8 encoder takes (a URI encoder throws URIError,
 * Buffer.from silently writes U+FFFD, so a hash or a key made of it is not of what was sent).
 */
export const loneSurrogate = (s: string): boolean => LONE.test(s);

/** The string with each lone surrogate written as its escape (\ud800): what an answer names it by, never the half itself. */
export const escapeLoneSurrogates = (s: string): string => s.replace(new RegExp(LONE.source, 'g'), escaped);

const LONE_SURROGATE_MESSAGE = (s: string) =>
  `has half of a UTF-16 surrogate pair alone (${escaped(LONE.exec(s)![0])}): send text as Unicode (a surrogate pair is one character, never half of one)`;
