import type { Deps } from '#domain/ports';
import { DynamoStore, documentClient } from '../adapters/dynamo-store.ts';

let cached: Deps | undefined;

/**
 * Production wiring, built on first use and reused across invocations.
 * DYNAMODB_ENDPOINT points at DynamoDB Local when running locally.
 */
export function deps(): Deps {
  if (!cached) {
    const table = process.env.TABLE_NAME;
    if (!table) throw new Error('TABLE_NAME is not set');
    const endpoint = process.env.DYNAMODB_ENDPOINT;
    const db = documentClient(
      endpoint
        ? { endpoint, region: process.env.AWS_REGION ?? 'local', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }
        : {},
    );
    cached = { store: new DynamoStore(db, table), clock: () => new Date() };
  }
  return cached;
}

/** Lets the local stack and tests point handlers at another table. */
export function resetDeps(next?: Deps): void {
  cached = next;
}
