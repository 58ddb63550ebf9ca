import { Duration, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { bundleFunction, type FunctionBundle } from './bundle.ts';

export { REPO_ROOT, functionEntry } from './bundle.ts';

/**
 * Runtime pinned on purpose (not NODEJS_LATEST): the bundle is compiled for
 * exactly this Node version (ESBUILD_TARGET in infra/bundle.ts), so the two must move together.
 */
export const RUNTIME = lambda.Runtime.NODEJS_22_X;

export interface HandlerFunctionProps {
  /** The function's name (FUNCTIONS in functions/http/routes.ts): a handler's, or a group's. */
  readonly name: string;
  readonly tableName: string;
  /** Extra environment on top of TABLE_NAME. */
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
    this.logGroup = props.logGroup ?? new logs.LogGroup(this, 'Logs', { retention: logs.RetentionDays.ONE_MONTH });

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
      environment: { TABLE_NAME: props.tableName, ...props.environment },
    });

    // cdk-nag findings that are properties of this construct, so every
    // function carries the same justified acknowledgements.
    Validations.of(this).acknowledge(
      {
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
        reason:
          'AWSLambdaBasicExecutionRole only grants logs:CreateLogGroup/CreateLogStream/PutLogEvents, which every function needs to write its own logs.',
      },
      {
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'Only the X-Ray statement added by `tracing: ACTIVE` uses "*": xray:PutTraceSegments and xray:PutTelemetryRecords support no resource-level permissions.',
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
    );
  }

  /** The function's bundle (infra/bundle.ts); a stack synthesized without bundling reuses any bundle of it already made. */
  static bundle(scope: Construct, name: string, traceSdk: boolean): FunctionBundle {
    return bundleFunction(name, { traceSdk, reuseAny: !Stack.of(scope).bundlingRequired });
  }
}
