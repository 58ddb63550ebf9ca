import { generateKeyPairSync, sign } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { marshall } from '@aws-sdk/util-dynamodb';
import { bundleFromJSON } from '@sigstore/bundle';
import { crypto as sigstoreCrypto, dsse as sigstoreDsse } from '@sigstore/core';
import { toSignedEntity, toTrustMaterial, Verifier } from '@sigstore/verify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IN_TOTO_PAYLOAD_TYPE, pae, type DsseEnvelope } from '../../domain/attestation/dsse.ts';
import { STATEMENT_TYPE, VSA_PREDICATE_TYPE } from '../../domain/attestation/statement.ts';
import { verifyAttestation } from '../../domain/attestation/verify.ts';
import { digestOf } from '../../domain/kernel/canonical.ts';
import { handler as streamHandler } from '../../functions/handlers/stream.ts';
import { cliWith, outcome } from '../support/cli.ts';
import { approveIfAsked, waitFor } from '../support/promotions.ts';
import { makeLine, startTestStack, type TestStack } from '../support/stack.ts';

let t: TestStack;
let tenant: string;
let u: Awaited<ReturnType<TestStack['users']>>;
let promotionId: string;
let pending: string;

beforeAll(async () => {
  t = await startTestStack();
  tenant = t.tenant();
  u = await t.users(tenant);
  await makeLine(t, u.admin);
  await t.call('POST', '/api/v1/environments/dev/items/batch', { token: u.deployer, body: { set: [{ key: 'greeting', value: 'hello' }] } });
  const r = await t.call('POST', '/api/v1/promotions', { token: u.deployer, body: { sourceEnvironment: 'dev', targetEnvironment: 'staging' } });
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  promotionId = r.body.id;
  await approveIfAsked(t, u, promotionId, ['COMPLETED']);
  await waitFor(t, u.viewer, promotionId, ['COMPLETED']);
  // Staging → production waits for an approver: it has ended nowhere yet.
  const p = await t.call('POST', '/api/v1/promotions', { token: u.deployer, body: { sourceEnvironment: 'staging', targetEnvironment: 'production' } });
  pending = p.body.id;
  await waitFor(t, u.viewer, pending, ['AWAITING_APPROVAL']);
  await t.stack.stream.idle();
});
afterAll(() => t.stop());

interface Answer {
  envelope: DsseEnvelope;
  statement: Record<string, any>;
  keyId: string;
  verified: boolean;
}

const attestation = async (token = u.viewer, id = promotionId) =>
  t.call<Answer & { error: { code: string; message: string } }>('GET', `/api/v1/promotions/${id}/attestation`, { token });
/** The tenant's own attestation key (GET /audit/public-key `attestation`: the top-level key signs only the Merkle anchor). */
const publicKey = async () =>
  (await t.call('GET', '/api/v1/audit/public-key', { token: u.viewer })).body.attestation as { publicKeyPem: string; keyId: string; tenant: string };

/** The envelope with its payload (decoded) changed by `change`, the signature kept. */
function withPayload(e: DsseEnvelope, change: (s: any) => void): DsseEnvelope {
  const statement = JSON.parse(Buffer.from(e.payload, 'base64').toString('utf8'));
  change(statement);
  return { ...e, payload: Buffer.from(JSON.stringify(statement)).toString('base64') };
}

describe('attestations: a signed SLSA verification summary per promotion', () => {
  it('answers a completed promotion with its DSSE envelope, its in-toto statement (a VSA about the release digest) and verified', async () => {
    const r = await attestation();
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    const { envelope, statement, keyId, verified } = r.body;
    expect(verified).toBe(true);
    expect(keyId).toBe((await publicKey()).keyId);
    expect(envelope.payloadType).toBe('application/vnd.in-toto+json');
    expect(envelope.signatures).toEqual([{ keyid: keyId, sig: expect.any(String) }]);
    expect(JSON.parse(Buffer.from(envelope.payload, 'base64').toString('utf8'))).toEqual(statement);
    const promotion = (await t.call('GET', `/api/v1/promotions/${promotionId}`, { token: u.viewer })).body;
    const decision = (await t.call('GET', `/api/v1/promotions/${promotionId}/decision`, { token: u.viewer })).body;
    expect(statement).toMatchObject({
      _type: 'https://in-toto.io/Statement/v1',
      subject: [
        { name: `config:dev@${promotion.subject.sourceSnapshot.seq}`, digest: { sha256: promotion.subject.sourceSnapshot.digest.replace('sha256:', '') } },
      ],
      predicateType: 'https://slsa.dev/verification_summary/v1',
      predicate: {
        verifier: { id: t.url, version: { stageline: '1' } },
        timeVerified: promotion.completedAt,
        resourceUri: `${t.url}/api/v1/environments/dev/snapshots/${promotion.subject.sourceSnapshot.seq}`,
        policy: { digest: { sha256: promotion.policyDigest.replace('sha256:', '') } },
        inputAttestations: [],
        verificationResult: 'PASSED',
        verifiedLevels: ['STAGELINE_PROMOTION_POLICY'],
        stageline: {
          tenant,
          promotionId,
          sourceEnvironment: 'dev',
          targetEnvironment: 'staging',
          status: 'COMPLETED',
          outcome: 'ALLOWED',
          releaseDigest: promotion.releaseDigest,
          decisionDigest: decision.decisionDigest,
        },
      },
    });
  });

  it('verifies offline with the public key alone: the domain check, and @sigstore/core DSSE PAE and signature primitives agree', async () => {
    const { envelope } = (await attestation()).body;
    const key = await publicKey();
    const v = verifyAttestation(envelope, key.publicKeyPem, { tenant, promotionId });
    expect(v).toMatchObject({ ok: true, keyId: key.keyId, statement: { _type: STATEMENT_TYPE, predicateType: VSA_PREDICATE_TYPE } });
    const payload = Buffer.from(envelope.payload, 'base64');
    const message = sigstoreDsse.preAuthEncoding(envelope.payloadType, payload);
    expect(message.equals(pae(envelope.payloadType, payload))).toBe(true);
    const signature = Buffer.from(envelope.signatures[0]!.sig, 'base64');
    expect(sigstoreCrypto.verify(message, sigstoreCrypto.createPublicKey(key.publicKeyPem), signature, 'sha256')).toBe(true);
    // The JWK form of the same key verifies too.
    const jwk = sigstoreCrypto.createPublicKey(key.publicKeyPem).export({ format: 'jwk' });
    expect(verifyAttestation(envelope, jwk).ok).toBe(true);
  });

  it("verifies with @sigstore/verify's Verifier given only the public key (the envelope in a Sigstore bundle), and fails after one changed byte", async () => {
    const { envelope } = (await attestation()).body;
    const key = await publicKey();
    const pub = sigstoreCrypto.createPublicKey(key.publicKeyPem);
    // A key-based Sigstore bundle: no certificate, transparency log or timestamp, as cosign's --key form has.
    const bundleOf = (e: DsseEnvelope) =>
      bundleFromJSON({
        mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
        verificationMaterial: { publicKey: { hint: key.keyId }, tlogEntries: [], timestampVerificationData: { rfc3161Timestamps: [] } },
        dsseEnvelope: e,
      });
    const trust = toTrustMaterial(
      {
        mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
        tlogs: [],
        certificateAuthorities: [],
        ctlogs: [],
        timestampAuthorities: [],
      } as unknown as Parameters<typeof toTrustMaterial>[0],
      (hint: string) => {
        if (hint !== key.keyId) throw new Error(`no key ${hint}`);
        return { publicKey: pub, validFor: () => true };
      },
    );
    const verifier = new Verifier(trust, { tlogThreshold: 0, ctlogThreshold: 0, timestampThreshold: 0 });
    expect(() => verifier.verify(toSignedEntity(bundleOf(envelope)))).not.toThrow();
    const payload = Buffer.from(envelope.payload, 'base64');
    payload[payload.length >> 1]! ^= 0x01;
    expect(() => verifier.verify(toSignedEntity(bundleOf({ ...envelope, payload: payload.toString('base64') })))).toThrow(/signature/i);
    const sig = Buffer.from(envelope.signatures[0]!.sig, 'base64');
    sig[sig.length >> 1]! ^= 0x01;
    expect(() => verifier.verify(toSignedEntity(bundleOf({ ...envelope, signatures: [{ keyid: key.keyId, sig: sig.toString('base64') }] })))).toThrow(
      /signature/i,
    );
  });

  it('fails a changed byte of payload, signature or subject, another key, another tenant and an unknown predicate type, each with its reason', async () => {
    const { envelope } = (await attestation()).body;
    const { publicKeyPem, keyId } = await publicKey();
    const payload = Buffer.from(envelope.payload, 'base64');
    payload[payload.length >> 1]! ^= 0x01;
    expect(verifyAttestation({ ...envelope, payload: payload.toString('base64') }, publicKeyPem)).toMatchObject({ ok: false, reason: 'tampered' });
    const sig = Buffer.from(envelope.signatures[0]!.sig, 'base64');
    sig[sig.length - 1]! ^= 0x01;
    expect(verifyAttestation({ ...envelope, signatures: [{ keyid: keyId, sig: sig.toString('base64') }] }, publicKeyPem)).toMatchObject({
      ok: false,
      reason: 'tampered',
    });
    const otherSubject = withPayload(envelope, (s) => (s.subject[0].digest.sha256 = 'f'.repeat(64)));
    expect(verifyAttestation(otherSubject, publicKeyPem)).toMatchObject({ ok: false, reason: 'tampered' });
    expect(verifyAttestation(envelope, publicKeyPem, { subjectDigest: `sha256:${'f'.repeat(64)}` })).toMatchObject({ ok: false, reason: 'subject' });
    expect(verifyAttestation(envelope, publicKeyPem, { tenant: 'someone-else' })).toMatchObject({ ok: false, reason: 'tenant' });
    const other = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const v = verifyAttestation(envelope, other.publicKey);
    expect(v).toMatchObject({ ok: false, reason: 'another_key' });
    expect(!v.ok && v.message).toContain(keyId);
    // Signed by the key, but about something else than a verification summary.
    const foreign = Buffer.from(
      JSON.stringify({
        _type: STATEMENT_TYPE,
        subject: [{ name: 'x', digest: { sha256: 'a'.repeat(64) } }],
        predicateType: 'https://example.com/other/v1',
        predicate: {},
      }),
    );
    const foreignSig = sign('sha256', pae(IN_TOTO_PAYLOAD_TYPE, foreign), { key: other.privateKey, dsaEncoding: 'der' });
    expect(
      verifyAttestation(
        { payloadType: IN_TOTO_PAYLOAD_TYPE, payload: foreign.toString('base64'), signatures: [{ keyid: 'k', sig: foreignSig.toString('base64') }] },
        other.publicKey,
      ),
    ).toMatchObject({ ok: false, reason: 'predicate_type' });
    expect(verifyAttestation({ ...envelope, payloadType: 'application/json' }, publicKeyPem)).toMatchObject({ ok: false, reason: 'payload_type' });
  });

  it('answers 404 with a clear message before the promotion ended, and to another tenant', async () => {
    const before = await attestation(u.viewer, pending);
    expect(before.status).toBe(404);
    expect(before.body.error.code).toBe('ATTESTATION_NOT_FOUND');
    expect(before.body.error.message).toContain('AWAITING_APPROVAL');
    const other = await t.users(t.tenant());
    const theirs = await attestation(other.viewer);
    expect(theirs.status).toBe(404);
    expect(theirs.body.error.code).toBe('PROMOTION_NOT_FOUND');
  });

  it('signs once per promotion: its end event delivered again to the stream consumer signs nothing and leaves the stored envelope as it was', async () => {
    const first = (await attestation()).body.envelope;
    const p = (await t.call('GET', `/api/v1/promotions/${promotionId}`, { token: u.viewer })).body;
    const detail = {
      tenant,
      promotionId,
      status: 'COMPLETED',
      sourceEnvironment: 'dev',
      targetEnvironment: 'staging',
      subject: 'config',
      releaseDigest: p.releaseDigest,
      at: p.completedAt,
    };
    const item = { pk: `T#${tenant}#EVT#again`, sk: 'E', entity: 'Event', id: `again-${promotionId}`, type: 'Promotion Completed', tenant, detail };
    const again = (await streamHandler({ Records: [{ eventName: 'INSERT', dynamodb: { NewImage: marshall(item) } }] })) as { attested: number };
    expect(again.attested).toBe(0);
    expect((await attestation()).body.envelope).toEqual(first);
    // `Promotion Attested` (webhook promotion.attested) was told on the end and again on the redelivery, under one id.
    const told = t.stack.bus.published.filter(
      (e) => e['detail-type'] === 'Promotion Attested' && (e.detail as { promotionId?: string }).promotionId === promotionId,
    );
    expect(told.length).toBeGreaterThanOrEqual(2);
    expect(new Set(told.map((e) => (e.detail as { eventId?: string }).eventId)).size).toBe(1);
    expect(told[0]!.detail).toMatchObject({ attestation: { verificationResult: 'PASSED', url: `/api/v1/promotions/${promotionId}/attestation` } });
  });

  it("enters the attestation in the audit trail once (its envelope's digest), and the chain that counts it verifies", async () => {
    await t.stack.stream.idle();
    const entries = (await t.call('GET', `/api/v1/audit?entityType=promotion&entityId=${promotionId}&limit=50`, { token: u.admin })).body.items.filter(
      (e: { action: string }) => e.action === 'promotion.attest',
    );
    // Once, though its end event was delivered again above.
    expect(entries).toHaveLength(1);
    const { envelope, keyId } = (await attestation()).body;
    expect(JSON.parse(entries[0].after)).toEqual({
      envelopeDigest: digestOf(envelope),
      keyId,
      verificationResult: 'PASSED',
      subjectDigest: expect.stringMatching(/^sha256:[0-9a-f]{64}$/),
    });
    expect(entries[0]).toMatchObject({ actor: 'stageline', entityType: 'promotion' });
    expect((await t.call('GET', '/api/v1/audit/verify', { token: u.viewer })).body).toMatchObject({ ok: true });
  });

  it('CLI: attestation verify <id> succeeds; get --output then verify --file --key succeeds, and fails on a tampered file with exit code 1', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'attest-'));
    const env = { ...process.env, STAGELINE_URL: t.url, STAGELINE_TOKEN: u.viewer, XDG_CONFIG_HOME: dir };
    const cli = (...args: string[]) => cliWith(env, ...args);
    const online = await cli('attestation', 'verify', promotionId);
    expect(online.stdout).toContain(`attestation verified: promotion ${promotionId} into staging PASSED`);
    const file = join(dir, 'envelope.json');
    const keyFile = join(dir, 'key.pem');
    await cli('attestation', 'get', promotionId, '--output', file);
    writeFileSync(keyFile, (await publicKey()).publicKeyPem);
    expect((await cli('attestation', 'verify', '--file', file, '--key', keyFile, '--tenant', tenant)).stdout).toContain('attestation verified');
    // An admission check: this release, passed into staging, admitted there; not into production, nor as another digest.
    const release = ((await attestation()).body.statement.subject as { digest: { sha256: string } }[])[0]!.digest.sha256;
    const admit = await cli(
      'attestation',
      'verify',
      '--file',
      file,
      '--key',
      keyFile,
      '--tenant',
      tenant,
      '--digest',
      `sha256:${release}`,
      '--env',
      'staging',
      '--json',
    );
    expect(JSON.parse(admit.stdout)).toMatchObject({ ok: true, environment: 'staging', result: 'PASSED' });
    const refuse = (...args: string[]) => outcome(cli('attestation', 'verify', '--file', file, '--key', keyFile, '--tenant', tenant, ...args));
    const notProd = await refuse('--env', 'production');
    expect(notProd.code).toBe(1);
    expect(notProd.stdout).toContain("NOT admitted (environment): the statement is about a promotion into 'staging', not 'production'");
    const otherDigest = await refuse('--digest', `sha256:${'0'.repeat(64)}`);
    expect(otherDigest.code).toBe(1);
    expect(otherDigest.stdout).toContain('attestation NOT verified (subject)');
    const envelope = JSON.parse(readFileSync(file, 'utf8')) as DsseEnvelope;
    writeFileSync(file, JSON.stringify(withPayload(envelope, (s) => (s.predicate.verificationResult = 'FAILED'))));
    const failed = await outcome(cli('attestation', 'verify', '--file', file, '--key', keyFile, '--tenant', tenant));
    expect(failed.code).toBe(1);
    expect(failed.stdout).toContain('attestation NOT verified (tampered)');
  });
});
