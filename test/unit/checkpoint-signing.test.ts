import { GetPublicKeyCommand, KMSClient, SignCommand } from '@aws-sdk/client-kms';
import { ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { generateKeyPairSync, sign } from 'node:crypto';
import { appendFileSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkpointPublicKey, checkpointValid, rootMessage, rootSignatureValid } from '#domain/audit/audit';
import { anchorHeads } from '#domain/audit/anchor';
import type { Checkpoint } from '#domain/kernel/model';
import { KmsS3Anchor } from '../../functions/adapters/kms-s3-anchor.ts';
import { FileAnchor } from '../../local/file-anchor.ts';

const root = { root: 'c'.repeat(64), size: 3, at: '2026-01-01T00:00:10.000Z' };
/** Two chains anchored by one root: what the stream consumer appends. */
const heads = [
  { tenant: 'acme', seq: 7, hash: 'a'.repeat(64) },
  { tenant: 'beta', seq: 2, hash: 'b'.repeat(64) },
];

describe('checkpoint signatures (ECDSA P-256 / SHA-256), verified with the public key alone', () => {
  it('locally: a key generated once into a 0600 file; signatures verify with its public key and nothing else', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'stageline-anchor-'));
    const keyFile = join(dir, 'audit-signing-key.pem');
    const a = new FileAnchor(keyFile, join(dir, 'checkpoints.jsonl'));
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    expect(readFileSync(keyFile, 'utf8')).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    const sig = await a.sign(root);
    const key = await a.publicKey();
    expect(key).toMatchObject({ algorithm: 'ECDSA_SHA_256', curve: 'P-256', keyId: expect.stringMatching(/^sha256:[0-9a-f]{64}$/) });
    expect(rootSignatureValid(checkpointPublicKey(key.publicKeyPem), { ...root, sig })).toBe(true);
    // The same file on the next start: the same key.
    expect((await new FileAnchor(keyFile, join(dir, 'checkpoints.jsonl')).publicKey()).keyId).toBe(key.keyId);
    // Another key's signature is refused.
    const other = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    expect(
      await a.verify({ ...root, sig: sign('sha256', Buffer.from(rootMessage(root)), { key: other.privateKey, dsaEncoding: 'der' }).toString('base64url') }),
    ).toBe(false);
    expect(await a.verify({ ...root, sig: 'not-a-signature' })).toBe(false);
  });

  it("locally: a root signed once; each chain's checkpoint (proof and signed root) appended and listed under its tenant, verified with the public key", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'stageline-anchor-'));
    const a = new FileAnchor(join(dir, 'audit-signing-key.pem'), join(dir, 'checkpoints.jsonl'));
    const sig = await a.sign(root);
    expect(await a.verify({ ...root, sig })).toBe(true);
    // Every signed field counts: root, size and time.
    for (const change of [{ root: 'd'.repeat(64) }, { size: 4 }, { at: '2026-01-01T00:00:11.000Z' }])
      expect(await a.verify({ ...root, ...change, sig }), JSON.stringify(change)).toBe(false);
    const run = await anchorHeads({ anchor: a }, heads, new Date('2026-01-01T00:00:20.000Z'));
    expect(await a.list('acme')).toEqual([run.checkpoints[0]]);
    expect(await a.list('beta')).toEqual([run.checkpoints[1]]);
    expect(await a.list('acme', 8)).toEqual([]);
    for (const c of run.checkpoints) expect(await a.verify(c)).toBe(true);
    expect(await a.verify({ ...run.checkpoints[0]!, tenant: 'beta' })).toBe(false);
    // A checkpoint without its inclusion proof is none, even with its root's signature: refused, and a line of the file without one is not listed.
    const { proof: _proof, ...bare } = run.checkpoints[0]!;
    expect(await a.verify(bare as Checkpoint)).toBe(false);
    expect(checkpointValid(checkpointPublicKey((await a.publicKey()).publicKeyPem), bare as Checkpoint)).toBe(false);
    appendFileSync(join(dir, 'checkpoints.jsonl'), JSON.stringify({ ...bare, seq: 9 }) + '\n');
    expect(await a.list('acme')).toEqual([run.checkpoints[0]]);
  });

  it('on AWS: KMS Sign (ECDSA_SHA_256 over the raw message); the public key fetched once, every check local', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const kms = mockClient(KMSClient);
    kms
      .on(SignCommand)
      .callsFake((input: { Message: Uint8Array }) => ({ Signature: sign('sha256', Buffer.from(input.Message), { key: privateKey, dsaEncoding: 'der' }) }));
    kms.on(GetPublicKeyCommand).resolves({ PublicKey: publicKey.export({ type: 'spki', format: 'der' }), KeySpec: 'ECC_NIST_P256' });
    const a = new KmsS3Anchor(new KMSClient({ region: 'eu-west-1' }), new S3Client({ region: 'eu-west-1' }), 'arn:aws:kms:eu-west-1:1:key/k', undefined);
    const sig = await a.sign(root);
    expect(kms.commandCalls(SignCommand)[0]!.args[0].input).toMatchObject({
      KeyId: 'arn:aws:kms:eu-west-1:1:key/k',
      SigningAlgorithm: 'ECDSA_SHA_256',
      MessageType: 'RAW',
    });
    expect(Buffer.from(kms.commandCalls(SignCommand)[0]!.args[0].input.Message!).toString()).toBe(rootMessage(root));
    expect(await a.verify({ ...root, sig })).toBe(true);
    expect(await a.verify({ ...root, size: 4, sig })).toBe(false);
    expect((await a.publicKey()).publicKeyPem).toBe(publicKey.export({ type: 'spki', format: 'pem' }));
    expect(kms.commandCalls(GetPublicKeyCommand)).toHaveLength(1);
    expect(kms.commandCalls(SignCommand)).toHaveLength(1);
    // A function given the key alone (the public-key route) has no checkpoint bucket.
    await expect(a.list('acme')).rejects.toThrow(/CHECKPOINT_BUCKET/);
  });

  it('on AWS: ONE KMS Sign per root (over rootMessage); one object per chain, everything in its key under the tenant, listed back whole', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const kms = mockClient(KMSClient);
    kms
      .on(SignCommand)
      .callsFake((input: { Message: Uint8Array }) => ({ Signature: sign('sha256', Buffer.from(input.Message), { key: privateKey, dsaEncoding: 'der' }) }));
    kms.on(GetPublicKeyCommand).resolves({ PublicKey: publicKey.export({ type: 'spki', format: 'der' }), KeySpec: 'ECC_NIST_P256' });
    const s3 = mockClient(S3Client);
    const objects: string[] = [];
    s3.on(PutObjectCommand).callsFake((input: { Key: string }) => (objects.push(input.Key), {}));
    s3.on(ListObjectsV2Command).callsFake((input: { Prefix: string; StartAfter?: string }) => ({
      Contents: objects
        .filter((k) => k.startsWith(input.Prefix) && (!input.StartAfter || k > input.StartAfter))
        .sort()
        .map((Key) => ({ Key })),
    }));
    const a = new KmsS3Anchor(new KMSClient({ region: 'eu-west-1' }), new S3Client({ region: 'eu-west-1' }), 'arn:aws:kms:eu-west-1:1:key/k', 'checkpoints');
    const many = Array.from({ length: 300 }, (_, i) => ({
      tenant: `tenant-${String(i).padStart(3, '0')}`,
      seq: 7 + i,
      hash: (i % 16).toString(16).repeat(64),
    }));
    const run = await anchorHeads({ anchor: a }, [...heads, ...many], new Date('2026-01-01T00:00:20.000Z'));
    expect(kms.commandCalls(SignCommand)).toHaveLength(1);
    expect(Buffer.from(kms.commandCalls(SignCommand)[0]!.args[0].input.Message!).toString()).toBe(rootMessage(run.roots[0]!));
    expect(s3.commandCalls(PutObjectCommand)).toHaveLength(302);
    // Object Lock needs a checksummed PUT; the key fits S3's 1,024 bytes with the path of a 302-leaf tree.
    expect(Math.max(...objects.map((k) => Buffer.byteLength(k)))).toBeLessThan(1024);
    const listed = await a.list('acme');
    expect(listed).toEqual([run.checkpoints[0]]);
    expect(await a.verify(listed[0]!)).toBe(true);
    expect(checkpointValid(publicKey, listed[0]!)).toBe(true);
    expect(await a.list('beta')).toEqual([run.checkpoints[1]]);
    // From a seq on: the listing starts after the keys of the seq before.
    expect(await a.list('acme', 7)).toHaveLength(1);
    expect(await a.list('acme', 8)).toEqual([]);
    expect(s3.commandCalls(ListObjectsV2Command).at(-1)!.args[0].input).toMatchObject({
      Prefix: 'checkpoints/acme/',
      StartAfter: `checkpoints/acme/${'7'.padStart(12, '0')}~`,
    });
    // A key without a root and inclusion proof names no checkpoint: it is not listed.
    const [acme] = listed;
    objects.push(`checkpoints/acme/${'8'.padStart(12, '0')}.${acme!.hash}.${acme!.sig}.20260101T000020000Z`);
    expect(await a.list('acme')).toEqual([run.checkpoints[0]]);
  });
});
