import * as z from './zod.ts';

/**
 * The names JavaScript gives meaning to on every object. A caller-supplied key or dotted path that
 * is one of them could reach `Object.prototype` (`node = node[k]` with k = `__proto__`, then a write
 * pollutes every object of the process: every tenant served by that warm function) or read an
 * inherited member as if it were data (`variants['constructor']` is the Object function). Stageline
 * refuses them as data wherever a key is accepted: any object key of a request body (JSON or YAML,
 * functions/http/handler.ts and the manifest reader), an identifier field (environment, artifact,
 * config/flag key, variant, metric), and any segment of a dotted path (a git target's `path`, a
 * condition's `field`). Code that builds objects from input also uses own-property checks, `Map` or
 * null-prototype objects, so one missed field is not enough either.
 */
export const RESERVED_KEYS = ['__proto__', 'prototype', 'constructor'] as const;

const RESERVED = new Set<string>(RESERVED_KEYS);

export const isReservedKey = (key: string): boolean => RESERVED.has(key);

export const RESERVED_KEY_MESSAGE = `must not be __proto__, prototype or constructor (names JavaScript reserves on every object)`;

/** A reserved name as the whole string. */
export const NOT_RESERVED = /^(?!(?:__proto__|prototype|constructor)$)/;
/** A reserved name as any segment between the separators of a key or path (. / :). */
export const NO_RESERVED_SEGMENT = /^(?!(?:.*[./:])?(?:__proto__|prototype|constructor)(?:[./:]|$))/;

/** The first reserved segment of a key or path split at `.`, `/` and `:`, if any. */
export const reservedSegment = (path: string): string | undefined => path.split(/[./:]/).find(isReservedKey);

/**
 * zod checks for a string that is a key (whole) or a path (any segment). A pattern, so the OpenAPI
 * document states the rule beside the field's own pattern and outside clients see it.
 */
export const notReserved = () => z.regex(NOT_RESERVED, RESERVED_KEY_MESSAGE);
export const noReservedSegment = () => z.regex(NO_RESERVED_SEGMENT, `no segment ${RESERVED_KEY_MESSAGE}`);

/**
 * The first object key anywhere in a parsed document that is reserved, with its dotted path from
 * `root` (e.g. `body.value.__proto__`), or undefined. Iterative: bodies are depth-checked elsewhere.
 */
export function findReservedKey(value: unknown, root: string): string | undefined {
  const stack: { v: unknown; path: string }[] = [{ v: value, path: root }];
  while (stack.length) {
    const { v, path } = stack.pop()!;
    if (!v || typeof v !== 'object') continue;
    for (const k of Object.keys(v)) {
      if (!Array.isArray(v) && isReservedKey(k)) return `${path}.${k}`;
      stack.push({ v: (v as Record<string, unknown>)[k], path: `${path}.${k}` });
    }
  }
  return undefined;
}

/** An empty object without a prototype: a key written into it is only ever data. */
export const dataObject = <T>(): Record<string, T> => Object.create(null) as Record<string, T>;

/** A member of a keyed object only if the object itself has it: never an inherited one. */
export const ownValue = <T>(o: Readonly<Record<string, T>> | undefined, key: string): T | undefined => (o && Object.hasOwn(o, key) ? o[key] : undefined);
