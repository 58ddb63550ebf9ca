import type { AttestationStorePort, StoredAttestation } from '../../../domain/attestation/ports.ts';
import { keys } from '../../../functions/adapters/keys.ts';
import type { MemoryState } from './area.ts';

/** Promotions' attestations: one item each, written once (as functions/adapters/store/attestations.ts). */
export function attestationArea({ table }: MemoryState) {
  const port: AttestationStorePort = {
    async getAttestation(tenant: string, promotionId: string) {
      const item = table.get(keys.attestation(tenant, promotionId));
      if (!item) return null;
      const { pk: _pk, sk: _sk, entity: _entity, ...stored } = structuredClone(item);
      return stored as unknown as StoredAttestation;
    },
    async putAttestation(a: StoredAttestation, replacing?: StoredAttestation) {
      const key = keys.attestation(a.tenant, a.promotionId);
      const stored = table.get(key) as { at?: string } | undefined;
      if (replacing ? stored?.at !== replacing.at : stored) return false;
      table.put({ ...key, entity: 'Attestation', ...structuredClone(a) });
      return true;
    },
  };
  return { port };
}
