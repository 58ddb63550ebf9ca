/**
 * Application keys: read-only credentials a running service uses to read its environment's
 * promoted configs and evaluate its flags (effective config, OFREP). Each is bound to one tenant
 * and one environment (and optionally a key prefix). The key is shown once; the table keeps
 * only the SHA-256 of its secret part (the secret is 256 random bits, so a fast hash is enough).
 *
 * The key reads `slk.<tenant>.<environment>.<key id>.<secret>`: the tenant and environment in
 * clear let one request fetch the key record and the environment head together; both are
 * checked against the record, so altering them only makes the key fail.
 *
 * Rotation adds a new secret and lets the previous one live on for an overlap window, so a fleet
 * can roll the new key out without downtime. Revocation takes effect at once (every request
 * reads the record with a consistent read).
 */
export interface AppKeySecret {
  /** sha256 hex of the secret part */
  hash: string;
  createdAt: string;
  /** set when a rotation superseded it: the secret keeps working until then */
  expiresAt?: string;
}

export interface AppKey {
  tenant: string;
  id: string;
  name: string;
  environment: string;
  /** reads only configs and flags whose key starts with this */
  prefix?: string;
  /** reads as this target of the environment (its head and parameters while a rollout is in progress) */
  target?: string;
  secrets: AppKeySecret[];
  createdAt: string;
  createdBy: string;
  revokedAt?: string;
  revokedBy?: string;
  rotatedAt?: string;
  lastUsedAt?: string;
  version: number;
}
