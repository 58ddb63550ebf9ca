import type { S3Client } from '@aws-sdk/client-s3';
import type { STSClient } from '@aws-sdk/client-sts';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';
import { AuditSendRefused, AuditSendUnavailable, type AuditSender, type StreamedAuditEntry } from '#domain/audit/stream-ports';
import { batchTenant, MixedTenants, ndjson, s3DestinationSettings, s3ObjectKey, type S3DestinationSettings } from '#domain/audit/siem-destinations';
import { awsName, ROLE_SESSION_NAME } from '#domain/kernel/aws-names';
import * as z from '#domain/kernel/zod';
import { externalIdOf } from '#domain/verification/metric-accounts';

/**
 * Credentials of one tenant's role, bound to that tenant: the sender refuses entries of any other tenant,
 * and the session was opened for this tenant alone (its external id, its session name and tag).
 */
export interface TenantRoleCredentials {
  tenant: string;
  roleArn: string;
  provider: AwsCredentialIdentityProvider;
}

/** The STS client of the platform's own credentials: it only assumes tenants' roles (infra/adapters-tenant-roles.ts). */
export const platformSts = async (): Promise<STSClient> => new (await import('@aws-sdk/client-sts')).STSClient({});

/** A session is kept until a minute before it expires. */
const REFRESH_BEFORE_MS = 60_000;

/**
 * A session of the role the tenant set up in its own account for the audit stream (the destination's
 * `roleArn`), assumed with the tenant's external id (`stageline:<tenant>`, which the role's trust policy
 * requires, so another tenant naming the same role is refused by AWS), a session named after the tenant and
 * tagged `tenant=<tenant>`, kept until a minute before it expires. The platform's own credentials only
 * assume the role; they never write the bucket. `sts`: the client that assumes (tests give one against moto).
 */
export function tenantRoleCredentials(
  tenant: string,
  roleArn: string,
  sts: () => Promise<STSClient> | STSClient,
  clock: () => Date = () => new Date(),
): TenantRoleCredentials {
  let current: AwsCredentialIdentity | undefined;
  const provider: AwsCredentialIdentityProvider = async () => {
    if (current?.expiration && current.expiration.getTime() - clock().getTime() > REFRESH_BEFORE_MS) return current;
    const [client, { AssumeRoleCommand }] = await Promise.all([sts(), import('@aws-sdk/client-sts')]);
    let r;
    try {
      r = await client.send(
        new AssumeRoleCommand({
          RoleArn: roleArn,
          RoleSessionName: awsName('stageline-audit-', [tenant], ROLE_SESSION_NAME),
          ExternalId: externalIdOf(tenant),
          DurationSeconds: 900,
          Tags: [{ Key: 'tenant', Value: tenant }],
        }),
      );
    } catch (err) {
      const e = err as Error;
      throw new AuditSendRefused(
        `could not assume ${roleArn} (${e.name}): its trust policy must let Stageline assume it with external id ${externalIdOf(tenant)}`,
      );
    }
    const c = r.Credentials;
    if (!c?.AccessKeyId || !c.SecretAccessKey) throw new AuditSendRefused(`STS gave no credentials for ${roleArn}`);
    current = { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey, sessionToken: c.SessionToken, expiration: c.Expiration };
    return current;
  };
  return { tenant, roleArn, provider };
}

export interface S3SenderOptions {
  /** the client of the bucket's region writing with the tenant's credentials (tests give one against moto) */
  clientFor?: (credentials: AwsCredentialIdentityProvider, region?: string) => Promise<S3Client> | S3Client;
}

async function defaultClient(credentials: AwsCredentialIdentityProvider, region?: string): Promise<S3Client> {
  const { S3Client } = await import('@aws-sdk/client-s3');
  // The SDK's own retries are off: the stream sends the batch again (the same key) on a transient answer.
  return new S3Client({ region, credentials, maxAttempts: 1 });
}

/** The S3 error codes a retry cannot change, said plainly. */
const REFUSED: Record<string, string> = {
  AccessDenied: "the role may not put objects in the bucket: its policy (and the bucket's) must allow s3:PutObject on the prefix",
  NoSuchBucket: 'the bucket does not exist',
  AllAccessDisabled: 'all access to the bucket is disabled',
  InvalidAccessKeyId: "the role's session was not accepted",
  PermanentRedirect: "the bucket is in another region than the destination's region",
  AuthorizationHeaderMalformed: "the bucket is in another region than the destination's region",
  KMS_AccessDeniedException: "the role may not use the bucket's KMS key",
  InvalidBucketName: 'the bucket name is not valid',
};
/** The S3 error codes that say "try again later". */
const TRANSIENT = new Set([
  'SlowDown',
  'Throttling',
  'ThrottlingException',
  'RequestTimeout',
  'RequestTimeTooSkewed',
  'InternalError',
  'ServiceUnavailable',
  'OperationAborted',
]);

/** What an S3 error means for the stream: refused (with the plain reason) or unavailable (sent again later). */
export function classifyS3Error(err: unknown, bucket: string): AuditSendRefused | AuditSendUnavailable {
  if (err instanceof AuditSendRefused || err instanceof AuditSendUnavailable) return err;
  const e = err as { name?: string; Code?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  const code = e.Code ?? e.name ?? 'Error';
  const status = e.$metadata?.httpStatusCode;
  const reason = REFUSED[code];
  if (reason) return new AuditSendRefused(`S3 refused the object in ${bucket} (${code}): ${reason}`, status);
  if (TRANSIENT.has(code) || (status !== undefined && (status >= 500 || status === 429 || status === 408)))
    return new AuditSendUnavailable(`S3 answered ${code}${status ? ` (HTTP ${status})` : ''} for ${bucket}: sent again later`);
  if (status === undefined) return new AuditSendUnavailable(`S3 could not be reached for ${bucket}: ${e.message ?? code}`);
  return new AuditSendRefused(`S3 refused the object in ${bucket} (${code}, HTTP ${status}): ${e.message ?? ''}`.trim(), status);
}

/**
 * The audit stream's S3 destination: each batch one NDJSON object (one entry with its chain link a line,
 * in chain order) in the tenant's own bucket, at `<prefix>/<tenant>/<yyyy>/<mm>/<dd>/<firstSeq>-<lastSeq>.ndjson`
 * (domain/audit/siem-destinations.ts: the date is the first entry's, so a re-sent batch overwrites the same
 * key and at-least-once delivery never doubles an entry in the bucket). Written with the tenant's role only
 * (`credentials`, bound to the tenant): entries of another tenant are refused, and nothing is written with
 * the platform's own credentials. AccessDenied, NoSuchBucket and the like are AuditSendRefused with the plain
 * reason; throttling (SlowDown), 5xx and a lost connection are AuditSendUnavailable.
 */
export function s3Sender(
  settings: Pick<S3DestinationSettings, 'bucket' | 'prefix' | 'region'>,
  credentials: TenantRoleCredentials,
  opts: S3SenderOptions = {},
): AuditSender {
  const parsed = z.safeParse(z.pick(s3DestinationSettings, { bucket: true, prefix: true, region: true }), settings);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new AuditSendRefused(`the S3 destination's settings.${issue.path.join('.')} ${issue.message}`);
  }
  if (!credentials?.provider || !credentials.tenant)
    throw new AuditSendRefused("the S3 destination has no tenant role: the platform's own credentials never write a tenant's bucket");
  const s = parsed.data;
  let client: Promise<S3Client> | undefined;
  return {
    kind: 's3',
    async send(batch: readonly StreamedAuditEntry[]): Promise<void> {
      if (batch.length === 0) return;
      try {
        const tenant = batchTenant(batch);
        if (tenant !== credentials.tenant)
          throw new MixedTenants(`entry ${batch[0]!.seq} is of tenant ${tenant}: this destination writes with the role of ${credentials.tenant}`);
      } catch (err) {
        if (err instanceof MixedTenants) throw new AuditSendRefused(err.message);
        throw err;
      }
      const key = s3ObjectKey(s.prefix, batch);
      const { PutObjectCommand } = await import('@aws-sdk/client-s3');
      try {
        const s3 = await (client ??= Promise.resolve((opts.clientFor ?? defaultClient)(credentials.provider, s.region)).catch((e: unknown) => {
          client = undefined;
          throw e;
        }));
        await s3.send(
          new PutObjectCommand({
            Bucket: s.bucket,
            Key: key,
            Body: ndjson(batch),
            ContentType: 'application/x-ndjson',
            Metadata: { tenant: encodeURIComponent(credentials.tenant), 'first-seq': String(batch[0]!.seq), 'last-seq': String(batch[batch.length - 1]!.seq) },
          }),
        );
      } catch (err) {
        throw classifyS3Error(err, s.bucket);
      }
    },
  };
}
