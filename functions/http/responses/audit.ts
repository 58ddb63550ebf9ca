import * as z from 'zod';
import { actedVia, time } from './common.ts';

/** What the audit routes answer. */
const auditEntry = /* @__PURE__ */ z
  .object({
    tenant: z.string().describe("the caller's own tenant"),
    id: z.string().describe('time-ordered, unique'),
    at: time,
    actor: z.string(),
    actorName: z.string(),
    action: z.string(),
    entityType: z.string(),
    entityId: z.string(),
    reason: z.string().optional(),
    before: z.string().nullable(),
    after: z.string().nullable(),
    requestId: z.string().optional(),
    via: actedVia.optional(),
  })
  .strict()
  .meta({ id: 'AuditEntry' });

const broken = /* @__PURE__ */ z.object({ seq: z.number().int(), reason: z.string() }).strict();
const auditVerify = /* @__PURE__ */ z
  .object({
    ok: z.boolean(),
    checked: z.number().int().describe('entries linked and checked'),
    head: z.object({ seq: z.number().int(), hash: z.string() }).strict().nullable(),
    firstBroken: broken.optional(),
    headSeq: z.number().int(),
    pending: z.number().int().describe('entries written but not linked yet (never counted as broken)'),
    checkpoints: z.object({ count: z.number().int(), latestSeq: z.number().int(), forged: z.number().int() }).strict(),
  })
  .strict()
  .meta({ id: 'AuditVerification' });

const auditPublicKey = /* @__PURE__ */ z
  .object({
    algorithm: z.literal('ECDSA_SHA_256'),
    curve: z.literal('P-256'),
    keyId: z.string().describe('sha256:<hex> of the key\'s DER SubjectPublicKeyInfo (openssl pkey -pubin -outform der | sha256sum)'),
    publicKeyPem: z.string().describe('the public key, PEM (SubjectPublicKeyInfo): pass it to `stageline audit verify --public-key`'),
    signedMessage: z.string().describe('the bytes each checkpoint signature covers'),
  })
  .strict()
  .meta({ id: 'AuditPublicKey' });

export const AUDIT_RESPONSES: Record<string, z.ZodType> = {
  'audit-list': z.object({ items: z.array(auditEntry), nextCursor: z.string().nullable().optional() }).strict(),
  'audit-verify': auditVerify,
  'audit-public-key': auditPublicKey,
};
