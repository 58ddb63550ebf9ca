import type { Stack } from 'aws-cdk-lib';

/**
 * The names of what a stack holds in account-wide namespaces (the event bus, the schedule group
 * its one-time schedules live in, the Secrets Manager prefix of its tenants' secrets), derived from
 * the stack's name: two Stageline stacks in one account neither collide on a name nor share a scope
 * (one's functions never read the other's secrets nor touch its schedules). The stack name lower
 * cased, as the login domain already is (infra/identity.ts), so the default stack `Stageline`
 * keeps the names it always had: the bus `stageline`, secrets under `stageline/`, and the local
 * stack's defaults (functions/adapters/secrets.ts, webhook-secrets.ts) stay those of the default stack.
 */
export interface StackNames {
  /** the custom EventBridge bus (functions get it as EVENT_BUS_NAME) */
  eventBus: string;
  /** the EventBridge Scheduler group of the one-time schedules (functions get it as SCHEDULE_GROUP) */
  scheduleGroup: string;
  /** the prefix of tenants' Secrets Manager secrets, `<prefix><tenant>/<purpose>/<NAME>` (functions get it as SECRETS_PREFIX) */
  secretsPrefix: string;
  /** the KMS alias prefix of tenants' attestation keys, `alias/<stack>/tenant/` (functions get it as ATTESTATION_KEY_ALIAS_PREFIX) */
  attestationKeyAliasPrefix: string;
}

export function stackNames(stack: Stack): StackNames {
  const base = stack.stackName.toLowerCase();
  // Schedule group names are 1–64 of [0-9A-Za-z_.-] (stack names are [A-Za-z][A-Za-z0-9-]*, up to 128).
  if (!/^[0-9a-z_.-]{1,64}$/.test(base)) throw new Error(`stack name ${stack.stackName}: at most 64 characters, so it can name the stack's schedule group`);
  return { eventBus: base, scheduleGroup: base, secretsPrefix: `${base}/`, attestationKeyAliasPrefix: `alias/${base}/tenant/` };
}
