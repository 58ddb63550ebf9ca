import { createPublicKey, verify as verifySignature, type JsonWebKey, type KeyObject } from 'node:crypto';
import { checkpointPublicKey, describePublicKey } from '../audit/audit.ts';
import { base64Bytes, IN_TOTO_PAYLOAD_TYPE, pae, type DsseEnvelope } from './dsse.ts';
import { sha256Hex, STATEMENT_TYPE, VSA_PREDICATE_TYPE, type Statement } from './statement.ts';

/**
 * THE check of a promotion's attestation, with the public key alone (what GET /audit/public-key serves:
 * PEM, or a JWK): the API answers with it, the CLI verifies a file with it, and a gate that requires an
 * attestation can call it as it is. In order: the envelope's shape, its payload type, a signature by
 * this key over the DSSE PAE of the payload, the statement type, the predicate type, then what the
 * caller expects (the release's digest, the tenant, the promotion). A changed byte of the payload or the
 * signature fails the signature; the first failure is the answer, with a reason a program can branch on.
 */
export type AttestationFailure =
  /** not a DSSE envelope (fields missing, not base64, a payload that is not JSON) */
  | 'malformed'
  | 'payload_type'
  /** signed by this key, but the payload or signature changed since */
  | 'tampered'
  /** no signature is this key's (keyid names another key, and the signature does not verify with this one) */
  | 'another_key'
  | 'statement_type'
  | 'predicate_type'
  | 'subject'
  | 'tenant'
  | 'promotion';

export type AttestationVerdict =
  { ok: true; statement: Statement; keyId: string } | { ok: false; reason: AttestationFailure; message: string; keyId: string | null };

/** What the caller expects the attestation to be about (each checked when given). */
export interface AttestationExpectation {
  /** the release's digest (`sha256:<hex>` or hex): the statement's subject must carry it */
  subjectDigest?: string;
  tenant?: string;
  promotionId?: string;
}

/** A verification key as callers hold it: PEM (or DER SPKI), a JWK (object or JSON text), a key object, or GET /audit/public-key's answer. */
export type VerificationKey = string | Buffer | KeyObject | JsonWebKey | { publicKeyPem: string };

/** The P-256 public key and its id (`sha256:` of its DER SubjectPublicKeyInfo, the envelope's keyid). */
export function verificationKey(key: VerificationKey): { key: KeyObject; keyId: string } {
  let k: string | Buffer | KeyObject;
  if (typeof key === 'string' && key.trim().startsWith('{')) k = createPublicKey({ key: JSON.parse(key) as JsonWebKey, format: 'jwk' });
  else if (typeof key === 'string' || Buffer.isBuffer(key)) k = key;
  else if ('asymmetricKeyType' in key) k = key as KeyObject;
  else if ('publicKeyPem' in key && typeof key.publicKeyPem === 'string') k = key.publicKeyPem;
  else k = createPublicKey({ key: key as JsonWebKey, format: 'jwk' });
  const pub = checkpointPublicKey(k);
  return { key: pub, keyId: describePublicKey(pub).keyId };
}

const fail = (reason: AttestationFailure, message: string, keyId: string | null): AttestationVerdict => ({ ok: false, reason, message, keyId });

export function verifyAttestation(envelope: unknown, key: VerificationKey, expect: AttestationExpectation = {}): AttestationVerdict {
  const { key: pub, keyId } = verificationKey(key);
  const e = envelope as Partial<DsseEnvelope> | null;
  if (!e || typeof e !== 'object' || typeof e.payloadType !== 'string' || !Array.isArray(e.signatures) || !e.signatures.length)
    return fail('malformed', 'not a DSSE envelope: payloadType, payload and signatures are required', null);
  const payload = base64Bytes(e.payload);
  if (!payload) return fail('malformed', 'the envelope payload is not base64', null);
  if (e.payloadType !== IN_TOTO_PAYLOAD_TYPE)
    return fail('payload_type', `payload type is ${JSON.stringify(e.payloadType)}, not ${IN_TOTO_PAYLOAD_TYPE}`, null);
  const message = pae(e.payloadType, payload);
  const signed = e.signatures.find((s) => {
    const sig = base64Bytes(s?.sig);
    if (!sig || !sig.length) return false;
    try {
      return verifySignature('sha256', message, { key: pub, dsaEncoding: 'der' }, sig);
    } catch {
      return false;
    }
  });
  if (!signed) {
    const named = e.signatures.map((s) => s?.keyid).filter((id): id is string => typeof id === 'string' && id.length > 0);
    return named.length && !named.includes(keyId)
      ? fail('another_key', `signed by another key (${named.join(', ')}), not by ${keyId}: a retired, revoked or foreign key is not trusted`, named[0]!)
      : fail('tampered', `the signature does not verify with ${keyId}: the payload or the signature was changed`, keyId);
  }
  let statement: Statement;
  try {
    statement = JSON.parse(payload.toString('utf8')) as Statement;
  } catch {
    return fail('malformed', 'the signed payload is not JSON', keyId);
  }
  if (!statement || typeof statement !== 'object' || statement._type !== STATEMENT_TYPE)
    return fail('statement_type', `statement type is ${JSON.stringify(statement?._type)}, not ${STATEMENT_TYPE}`, keyId);
  if (statement.predicateType !== VSA_PREDICATE_TYPE)
    return fail('predicate_type', `unknown predicate type ${JSON.stringify(statement.predicateType)} (expected ${VSA_PREDICATE_TYPE})`, keyId);
  const subjects = Array.isArray(statement.subject) ? statement.subject : [];
  if (!subjects.length || subjects.some((s) => typeof s?.digest?.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(s.digest.sha256)))
    return fail('subject', 'the statement has no subject with a sha256 digest', keyId);
  if (expect.subjectDigest !== undefined) {
    const want = sha256Hex(expect.subjectDigest);
    if (!subjects.some((s) => s.digest.sha256 === want))
      return fail('subject', `the statement is about ${subjects.map((s) => `sha256:${s.digest.sha256}`).join(', ')}, not sha256:${want}`, keyId);
  }
  const own = statement.predicate?.stageline;
  // The statement names the key that signs it: one signed by this key naming another is not this key's statement.
  if (own?.keyId !== undefined && own.keyId !== keyId)
    return fail('another_key', `the statement names key ${JSON.stringify(own.keyId)} as its signer, not ${keyId}`, keyId);
  if (expect.tenant !== undefined && own?.tenant !== expect.tenant)
    return fail('tenant', `the statement is for tenant ${JSON.stringify(own?.tenant)}, not ${JSON.stringify(expect.tenant)}`, keyId);
  if (expect.promotionId !== undefined && own?.promotionId !== expect.promotionId)
    return fail('promotion', `the statement is about promotion ${JSON.stringify(own?.promotionId)}, not ${JSON.stringify(expect.promotionId)}`, keyId);
  return { ok: true, statement, keyId };
}
