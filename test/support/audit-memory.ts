import { createPublicKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { auditEntry, describePublicKey, rootMessage, signatureValid, type AuditDraft } from '../../domain/audit/audit.ts';
import { DEFAULT_TUNABLES } from '../../domain/kernel/tunables.ts';
import type { AuditEntry, Checkpoint } from '../../domain/kernel/model.ts';
import type { With } from '../../domain/ports.ts';
import type { AuditAnchor } from '../../domain/audit/ports.ts';
import { memoryStore } from './memory-store.ts';
import { auditItem } from './memory-store/audit.ts';

/**
 * The audit trail in memory, for pure tests of linking, anchoring, verify and export: the memory
 * store (its audit area holds entries, the chain's head, links and markers, the anchor's marks) and
 * an anchor signing with a P-256 key generated here, counting what the key service and the bucket
 * would bill.
 */
export function memoryAudit(now: () => Date = () => new Date()) {
  const store = memoryStore();
  const records: Checkpoint[] = [];
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const calls = { sign: 0, append: 0, list: 0 };
  /** each tenant's attestation key, made on its first attestation (as the adapters do) */
  const tenantKeys = new Map<string, KeyObject>();

  const anchor: AuditAnchor = {
    async sign(root) {
      calls.sign++;
      return sign('sha256', Buffer.from(rootMessage(root)), { key: privateKey, dsaEncoding: 'der' }).toString('base64url');
    },
    async signBytes(tenant, message) {
      calls.sign++;
      if (!tenantKeys.has(tenant)) tenantKeys.set(tenant, generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey);
      return new Uint8Array(sign('sha256', message, { key: tenantKeys.get(tenant)!, dsaEncoding: 'der' }));
    },
    async tenantKey(tenant, create = false) {
      if (!tenantKeys.has(tenant) && create) tenantKeys.set(tenant, generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey);
      const key = tenantKeys.get(tenant);
      return key ? describePublicKey(createPublicKey(key)) : null;
    },
    async append(c) {
      calls.append++;
      records.push(structuredClone(c));
    },
    async list(tenant, fromSeq = 1) {
      calls.list++;
      return records.filter((c) => c.tenant === tenant && c.seq >= fromSeq).map((c) => structuredClone(c));
    },
    async verify(c) {
      return signatureValid(publicKey, c);
    },
    async publicKey() {
      return describePublicKey(publicKey);
    },
  };

  const deps: With<'anchor'> = { store, anchor, clock: now, tunables: DEFAULT_TUNABLES };
  let n = 0;
  /** Writes `count` entries of the tenant (as a change would, its entry without the rest), returning them in order. */
  const write = (tenant: string, count = 1): AuditEntry[] =>
    Array.from({ length: count }, () => {
      const draft: AuditDraft = {
        actor: 'u1',
        actorName: 'user@x.test',
        action: 'config.update',
        entityType: 'config',
        entityId: `dev/k${n}`,
        before: null,
        after: `sha256:${n++}`,
      };
      const e = auditEntry(tenant, draft, new Date(Date.parse('2030-01-01T00:00:00.000Z') + n * 1000));
      store.table.put(auditItem(e));
      return e;
    });
  return { deps, anchor, store, calls, records, chain: store.chain, write, publicKey: publicKey as KeyObject, privateKey };
}
