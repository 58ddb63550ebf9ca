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

const secretShown = /* @__PURE__ */ z.schema(() => z.literal('…').check(z.describe('a secret, never shown: send it back as it is to keep the stored one')));
const deadLetter = /* @__PURE__ */ z.schema(() =>
  z.strictObject({
    fromSeq: z.number().check(z.int()),
    toSeq: z.number().check(z.int()),
    reason: z.string().check(z.describe("the destination's answer, said plainly")),
    status: z.optional(z.number().check(z.int())),
    at: time,
  }),
);
/** A destination of the audit stream as GET shows it: settings, secrets masked, where shipping stands. */
export const auditDestination = /* @__PURE__ */ z.schema(() =>
  z
    .object({
      name: z.string(),
      kind: z.enum(['splunk', 'datadog', 'otlp', 's3']),
      url: z.optional(z.string()),
      token: z.optional(secretShown),
      index: z.optional(z.string()),
      sourcetype: z.optional(z.string()),
      ack: z.optional(z.boolean()),
      headers: z.optional(z.record(z.string(), secretShown)),
      site: z.optional(z.string()),
      service: z.optional(z.string()),
      tags: z.optional(z.array(z.string())),
      apiKey: z.optional(secretShown),
      bucket: z.optional(z.string()),
      prefix: z.optional(z.string()),
      region: z.optional(z.string()),
      roleArn: z.optional(z.string()),
      state: z.enum(['active', 'failing']).check(z.describe('failing: a batch was refused (see deadLetters); nothing is shipped until a replay')),
      shippedSeq: z.number().check(z.int(), z.describe('the last chain seq the destination took')),
      lag: z
        .strictObject({
          entries: z.number().check(z.int(), z.describe('links in the chain after shippedSeq')),
          seconds: z.number().check(z.int(), z.describe('since the oldest of them was linked')),
        })
        .check(z.describe('how far the destination is behind the chain')),
      lastError: z.optional(z.string().check(z.describe('the last failure (a transient one is tried again at the next move of the chain)'))),
      lastErrorAt: z.optional(time),
      shippedAt: z.optional(time),
      deadLetters: z.array(deadLetter).check(z.describe('batches the destination refused (the newest 20): their seq range and the reason')),
      version: z.number().check(z.int()),
      createdAt: time,
      updatedAt: time,
      updatedBy: z.string(),
    })
    .check(z.meta({ id: 'AuditDestination' })),
);
export const auditDestinationList = /* @__PURE__ */ z.schema(() => z.strictObject({ items: z.array(auditDestination) }));
