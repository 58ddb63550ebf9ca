import type { DsseEnvelope } from './dsse.ts';
import type { StoredAttestation } from './ports.ts';
import { VSA_PREDICATE_TYPE } from './statement.ts';

/**
 * A promotion's attestation as an OCI referrer of the artifact it is about, in the layout cosign and oras
 * read: an artifact manifest whose `subject` is the artifact's manifest digest, `artifactType` the DSSE
 * envelope's media type, the envelope its one layer (of that media type), and annotations naming the
 * predicate type, the environment and the promotion. Pure: the same attestation gives the same document
 * and annotations, so the same referrer (its manifest digest) every time it is attached.
 */

/** The media type of a DSSE envelope: the referrer's artifact type and its layer's media type. */
export const DSSE_ENVELOPE_TYPE = 'application/vnd.dsse.envelope.v1+json';

/** The annotations a promotion's attestation referrer carries (on its manifest and in the referrers index). */
export const REFERRER_ANNOTATIONS = {
  /** the in-toto predicate type (BuildKit's and oras' name for it) */
  predicateType: 'in-toto.io/predicate-type',
  /** the environment the promotion went into */
  environment: 'dev.stageline.environment',
  promotionId: 'dev.stageline.promotion-id',
  /** when the attestation was signed */
  created: 'org.opencontainers.image.created',
} as const;

export interface AttestationReferrer {
  artifactType: typeof DSSE_ENVELOPE_TYPE;
  /** the envelope, its fields in DSSE's order (a stored envelope read back may list them in another) */
  document: { payloadType: string; payload: string; signatures: { keyid: string; sig: string }[] };
  annotations: { manifest: Record<string, string>; layer: Record<string, string> };
}

export function attestationReferrer(a: Pick<StoredAttestation, 'envelope' | 'at'>, p: { id: string; targetEnvironment: string }): AttestationReferrer {
  const e: DsseEnvelope = a.envelope;
  return {
    artifactType: DSSE_ENVELOPE_TYPE,
    document: { payloadType: e.payloadType, payload: e.payload, signatures: e.signatures.map((s) => ({ keyid: s.keyid, sig: s.sig })) },
    annotations: {
      manifest: {
        [REFERRER_ANNOTATIONS.predicateType]: VSA_PREDICATE_TYPE,
        [REFERRER_ANNOTATIONS.environment]: p.targetEnvironment,
        [REFERRER_ANNOTATIONS.promotionId]: p.id,
        [REFERRER_ANNOTATIONS.created]: a.at,
      },
      // cosign's name for the predicate type on an attestation layer; the file name `oras pull` writes the envelope to
      layer: { predicateType: VSA_PREDICATE_TYPE, 'org.opencontainers.image.title': `${p.id}.dsse.json` },
    },
  };
}
