import type { KMSClient } from '@aws-sdk/client-kms';
import type { S3Client } from '@aws-sdk/client-s3';
import { createHash, type KeyObject } from 'node:crypto';
import { checkpointPublicKey, describePublicKey, rootMessage, signatureValid } from '#domain/audit/audit';
import type { AnchorPublicKey, Checkpoint, SignedRoot, SignedStatement } from '#domain/kernel/model';
import type { AuditAnchor } from '#domain/audit/ports';
import * as env from '../configuration.ts';
import { traced } from './tracing.ts';

const PREFIX = 'checkpoints/';

/**
 * How each key is asked to sign, exported so the stack's key policies and IAM conditions are built from (and
 * tested against, test/infra/stack-kms.test.ts) exactly what is sent. The deployment's audit key signs
 * Merkle roots as RAW messages (KMS hashes them: the role cannot have it sign a digest it chose); a tenant's
 * attestation key signs a DSSE PAE, which can exceed KMS's 4,096 bytes of RAW, so its SHA-256 as a DIGEST.
 */
export const ANCHOR_SIGN = { SigningAlgorithm: 'ECDSA_SHA_256', MessageType: 'RAW' } as const;
export const ATTESTATION_SIGN = { SigningAlgorithm: 'ECDSA_SHA_256', MessageType: 'DIGEST' } as const;
/** The key spec of the audit key and of every tenant's attestation key. */
export const TENANT_KEY_SPEC = { KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' } as const;
/** The tag every tenant attestation key carries (value: TENANT_KEY_PURPOSE); the signer's IAM grants reach only keys with it. */
export const TENANT_KEY_TAG = 'stageline:purpose';
export const TENANT_KEY_PURPOSE = 'tenant-attestation';
/** The tag naming the key's tenant. */
export const TENANT_TAG = 'stageline:tenant';

/** The alias of a tenant's attestation key: `alias/<stack>/tenant/<tenant>` (ATTESTATION_KEY_ALIAS_PREFIX is `alias/<stack>/tenant/`). */
export const tenantKeyAlias = (prefix: string, tenant: string) => `${prefix}${tenant}`;

/** What the account may do with a signing key (the audit key's and every tenant's): administer it, never sign with it. */
export const KEY_ADMIN_ACTIONS = [
  'kms:Describe*',
  'kms:Get*',
  'kms:List*',
  'kms:PutKeyPolicy',
  'kms:EnableKey',
  'kms:DisableKey',
  'kms:ScheduleKeyDeletion',
  'kms:CancelKeyDeletion',
  'kms:TagResource',
  'kms:UntagResource',
  'kms:UpdateKeyDescription',
  'kms:CreateAlias',
  'kms:UpdateAlias',
  'kms:DeleteAlias',
  'kms:RevokeGrant',
] as const;

/** The account root of the account an ARN is in (`arn:<partition>:iam::<account>:root`): a role's, a key's. */
export function accountRootOf(arn: string): string {
  const [, partition, , , account] = arn.split(':');
  if (!partition || !account) throw new Error(`not an ARN with an account: ${arn}`);
  return `arn:${partition}:iam::${account}:root`;
}

/**
 * The key policy of a tenant's attestation key: KMS's default key policy, the one KMS attaches to a key made without
 * a policy (CreateKey sends none). The account root is allowed kms:*, which lets the account's IAM policies decide
 * who may do what with the key: the key stays manageable by the account's administrators, and the stream consumer
 * signs because its role's IAM policy allows kms:Sign on keys tagged TENANT_KEY_TAG = TENANT_KEY_PURPOSE, exactly as
 * ATTESTATION_SIGN says (infra/adapters.ts). No role is named here: a deploy that replaces the stream consumer's role
 * (a new ARN) signs with every key made before, since its new role carries the same IAM policy.
 * Keys made before this shape named the role of the day as their one signer: scripts/repair-tenant-key-policies.ts
 * puts this policy on them (docs/operations/deploy-aws.md). A policy sent with CreateKey must let the caller make a
 * later PutKeyPolicy (KMS's lockout check); the default one is never checked so, and the consumer holds no
 * kms:PutKeyPolicy. test/infra/stack-kms.test.ts evaluates this policy against every call made with the key.
 */
export function tenantKeyPolicy(accountRoot: string): { Version: string; Statement: Record<string, unknown>[] } {
  return {
    Version: '2012-10-17',
    Statement: [{ Sid: 'Enable IAM User Permissions', Effect: 'Allow', Principal: { AWS: accountRoot }, Action: 'kms:*', Resource: '*' }],
  };
}

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
  /** each tenant's attestation key: its ARN and public half, once found (or made) */
  private readonly tenantKeys = new Map<string, Promise<{ arn: string; described: AnchorPublicKey } | null>>();
  private readonly kms: () => Promise<KMSClient>;
  private readonly s3: () => Promise<S3Client>;

  /** The clients, or how to make them: a function's bundle then carries them as chunks loaded on first use (anchorFromEnv). */
  constructor(
    kms: ClientOf<KMSClient>,
    s3: ClientOf<S3Client>,
    private readonly keyId: string,
    private readonly bucket: string | undefined,
    /** where tenants' attestation keys are: their alias prefix, and the signer's role (set for the function that makes and signs with them) */
    private readonly tenantKeysAt: { aliasPrefix: string; signerRoleArn?: string } = { aliasPrefix: 'alias/stageline/tenant/' },
  ) {
    this.kms = clientOf(kms);
    this.s3 = clientOf(s3);
  }

  async sign(root: SignedStatement): Promise<string> {
    const [kms, { SignCommand }] = await Promise.all([this.kms(), import('@aws-sdk/client-kms')]);
    const r = await kms.send(new SignCommand({ KeyId: this.keyId, ...ANCHOR_SIGN, Message: Buffer.from(rootMessage(root)) }));
    return Buffer.from(r.Signature!).toString('base64url');
  }

  /**
   * An attestation's signature, with the tenant's own key (made on first use). KMS signs a message of at most
   * 4,096 bytes as RAW; a PAE can be longer, so its SHA-256 is sent as the DIGEST: ECDSA_SHA_256 over a digest
   * is the same signature as over the message it hashes.
   */
  async signBytes(tenant: string, message: Uint8Array): Promise<Uint8Array> {
    const key = await this.tenantKeyOf(tenant, true);
    const [kms, { SignCommand }] = await Promise.all([this.kms(), import('@aws-sdk/client-kms')]);
    const digest = createHash('sha256').update(message).digest();
    const r = await kms.send(new SignCommand({ KeyId: key!.arn, ...ATTESTATION_SIGN, Message: digest }));
    return new Uint8Array(r.Signature!);
  }

  async tenantKey(tenant: string, create = false): Promise<AnchorPublicKey | null> {
    return (await this.tenantKeyOf(tenant, create))?.described ?? null;
  }

  /** The tenant's key by its alias; made (tagged, with its key policy, then aliased) when there is none and `create`. */
  private tenantKeyOf(tenant: string, create: boolean): Promise<{ arn: string; described: AnchorPublicKey } | null> {
    const known = this.tenantKeys.get(tenant);
    if (known) return known;
    const found = this.findTenantKey(tenant, create).then(
      (k) => {
        // "none yet" is not kept: the signer makes it in a moment.
        if (!k) this.tenantKeys.delete(tenant);
        return k;
      },
      (err: unknown) => {
        this.tenantKeys.delete(tenant);
        throw err;
      },
    );
    this.tenantKeys.set(tenant, found);
    return found;
  }

  private async findTenantKey(tenant: string, create: boolean): Promise<{ arn: string; described: AnchorPublicKey } | null> {
    // Each command by its own class name, constructed as such: the deploy checks read them from this source (test/infra/deploy.test.ts).
    const [kms, { GetPublicKeyCommand, CreateKeyCommand, CreateAliasCommand, ScheduleKeyDeletionCommand }] = await Promise.all([
      this.kms(),
      import('@aws-sdk/client-kms'),
    ]);
    const alias = tenantKeyAlias(this.tenantKeysAt.aliasPrefix, tenant);
    const read = async () => {
      try {
        const r = await kms.send(new GetPublicKeyCommand({ KeyId: alias }));
        return { arn: r.KeyId!, described: describePublicKey(checkpointPublicKey(Buffer.from(r.PublicKey!))) };
      } catch (err) {
        if ((err as Error).name === 'NotFoundException') return null;
        throw err;
      }
    };
    const existing = await read();
    if (existing || !create) return existing;
    if (!this.tenantKeysAt.signerRoleArn)
      throw new Error(`no attestation key for tenant ${tenant}, and this function may not make one (ATTESTATION_SIGNER_ROLE_ARN is not set)`);
    // No Policy: KMS attaches its default key policy (tenantKeyPolicy), so the account's IAM policies govern the key and
    // the consumer signs through its role's IAM policy (conditioned on the tag below). Never BypassPolicyLockoutSafetyCheck.
    const made = await kms.send(
      new CreateKeyCommand({
        ...TENANT_KEY_SPEC,
        Description: `Stageline: ECDSA P-256 key signing the attestations of tenant ${tenant} (the stream consumer signs, by its role's IAM policy)`,
        Tags: [
          { TagKey: TENANT_KEY_TAG, TagValue: TENANT_KEY_PURPOSE },
          { TagKey: TENANT_TAG, TagValue: tenant },
        ],
      }),
    );
    try {
      await kms.send(new CreateAliasCommand({ AliasName: alias, TargetKeyId: made.KeyMetadata!.KeyId! }));
    } catch (err) {
      if ((err as Error).name !== 'AlreadyExistsException') throw err;
      // Another consumer made the tenant's key first: theirs is the tenant's, ours is never used.
      await kms.send(new ScheduleKeyDeletionCommand({ KeyId: made.KeyMetadata!.KeyId!, PendingWindowInDays: 7 }));
    }
    return read();
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
 * AUDIT_KEY_ID (the anchor's signing key); ATTESTATION_KEY_ALIAS_PREFIX (where tenants' attestation keys are found) and, for
 * the signer alone, ATTESTATION_SIGNER_ROLE_ARN (its role: set, the function makes a tenant's key on first use); CHECKPOINT_BUCKET where the function reads or writes checkpoints (not for the public key alone).
 * The KMS and S3 clients are loaded on first use (`import()`: chunks module init never reads): the stream consumer signs and
 * writes once per anchor interval, not on every batch; the export lists checkpoints but never calls KMS.
 */
export function anchorFromEnv(): AuditAnchor {
  const keyId = env.AUDIT_KEY_ID();
  if (!keyId) throw new Error('AUDIT_KEY_ID must be set for the audit anchor');
  const signerRoleArn = env.ATTESTATION_SIGNER_ROLE_ARN();
  return new KmsS3Anchor(
    async () => traced(new (await import('@aws-sdk/client-kms')).KMSClient({})),
    async () => traced(new (await import('@aws-sdk/client-s3')).S3Client({})),
    keyId,
    env.CHECKPOINT_BUCKET(),
    { aliasPrefix: env.ATTESTATION_KEY_ALIAS_PREFIX(), ...(signerRoleArn ? { signerRoleArn } : {}) },
  );
}
