import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';

/**
 * Where the local stack's fault plan (local/faults.ts) reaches the adapters: the functions' DynamoDB
 * clients and their outbound calls to tenant hosts. Nothing is set on AWS (no deployed code calls
 * setSeams): every hook is absent and the adapters run as they are.
 */
export interface Seams {
  /** given every DynamoDB client an adapter makes, before its first request (adds middleware) */
  dynamoClient?: (client: DynamoDBClient) => void;
  /** wraps every outbound call to a tenant host (guardedFetch): `send` makes the real request */
  outbound?: (url: URL, method: string, send: () => Promise<Response>) => Promise<Response>;
}

let current: Seams = {};

export const seams = (): Seams => current;

/** Sets the hooks until the returned function undoes it (the local stack's stop). */
export function setSeams(next: Seams): () => void {
  const before = current;
  current = next;
  return () => {
    current = before;
  };
}
