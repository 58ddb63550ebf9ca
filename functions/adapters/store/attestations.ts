import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { AttestationStorePort, StoredAttestation } from '#domain/attestation/ports';
import { keys } from '../keys.ts';
import type { Area } from './area.ts';
import type { StoreBase } from './base.ts';

/**
 * Promotions' attestations (domain/attestation/): one item beside its promotion, the latest, written by the
 * stream consumer with a plain conditional put (1 write, no transaction): once, and again only to supersede the
 * one read when a rollback put the promotion back; read by id.
 */
export function attestationArea(base: StoreBase): Area<AttestationStorePort> {
  const { db, table } = base;
  const port: AttestationStorePort = {
    async getAttestation(tenant: string, promotionId: string) {
      const r = await db.send(new GetCommand({ TableName: table, Key: keys.attestation(tenant, promotionId), ConsistentRead: true }));
      if (!r.Item) return null;
      const { pk: _pk, sk: _sk, entity: _entity, ...stored } = r.Item;
      return stored as StoredAttestation;
    },
    async putAttestation(a: StoredAttestation, replacing?: StoredAttestation) {
      try {
        await db.send(
          new PutCommand({
            TableName: table,
            Item: { ...keys.attestation(a.tenant, a.promotionId), entity: 'Attestation', ...a },
            // Written once, or superseding exactly the one read (a later rollback's summary): never a lost update.
            ...(replacing
              ? { ConditionExpression: '#at = :at', ExpressionAttributeNames: { '#at': 'at' }, ExpressionAttributeValues: { ':at': replacing.at } }
              : { ConditionExpression: 'attribute_not_exists(pk)' }),
          }),
        );
        return true;
      } catch (err) {
        if ((err as { name?: string }).name === 'ConditionalCheckFailedException') return false;
        throw err;
      }
    },
  };
  return { port };
}
