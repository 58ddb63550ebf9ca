import { sha256Hex } from './canonical.ts';

/**
 * Names of AWS resources made at run time (EventBridge Scheduler schedules, STS role sessions):
 * unique per (kind, exact parts) and within the service's limits, whatever the parts contain.
 * A readable prefix (cut to fit) plus 20 hex characters (80 bits) of the SHA-256 of the exact
 * parts: the prefix helps a person find it in the console, the hash makes it unique. Cutting
 * `stageline-<tenant>-<id>` to the limit lost the id for long tenant names (two promotions
 * shared one schedule).
 */
export interface NameLimits {
  max: number;
  /** characters the service refuses, replaced by '-' in the readable part */
  refused: RegExp;
}

/** EventBridge Scheduler: 1–64 of [0-9A-Za-z_.-]. */
export const SCHEDULE_NAME: NameLimits = { max: 64, refused: /[^0-9A-Za-z_.-]/g };
/** STS RoleSessionName: 2–64 of [\w+=,.@-]. */
export const ROLE_SESSION_NAME: NameLimits = { max: 64, refused: /[^\w+=,.@-]/g };

const HASH_LENGTH = 20;

export function awsName(prefix: string, parts: readonly string[], limits: NameLimits = SCHEDULE_NAME): string {
  // NUL never occurs in a tenant name or an id, so the joined input maps back to exactly one list of parts.
  const hash = sha256Hex([prefix, ...parts].join('\u0000')).slice(0, HASH_LENGTH);
  const room = limits.max - prefix.length - HASH_LENGTH - 1;
  if (room < 0) throw new Error(`the prefix ${prefix} leaves no room for the hash`);
  const readable = parts.join('-').replace(limits.refused, '-').slice(0, room);
  return `${prefix}${readable}-${hash}`;
}

/** An IAM role ARN: partition, the 12-digit account, an optional path and the role's name (IAM's grammar). */
export const ROLE_ARN = /^arn:(aws|aws-cn|aws-us-gov):iam::([0-9]{12}):role\/((?:[!-~]{1,510}\/)?)([A-Za-z0-9_+=,.@-]{1,64})$/;
