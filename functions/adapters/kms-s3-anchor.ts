import type { KMSClient } from '@aws-sdk/client-kms';
import type { S3Client } from '@aws-sdk/client-s3';
import { createHash, type KeyObject } from 'node:crypto';
import { checkpointPublicKey, describePublicKey, rootMessage, signatureValid } from '#domain/audit/audit';
import type { AnchorPublicKey, Checkpoint, SignedRoot, SignedStatement } from '#domain/kernel/model';
import type { AuditAnchor } from '#domain/audit/ports';
import * as env from '../configuration.ts';
import { traced } from './tracing.ts';

const PREFIX = 'checkpoints/';

/** A client, or how to make it on first use (made once; a failure is not kept). */
type ClientOf<T> = T | (() => Promise<T>);
function clientOf<T extends object>(c: ClientOf<T>): () => Promise<T> {
  if (typeof c !== 'function') return () => Promise.resolve(c);
  let made: Promise<T> | undefined;
  return () =>
    (made ??= c().catch((err: unknown) => {
      made = undefined;
      throw err;
    }));
}

const seq12 = (seq: number) => String(seq).padStart(12, '0');
/**
 * Object key: checkpoints/<tenant>/<seq 12 digits>.<hash>.<signature>.<at compact>.<root>.<size>.
 * <index>.<audit path, its hashes one after the other> (a DER P-256 signature is ≤ 96 base64url
 * characters) — ≤ 1,024 bytes with the ≤ 9 levels of a tree of ≤ 512 leaves (domain/audit/anchor.ts
 * MAX_LEAVES). Sorted by seq within the tenant's prefix.
 */
const key = (c: Checkpoint) =>
  `${PREFIX}${encodeURIComponent(c.tenant)}/${seq12(c.seq)}.${c.hash}.${c.sig}.${c.at.replace(/[-:.]/g, '')}` +
  `.${c.proof.root}.${c.proof.size}.${c.proof.index}.${c.proof.path.join('')}`;

/** A checkpoint back from its object key; null for a key that is none (one without its root and inclusion proof among them). */
function fromKey(tenant: string, objectKey: string): Checkpoint | null {
  const parts = objectKey.slice(objectKey.lastIndexOf('/') + 1).split('.');
  const [seq, hash, sig, at, root, size, index, path] = parts;
  if (parts.length !== 8 || !seq || !hash || !sig || !at || !root || !size || !index || path === undefined || path.length % 64) return null;
  const iso = at.replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})(\d{3})Z$/, '$1-$2-$3T$4:$5:$6.$7Z');
  return { tenant, seq: Number(seq), hash, sig, at: iso, proof: { root, size: Number(size), index: Number(index), path: path.match(/.{64}/g) ?? [] } };
}

/**
 * The audit anchor on AWS: roots are signed with an asymmetric KMS key (ECC_NIST_P256, SIGN_VERIFY;
 * only the stream consumer may `kms:Sign`), once per anchor interval for every chain that moved,
 * and each chain's checkpoint (its seq and hash, the signed root, its inclusion proof) is written
 * under its tenant to an S3 bucket with Object Lock in compliance mode, so nobody — not the account
 * root — can delete or overwrite them before their retention ends. The records stay outside the
 * table on purpose: a table writer who could delete them could cut a chain unseen. Everything a
 * verifier needs is in the object key, so listing the tenant's prefix reads every checkpoint
 * without a GET each (no separate root object: each record carries its root and signature).
 * Signatures are verified with the public key (`kms:GetPublicKey` once per container), here as by
 * an auditor offline: no KMS call per check.
 */
export class KmsS3Anchor implements AuditAnchor {
  private key?: Promise<{ object: KeyObject; described: AnchorPublicKey }>;
  private readonly kms: () => Promise<KMSClient>;
  private readonly s3: () => Promise<S3Client>;

  /** The clients, or how to make them: a function's bundle then carries them as chunks loaded on first use (anchorFromEnv). */
  constructor(
    kms: ClientOf<KMSClient>,
    s3: ClientOf<S3Client>,
    private readonly keyId: string,
    private readonly bucket: string | undefined,
  ) {
    this.kms = clientOf(kms);
    this.s3 = clientOf(s3);
  }

  async sign(root: SignedStatement): Promise<string> {
    const [kms, { SignCommand }] = await Promise.all([this.kms(), import('@aws-sdk/client-kms')]);
    const r = await kms.send(
      new SignCommand({ KeyId: this.keyId, SigningAlgorithm: 'ECDSA_SHA_256', MessageType: 'RAW', Message: Buffer.from(rootMessage(root)) }),
    );
    return Buffer.from(r.Signature!).toString('base64url');
  }

  /**
   * KMS signs a message of at most 4,096 bytes as RAW; an attestation's PAE can be longer, so its SHA-256
   * is sent as the DIGEST: ECDSA_SHA_256 over a digest is the same signature as over the message it hashes.
   */
  async signBytes(message: Uint8Array): Promise<Uint8Array> {
    const [kms, { SignCommand }] = await Promise.all([this.kms(), import('@aws-sdk/client-kms')]);
    const digest = createHash('sha256').update(message).digest();
    const r = await kms.send(new SignCommand({ KeyId: this.keyId, SigningAlgorithm: 'ECDSA_SHA_256', MessageType: 'DIGEST', Message: digest }));
    return new Uint8Array(r.Signature!);
  }

  private checkpointBucket(): string {
    if (!this.bucket) throw new Error('CHECKPOINT_BUCKET is not set for this function');
    return this.bucket;
  }

  async append(c: Checkpoint): Promise<void> {
    const [s3, { PutObjectCommand }] = await Promise.all([this.s3(), import('@aws-sdk/client-s3')]);
    // The SDK adds a checksum to the PUT, which Object Lock buckets require.
    await s3.send(new PutObjectCommand({ Bucket: this.checkpointBucket(), Key: key(c), Body: JSON.stringify(c), ContentType: 'application/json' }));
  }

  async list(tenant: string, fromSeq?: number): Promise<Checkpoint[]> {
    const out: Checkpoint[] = [];
    const prefix = `${PREFIX}${encodeURIComponent(tenant)}/`;
    // Keys sort by seq: start after every key of the seq before `fromSeq` ('~' sorts after '.').
    const startAfter = fromSeq && fromSeq > 1 ? `${prefix}${seq12(fromSeq - 1)}~` : undefined;
    const [s3, { ListObjectsV2Command }] = await Promise.all([this.s3(), import('@aws-sdk/client-s3')]);
    let token: string | undefined;
    do {
      const r = await s3.send(
        new ListObjectsV2Command({
          Bucket: this.checkpointBucket(),
          Prefix: prefix,
          ContinuationToken: token,
          ...(startAfter && !token ? { StartAfter: startAfter } : {}),
        }),
      );
      for (const o of r.Contents ?? []) {
        const c = fromKey(tenant, o.Key!);
        if (c) out.push(c);
      }
      token = r.NextContinuationToken;
    } while (token);
    return out;
  }

  private publicKeyObject() {
    this.key ??= Promise.all([this.kms(), import('@aws-sdk/client-kms')])
      .then(([kms, { GetPublicKeyCommand }]) => kms.send(new GetPublicKeyCommand({ KeyId: this.keyId })))
      .then(
        (r) => {
          const object = checkpointPublicKey(Buffer.from(r.PublicKey!));
          return { object, described: describePublicKey(object) };
        },
        (err) => {
          this.key = undefined;
          throw err;
        },
      );
    return this.key;
  }

  async publicKey(): Promise<AnchorPublicKey> {
    return (await this.publicKeyObject()).described;
  }

  async verify(c: SignedRoot | Pick<Checkpoint, 'tenant' | 'seq' | 'hash' | 'at' | 'sig' | 'proof'>): Promise<boolean> {
    return signatureValid((await this.publicKeyObject()).object, c);
  }
}

/**
 * AUDIT_KEY_ID (the signing key); CHECKPOINT_BUCKET where the function reads or writes checkpoints (not for the public key alone).
 * The KMS and S3 clients are loaded on first use (`import()`: chunks module init never reads): the stream consumer signs and
 * writes once per anchor interval, not on every batch; the export lists checkpoints but never calls KMS.
 */
export function anchorFromEnv(): AuditAnchor {
  const keyId = env.AUDIT_KEY_ID();
  if (!keyId) throw new Error('AUDIT_KEY_ID must be set for the audit anchor');
  return new KmsS3Anchor(
    async () => traced(new (await import('@aws-sdk/client-kms')).KMSClient({})),
    async () => traced(new (await import('@aws-sdk/client-s3')).S3Client({})),
    keyId,
    env.CHECKPOINT_BUCKET(),
  );
}
