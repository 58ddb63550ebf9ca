/**
 * THE configuration: every environment variable Stageline's code reads, declared once with its schema
 * (zod), its default and who sets it; its reference text (what it is for, which modules read it) is in
 * functions/configuration/reference.ts, which this module does not re-export. Nothing else in
 * functions/ reads `process.env` (but the constants the bundler writes in), domain/ never does, and
 * nothing in functions/, domain/ or local/ writes it (test/unit/configuration.test.ts checks all three):
 * the local stack and tests hand values over instead (`overrideConfig` and `localDefaults`,
 * functions/configuration-overrides.ts).
 *
 * A module reads a variable by calling its accessor, always through the namespace:
 * `import * as env from '…/configuration.ts'` and `env.SCHEDULE_GROUP()`. That text is what the
 * deploy checks read (test/infra/deploy.test.ts: each function gets exactly the variables its
 * bundle's adapters read); the declarations joined with their reference text are what
 * docs/reference/configuration.md is generated from (`npm run docs`).
 *
 * The variables are declared by area in functions/configuration/ (stack.ts: set by the stack; runtime.ts:
 * by Lambda, the bundler or an operator's tuning; local.ts: local mode), on the machinery of variable.ts;
 * this module is the one entry, re-exporting them all. Each variable is its own export, built by a call marked pure: a bundle holds (and its module init
 * parses) only the variables its code reads. The value in the environment is parsed when the module
 * loads, so a malformed one (a typo'd number) fails the function's init with a message naming the
 * variable; it is parsed again only when the value changes (tests change some at run time).
 * The domain reads none of them: its tunables come in its deps (domain/kernel/tunables.ts), filled
 * from here by functions/http/deps.ts.
 */

export { giveValues, type Origin, type RuntimeDeclared, type Source, type Variable } from './configuration/variable.ts';
export * from './configuration/stack.ts';
export * from './configuration/runtime.ts';
export * from './configuration/local.ts';
