import { createHash } from 'node:crypto';
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

/** Cognito's words a user pool domain prefix may not contain. */
const RESERVED_IN_DOMAIN = /aws|amazon|cognito/;

/**
 * The start of the stack's login domain prefix, `<this>-<account id>` (infra/identity.ts): Cognito takes a
 * prefix of at most 63 characters (lower-case letters, digits, dashes; not starting or ending with a dash)
 * without `aws`, `amazon` or `cognito` in it. The stack name lower cased, as the default stack's always was
 * (`stageline-<account>`); a name too long for the 12-digit account (over 50 characters) or holding a
 * reserved word is shortened and cleaned, with 8 hex digits of the full name's digest, so two long names
 * that share a start keep apart.
 */
export function loginDomainStart(stackName: string): string {
  const base = stackName.toLowerCase();
  const room = 63 - '-123456789012'.length;
  if (base.length <= room && !RESERVED_IN_DOMAIN.test(base)) return base;
  const digest = createHash('sha256').update(stackName).digest('hex').slice(0, 8);
  let clean = base;
  // Until none is left: a word taken out may join its neighbours into another (`awawss`).
  while (RESERVED_IN_DOMAIN.test(clean)) clean = clean.replace(new RegExp(RESERVED_IN_DOMAIN, 'g'), '');
  const kept = clean
    .replace(/-{2,}/g, '-')
    .slice(0, room - digest.length - 1)
    .replace(/^-+|-+$/g, '');
  return kept ? `${kept}-${digest}` : `s-${digest}`;
}
