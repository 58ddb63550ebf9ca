import { randomUUID } from 'node:crypto';
import { DeleteCommand, PutCommand, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { IdempotencyClaim, IdempotencyStorePort } from '#domain/kernel/ports';
import { WriteConflict } from '#domain/kernel/retry';
import { keys, TABLE } from '../keys.ts';
import type { Area } from './area.ts';
import type { StoreBase } from './base.ts';

/** Stored replay bodies stay well under DynamoDB's 400 KB item limit. */
export const IDEMPOTENT_BODY_MAX = 300_000;

/** Idempotency keys of API requests and once-only claims of background work. */
export function idempotencyArea(base: StoreBase): Area<IdempotencyStorePort> {
  const { db, table } = base;

  const port: IdempotencyStorePort = {
    async claimIdempotency(tenant: string, key: string, requestHash: string, now: Date, ttlSeconds: number, leaseSeconds: number): Promise<IdempotencyClaim> {
      const nowSec = Math.floor(now.getTime() / 1000);
      // This claim's own mark: a claim whose answer was lost and that the SDK sent again finds it and knows it won.
      const claim = randomUUID();
      try {
        await db.send(
          new PutCommand({
            TableName: table,
            Item: {
              ...keys.idempotency(tenant, key),
              entity: 'Idempotency',
              requestHash,
              state: 'IN_PROGRESS',
              claim,
              leaseUntil: nowSec + leaseSeconds,
              [TABLE.ttlAttribute]: nowSec + ttlSeconds,
            },
            // TTL deletion is lazy, so an expired record is treated as absent; an IN_PROGRESS claim whose
            // lease (the function's timeout) ran out belongs to a request that crashed, and is taken over.
            ConditionExpression: 'attribute_not_exists(pk) OR #exp < :now OR (#s = :inprog AND leaseUntil < :now)',
            ExpressionAttributeNames: { '#exp': TABLE.ttlAttribute, '#s': 'state' },
            ExpressionAttributeValues: { ':now': nowSec, ':inprog': 'IN_PROGRESS' },
          }),
        );
        return { state: 'new' };
      } catch (err) {
        // A try the SDK made again (the first one's answer was lost) that failed for a moment may follow a first try
        // that was applied: read below, where the claim's own mark says so.
        const again = ((err as { $metadata?: { attempts?: number } }).$metadata?.attempts ?? 1) > 1;
        if ((err as { name?: string }).name !== 'ConditionalCheckFailedException' && !again) throw err;
        if ((err as { name?: string }).name !== 'ConditionalCheckFailedException') {
          const mine = await db.send(new GetCommand({ TableName: table, Key: keys.idempotency(tenant, key), ConsistentRead: true }));
          if (mine.Item?.claim === claim) return { state: 'new' };
          throw err;
        }
      }
      const r = await db.send(new GetCommand({ TableName: table, Key: keys.idempotency(tenant, key), ConsistentRead: true }));
      const item = r.Item;
      if (!item) return { state: 'in-progress' };
      if (item.claim === claim && item.state === 'IN_PROGRESS') return { state: 'new' };
      if (item.requestHash !== requestHash) return { state: 'mismatch' };
      if (item.state !== 'DONE') return { state: 'in-progress' };
      if (item.tooLarge) {
        return {
          state: 'replay',
          statusCode: item.statusCode as number,
          body: JSON.stringify({ replayed: true, message: 'The first response to this key was too large to keep; read the resource for its current state' }),
        };
      }
      return { state: 'replay', statusCode: item.statusCode as number, body: item.body as string };
    },

    async completeIdempotency(tenant: string, key: string, requestHash: string, response: { statusCode: number; body: string }): Promise<void> {
      // An item holds at most 400 KB: a larger response is remembered as done, without its body.
      const tooLarge = Buffer.byteLength(response.body) > IDEMPOTENT_BODY_MAX;
      // Only the request that claimed the key completes it: another body under the key is refused.
      if (
        !(await base.conditional(
          new UpdateCommand({
            TableName: table,
            Key: keys.idempotency(tenant, key),
            UpdateExpression: tooLarge
              ? 'SET #s = :done, statusCode = :code, tooLarge = :t REMOVE leaseUntil'
              : 'SET #s = :done, statusCode = :code, body = :body REMOVE leaseUntil',
            ConditionExpression: 'requestHash = :h',
            ExpressionAttributeNames: { '#s': 'state' },
            ExpressionAttributeValues: {
              ':done': 'DONE',
              ':code': response.statusCode,
              ':h': requestHash,
              ...(tooLarge ? { ':t': true } : { ':body': response.body }),
            },
          }),
        ))
      )
        throw new WriteConflict('version');
    },

    async releaseIdempotency(tenant: string, key: string): Promise<void> {
      await db.send(new DeleteCommand({ TableName: table, Key: keys.idempotency(tenant, key) }));
    },

    async claimOnce(tenant: string, scope: string, id: string, ttlSeconds: number): Promise<boolean> {
      return base.conditional(
        new PutCommand({
          TableName: table,
          // `claim` marks this claim as its own (base.conditional reads it back when the SDK had to send it again).
          Item: { ...keys.once(tenant, scope, id), entity: 'Once', claim: randomUUID(), [TABLE.ttlAttribute]: Math.floor(Date.now() / 1000) + ttlSeconds },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
    },

    async releaseOnce(tenant: string, scope: string, id: string): Promise<void> {
      await db.send(new DeleteCommand({ TableName: table, Key: keys.once(tenant, scope, id) }));
    },
  };
  return { port };
}
