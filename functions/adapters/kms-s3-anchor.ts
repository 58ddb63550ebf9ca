import { GenerateMacCommand, KMSClient, VerifyMacCommand } from '@aws-sdk/client-kms';
import { ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { checkpointMessage } from '#domain/audit';
import type { Checkpoint } from '#domain/model';
import type { AuditAnchor } from '#domain/ports';
import { traced } from './tracing.ts';

const PREFIX = 'checkpoints/';
const key = (c: Checkpoint) => `${PREFIX}${encodeURIComponent(c.tenant)}/${String(c.seq).padStart(12, '0')}.${c.hash}.${c.mac}.${c.at.replace(/[-:.]/g, '')}`;

/**
 * The audit anchor on AWS: checkpoints are MACed with a KMS HMAC key (only the
 * stream consumer may GenerateMac) and written to an S3 bucket with Object Lock
 * in compliance mode, so nobody — not the account root — can delete or overwrite
 * them before their retention ends. Everything a verifier needs is in the object
 * key, so listing the tenant's prefix reads every checkpoint without a GET each.
 */
export class KmsS3Anchor implements AuditAnchor {
  constructor(
    private readonly kms: KMSClient,
    private readonly s3: S3Client,
    private readonly keyId: string,
    private readonly bucket: string,
  ) {}

  async sign(tenant: string, seq: number, hash: string): Promise<string> {
    const r = await this.kms.send(new GenerateMacCommand({ KeyId: this.keyId, MacAlgorithm: 'HMAC_SHA_256', Message: Buffer.from(checkpointMessage({ tenant, seq, hash })) }));
    return Buffer.from(r.Mac!).toString('base64url');
  }

  async append(c: Checkpoint): Promise<void> {
    // The SDK adds a checksum to the PUT, which Object Lock buckets require.
    await this.s3.send(new PutObjectCommand({ Bucket: this.bucket, Key: key(c), Body: JSON.stringify(c), ContentType: 'application/json' }));
  }

  async list(tenant: string): Promise<Checkpoint[]> {
    const out: Checkpoint[] = [];
    let token: string | undefined;
    do {
      const r = await this.s3.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: `${PREFIX}${encodeURIComponent(tenant)}/`, ContinuationToken: token }));
      for (const o of r.Contents ?? []) {
        const [seq, hash, mac, at] = o.Key!.slice(o.Key!.lastIndexOf('/') + 1).split('.');
        if (!seq || !hash || !mac || !at) continue;
        const iso = at.replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})(\d{3})Z$/, '$1-$2-$3T$4:$5:$6.$7Z');
        out.push({ tenant, seq: Number(seq), hash, mac, at: iso });
      }
      token = r.NextContinuationToken;
    } while (token);
    return out;
  }

  async verify(c: Pick<Checkpoint, 'tenant' | 'seq' | 'hash' | 'mac'>): Promise<boolean> {
    try {
      const r = await this.kms.send(
        new VerifyMacCommand({ KeyId: this.keyId, MacAlgorithm: 'HMAC_SHA_256', Message: Buffer.from(checkpointMessage(c)), Mac: Buffer.from(String(c.mac ?? ''), 'base64url') }),
      );
      return r.MacValid === true;
    } catch (err) {
      if ((err as { name?: string }).name === 'KMSInvalidMacException') return false;
      throw err;
    }
  }
}

export function anchorFromEnv(): AuditAnchor {
  const keyId = process.env.AUDIT_KEY_ID;
  const bucket = process.env.CHECKPOINT_BUCKET;
  if (!keyId || !bucket) throw new Error('AUDIT_KEY_ID and CHECKPOINT_BUCKET must be set for the audit anchor');
  return new KmsS3Anchor(traced(new KMSClient({})), traced(new S3Client({})), keyId, bucket);
}
