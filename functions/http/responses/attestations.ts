import * as z from '../../../domain/kernel/zod.ts';
import { digest } from './common.ts';

/** What GET /promotions/{id}/attestation answers: the signed envelope, its statement, the key and the check. */
const envelope = /* @__PURE__ */ z.schema(() =>
  z
    .strictObject({
      payloadType: z.literal('application/vnd.in-toto+json'),
      payload: z.string().check(z.describe('the in-toto statement (canonical JSON), standard base64')),
      signatures: z.array(
        z.strictObject({
          keyid: z
            .string()
            .check(z.regex(/^sha256:[0-9a-f]{64}$/), z.describe('the signing key: `sha256:` of its DER SubjectPublicKeyInfo (GET /audit/public-key `keyId`)')),
          sig: z.string().check(z.describe('ECDSA P-256 with SHA-256 (DER), standard base64, over the DSSE PAE of payloadType and payload')),
        }),
      ),
    })
    .check(z.describe('a DSSE envelope (what `cosign verify-attestation` and in-toto verifiers read)')),
);

export const attestationResponse = /* @__PURE__ */ z.schema(() =>
  z
    .strictObject({
      envelope,
      statement: z
        .record(z.string(), z.unknown())
        .check(
          z.describe(
            'the envelope payload decoded: an in-toto Statement v1 (`_type` https://in-toto.io/Statement/v1) about the release digest, predicate type https://slsa.dev/verification_summary/v1 (verifier, timeVerified, resourceUri, policy, inputAttestations, verificationResult, verifiedLevels; Stageline fields under `stageline`)',
          ),
        ),
      keyId: digest,
      verified: z.boolean().check(z.describe('the signature and statement hold with the audit key now (domain/attestation verifyAttestation)')),
      verification: z.nullable(z.strictObject({ reason: z.string(), message: z.string() })).check(z.describe('why it does not verify (null when it does)')),
    })
    .check(z.meta({ id: 'PromotionAttestation' })),
);
