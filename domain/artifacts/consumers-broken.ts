import type { Deps } from '../kernel/deps.ts';
import type { Consumer } from './model.ts';

/**
 * The consumers of `artifact` (those of `environment`, and those pinned everywhere) whose constraint
 * `version` does not satisfy: what a rollback to it, or a promotion of it into `environment`, would
 * break. A tag constraint follows whatever is there and is never broken. Semver (versions.ts) is
 * loaded with `import()` only when there are consumers to check: a promotion of an artifact nobody
 * pins, and every function that only promotes, never reads it.
 */
export async function consumersBroken(
  deps: Deps,
  tenant: string,
  artifact: string,
  version: string,
  environment: string,
): Promise<{ name: string; constraint: string; reason: string }[]> {
  const pinned = await pinnedIn(deps, tenant, artifact, environment);
  if (pinned.length === 0) return [];
  return (await import('./versions.ts')).brokenBy(pinned, version);
}

/**
 * The pins on `artifact` that stand in `environment`: the stored consumers of it there (and everywhere), each one
 * that is an artifact the environment runs pinned as the version it runs declares (`metadata.pins`): a consumer
 * version promoted into an environment (alone, in a bundle, or put back by a rollback) brings its pins with it,
 * there and nowhere else. A running version that declares no pin on `artifact` leaves the stored one as it is.
 */
export async function pinnedIn(
  deps: Deps,
  tenant: string,
  artifact: string,
  environment: string,
): Promise<(Pick<Consumer, 'name' | 'constraint' | 'environment'> & { declaredBy?: string })[]> {
  const stored = (await deps.store.listConsumers(tenant, artifact)).filter((c) => !c.environment || c.environment === environment);
  return Promise.all(
    stored.map(async (c) => {
      const runs = await deps.store.getPointer(tenant, environment, c.name);
      const own = runs ? pinsOf((await deps.store.getArtifactVersion(tenant, c.name, runs.version))?.metadata)[artifact] : undefined;
      return own === undefined || own === c.constraint ? c : { name: c.name, constraint: own, environment, declaredBy: `${c.name}@${runs!.version}` };
    }),
  );
}

/** How a promotion names the consumers it would break (a refusal and the policy_compliance gate alike). */
export const consumersBrokenText = (artifact: string, environment: string, broken: { name: string; constraint: string }[]) =>
  `in '${environment}', ${broken.map((c) => `consumer '${c.name}' pins ${artifact} ${c.constraint}`).join(', ')}: promote a version it accepts, or re-pin the consumer first (PUT /artifacts/${artifact}/consumers/${broken[0]?.name ?? '…'})`;

/** A version's own pins (`metadata.pins`): the string entries of an object, nothing else. */
export function pinsOf(metadata: Record<string, unknown> | undefined): Record<string, string> {
  const pins = metadata?.pins;
  if (!pins || typeof pins !== 'object' || Array.isArray(pins)) return {};
  return Object.fromEntries(Object.entries(pins as Record<string, unknown>).filter((e): e is [string, string] => typeof e[1] === 'string'));
}
