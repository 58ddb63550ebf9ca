import { generateKeyPairSync, sign } from 'node:crypto';
import { dsse as sigstoreDsse } from '@sigstore/core';
import { describe, expect, it } from 'vitest';
import { base64Bytes, envelopeOf, IN_TOTO_PAYLOAD_TYPE, pae } from '../../domain/attestation/dsse.ts';
import { buildStatement, NotSha256, sha256Hex, type StatementInput } from '../../domain/attestation/statement.ts';
import { attestable, endedPromotions } from '../../domain/promotion/run/attest.ts';
import type { Promotion } from '../../domain/kernel/promotion-model.ts';
import { verifyAttestation } from '../../domain/attestation/verify.ts';
import { describePublicKey } from '../../domain/audit/audit.ts';

const D = (c: string) => `sha256:${c.repeat(64)}`;
const input = (over: Partial<StatementInput> = {}): StatementInput => ({
  verifierUrl: 'https://stageline.example.com/',
  tenant: 'acme',
  keyId: D('9'),
  promotion: {
    id: 'prm_1',
    subject: { type: 'artifact', name: 'api', version: '1.2.3', digest: D('a') },
    sourceEnvironment: 'staging',
    targetEnvironment: 'production',
    status: 'COMPLETED',
    releaseDigest: D('b'),
    policyDigest: D('c'),
  },
  decision: {
    outcome: 'ALLOWED',
    decisionDigest: D('d'),
    gates: [{ gate: 'tests', verdict: 'PASS', blocking: true }],
    approvers: ['Ann'],
  },
  evidence: [
    { id: 'ev2', type: 'security_scan', digest: D('f') },
    { id: 'ev1', type: 'test_results', digest: D('e') },
  ],
  result: 'PASSED',
  timeVerified: '2026-01-01T00:00:00.000Z',
  ...over,
});

describe('DSSE pre-authentication encoding', () => {
  it('is "DSSEv1 <len> <type> <len> <payload>" with byte lengths (the spec example), as @sigstore/core computes it', () => {
    expect(pae('http://example.com/HelloWorld', Buffer.from('hello world')).toString()).toBe('DSSEv1 29 http://example.com/HelloWorld 11 hello world');
    const payload = Buffer.from('{"é":"ü"}');
    expect(pae(IN_TOTO_PAYLOAD_TYPE, payload).equals(sigstoreDsse.preAuthEncoding(IN_TOTO_PAYLOAD_TYPE, payload))).toBe(true);
    expect(pae(IN_TOTO_PAYLOAD_TYPE, payload).toString()).toContain(` ${payload.length} `);
  });

  it('reads standard and URL-safe base64, and nothing else', () => {
    expect(base64Bytes('aGk+Pw==')?.toString()).toBe('hi>?');
    expect(base64Bytes('aGk-Pw')?.toString()).toBe('hi>?');
    expect(base64Bytes('not base64!')).toBeNull();
    expect(base64Bytes(7)).toBeNull();
  });
});

describe('the statement (in-toto v1, SLSA VSA v1)', () => {
  it("is about the artifact's digest, names the policy digest and the evidence digests (sorted), and carries Stageline's fields", () => {
    const s = buildStatement(input());
    expect(s).toEqual({
      _type: 'https://in-toto.io/Statement/v1',
      subject: [{ name: 'api', digest: { sha256: 'a'.repeat(64) } }],
      predicateType: 'https://slsa.dev/verification_summary/v1',
      predicate: {
        verifier: { id: 'https://stageline.example.com', version: { stageline: '1' } },
        timeVerified: '2026-01-01T00:00:00.000Z',
        resourceUri: 'https://stageline.example.com/api/v1/artifacts/api/versions/1.2.3',
        policy: { uri: 'https://stageline.example.com/api/v1/promotions/prm_1/decision#policy', digest: { sha256: 'c'.repeat(64) } },
        inputAttestations: [
          { uri: 'https://stageline.example.com/api/v1/promotions/prm_1/evidence#ev1', digest: { sha256: 'e'.repeat(64) } },
          { uri: 'https://stageline.example.com/api/v1/promotions/prm_1/evidence#ev2', digest: { sha256: 'f'.repeat(64) } },
        ],
        verificationResult: 'PASSED',
        verifiedLevels: ['STAGELINE_PROMOTION_POLICY'],
        stageline: {
          tenant: 'acme',
          keyId: D('9'),
          promotionId: 'prm_1',
          sourceEnvironment: 'staging',
          targetEnvironment: 'production',
          status: 'COMPLETED',
          outcome: 'ALLOWED',
          releaseDigest: D('b'),
          decisionDigest: D('d'),
          gates: [{ gate: 'tests', verdict: 'PASS', blocking: true }],
          approvers: ['Ann'],
        },
      },
    });
    expect(buildStatement(input())).toEqual(s);
  });

  it("of a config release is about its source snapshot's content digest; a rollback fails with FAILED and names what it undoes", () => {
    const s = buildStatement(
      input({
        promotion: {
          ...input().promotion,
          subject: { type: 'config', sourceSnapshot: { seq: 4, digest: D('9') }, promotionType: 'FULL', configIds: [], flagIds: [], keyPatterns: [] },
          status: 'ROLLED_BACK',
          rollbackOf: 'prm_0',
        },
        result: 'FAILED',
      }),
    );
    expect(s.subject).toEqual([{ name: 'config:staging@4', digest: { sha256: '9'.repeat(64) } }]);
    expect(s.predicate.resourceUri).toBe('https://stageline.example.com/api/v1/environments/staging/snapshots/4');
    expect(s.predicate).toMatchObject({ verificationResult: 'FAILED', verifiedLevels: ['FAILED'], stageline: { status: 'ROLLED_BACK', rollbackOf: 'prm_0' } });
  });

  it('refuses a digest that is not sha256', () => {
    expect(() => sha256Hex('md5:abc')).toThrow(NotSha256);
    expect(sha256Hex('b'.repeat(64))).toBe('b'.repeat(64));
  });

  it('picks the promotions a batch of events ended (completed, rolled back, failed), each once', () => {
    const e = (type: string, promotionId: unknown, tenant = 'acme') => ({ id: 'x', type, tenant, detail: { promotionId } });
    expect(
      endedPromotions([
        e('Promotion Completed', 'p1'),
        e('Promotion Approved', 'p2'),
        e('Promotion Rolled Back', 'p3'),
        e('Promotion Failed', 'p4'),
        e('Promotion Completed', 'p1'),
        e('Promotion Completed', 'p1', 'beta'),
        e('Promotion Completed', 7),
      ]),
    ).toEqual([
      { tenant: 'acme', promotionId: 'p1' },
      { tenant: 'acme', promotionId: 'p3' },
      { tenant: 'acme', promotionId: 'p4' },
      { tenant: 'beta', promotionId: 'p1' },
    ]);
  });

  it('attests every end that changed the target: completed, rolled back, failed after its change; not a failure before it, nor an end that is no end', () => {
    const changed = { deploymentId: 'd', deployedAt: '2030-01-01T00:00:00.000Z', previous: { digest: null } } as Promotion['result'];
    expect(attestable({ status: 'COMPLETED', result: changed })).toBe(true);
    expect(attestable({ status: 'ROLLED_BACK', result: changed })).toBe(true);
    expect(attestable({ status: 'FAILED', result: changed })).toBe(true);
    expect(attestable({ status: 'FAILED', result: null })).toBe(false);
    for (const status of ['CANCELLED', 'EXPIRED', 'VALIDATION_FAILED', 'EXECUTING'] as const)
      expect(attestable({ status, result: changed }), status).toBe(false);
  });
});

describe('verifyAttestation', () => {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const keyId = describePublicKey(publicKey).keyId;
  const signed = (statement: unknown, type = IN_TOTO_PAYLOAD_TYPE) => {
    const payload = Buffer.from(JSON.stringify(statement));
    return envelopeOf(type, payload, keyId, sign('sha256', pae(type, payload), { key: privateKey, dsaEncoding: 'der' }));
  };

  it('accepts what the key signed and names what else is wrong, in order', () => {
    const s = buildStatement(input({ keyId }));
    expect(verifyAttestation(signed(s), publicKey, { tenant: 'acme', promotionId: 'prm_1', subjectDigest: D('a') })).toMatchObject({ ok: true, keyId });
    expect(verifyAttestation(signed({ ...s, _type: 'https://in-toto.io/Statement/v0.1' }), publicKey)).toMatchObject({ reason: 'statement_type' });
    expect(verifyAttestation(signed({ ...s, subject: [] }), publicKey)).toMatchObject({ reason: 'subject' });
    expect(verifyAttestation(signed(s), publicKey, { promotionId: 'prm_2' })).toMatchObject({ reason: 'promotion' });
    expect(verifyAttestation(signed(s, 'application/json'), publicKey)).toMatchObject({ reason: 'payload_type' });
    expect(verifyAttestation({ payload: 'x' }, publicKey)).toMatchObject({ reason: 'malformed' });
    expect(verifyAttestation(null, publicKey)).toMatchObject({ reason: 'malformed' });
    const noSig = { ...signed(s), signatures: [{ keyid: keyId, sig: '' }] };
    expect(verifyAttestation(noSig, publicKey)).toMatchObject({ reason: 'tampered' });
    const notJson = Buffer.from('not json');
    const bad = envelopeOf(IN_TOTO_PAYLOAD_TYPE, notJson, keyId, sign('sha256', pae(IN_TOTO_PAYLOAD_TYPE, notJson), { key: privateKey, dsaEncoding: 'der' }));
    expect(verifyAttestation(bad, publicKey)).toMatchObject({ reason: 'malformed' });
  });

  it('refuses a statement that names another signing key than the one it verifies with, and one of another tenant', () => {
    // Signed with this key, but the statement says another key signs it (one tenant's statement re-signed elsewhere): not this key's.
    const other = buildStatement(input({ keyId: D('9') }));
    expect(verifyAttestation(signed(other), publicKey, { tenant: 'acme' })).toMatchObject({ ok: false, reason: 'another_key' });
    const globex = buildStatement(input({ keyId, tenant: 'globex' }));
    expect(verifyAttestation(signed(globex), publicKey, { tenant: 'acme' })).toMatchObject({
      ok: false,
      reason: 'tenant',
      message: 'the statement is for tenant "globex", not "acme"',
    });
    expect(buildStatement(input({ keyId })).predicate.stageline).toMatchObject({ tenant: 'acme', keyId });
  });

  it('takes the key as PEM, JWK (object or text) or GET /audit/public-key’s answer, and refuses another curve', () => {
    const env = signed(buildStatement(input({ keyId })));
    const pem = String(publicKey.export({ type: 'spki', format: 'pem' }));
    const jwk = publicKey.export({ format: 'jwk' });
    for (const key of [pem, jwk, JSON.stringify(jwk), { publicKeyPem: pem }]) expect(verifyAttestation(env, key).ok).toBe(true);
    const p384 = generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).publicKey;
    expect(() => verifyAttestation(env, p384)).toThrow(/P-256/);
  });
});
