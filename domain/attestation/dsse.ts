/**
 * DSSE (Dead Simple Signing Envelope, in-toto's signature wrapper): the envelope an attestation travels in
 * and the exact bytes its signature covers. Pure: no key, no clock.
 */

/** The payload type of an in-toto statement in a DSSE envelope. */
export const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';

export interface DsseSignature {
  /** the signing key's id: `sha256:<hex>` of its DER SubjectPublicKeyInfo (GET /audit/public-key `keyId`) */
  keyid: string;
  /** the signature (ECDSA P-256 with SHA-256, DER), standard base64 */
  sig: string;
}

export interface DsseEnvelope {
  payloadType: string;
  /** the serialized statement, standard base64 */
  payload: string;
  signatures: DsseSignature[];
}

/**
 * The Pre-Authentication Encoding every DSSE signature covers:
 * `"DSSEv1" SP len(type) SP type SP len(payload) SP payload`, lengths as ASCII decimals of byte counts.
 * It starts with "DSSEv1 ", so no signature over it can pass for an audit root's (those start with
 * "stageline-audit-root:"), though both are made with the same key.
 */
export function pae(payloadType: string, payload: Uint8Array): Buffer {
  const type = Buffer.from(payloadType, 'utf8');
  return Buffer.concat([Buffer.from(`DSSEv1 ${type.length} `, 'utf8'), type, Buffer.from(` ${payload.length} `, 'utf8'), payload]);
}

/** An envelope around a payload, with its one signature (DER bytes). */
export function envelopeOf(payloadType: string, payload: Uint8Array, keyid: string, signature: Uint8Array): DsseEnvelope {
  return {
    payloadType,
    payload: Buffer.from(payload).toString('base64'),
    signatures: [{ keyid, sig: Buffer.from(signature).toString('base64') }],
  };
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const BASE64URL = /^[A-Za-z0-9_-]*$/;

/** Bytes of a base64 field (standard, or URL-safe as some signers write), or null when it is not base64 at all. */
export function base64Bytes(text: unknown): Buffer | null {
  if (typeof text !== 'string') return null;
  if (BASE64.test(text)) return Buffer.from(text, 'base64');
  if (BASE64URL.test(text)) return Buffer.from(text, 'base64url');
  return null;
}
