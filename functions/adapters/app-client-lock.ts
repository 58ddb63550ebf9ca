import { randomUUID } from 'node:crypto';
import { DeleteCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { VersionConflict } from '#domain/kernel/errors';
import { APP_CLIENT, keys } from './keys.ts';
import * as env from '../configuration.ts';
import { documentClient } from './store/base.ts';
import { tenantCredentials } from './tenant-credentials.ts';
import { traced } from './tracing.ts';

/**
 * One writer at a time for the user pool app client's list of identity providers. Cognito's UpdateUserPoolClient
 * replaces the whole client and takes no condition, so two tenants' saves that each read the list, add their own
 * provider and write it back can drop each other's. A save holds this lease (one item, keys.appClientLock) while it
 * reads and writes the list: taken with a conditional put (free, or its lease run out: a writer that died holds it
 * LEASE_SECONDS at most), given back with a delete conditioned on its own owner id.
 */
export interface AppClientLock {
  /** Runs `fn` holding the lease; VersionConflict (409) when another save holds it for longer than a save takes. */
  holding<T>(fn: () => Promise<T>): Promise<T>;
}

/** How long a lease lasts: longer than a save's reads and writes of the client (a few calls), shorter than the API function's time-out would make anyone wait. */
export const LEASE_SECONDS = 20;

const conditionFailed = (err: unknown) => (err as { name?: string })?.name === 'ConditionalCheckFailedException';

export function dynamoAppClientLock(
  db: DynamoDBDocumentClient,
  table: string,
  opts: { now?: () => number; wait?: (ms: number) => Promise<void>; tries?: number } = {},
): AppClientLock {
  const now = opts.now ?? Date.now;
  const wait = opts.wait ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const tries = opts.tries ?? 24;
  const key = keys.appClientLock();
  return {
    async holding<T>(fn: () => Promise<T>): Promise<T> {
      const owner = randomUUID();
      for (let attempt = 0; ; attempt++) {
        const sec = Math.floor(now() / 1000);
        try {
          await db.send(
            new PutCommand({
              TableName: table,
              Item: { ...key, entity: 'AppClientLock', owner, expiresAt: sec + LEASE_SECONDS },
              ConditionExpression: 'attribute_not_exists(pk) OR expiresAt < :now',
              ExpressionAttributeValues: { ':now': sec },
            }),
          );
          break;
        } catch (err) {
          if (!conditionFailed(err)) throw err;
          if (attempt + 1 >= tries)
            throw new VersionConflict("Another identity provider connection is being saved (the user pool app client's list of providers): save again");
          // Another save holds it for a few calls: wait a moment (some jitter, so two waiters do not meet again), then try again.
          await wait(100 + Math.floor(Math.random() * 150));
        }
      }
      try {
        return await fn();
      } finally {
        try {
          await db.send(
            new DeleteCommand({
              TableName: table,
              Key: key,
              ConditionExpression: '#o = :o',
              ExpressionAttributeNames: { '#o': 'owner' },
              ExpressionAttributeValues: { ':o': owner },
            }),
          );
        } catch (err) {
          // Lost already (the lease ran out and another save took it): theirs now.
          if (!conditionFailed(err)) throw err;
        }
      }
    },
  };
}

/** The deployed lease: an item of the table, reached as tenant creation reaches the domain registry, through a session of the tenant data role tagged with its partition's name. */
export function appClientLockFromEnv(): AppClientLock {
  const table = env.TABLE_NAME();
  if (!table) throw new Error('TABLE_NAME must be set: the app client lease is an item of the table');
  const role = env.TENANT_DATA_ROLE_ARN();
  return dynamoAppClientLock(traced(documentClient(role ? { credentials: tenantCredentials(role, APP_CLIENT) } : {})), table);
}
