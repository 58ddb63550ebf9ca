import { GetPublicKeyCommand, KMSClient, SignCommand } from '@aws-sdk/client-kms';
import { ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { KeyObject } from 'node:crypto';
import { checkpointMessage, checkpointPublicKey, checkpointSignatureValid, describePublicKey } from '#domain/audit/audit';
import type { AnchorPublicKey, Checkpoint } from '#domain/kernel/model';
import type { AuditAnchor } from '#domain/ports';
import { traced } from './tracing.ts';

const PREFIX = 'checkpoints/';
/** Object key: checkpoints/<tenant>/<seq 12 digits>.<hash>.<signature>.<at compact> (a DER P-256 signature is ≤ 96 base64url characters). */
const key = (c: Checkpoint) => `${PREFIX}${encodeURIComponent(c.tenant)}/${String(c.seq).padStart(12, '0')}.${c.hash}.${c.sig}.${c.at.replace(/[-:.]/g, '')}`;

/**
 * The audit anchor on AWS: checkpoints are signed with an asymmetric KMS key (ECC_NIST_P256,
 * SIGN_VERIFY; only the stream consumer may `kms:Sign`) and written to an S3 bucket with Object
 * Lock in compliance mode, so nobody — not the account root — can delete or overwrite them before
 * their retention ends. Everything a verifier needs is in the object key, so listing the tenant's
 * prefix reads every checkpoint without a GET each. Signatures are verified with the public key
 * (`kms:GetPublicKey` once per container), here as by an auditor offline: no KMS call per check.
 */
export class KmsS3Anchor implements AuditAnchor {
  private key?: Promise<{ object: KeyObject; described: AnchorPublicKey }>;

  constructor(
    private readonly kms: KMSClient,
    private readonly s3: S3Client,
    private readonly keyId: string,
    private readonly bucket: string | undefined,
  ) {}

  async sign(c: Pick<Checkpoint, 'tenant' | 'seq' | 'hash' | 'at'>): Promise<string> {
    const r = await this.kms.send(new SignCommand({ KeyId: this.keyId, SigningAlgorithm: 'ECDSA_SHA_256', MessageType: 'RAW', Message: Buffer.from(checkpointMessage(c)) }));
    return Buffer.from(r.Signature!).toString('base64url');
  }

  private checkpointBucket(): string {
    if (!this.bucket) throw new Error('CHECKPOINT_BUCKET is not set for this function');
    return this.bucket;
  }

  async append(c: Checkpoint): Promise<void> {
    // The SDK adds a checksum to the PUT, which Object Lock buckets require.
    await this.s3.send(new PutObjectCommand({ Bucket: this.checkpointBucket(), Key: key(c), Body: JSON.stringify(c), ContentType: 'application/json' }));
  }

  async list(tenant: string): Promise<Checkpoint[]> {
    const out: Checkpoint[] = [];
    let token: string | undefined;
    do {
      const r = await this.s3.send(new ListObjectsV2Command({ Bucket: this.checkpointBucket(), Prefix: `${PREFIX}${encodeURIComponent(tenant)}/`, ContinuationToken: token }));
      for (const o of r.Contents ?? []) {
        const [seq, hash, sig, at] = o.Key!.slice(o.Key!.lastIndexOf('/') + 1).split('.');
        if (!seq || !hash || !sig || !at) continue;
        const iso = at.replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})(\d{3})Z$/, '$1-$2-$3T$4:$5:$6.$7Z');
        out.push({ tenant, seq: Number(seq), hash, sig, at: iso });
      }
      token = r.NextContinuationToken;
    } while (token);
    return out;
  }

  private publicKeyObject() {
    this.key ??= this.kms.send(new GetPublicKeyCommand({ KeyId: this.keyId })).then(
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

  async verify(c: Pick<Checkpoint, 'tenant' | 'seq' | 'hash' | 'at' | 'sig'>): Promise<boolean> {
    return checkpointSignatureValid((await this.publicKeyObject()).object, c);
  }
}

/** AUDIT_KEY_ID (the signing key); CHECKPOINT_BUCKET where the function reads or writes checkpoints (not for the public key alone). */
export function anchorFromEnv(): AuditAnchor {
  const keyId = process.env.AUDIT_KEY_ID;
  if (!keyId) throw new Error('AUDIT_KEY_ID must be set for the audit anchor');
  return new KmsS3Anchor(traced(new KMSClient({})), traced(new S3Client({})), keyId, process.env.CHECKPOINT_BUCKET);
}
