import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { DynamoEventSource, SqsDlq } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Duration, RemovalPolicy, Validations, type Stack } from 'aws-cdk-lib';
import { ANCHOR_SIGN, KEY_ADMIN_ACTIONS } from '../functions/adapters/kms-s3-anchor.ts';
import { STREAM_FILTER } from '../functions/handlers/stream.ts';
import type { DomainEvents } from './events.ts';
import { StackPart } from './part.ts';
import type { DataStore } from './store.ts';
import type { StackContext } from './context.ts';

/**
 * The audit anchor and the table's one stream consumer: it links audit entries into each tenant's
 * chain and signs checkpoints outside the table (a KMS signing key, an Object Lock bucket), and
 * relays outbox events (written in the change's own transaction) to the bus. The anchor's grants
 * (sign, verify, append, list) follow the calls each bundle makes (infra/adapters.ts): only the
 * consumer signs and appends (put only: never delete, never read back); verify and export list.
 */
export class AuditAnchor extends StackPart {
  /** Asymmetric, so an auditor verifies checkpoints with the public key alone (GET /api/v1/audit/public-key). */
  readonly key: kms.Key;
  readonly checkpoints: s3.Bucket;

  constructor(stack: Stack, id: string, store: DataStore, events: DomainEvents, streamFn: lambda.Function, lock: StackContext['checkpointLock']) {
    super(stack, id);
    this.key = new kms.Key(stack, 'AuditCheckpointKey', {
      description: 'Stageline: ECDSA P-256 key signing audit chain checkpoints (only the stream consumer may sign; anyone may verify with its public key)',
      keySpec: kms.KeySpec.ECC_NIST_P256,
      keyUsage: kms.KeyUsage.SIGN_VERIFY,
      removalPolicy: RemovalPolicy.RETAIN,
      // The key policy itself, replacing KMS's default (the account root: kms:*), under which any IAM principal of the
      // account with kms:Sign in its own policies could sign, so forge, a checkpoint. A given policy is used as it is
      // (CDK adds no admin statement to it).
      policy: AuditAnchor.keyPolicy(streamFn.role!),
    });
    const checkpointLogs = new s3.Bucket(stack, 'CheckpointAccessLogs', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      encryption: s3.BucketEncryption.S3_MANAGED,
      removalPolicy: RemovalPolicy.RETAIN,
      // Versioned: a log object overwritten or deleted stays readable as a noncurrent version for 90 days.
      versioned: true,
      lifecycleRules: [{ expiration: Duration.days(365), noncurrentVersionExpiration: Duration.days(90) }],
    });
    Validations.of(checkpointLogs).acknowledge(
      { id: 'AwsSolutions-S1', reason: 'This bucket receives the server access logs of the checkpoint bucket; logging it too would recurse.' },
      {
        id: 'NIST.800.53.R5-S3DefaultEncryptionKMS',
        reason:
          'S3 server access logs are delivered only to a bucket with SSE-S3 default encryption (a target bucket with SSE-KMS default encryption receives none).',
      },
      {
        id: 'NIST.800.53.R5-S3BucketReplicationEnabled',
        reason:
          "The access logs of the checkpoint bucket, kept a year in this region; a copy in another region is an account's choice (a bucket there, a replication role), not this stack's.",
      },
    );
    this.checkpoints = new s3.Bucket(stack, 'AuditCheckpoints', {
      // Compliance mode (production, the default): no one, not even the account root, can delete or overwrite a
      // checkpoint before its retention ends. Governance mode (a trial deploy, -c checkpointLockMode=GOVERNANCE):
      // the same, except for a principal allowed s3:BypassGovernanceRetention, so the bucket can be emptied.
      objectLockEnabled: true,
      objectLockDefaultRetention: (lock.mode === 'COMPLIANCE' ? s3.ObjectLockRetention.compliance : s3.ObjectLockRetention.governance)(
        Duration.days(lock.days),
      ),
      versioned: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      encryption: s3.BucketEncryption.S3_MANAGED,
      serverAccessLogsBucket: checkpointLogs,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    Validations.of(this.checkpoints).acknowledge(
      {
        id: 'NIST.800.53.R5-S3DefaultEncryptionKMS',
        reason:
          "Checkpoints are signed statements of public values (tenant, sequence, chain hash, time, the KMS signature), meant to be handed to auditors; their integrity is the signature's and Object Lock's (compliance mode), not encryption's. SSE-S3 encrypts them at rest; a customer-managed key would add nothing they need.",
      },
      {
        id: 'NIST.800.53.R5-S3BucketReplicationEnabled',
        reason:
          "Object Lock in compliance mode keeps every checkpoint undeletable for ten years in this region; a copy in another region (a bucket there with its own Object Lock, a replication role) is an account's choice for regional disaster recovery, not this stack's.",
      },
    );
    const streamDlq = events.deadLetters('StreamDlq', 'the on-failure destination of the stream consumer');
    streamFn.addEventSource(
      new DynamoEventSource(store.table, {
        startingPosition: lambda.StartingPosition.TRIM_HORIZON,
        batchSize: 100,
        maxBatchingWindow: Duration.seconds(1),
        bisectBatchOnError: true,
        retryAttempts: 10,
        maxRecordAge: Duration.hours(24),
        onFailure: new SqsDlq(streamDlq),
        // The same filter the local poller applies (STREAM_FILTER).
        filters: [
          lambda.FilterCriteria.filter({
            eventName: lambda.FilterRule.or(...STREAM_FILTER.eventName),
            dynamodb: { NewImage: { entity: { S: lambda.FilterRule.or(...STREAM_FILTER.entity) } } },
          }),
        ],
      }),
    );
    // The anchor tick: once a minute the consumer signs the chains a consumer left for its interval's end and could not
    // sign (frozen between invocations when the traffic stopped, or gone): domain/audit/log.ts anchorLeftTails. Its
    // batches keep coming through the event source mapping above (failures: StreamDlq); the tick is an asynchronous
    // invocation, whose failures go to the shared on-failure destination (the next tick tries again anyway).
    events.every(1, 'AuditAnchorTick', 'The audit anchor tick: signs the audit chains a stream consumer left unsigned (frozen or gone)', streamFn, {
      anchorTick: true,
    });
    events.onAsyncFailure(
      streamFn,
      0,
      Duration.minutes(2),
      'the AuditAnchorTick rule once a minute (its table batches come through the stream event source mapping, whose failures go to StreamDlq)',
    );
  }

  /**
   * Who may do what with the checkpoint key. The stream consumer's role alone may sign, named in the key
   * policy. (Its IAM policy grants kms:Sign on the key too, infra/adapters.ts, as its bundle calls it; but
   * the account's statements below do not let IAM policies grant kms:Sign, so only the key policy's
   * statement counts.) The account root administers the key: the account's IAM policies may describe,
   * tag, enable, disable, schedule or cancel its deletion and change its key policy (so the key never
   * becomes unmanageable, and KMS's lockout check passes), but grant nothing that signs: no kms:Sign, no
   * kms:*, no kms:CreateGrant (a grant could hand kms:Sign to anyone). An administrator can still sign only
   * by first changing the key policy, or the consumer's role or code: each a CloudTrail management event.
   * Verifying needs only the public key: the account's IAM policies may allow kms:GetPublicKey and
   * kms:Verify (audit-verify and the consumer hold GetPublicKey). The key policy names the role by its ARN
   * and the role's policy names the key: the key depends on the role, the role's policy on the key; no cycle.
   */
  private static keyPolicy(signer: iam.IRole): iam.PolicyDocument {
    const account = new iam.AccountRootPrincipal();
    return new iam.PolicyDocument({
      statements: [
        new iam.PolicyStatement({
          sid: 'AccountAdministersTheKeyButCannotSign',
          principals: [account],
          actions: [...KEY_ADMIN_ACTIONS],
          resources: ['*'],
        }),
        new iam.PolicyStatement({ sid: 'AccountVerifiesCheckpoints', principals: [account], actions: ['kms:GetPublicKey', 'kms:Verify'], resources: ['*'] }),
        // Only as the anchor signs a Merkle root (functions/adapters/kms-s3-anchor.ts ANCHOR_SIGN): KMS hashes the message itself,
        // so the role cannot have KMS sign a digest it chose. This key signs nothing else: each tenant's attestations are signed
        // with the tenant's own key (ATTESTATION_SIGN, a DIGEST), test/infra/stack-kms.test.ts holds the two together.
        new iam.PolicyStatement({
          sid: 'StreamConsumerSignsCheckpoints',
          principals: [signer],
          actions: ['kms:Sign'],
          resources: ['*'],
          conditions: { StringEquals: { 'kms:SigningAlgorithm': ANCHOR_SIGN.SigningAlgorithm, 'kms:MessageType': ANCHOR_SIGN.MessageType } },
        }),
      ],
    });
  }
}
