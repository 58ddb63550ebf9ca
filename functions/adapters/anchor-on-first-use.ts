import type { AuditAnchor } from '#domain/audit/ports';
import { onFirstUse } from './on-first-use.ts';

/**
 * The audit anchor (functions/adapters/kms-s3-anchor.ts) made on first use: a function that only now and
 * then needs the audit key's public half (a required attestation to verify) does not read the module at init.
 */
export const anchorOnFirstUse = (): AuditAnchor =>
  onFirstUse<AuditAnchor>(() => import('./kms-s3-anchor.ts').then((m) => m.anchorFromEnv()), {
    sign: true,
    signBytes: true,
    tenantKey: true,
    append: true,
    list: true,
    verify: true,
    publicKey: true,
  });
