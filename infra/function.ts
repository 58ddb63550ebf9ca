import { Duration, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { bundleFunction, type FunctionBundle } from './bundle.ts';
import { REFERENCE } from '../functions/configuration/reference.ts';

export { REPO_ROOT, functionEntry } from './bundle.ts';

/**
 * Runtime pinned on purpose (not NODEJS_LATEST): the bundle is compiled for
 * exactly this Node version (ESBUILD_TARGET in infra/bundle.ts), so the two must move together.
 */
export const RUNTIME = lambda.Runtime.NODEJS_22_X;

export interface HandlerFunctionProps {
  /** The function's name (FUNCTIONS in functions/http/topology.ts): a handler's, or a group's. */
  readonly name: string;
  readonly tableName: string;
  /** Extra environment on top of TABLE_NAME (which a function gets when its bundle reaches the store). */
  readonly environment?: Record<string, string>;
  /** Default 10 s (well inside API Gateway's 30 s integration limit). */
  readonly timeout?: Duration;
  /**
   * Shared log group (streams are per function). One group for all handlers
   * keeps the stack far from CloudFormation's 500-resource limit.
   */
  readonly logGroup?: logs.ILogGroup;
  /** A cap on concurrent executions (reserved from the account's pool); none by default. */
  readonly reservedConcurrency?: number;
  /** An execution role shared with functions that need exactly the same permissions (default: its own). */
  readonly role?: iam.IRole;
  /** X-Ray subsegments around every SDK call (functions/adapters/tracing.ts); without it the Tracer is not bundled. */
  readonly traceSdk?: boolean;
}

/**
 * The one way a Stageline Lambda is built, so every handler gets the same
 * runtime, bundling, logging and tracing. Permissions are granted by the stack
 * (it knows which handler reads and which writes).
 */
export class HandlerFunction extends Construct {
  readonly fn: lambda.Function;
  readonly logGroup: logs.ILogGroup;

  constructor(scope: Construct, id: string, props: HandlerFunctionProps & { bundle?: FunctionBundle }) {
    super(scope, id);
    // Bundled by infra/bundle.ts (the stack usually has bundled it already, to read what it contains).
    const bundle = props.bundle ?? HandlerFunction.bundle(scope, props.name, !!props.traceSdk);

    // An explicit log group instead of the one Lambda creates on first write:
    // that one never expires and is not part of the stack.
    this.logGroup =
      props.logGroup ??
      logGroup(this, 'Logs', logs.RetentionDays.ONE_MONTH, "the function's JSON logs (one line per request: request id, route, status, duration, tenant)");

    this.fn = new lambda.Function(this, 'Function', {
      description: `Stageline ${props.name}`,
      code: lambda.Code.fromAsset(bundle.dir),
      handler: 'index.handler',
      runtime: RUNTIME,
      // Graviton: cheaper per GB-second and the code has no native dependencies.
      architecture: lambda.Architecture.ARM_64,
      memorySize: 512,
      // API Gateway gives up on an integration after 30 s; failing well before
      // that returns our own error body instead of a bare 503.
      timeout: props.timeout ?? Duration.seconds(10),
      reservedConcurrentExecutions: props.reservedConcurrency,
      role: props.role,
      logGroup: this.logGroup,
      tracing: lambda.Tracing.ACTIVE,
      // The table's name for a bundle that reads it (the modules functions/configuration/reference.ts says read TABLE_NAME: the store's wiring).
      environment: { ...(REFERENCE.TABLE_NAME.readBy.some((m) => bundle.modules.has(m)) ? { TABLE_NAME: props.tableName } : {}), ...props.environment },
    });

    // cdk-nag findings that are properties of this construct, so every
    // function carries the same justified acknowledgements.
    Validations.of(this).acknowledge(
      {
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
        reason: 'AWSLambdaBasicExecutionRole only grants logs:CreateLogGroup/CreateLogStream/PutLogEvents, which every function needs to write its own logs.',
      },
      {
        id: 'AwsSolutions-L1',
        reason:
          'Node.js 22 is pinned deliberately (LTS, supported by Lambda) and must match the esbuild target; moving to a newer runtime is a tested, explicit change.',
      },
      {
        id: 'Serverless-LambdaLatestVersion',
        reason:
          'Node.js 22 is pinned deliberately (LTS, supported by Lambda) and must match the esbuild target (ESBUILD_TARGET in infra/bundle.ts); moving to a newer runtime is a tested, explicit change.',
      },
      {
        id: 'NIST.800.53.R5-LambdaInsideVPC',
        reason:
          "No Stageline resource is in a VPC: every function calls AWS service APIs (public endpoints, TLS, IAM-authorised) and, where its bundle holds them, tenants' public HTTPS endpoints through the outbound guard (functions/adapters/outbound.ts), which refuses every private, loopback, link-local or metadata address. A VPC would add NAT gateways or interface endpoints and per-function ENIs with no private resource to protect.",
      },
    );
    // A "*" statement of its role (X-Ray) is acknowledged on the role's policy, by what it holds (infra/acknowledgements.ts).
    if (props.reservedConcurrency === undefined) {
      Validations.of(this).acknowledge({
        id: 'NIST.800.53.R5-LambdaConcurrency',
        reason:
          "No reserved concurrency: reservations come out of the account's pool, which a new account has too little of; the deployment sets them with the reservedConcurrency context (per API function, the stream, the notifier and the flow functions; the synth refuses reservations that leave less than 100 unreserved). Throttles are alarmed (FunctionThrottlesAlarm).",
      });
    }
  }

  /** The function's bundle (infra/bundle.ts); a stack synthesized without bundling reuses any bundle of it already made. */
  static bundle(scope: Construct, name: string, traceSdk: boolean): FunctionBundle {
    return bundleFunction(name, { traceSdk, reuseAny: !Stack.of(scope).bundlingRequired });
  }
}

/**
 * A log group of the stack, with its retention. NIST 800-53 R5 asks for a customer-managed KMS key on
 * it; CloudWatch Logs encrypts it at rest with its own keys, and who reads it is IAM's to say.
 */
export function logGroup(scope: Construct, id: string, retention: logs.RetentionDays, holds: string, logGroupName?: string): logs.LogGroup {
  const group = new logs.LogGroup(scope, id, { retention, ...(logGroupName ? { logGroupName } : {}) });
  Validations.of(group).acknowledge({
    id: 'NIST.800.53.R5-CloudWatchLogGroupEncrypted',
    reason: `Holds ${holds}. Encrypted at rest by CloudWatch Logs with its service keys, and read only by principals IAM allows (logs:GetLogEvents, FilterLogEvents, StartQuery on this group); a customer-managed key would let a key policy withhold it from principals IAM allows, a choice for a regulated account rather than this stack's default.`,
  });
  return group;
}
