import * as z from '../../../domain/kernel/zod.ts';
import { actedVia, time } from './common.ts';

/** What the audit routes answer. */
export const auditEntry = /* @__PURE__ */ z.schema(() =>
  z
    .strictObject({
      tenant: z.string().check(z.describe("the caller's own tenant")),
      id: z.string().check(z.describe('time-ordered, unique')),
      at: time,
      actor: z.string(),
      actorName: z.string(),
      action: z.string(),
      entityType: z.string(),
      entityId: z.string(),
      reason: z.optional(z.string()),
      before: z.nullable(z.string()),
      after: z.nullable(z.string()),
      requestId: z.optional(z.string()),
      via: z.optional(actedVia),
    })
    .check(z.meta({ id: 'AuditEntry' })),
);

const broken = /* @__PURE__ */ z.schema(() => z.strictObject({ seq: z.number().check(z.int()), reason: z.string() }));
export const auditVerify = /* @__PURE__ */ z.schema(() =>
  z
    .strictObject({
      ok: z.boolean(),
      checked: z.number().check(z.int(), z.describe('entries linked and checked')),
      head: z.nullable(z.strictObject({ seq: z.number().check(z.int()), hash: z.string() })),
      firstBroken: z.optional(broken),
      headSeq: z.number().check(z.int()),
      pending: z.number().check(z.int(), z.describe('entries written but not linked yet (never counted as broken)')),
      checkpoints: z.strictObject({ count: z.number().check(z.int()), latestSeq: z.number().check(z.int()), forged: z.number().check(z.int()) }),
      anchoredSeq: z
        .number()
        .check(z.int(), z.describe('the newest link a valid signed checkpoint covers (0: none yet): pass it to `stageline audit verify --min-seq`')),
      unanchored: z
        .number()
        .check(
          z.int(),
          z.describe(
            'links after anchoredSeq that no signature covers yet: the consumer signs one Merkle root for every chain that moved at most once per anchor interval (10 s by default)',
          ),
        ),
      anchorLagSeconds: z
        .number()
        .check(
          z.describe(
            'how long the oldest unanchored link has waited for its signature, seconds (0 when none): about one anchor interval at most while the consumer runs',
          ),
        ),
    })
    .check(z.meta({ id: 'AuditVerification' })),
);

export const auditPublicKey = /* @__PURE__ */ z.schema(() =>
  z
    .strictObject({
      algorithm: z.literal('ECDSA_SHA_256'),
      curve: z.literal('P-256'),
      keyId: z.string().check(z.describe("sha256:<hex> of the key's DER SubjectPublicKeyInfo (openssl pkey -pubin -outform der | sha256sum)")),
      publicKeyPem: z.string().check(z.describe('the public key, PEM (SubjectPublicKeyInfo): pass it to `stageline audit verify --public-key`')),
      signedMessage: z
        .string()
        .check(
          z.describe(
            "how each signature is made: the bytes a Merkle root signature covers, and how the tree and a checkpoint's inclusion proof are computed (v3); the bytes of a checkpoint signature of before (v2)",
          ),
        ),
      tenant: z.string().check(z.describe("the caller's tenant: the one whose attestation key `attestation` is")),
      attestation: z.nullable(
        z
          .strictObject({
            tenant: z.string().check(z.describe('the tenant whose key this is: its attestations name it, and a verifier expects it')),
            algorithm: z.literal('ECDSA_SHA_256'),
            curve: z.literal('P-256'),
            keyId: z.string().check(z.describe("sha256:<hex> of the key's DER SubjectPublicKeyInfo: the keyid of the tenant's attestation envelopes")),
            publicKeyPem: z.string().check(z.describe('the public key, PEM: pass it to `stageline attestation verify --key … --tenant …`')),
          })
          .check(
            z.describe(
              "the caller's tenant's own attestation key (each tenant signs its attestations with its own key; the key above signs only the Merkle anchor); null until the tenant's first attestation",
            ),
          ),
      ),
    })
    .check(z.meta({ id: 'AuditPublicKey' })),
);

export const auditListResponse = /* @__PURE__ */ z.schema(() => z.strictObject({ items: z.array(auditEntry), nextCursor: z.optional(z.nullable(z.string())) }));
