import type * as env from './configuration.ts';
import { giveValues } from './configuration.ts';

/**
 * How the local stack, benches and tests hand the configuration (functions/configuration.ts) its
 * values without writing the process's environment: by variable name, typed, each value parsed by
 * its variable's schema before it applies. A module of its own, so that the configuration module
 * never imports itself to know its variables' names.
 */

/** Every variable's name. */
export type ConfigName = { [K in keyof typeof env]: (typeof env)[K] extends env.Variable<unknown> ? K : never }[keyof typeof env];

/** Values by variable name, as the environment would hold them; undefined: as if unset. */
export type ConfigValues = { readonly [K in ConfigName]?: string | undefined };

/**
 * Values this process's code reads instead of the environment's, until the returned function undoes
 * it: how the local stack gives the same handlers their table, and how a test changes a setting at run
 * time. A malformed value throws, naming the variable, and none of the values applies.
 */
export function overrideConfig(values: ConfigValues): () => void {
  return giveValues('override', values);
}

/** The local stack's defaults (local mode, its generated keys): read only where the environment sets nothing. */
export function localDefaults(values: ConfigValues): () => void {
  return giveValues('fallback', values);
}
