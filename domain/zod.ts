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
