import type { Environment } from './model.ts';

/** The line of environments, in promotion order (position, then name). */
export function lineOf(envs: Environment[]): Environment[] {
  return [...envs].sort((a, b) => a.position - b.position || a.name.localeCompare(b.name));
}
