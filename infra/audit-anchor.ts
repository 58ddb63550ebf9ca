import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { DynamoEventSource, SqsDlq } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Duration, RemovalPolicy, Validations, type Stack } from 'aws-cdk-lib';
import { STREAM_FILTER } from '../functions/handlers/stream.ts';
import type { DomainEvents } from './events.ts';
import { StackPart } from './part.ts';
import type { DataStore } from './store.ts';

/** How long a signed audit checkpoint is kept immutable (S3 Object Lock, compliance mode). */
export const CHECKPOINT_RETENTION_DAYS = 3650;

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

  constructor(stack: Stack, id: string, store: DataStore, events: DomainEvents, streamFn: lambda.Function) {
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
      lifecycleRules: [{ expiration: Duration.days(365) }],
    });
    Validations.of(checkpointLogs).acknowledge({ id: 'AwsSolutions-S1', reason: 'This bucket receives the server access logs of the checkpoint bucket; logging it too would recurse.' });
    this.checkpoints = new s3.Bucket(stack, 'AuditCheckpoints', {
      // Compliance mode: no one, not even the account root, can delete or overwrite a checkpoint before it expires.
      objectLockEnabled: true,
      objectLockDefaultRetention: s3.ObjectLockRetention.compliance(Duration.days(CHECKPOINT_RETENTION_DAYS)),
      versioned: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      encryption: s3.BucketEncryption.S3_MANAGED,
      serverAccessLogsBucket: checkpointLogs,
      removalPolicy: RemovalPolicy.RETAIN,
    });
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
        filters: [lambda.FilterCriteria.filter({ eventName: lambda.FilterRule.or(...STREAM_FILTER.eventName), dynamodb: { NewImage: { entity: { S: lambda.FilterRule.or(...STREAM_FILTER.entity) } } } })],
      }),
    );
    Validations.of(streamFn).acknowledge({
      id: 'Serverless-LambdaDLQ',
      reason: 'Invoked only by its DynamoDB stream event source mapping, never asynchronously: a batch still failing after its retries goes to the mapping\'s on-failure destination (StreamDlq); a function DLQ applies to asynchronous invocations only.',
    });
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
          actions: [
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
          ],
          resources: ['*'],
        }),
        new iam.PolicyStatement({ sid: 'AccountVerifiesCheckpoints', principals: [account], actions: ['kms:GetPublicKey', 'kms:Verify'], resources: ['*'] }),
        // Only as the anchor signs (functions/adapters/kms-s3-anchor.ts): KMS hashes the message itself, so the role cannot
        // have KMS sign a digest it chose.
        new iam.PolicyStatement({
          sid: 'StreamConsumerSignsCheckpoints',
          principals: [signer],
          actions: ['kms:Sign'],
          resources: ['*'],
          conditions: { StringEquals: { 'kms:SigningAlgorithm': 'ECDSA_SHA_256', 'kms:MessageType': 'RAW' } },
        }),
      ],
    });
  }
}
