import type { ReadScope } from '../access/app-keys.ts';
import { ValidationFailed } from '../kernel/errors.ts';
import type { InstanceSeen } from './ports.ts';

/**
 * Application instances identify themselves where they already read (a fleet target's confirmation,
 * domain/promotion/rollout/confirm-fleet.ts, counts them): effective config with the header
 * `Stageline-Instance: <id>` (and optionally `Stageline-Instance-Version: <artifact>@<version or digest>`,
 * what it runs), OFREP with `context.instanceId` (and `context.instanceVersion`). An instance is recorded
 * only when a read answers 200 — never on a 304 — and only when what it read differs from what is stored.
 */

/** An instance's id: 1-128 letters, digits and `. _ : -` (a pod name, a host and pid, a task ARN's id). Data, never a property name. */
export const INSTANCE_ID = /^[A-Za-z0-9._:-]{1,128}$/;
/** What an instance says it runs: `<artifact>@<version>` or `<artifact>@sha256:<hex>`. */
export const INSTANCE_VERSION = /^[a-z0-9][a-z0-9._-]{0,99}@[A-Za-z0-9._:+-]{1,128}$/;
export const INSTANCE_HEADER = 'stageline-instance';
export const INSTANCE_VERSION_HEADER = 'stageline-instance-version';
export const INSTANCE_ID_MESSAGE = 'must be 1-128 characters: letters, digits and . _ : -';
export const INSTANCE_VERSION_MESSAGE = 'must be <artifact>@<version> or <artifact>@sha256:<digest>';
/** An instance's item expires this long after it last changed: beyond the longest window and confirmation (1 day each). */
export const INSTANCE_TTL_SECONDS = 2 * 86_400;

export interface InstanceClaim {
  id: string;
  artifact?: string;
}

/** The instance a read's headers name (none: undefined); a malformed one is a 400 naming the header. */
export function instanceFromHeaders(headers: Record<string, string | undefined>): InstanceClaim | undefined {
  const id = headers[INSTANCE_HEADER];
  const artifact = headers[INSTANCE_VERSION_HEADER];
  if (id === undefined) return undefined;
  const issues = [
    ...(INSTANCE_ID.test(id) ? [] : [{ path: 'headers.Stageline-Instance', message: INSTANCE_ID_MESSAGE }]),
    ...(artifact === undefined || INSTANCE_VERSION.test(artifact) ? [] : [{ path: 'headers.Stageline-Instance-Version', message: INSTANCE_VERSION_MESSAGE }]),
  ];
  if (issues.length) throw new ValidationFailed(issues);
  return { id, ...(artifact !== undefined ? { artifact } : {}) };
}

/** The instance an OFREP evaluation context names (`instanceId`, `instanceVersion`; both checked by its schema). */
export function instanceFromContext(context: { instanceId?: string; instanceVersion?: string }): InstanceClaim | undefined {
  return context.instanceId ? { id: context.instanceId, ...(context.instanceVersion ? { artifact: context.instanceVersion } : {}) } : undefined;
}

/**
 * Whether a read's instance report counts for the target it read (DESIGN.md section 9: a claim speaks only for
 * what its credential is bound to): only when the read's credential is bound to that target, an app key scoped
 * to it. A person's token, an IAM caller, an app key of the whole environment (with ?target= or an evaluation
 * context's `target`) are served as before and never counted. The reason is what the read answers in
 * `Stageline-Instance-Counted` (null: it counts).
 */
export function notCountedBecause(scope: ReadScope, view: { target: string | null }): string | null {
  if (view.target === null) return "the read is the environment's, not a target's";
  if (scope.target !== view.target) return `this credential is not bound to target '${view.target}'; only an app key scoped to it reports its instances`;
  return null;
}

/** The response header that says whether a read's instance report was counted: `yes`, or `no; <why>`. */
export const INSTANCE_COUNTED_HEADER = 'stageline-instance-counted';

/** What a 200 read of a target records of the instance (null: no instance named, or the read's credential is not bound to the target it read). */
export function instanceSeen(
  scope: ReadScope,
  view: { target: string | null; head: { digest: string } },
  claim: InstanceClaim | undefined,
  now: Date,
): InstanceSeen | null {
  if (!claim || view.target === null || notCountedBecause(scope, view) !== null) return null;
  return {
    environment: scope.environment,
    target: view.target,
    instance: claim.id,
    version: view.head.digest,
    ...(claim.artifact ? { artifact: claim.artifact } : {}),
    at: now.toISOString(),
  };
}
