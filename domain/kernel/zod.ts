/**
 * zod/mini, with English messages: every schema in domain/ and functions/ imports `z` from here.
 * zod/mini loads no locale (classic zod loads English by itself), so without the setting below every
 * issue would read "Invalid input". Only the English locale is bundled. This is the one module
 * package.json declares to have a side effect, so a bundle that imports `z` keeps the setting.
 */
import * as mini from 'zod/mini';
import en from 'zod/v4/locales/en.js';

mini.config(en());

export * from 'zod/mini';

/**
 * Reports an issue from inside `z.transform` (classic zod's `ctx.addIssue` there): zod/mini's
 * transform context is the bare parse payload, without `addIssue`. A custom issue, at the value.
 */
export function addIssue(ctx: mini.core.ParsePayload, issue: { code: 'custom'; message: string; path?: PropertyKey[] } & Record<string, unknown>): void {
  ctx.issues.push({ ...(issue as mini.core.$ZodRawIssue), input: 'input' in issue ? issue.input : ctx.value } as mini.core.$ZodRawIssue);
}

/**
 * A module-level schema, built when its module loads: `z.schema(() => z.strictObject({ … }))`, after
 * the pure annotation every module-level schema carries.
 * The bundler drops an unused pure call only when its arguments can be dropped too; zod/mini nests a
 * schema's parts in arguments (classic zod's method chains kept them in the call's target, which the
 * bundler does not look at), and it cannot tell that those inner calls are pure. A function can
 * always be dropped, so a schema a bundle does not use, and what its checks reference, stay out.
 */
export const schema = <T>(build: () => T): T => build();

/**
 * A module-level schema of a family a module picks one from per call (the event details of
 * kernel/events.ts): built the first time it is asked for, then kept. A function's module init
 * builds none of them, and its requests only those they use. Call it to get the schema.
 */
export const builtOnFirstUse = <T>(build: () => T): (() => T) => {
  let built: T | undefined;
  return () => (built ??= build());
};

const DIGITS = () => mini.int({ error: 'must be a whole number in decimal digits (e.g. 25)' });

/**
 * A whole number from a query string, between min and max, `fallback` when absent: decimal digits
 * only. `z.coerce.number()` took "0x10", "0b11", "1e3" and " 5 " as numbers the document, which says
 * integer, does not allow. Documented as the integer it is (a pipe whose first step is a transform
 * shows its second), with its default (a prefault: the default's value goes through the pipe, so the
 * document shows it as the input's).
 */
export function queryInt(min: number, max?: number): mini.ZodMiniOptional<mini.ZodMiniType<number, unknown>>;
export function queryInt(min: number, max: number | undefined, fallback: number): mini.ZodMiniType<number, unknown>;
export function queryInt(min: number, max?: number, fallback?: number): mini.ZodMiniType<number | undefined, unknown> {
  const int = mini.pipe(
    mini.transform((v: unknown) => (typeof v === 'string' && /^\d{1,16}$/.test(v) ? Number(v) : v)),
    (max === undefined ? DIGITS() : DIGITS().check(mini.maximum(max))).check(mini.minimum(min)),
  );
  return fallback === undefined ? mini.optional(int) : mini.prefault(int, fallback);
}
