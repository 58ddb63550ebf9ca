import * as z from '#domain/kernel/zod';

/**
 * How a variable of the configuration (functions/configuration.ts, the entry: it re-exports every area's
 * module of this folder) is declared and read: its accessor, parsed with its kind's schema when the module
 * loads and again only when its text changes; the values the local stack and tests give ahead of the
 * environment (giveValues); and the kinds of value. The only module in functions/ that reads `process.env`.
 * A declaration holds only what reading the variable needs; its reference text is in reference.ts.
 */
/** Who gives a variable its value. */
export type Origin = 'stack' | 'lambda' | 'build' | 'operator' | 'local';

/** Raw values by variable name, as the environment holds them: what a test may give an adapter instead of the environment. */
export type Source = Readonly<Record<string, string | undefined>>;

/** A kind of value: how the reference names it, and how its text is parsed. */
interface Kind<T> {
  readonly type: string;
  readonly schema: z.ZodMiniType<T, string>;
}

/**
 * A variable as its module declares it: what a function needs to read it. What it is for, how the reference shows
 * a default that is not one constant, and which modules read it are in functions/configuration/reference.ts.
 */
interface Declaration<T> {
  readonly name: string;
  /** its kind (a function, so that a variable no code reads leaves nothing in a bundle) */
  readonly is: () => Kind<T>;
  /** the value when the environment has none (an empty value counts as none) */
  readonly default?: T;
  readonly origin: Origin;
  /** never repeated in a message: the value is a secret */
  readonly secret?: true;
}

/** What a variable's accessor tells of it (functions/configuration/reference.ts joins it with the variable's reference text). */
export interface RuntimeDeclared {
  readonly name: string;
  readonly type: string;
  /** the default as the environment would hold it, if it is one constant */
  readonly default?: string;
  readonly origin: Origin;
  readonly secret: boolean;
}

/** A variable's accessor: its value (from the environment, or from `source` when a test gives one), and its declaration. */
export interface Variable<T> {
  (source?: Source): T;
  readonly declared: RuntimeDeclared;
}

/** Given by the local stack or a test, ahead of the environment. */
const given = new Map<string, string | undefined>();
/** The local stack's defaults: used where the environment has no value (an operator's own setting wins). */
const fallbacks = new Map<string, string | undefined>();
/** Every variable this process declared, by name (what overrides are parsed with). */
const readers = new Map<string, (source?: Source) => unknown>();

/** A variable's text: given, else the environment's, else the local stack's fallback. */
export function raw(name: string): string | undefined {
  if (given.has(name)) return given.get(name);
  const value = process.env[name];
  // An empty value counts as unset, here too.
  return value === undefined || value === '' ? (fallbacks.get(name) ?? value) : value;
}

const shown = (value: unknown) => (Array.isArray(value) ? value.join(',') : String(value));

/** Declares a variable (each module of this folder declares its area's, every call marked pure). */
export function variable<T>(d: Declaration<T> & { default: T }): Variable<T>;
export function variable<T>(d: Declaration<T>): Variable<T | undefined>;
export function variable<T>(d: Declaration<T>): Variable<T | undefined> {
  const kind = d.is();
  const parse = (text: string | undefined): T | undefined => {
    if (text === undefined || text === '') return d.default;
    const r = kind.schema.safeParse(text);
    if (r.success) return r.data;
    const why = r.error.issues.map((i) => i.message).join('; ');
    throw new Error(`configuration: ${d.name}${d.secret ? '' : `=${JSON.stringify(text)}`} is not valid: ${why}`);
  };
  let seen: { text: string | undefined; value: T | undefined } | undefined;
  const read = (source?: Source): T | undefined => {
    if (source) return parse(source[d.name]);
    const text = raw(d.name);
    if (!seen || seen.text !== text) seen = { text, value: parse(text) };
    return seen.value;
  };
  // Parsed at start: a malformed value fails module init, naming the variable.
  read();
  readers.set(d.name, read);
  const info: RuntimeDeclared = {
    name: d.name,
    type: kind.type,
    ...(d.default === undefined ? {} : { default: shown(d.default) }),
    origin: d.origin,
    secret: !!d.secret,
  };
  return Object.assign(read, { declared: info });
}

/**
 * Values this process's code reads instead of the environment's, by variable name, as the environment
 * would hold them (undefined: as if unset), until the returned function undoes it. `override`: ahead of
 * the environment (the local stack's table, a test's setting); `fallback`: only where the environment
 * sets nothing (the local stack's defaults). Each value is parsed first: a malformed one throws, naming
 * it. Called through functions/configuration-overrides.ts, which types the names.
 */
export function giveValues(how: 'override' | 'fallback', values: Readonly<Record<string, string | undefined>>): () => void {
  const map = how === 'override' ? given : fallbacks;
  const entries = Object.entries(values);
  for (const [name, value] of entries) {
    const read = readers.get(name);
    if (!read) throw new Error(`configuration: no variable ${name} is declared (functions/configuration.ts)`);
    read({ [name]: value });
  }
  const before = new Map<string, { had: boolean; value: string | undefined }>();
  for (const [name, value] of entries) {
    if (!before.has(name)) before.set(name, { had: map.has(name), value: map.get(name) });
    map.set(name, value);
  }
  return () => {
    for (const [name, { had, value }] of before) {
      if (had) map.set(name, value);
      else map.delete(name);
    }
  };
}

// ---------------------------------------------------------------------------------------------
// Kinds of value.

export const text = (type = 'string'): Kind<string> => ({ type, schema: z.string() });

export const url = (): Kind<string> => ({ type: 'URL', schema: z.url() });

/** A number in decimal digits, within its range. */
export function decimal(range: { min: number; above?: true; max?: number; integer?: true }): Kind<number> {
  const digits = range.integer ? /^\d{1,15}$/ : /^\d{1,15}(\.\d{1,20})?$/;
  const checks = [range.above ? z.gt(range.min) : z.gte(range.min), ...(range.max === undefined ? [] : [z.lte(range.max)])];
  return {
    type: range.integer ? 'integer' : 'number',
    schema: z.pipe(
      z.pipe(
        z.string().check(z.regex(digits, `must be ${range.integer ? 'a whole number' : 'a number'} in decimal digits`)),
        z.transform((s: string) => Number(s)),
      ),
      z.number().check(...checks),
    ),
  };
}

/** `true` or `false`. */
export const flag = (): Kind<boolean> => ({
  type: 'true | false',
  schema: z.pipe(
    z.enum(['true', 'false']),
    z.transform((v) => v === 'true'),
  ),
});

/** A switch written on/off (also true/false, 1/0, in any case). */
export const onOff = (): Kind<boolean> => ({
  type: 'on | off',
  schema: z.pipe(
    z.string().check(z.regex(/^(on|off|true|false|1|0)$/i, 'must be on or off')),
    z.transform((v) => /^(on|true|1)$/i.test(v)),
  ),
});

/** A JSON document (its shape is checked by the module that reads it). */
export const json = (): Kind<unknown> => ({
  type: 'JSON',
  schema: z.pipe(
    z.string(),
    z.transform((s, ctx) => {
      try {
        return JSON.parse(s) as unknown;
      } catch {
        z.addIssue(ctx, { code: 'custom', message: 'must be JSON' });
        return z.NEVER;
      }
    }),
  ),
});

/** A comma-separated list (items trimmed, empty ones dropped). */
export const list = (): Kind<string[]> => ({
  type: 'comma list',
  schema: z.pipe(
    z.string(),
    z.transform((s) =>
      s
        .split(',')
        .map((x) => x.trim())
        .filter(Boolean),
    ),
  ),
});
