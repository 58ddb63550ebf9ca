import path from 'node:path';
import { Duration, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { LogLevel, NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { functionModule } from '../functions/http/routes.ts';

/** Repo root: esbuild resolves `#domain/*` through the root package.json `imports`. */
export const REPO_ROOT = path.join(import.meta.dirname, '..');

/** The entry of a Lambda function (functions/http/routes.ts FUNCTIONS): a group's dispatcher, or the handler itself. */
export const functionEntry = (name: string) => path.join(REPO_ROOT, 'functions', `${functionModule(name)}.ts`);

/**
 * Runtime pinned on purpose (not NODEJS_LATEST): the bundle is compiled for
 * exactly this Node version (esbuild `target` below), so the two must move together.
 */
export const RUNTIME = lambda.Runtime.NODEJS_22_X;
const ESBUILD_TARGET = 'node22';

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
  readonly fn: NodejsFunction;
  readonly logGroup: logs.ILogGroup;

  constructor(scope: Construct, id: string, props: HandlerFunctionProps) {
    super(scope, id);

    // An explicit log group instead of the one Lambda creates on first write:
    // that one never expires and is not part of the stack.
    this.logGroup = props.logGroup ?? new logs.LogGroup(this, 'Logs', { retention: logs.RetentionDays.ONE_MONTH });

    this.fn = new NodejsFunction(this, 'Function', {
      description: `Stageline ${props.name}`,
      entry: functionEntry(props.name),
      handler: 'handler',
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
      projectRoot: REPO_ROOT,
      depsLockFilePath: path.join(REPO_ROOT, 'package-lock.json'),
      environment: { TABLE_NAME: props.tableName, ...props.environment },
      bundling: {
        // No Docker on dev machines or CI; the esbuild in node_modules is used.
        forceDockerBundling: false,
        format: OutputFormat.ESM,
        target: ESBUILD_TARGET,
        // Prefer packages' ESM builds so esbuild can tree-shake the AWS SDK.
        mainFields: ['module', 'main'],
        // Some CommonJS dependencies (parts of the AWS SDK among them) call
        // `require` for Node built-ins; an ESM bundle has no `require`, so
        // define one. The alias avoids clashing with an import esbuild emits.
        banner: "import { createRequire as __stagelineCreateRequire } from 'node:module'; const require = __stagelineCreateRequire(import.meta.url);",
        minify: true,
        // Minified but readable stack traces, without paying for source maps
        // (--enable-source-maps slows cold starts and every stack trace).
        keepNames: true,
        sourceMap: false,
        // The AWS SDK is bundled rather than taken from the runtime: the code
        // runs against the exact SDK versions in package-lock.json (the ones
        // the tests ran against), not whatever the runtime ships that week,
        // and the tree-shaken bundle loads faster than the runtime's full SDK.
        externalModules: [],
        // Lambda's credentials are in the environment: the SDK's default chain (SSO, INI, IMDS, web identity,
        // each with nested clients) is replaced by the environment provider (functions/adapters/lambda-credentials.ts).
        esbuildArgs: { '--alias:@aws-sdk/credential-provider-node': path.join(REPO_ROOT, 'functions', 'adapters', 'lambda-credentials.ts') },
        // SDK tracing is decided at build time, so a function that does not trace carries no Tracer (tracing.ts).
        define: { 'process.env.STAGELINE_TRACE_SDK': JSON.stringify(props.traceSdk ? 'true' : 'false') },
        // Twenty "Done in 300ms" lines bury what matters in synth and test output.
        logLevel: LogLevel.WARNING,
      },
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
    );
  }
}
