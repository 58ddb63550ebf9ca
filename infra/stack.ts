/**
 * The Stageline stack: HTTP API -> one Lambda per handler (the read-only handlers of an area share
 * one, FUNCTION_GROUPS) -> one DynamoDB table.
 * Routes, handlers and the table's keys all come from the code (routes.ts,
 * keys.ts), so the infrastructure cannot drift from what the handlers expect.
 *
 * CDK context keys (cdk.json, or `npx cdk deploy -c key=value`):
 *
 *   machinePrincipals  JSON list of {arn (glob), tenant, roles, name?} binding
 *                      IAM (SigV4) callers of the machine routes to a tenant.
 *                      Default '[]' (no machine may call). Example:
 *                      -c machinePrincipals='[{"arn":"arn:aws:sts::123456789012:assumed-role/ci-deploy/*","tenant":"acme","roles":["deployer"]}]'
 *   registryCredentialsSecret
 *                      Name or ARN of a Secrets Manager secret holding
 *                      {"<registry name>": {"username", "password"}} for
 *                      cross-registry promotion. Only the promotion-step
 *                      function may read it. Default: none (public registries).
 *   allowedOrigins     Browser origins allowed by CORS on /api/*, /ofrep/* and /health
 *                      (never the review pages or the dashboard): a comma-separated list
 *                      (or a JSON array in cdk.json), given to the functions as
 *                      CORS_ALLOWED_ORIGINS. Default '*', which is only fine for a dev
 *                      stage; set real origins elsewhere.
 *   reservedConcurrency
 *                      JSON {"api": n, "stream": n, "notifier": n}: caps (reserved
 *                      concurrency) so a flood on the API cannot starve the flow,
 *                      stream and notifier functions, and vice versa. Default none
 *                      (new accounts have too small a pool to reserve from).
 *   traceSdk           true: X-Ray subsegments around every AWS SDK call and
 *                      outbound HTTPS request (Powertools Tracer). Default false:
 *                      Lambda's active tracing only, and no Tracer in the bundles
 *                      (it adds about 120 KiB and 30–50 ms of init to every function).
 *   slackSigningSecret Name or ARN of a Secrets Manager secret whose SecretString is
 *                      the Signing Secret of the deployment's one Slack app (README:
 *                      Slack). Only the two functions serving Slack's request URLs
 *                      may read it. Not under stageline/ (tenants' manifest secrets
 *                      live there). Default: none (Slack buttons and linking answer
 *                      401 "not set up"; messages and review links still work).
 *   notifyFrom         The SES identity (a verified address or domain) approval
 *                      emails come from. Without it, email deliveries are
 *                      recorded as failed with "no email sender is configured".
 */
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { ArnFormat, CfnOutput, Duration, RemovalPolicy, Stack, Tags, Validations, type StackProps } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import {
  HttpApi,
  HttpMethod,
  HttpNoneAuthorizer,
  HttpRoute,
  HttpRouteKey,
  HttpStage,
  CfnStage,
  HttpIntegrationType,
  HttpRouteIntegration,
  IntegrationCredentials,
  PayloadFormatVersion,
  type HttpRouteIntegrationBindOptions,
  type HttpRouteIntegrationConfig,
  LogGroupLogDestination,
  type IHttpRouteAuthorizer,
} from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpIamAuthorizer, HttpJwtAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { DynamoEventSource, SqsDlq } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import { ROLES } from '../domain/auth.ts';
import { AUTO_PROMOTION_TRIGGERS, EVENT_SOURCE } from '../domain/promotion/events.ts';
import { TABLE } from '../functions/adapters/keys.ts';
import { STREAM_FILTER } from '../functions/handlers/stream.ts';
import { NOTIFY_ON } from '../domain/notify/notifier.ts';
import { WEBHOOK_BUS_TYPES } from '../domain/webhooks/model.ts';
import { FUNCTION_GROUPS, FUNCTIONS, functionOf, handlersOf, SELF_AUTHENTICATED, SLACK_HANDLERS, FALLBACK_HANDLER, ROUTES, routeKey, WORKFLOW_HANDLERS, type AuthType } from '../functions/http/routes.ts';
import { HandlerFunction } from './function.ts';
import { mergeGrants, needsOf, OPTIONAL_RESOURCES, type Needs, type Resource } from './adapters.ts';
import { createHash } from 'node:crypto';
import { aslPath, type SubstitutionKey } from './state-machines.ts';
import { storeActions } from './store-actions.ts';

/**
 * DynamoDB actions the store adapter (functions/adapters/store/)
 * issues, derived from its source (infra/store-actions.ts): readers get
 * READ_ACTIONS, writers also WRITE_ACTIONS. Transactions have no IAM action of
 * their own: TransactWriteItems is authorised per item (PutItem, UpdateItem,
 * DeleteItem, ConditionCheckItem). test/infra checks these lists against the
 * commands the adapter actually sends.
 */
export const { read: READ_ACTIONS, write: WRITE_ACTIONS } = storeActions();

export type DataAccess = 'none' | 'read' | 'write';

/** The partition keys a tenant session may touch (IAM policy variable: the session's tenant tag). */
export const TENANT_LEADING_KEYS = 'T#${aws:PrincipalTag/tenant}#*';

/** Name of the custom EventBridge bus the domain events go to (env EVENT_BUS_NAME). */
export const EVENT_BUS_NAME = 'stageline';

/** Functions that need more than the default 10 s. */
/** API throttling: the stage as a whole, and tighter limits on the heavy routes. */
export const API_THROTTLE = { rate: 200, burst: 400, heavyRate: 20, heavyBurst: 40 } as const;
export const HEAVY_ROUTES = ['items-batch', 'promotions-create', 'environments-rollback', 'promotions-rollback', 'promotions-auto-check'];

export const FUNCTION_TIMEOUTS: Partial<Record<string, Duration>> = {
  // One batch writes at most MAX_BATCH_ITEMS (1,000) items; API Gateway gives up at 29 s.
  'items-batch': Duration.seconds(29),
  // Invoked by Step Functions, not API Gateway: execute copies a whole snapshot, or an artifact
  // between registries (blobs up to 5 minutes: the registry adapter's own limit) before it commits.
  'promotion-step': Duration.minutes(6),
  // Outbound webhooks: every matching subscription of an event at once, each attempt bounded at 10 s.
  'webhook-deliver': Duration.seconds(30),
  // Publishing tags the version in the first environment's registries (and copies it to any but the first).
  'artifacts-publish': Duration.seconds(29),
  // Discovery publishes the same way (tags in the first environment's registries).
  'registry-push': Duration.seconds(60),
  'registry-notifications': Duration.seconds(29),
  // A stream batch: up to 100 records, relayed and linked into chains.
  stream: Duration.seconds(60),
};

/** API functions with grants of their own (audit anchor, the Cognito directory, registry credentials): they keep their own execution role. */
const OWN_ROLE = new Set<string>(['audit-verify', 'audit-export', 'manifest-apply', 'artifacts-publish', ...SELF_AUTHENTICATED, 'webhooks-create', 'webhooks-rotate', 'webhooks-delete', 'webhooks-redeliver']);

/** How long a signed audit checkpoint is kept immutable (S3 Object Lock, compliance mode). */
export const CHECKPOINT_RETENTION_DAYS = 3650;

/** Functions behind app-key routes (auth 'app'): they write an app key's last-used time, nothing else. */
const servesAppKeys = (fn: string) => ROUTES.some((r) => r.auth === 'app' && handlersOf(fn).includes(r.handler));

const isWorkflowHandler = (handler: string) => (WORKFLOW_HANDLERS as readonly string[]).includes(handler);

/**
 * What a handler may do to the table, derived from the route table: a handler
 * whose routes need no role (health, and the $default fallback that has no
 * route) touches no data; one that only serves `viewer` routes only reads;
 * anything needing deployer/approver/admin may write. State machine tasks
 * (WORKFLOW_HANDLERS, no route) move promotions along, so they write.
 */
/**
 * Functions that create promotions and steer flows: the write routes, the auto-promoter, and
 * schedule-fire (a scheduled auto-promotion check may create a promotion).
 */
export function startsFlows(handler: string): boolean {
  if (NO_FLOWS.has(handler)) return false;
  return dataAccessOf(handler) === 'write' && (!isWorkflowHandler(handler) || handler === 'auto-promote' || handler === 'schedule-fire');
}

/** Write routes that never touch a promotion's flow (webhook subscriptions, git targets): no state machine or schedule grants. */
const NO_FLOWS = new Set(['webhooks-create', 'webhooks-update', 'webhooks-delete', 'webhooks-rotate', 'webhooks-redeliver', 'git-target', 'git-target-put']);

export function dataAccessOf(handler: string): DataAccess {
  if (isWorkflowHandler(handler) || (SELF_AUTHENTICATED as readonly string[]).includes(handler)) return 'write';
  const members = handlersOf(handler);
  const roles = ROUTES.filter((r) => members.includes(r.handler)).map((r) => r.role);
  if (roles.every((r) => r === null)) return 'none';
  return roles.every((r) => r === null || r === 'viewer') ? 'read' : 'write';
}

/** What makes two handlers' functions differ; a function group's members must agree on all of it. */
const functionProfile = (handler: string) =>
  JSON.stringify({
    access: dataAccessOf(handler),
    flows: startsFlows(handler),
    ownRole: OWN_ROLE.has(handler),
    iam: ROUTES.some((r) => r.handler === handler && r.auth === 'iam'),
    timeout: FUNCTION_TIMEOUTS[handler]?.toSeconds() ?? null,
    heavy: HEAVY_ROUTES.includes(handler),
    workflow: isWorkflowHandler(handler),
  });

/** Refuses a function group whose members would need different permissions or settings (least privilege holds per function). */
export function checkFunctionGroups(): void {
  for (const [group, members] of Object.entries(FUNCTION_GROUPS)) {
    const profiles = new Set(members.map(functionProfile));
    if (profiles.size !== 1) throw new Error(`Function group ${group} mixes handlers with different permissions or settings: ${members.map((m) => `${m} ${functionProfile(m)}`).join('; ')}`);
  }
}

interface MachinePrincipal {
  arn: string;
  tenant: string;
  roles: string[];
  name?: string;
}

/** Same rule as functions/http/principal.ts applies at runtime. */
const TENANT = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

/**
 * Fails the synth, not every machine request after deploy, when the list is
 * malformed. Mirrors the runtime schema in functions/http/principal.ts.
 */
function machinePrincipalsFrom(raw: unknown): MachinePrincipal[] {
  let value: unknown;
  try {
    value = typeof raw === 'string' ? JSON.parse(raw) : (raw ?? []);
  } catch {
    value = undefined; // reported below, naming the context key
  }
  const ok =
    Array.isArray(value) &&
    value.every(
      (m: Partial<MachinePrincipal> | null) =>
        !!m &&
        typeof m.arn === 'string' &&
        m.arn.length > 0 &&
        typeof m.tenant === 'string' &&
        TENANT.test(m.tenant) &&
        (m.name === undefined || typeof m.name === 'string') &&
        Array.isArray(m.roles) &&
        m.roles.length > 0 &&
        m.roles.every((r) => (ROLES as readonly string[]).includes(r)),
    );
  if (!ok) {
    throw new Error(`context machinePrincipals must be a JSON list of {arn, tenant, roles: (${ROLES.join('|')})[], name?}; got ${JSON.stringify(raw)}`);
  }
  return value as MachinePrincipal[];
}

/** A boolean context value: true/false, or the strings 'true'/'false' (`-c key=true`); anything else fails the synth. */
export function flagFrom(raw: unknown, key: string): boolean {
  if (raw === undefined || raw === false || raw === 'false') return false;
  if (raw === true || raw === 'true') return true;
  throw new Error(`context ${key} must be true or false; got ${JSON.stringify(raw)}`);
}

/** `-c reservedConcurrency='{"api":20,"stream":2,"notifier":5}'`: per-function caps; unknown keys or non-positive numbers fail the synth. */
function concurrencyFrom(raw: unknown): Partial<Record<'api' | 'stream' | 'notifier' | 'promotion-step' | 'schedule-fire' | 'auto-promote', number>> {
  if (raw === undefined || raw === null) return {};
  const value = typeof raw === 'string' ? JSON.parse(raw) : raw;
  const keys = ['api', 'stream', 'notifier', 'promotion-step', 'schedule-fire', 'auto-promote'];
  if (!value || typeof value !== 'object' || Object.entries(value).some(([k, v]) => !keys.includes(k) || !Number.isInteger(v) || (v as number) < 1)) {
    throw new Error(`context reservedConcurrency must be a JSON object of positive integers keyed by ${keys.join(', ')}; got ${JSON.stringify(raw)}`);
  }
  return value;
}

function originsFrom(raw: unknown): string[] {
  if (raw === undefined || raw === null) return ['*'];
  const list = Array.isArray(raw) ? raw.map(String) : String(raw).split(',');
  const origins = list.map((o) => o.trim()).filter(Boolean);
  return origins.length ? origins : ['*'];
}

/** The CORS helper: a bundle holding it reads CORS_ALLOWED_ORIGINS (configuration, not an AWS resource: outside infra/adapters.ts, so shared roles are unchanged). */
const CORS_MODULE = 'functions/http/cors.ts';

const upperFirst = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);
const pascal = (name: string) => name.split('-').map(upperFirst).join('');

export class StagelineStack extends Stack {
  readonly table: dynamodb.Table;
  readonly userPool: cognito.UserPool;
  readonly userPoolClient: cognito.UserPoolClient;
  readonly api: HttpApi;
  readonly functions = new Map<string, HandlerFunction>();
  readonly eventBus: events.EventBus;
  /** Runs promotions and rollbacks alike (a rollback is a promotion record with `rollback` set). */
  readonly promotionStateMachine: sfn.StateMachine;

  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);

    const machinePrincipals = machinePrincipalsFrom(this.node.tryGetContext('machinePrincipals'));
    const allowedOrigins = originsFrom(this.node.tryGetContext('allowedOrigins'));

    // ---- data: the single table, built from the same definition the adapter and local stack use
    this.table = new dynamodb.Table(this, 'Table', {
      partitionKey: { name: TABLE.partitionKey, type: dynamodb.AttributeType.STRING },
      sortKey: { name: TABLE.sortKey, type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      timeToLiveAttribute: TABLE.ttlAttribute,
      // One consumer (the stream function) links audit entries and relays outbox events.
      stream: dynamodb.StreamViewType.NEW_IMAGE,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      // The audit trail lives here: neither a stack deletion nor a console
      // click may take the data with it.
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    for (const index of TABLE.indexes) {
      this.table.addGlobalSecondaryIndex({
        indexName: index.name,
        partitionKey: { name: index.partitionKey, type: dynamodb.AttributeType.STRING },
        sortKey: { name: index.sortKey, type: dynamodb.AttributeType.STRING },
        projectionType: dynamodb.ProjectionType.INCLUDE,
        nonKeyAttributes: [...index.projected],
      });
    }

    // ---- identity: users, their tenant (custom:tenant_id) and roles (groups)
    this.userPool = new cognito.UserPool(this, 'Users', {
      // Admins create users: with self sign-up a user would choose their own
      // custom:tenant_id at sign-up, i.e. pick which tenant they belong to.
      selfSignUpEnabled: false,
      signInAliases: { email: true },
      // Alice@x and alice@x are one person: separation of duties compares normalised identities.
      signInCaseSensitive: false,
      autoVerify: { email: true },
      standardAttributes: { email: { required: true, mutable: true } },
      customAttributes: {
        // Immutable: moving a user to another tenant means a new user, so a
        // token can never carry a tenant its subject was not created in.
        tenant_id: new cognito.StringAttribute({ minLen: 1, maxLen: 64, mutable: false }),
      },
      passwordPolicy: {
        minLength: 12,
        requireLowercase: true,
        requireUppercase: true,
        requireDigits: true,
        requireSymbols: true,
        tempPasswordValidity: Duration.days(3),
      },
      mfa: cognito.Mfa.OPTIONAL,
      mfaSecondFactor: { otp: true, sms: false },
      accountRecovery: cognito.AccountRecovery.EMAIL_ONLY,
      featurePlan: cognito.FeaturePlan.ESSENTIALS,
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    Validations.of(this.userPool).acknowledge(
      {
        id: 'AwsSolutions-COG2',
        reason:
          'MFA is optional: TOTP (no SMS) is available to every user, but not forced, to keep onboarding of admin-created users and automated test users simple. Set Mfa.REQUIRED for production pools if policy demands.',
      },
      {
        id: 'AwsSolutions-COG8',
        reason:
          'The Plus tier (threat protection) is billed per monthly active user; Essentials is the cost baseline for this service. Revisit for production tenants.',
      },
    );

    // Groups are the roles the handlers check (cognito:groups claim).
    // Precedence only matters for IAM role mapping; lower = more privileged.
    ROLES.forEach((role, i) => {
      new cognito.CfnUserPoolGroup(this, `Group${upperFirst(role)}`, {
        userPoolId: this.userPool.userPoolId,
        groupName: role,
        description: `Stageline ${role}`,
        precedence: ROLES.length - i,
      });
    });

    this.userPoolClient = this.userPool.addClient('Client', {
      // Public client (CLI, browser): no secret; SRP keeps the password off the wire.
      generateSecret: false,
      authFlows: { userSrp: true },
      // No hosted UI domain in this stack, so no OAuth flows to configure.
      disableOAuth: true,
      preventUserExistenceErrors: true,
      idTokenValidity: Duration.hours(1),
      accessTokenValidity: Duration.hours(1),
      refreshTokenValidity: Duration.days(30),
      readAttributes: new cognito.ClientAttributes()
        .withStandardAttributes({ email: true, emailVerified: true })
        .withCustomAttributes('tenant_id'),
      // Never custom:tenant_id: a user must not be able to rewrite their tenant.
      writeAttributes: new cognito.ClientAttributes().withStandardAttributes({ email: true }),
    });

    // ---- domain events: every function that writes may publish to this bus
    this.eventBus = new events.EventBus(this, 'EventBus', { eventBusName: EVENT_BUS_NAME, description: 'Stageline domain events' });

    // ---- the key that seals tenant secrets (webhook gate secrets) before they reach the table
    const secretsKey = new secretsmanager.Secret(this, 'SecretsKey', {
      description: 'Stageline: key material sealing tenant webhook secrets at rest (AES-256-GCM over SHA-256 of this value)',
      generateSecretString: { passwordLength: 64, excludePunctuation: true },
    });
    Validations.of(secretsKey).acknowledge({ id: 'AwsSolutions-SMG4', reason: 'Rotating this key would need re-sealing every stored webhook secret; rotation is a planned operation, not automatic.' });

    // ---- functions: one per handler in the route table (plus the $default fallback) or per
    // group of read-only handlers (FUNCTION_GROUPS), and one per state machine task (WORKFLOW_HANDLERS, no route)
    const handlerLogs = new logs.LogGroup(this, 'HandlerLogs', { retention: logs.RetentionDays.ONE_MONTH });
    const concurrency = concurrencyFrom(this.node.tryGetContext('reservedConcurrency'));
    const traceSdk = flagFrom(this.node.tryGetContext('traceSdk'), 'traceSdk');
    // API functions reach the table only through these roles, assumed per request tenant (functions/http/deps.ts depsFor).
    const tenantRoles = { read: this.tenantDataRole('TenantReadRole', READ_ACTIONS), write: this.tenantDataRole('TenantWriteRole', [...READ_ACTIONS, ...WRITE_ACTIONS]) };
    // App-key readers (routes with auth 'app'): the read role, plus writing one attribute, an app key's lastUsedAt.
    const appReadRole = this.tenantDataRole('TenantAppReadRole', READ_ACTIONS);
    appReadRole.addToPolicy(
      new iam.PolicyStatement({
        actions: ['dynamodb:UpdateItem'],
        resources: [this.table.tableArn],
        conditions: {
          'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [TENANT_LEADING_KEYS] },
          'ForAllValues:StringEquals': { 'dynamodb:Attributes': ['pk', 'sk', 'lastUsedAt'] },
          StringEqualsIfExists: { 'dynamodb:ReturnValues': 'NONE' },
        },
      }),
    );
    // API functions with exactly the same permissions share one execution role (by data access and
    // whether they start flows); those with grants of their own (audit anchor, Cognito directory) keep
    // theirs. Same least privilege, about a hundred fewer CloudFormation resources.
    const sharedRoles = new Map<string, iam.Role>();
    const roleFor = (name: string, needs: Needs): iam.Role | undefined => {
      if (isWorkflowHandler(name) || OWN_ROLE.has(name)) return undefined;
      // App-key readers get a role of their own: only they may assume the app-read tenant role.
      const what = JSON.stringify({ env: [...needs.env].sort(), grants: needs.grants });
      const key = `${dataAccessOf(name)}${servesAppKeys(name) ? '-app-keys' : ''}-${createHash('sha256').update(what).digest('hex').slice(0, 8)}`;
      let role = sharedRoles.get(key);
      if (!role) {
        role = new iam.Role(this, `ApiRole${pascal(key)}`, {
          description: `Stageline API functions: ${dataAccessOf(name)} (shared by functions whose bundles need exactly the same)`,
          assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
          managedPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName('service-role/AWSLambdaBasicExecutionRole')],
        });
        Validations.of(role).acknowledge(
          { id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]', reason: 'AWSLambdaBasicExecutionRole only grants logs:CreateLogGroup/CreateLogStream/PutLogEvents, which every function needs to write its own logs.' },
          { id: 'AwsSolutions-IAM5[Resource::*]', reason: 'Only the X-Ray statement added by `tracing: ACTIVE` uses "*": xray:PutTraceSegments and xray:PutTelemetryRecords support no resource-level permissions.' },
        );
        sharedRoles.set(key, role);
      }
      return role;
    };
    // What each function's bundle needs (infra/adapters.ts), granted once every resource exists (below).
    const needsByFunction = new Map<string, Needs>();
    checkFunctionGroups();
    for (const name of FUNCTIONS) {
      const access = dataAccessOf(name);
      const bundle = HandlerFunction.bundle(this, name, traceSdk);
      const needs = needsOf(bundle);
      needsByFunction.set(name, needs);
      const fn = new HandlerFunction(this, pascal(name), {
        name,
        bundle,
        role: roleFor(name, needs),
        logGroup: handlerLogs,
        traceSdk,
        tableName: this.table.tableName,
        timeout: FUNCTION_TIMEOUTS[name],
        reservedConcurrency: isWorkflowHandler(name) ? concurrency[name as keyof typeof concurrency] : access === 'none' ? undefined : concurrency.api,
        environment: {
          // Only the handler behind the IAM (machine) route resolves IAM callers.
          ...(ROUTES.some((r) => functionOf(r.handler) === name && r.auth === 'iam') ? { MACHINE_PRINCIPALS: JSON.stringify(machinePrincipals) } : {}),
          // Functions holding the CORS helper answer browsers of these origins on the paths open to them (functions/http/cors.ts).
          ...(bundle.modules.has(CORS_MODULE) ? { CORS_ALLOWED_ORIGINS: allowedOrigins.join(',') } : {}),
        },
      });
      // Background functions (flows, stream, notifier) serve every tenant: direct access. API functions: the tenant fence.
      if (isWorkflowHandler(name)) this.grantData(fn, access);
      else if (access !== 'none') Tags.of(fn.fn.role!).add('stageline-api', 'true');
      this.functions.set(name, fn);
    }

    // ---- the table's one stream consumer: links audit entries into each tenant's chain and signs
    // checkpoints outside the table; relays outbox events (written in the change's own transaction) to the bus
    const streamFn = this.functions.get('stream')!.fn;
    // Asymmetric, so an auditor verifies checkpoints with the public key alone (GET /api/v1/audit/public-key).
    const auditKey = new kms.Key(this, 'AuditCheckpointKey', {
      description: 'Stageline: ECDSA P-256 key signing audit chain checkpoints (only the stream consumer may sign; anyone may verify with its public key)',
      keySpec: kms.KeySpec.ECC_NIST_P256,
      keyUsage: kms.KeyUsage.SIGN_VERIFY,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const checkpointLogs = new s3.Bucket(this, 'CheckpointAccessLogs', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      encryption: s3.BucketEncryption.S3_MANAGED,
      removalPolicy: RemovalPolicy.RETAIN,
      lifecycleRules: [{ expiration: Duration.days(365) }],
    });
    Validations.of(checkpointLogs).acknowledge({ id: 'AwsSolutions-S1', reason: 'This bucket receives the server access logs of the checkpoint bucket; logging it too would recurse.' });
    const checkpoints = new s3.Bucket(this, 'AuditCheckpoints', {
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
    // The anchor's grants (sign, verify, append, list) follow the calls each bundle makes (infra/adapters.ts):
    // only the consumer signs and appends (put only: never delete, never read back); verify and export list.
    const streamDlq = this.deadLetters('StreamDlq', 'the on-failure destination of the stream consumer');
    streamFn.addEventSource(
      new DynamoEventSource(this.table, {
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

    // ---- the promotion flow: statemachines/promotion.asl.json, every task
    // calling the promotion-step function; rollbacks are executions of it too
    const stepFn = this.functions.get('promotion-step')!.fn;
    const substitutions: Record<SubstitutionKey<'promotion'>, string> = { PromotionStepFunctionArn: stepFn.functionArn };
    const promotionLogs = new logs.LogGroup(this, 'PromotionStateMachineLogs', { retention: logs.RetentionDays.THREE_MONTHS });
    // Registry credentials for cross-registry promotion live in a secret, never in requests or code.
    const registrySecretId = this.node.tryGetContext('registryCredentialsSecret') as string | undefined;
    // The promotion step copies and tags; publishing tags in the first environment's registries (both bundle the adapter).
    const registrySecret = registrySecretId
      ? registrySecretId.startsWith('arn:')
        ? secretsmanager.Secret.fromSecretCompleteArn(this, 'RegistryCredentials', registrySecretId)
        : secretsmanager.Secret.fromSecretNameV2(this, 'RegistryCredentials', registrySecretId)
      : undefined;
    // One Standard state machine for promotions and rollbacks (STATE_MACHINES), every
    // task calling the promotion-step function. Named, so the step function can be
    // granted on its ARN without a dependency cycle (machine -> function ARN ->
    // function policy -> machine).
    const machineName = `${this.stackName}-promotion`;
    const machine = new sfn.StateMachine(this, 'PromotionStateMachine', {
      stateMachineName: machineName,
      definitionBody: sfn.DefinitionBody.fromFile(aslPath('promotion')),
      definitionSubstitutions: substitutions,
      // Standard: approvals wait for days, and each step must run exactly once.
      stateMachineType: sfn.StateMachineType.STANDARD,
      // Events only: execution data (inputs/outputs) stays out of the logs.
      logs: { destination: promotionLogs, level: sfn.LogLevel.ALL, includeExecutionData: false },
      tracingEnabled: true,
    });
    // Only the unqualified function ARN the definition invokes (grantInvoke would add `:*`).
    machine.addToRolePolicy(new iam.PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [stepFn.functionArn] }));
    // Functions refer to the machine by its ARN built from the name, never by reference: the machine
    // depends on the step function, and the step's environment names schedule-fire, which starts flows.
    const machineArn = this.formatArn({ service: 'states', resource: 'stateMachine', resourceName: machineName, arnFormat: ArnFormat.COLON_RESOURCE_NAME });
    Validations.of(machine).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'Only the statements CDK adds for `logs` and `tracingEnabled` use "*": the CloudWatch Logs delivery actions (logs:CreateLogDelivery, ...) and xray:PutTraceSegments/PutTelemetryRecords/GetSampling* support no resource-level permissions.',
    });
    this.promotionStateMachine = machine;

    // ---- auto-promotion is evaluated by the system when its inputs change (the local bus has the same rule)
    this.busRule('AutoPromote', 'Evidence, deployments and completed promotions re-evaluate auto-promotion rules', AUTO_PROMOTION_TRIGGERS, this.functions.get('auto-promote')!.fn, 4, Duration.hours(2));

    this.monitorAlarms();
    this.registryPush();

    // ---- scheduled promotions: one-time EventBridge Scheduler schedules
    // (`stageline-<tenant>-<promotion>`, deleted after they run) invoke the
    // schedule-fire function, which resumes the flow parked at its go task.
    const fireFn = this.functions.get('schedule-fire')!.fn;
    // Only this account's schedules (in the group the functions create them in) may use the role: no confused deputy.
    const schedulerRole = new iam.Role(this, 'SchedulerRole', {
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', {
        conditions: {
          StringEquals: { 'aws:SourceAccount': this.account },
          ArnLike: { 'aws:SourceArn': this.formatArn({ service: 'scheduler', resource: 'schedule-group', resourceName: 'default', arnFormat: ArnFormat.SLASH_RESOURCE_NAME }) },
        },
      }),
      description: 'EventBridge Scheduler invoking schedule-fire',
    });
    schedulerRole.addToPolicy(new iam.PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [fireFn.functionArn] }));
    const scheduleArn = this.formatArn({ service: 'scheduler', resource: 'schedule', resourceName: 'default/stageline-*', arnFormat: ArnFormat.SLASH_RESOURCE_NAME });
    // A schedule whose target keeps failing lands here (the scheduler role sends it), and an alarm says so.
    const scheduleDlq = this.deadLetters('ScheduleDlq', 'the dead-letter queue of the one-time schedules');
    scheduleDlq.grantSendMessages(schedulerRole);

    // ---- API
    // Clients send the Cognito *ID* token: it carries custom:tenant_id,
    // cognito:groups and email, and its `aud` is the client id checked here.
    const authorizers: Record<AuthType, IHttpRouteAuthorizer> = {
      jwt: new HttpJwtAuthorizer('CognitoAuthorizer', this.userPool.userPoolProviderUrl, {
        jwtAudience: [this.userPoolClient.userPoolClientId],
      }),
      // HTTP APIs have no resource policy, so IAM callers need execute-api:Invoke
      // in this account; MACHINE_PRINCIPALS then binds them to a tenant.
      iam: new HttpIamAuthorizer(),
      none: new HttpNoneAuthorizer(),
      // App-key routes: the handler checks the key (functions/http/app-read.ts); API Gateway lets them through.
      app: new HttpNoneAuthorizer(),
    };

    this.api = new HttpApi(this, 'Api', {
      apiName: 'stageline',
      description: 'Stageline release promotion API',
      // The default stage is created below, because HttpApi cannot give its
      // own default stage access logging.
      createDefaultStage: false,
      // No corsPreflight: it would open every route (the review pages too) to the allowed origins.
      // The functions answer CORS for the paths meant to be read cross-origin (functions/http/cors.ts):
      // preflights reach the $default fallback, the others get the headers from the HTTP middleware.
    });

    const accessLogs = new logs.LogGroup(this, 'ApiAccessLogs', { retention: logs.RetentionDays.THREE_MONTHS });
    const stage = new HttpStage(this, 'DefaultStage', {
      httpApi: this.api,
      stageName: '$default',
      autoDeploy: true,
      // Stage-wide throttling (per account and region, on top of API Gateway's own limits).
      throttle: { rateLimit: API_THROTTLE.rate, burstLimit: API_THROTTLE.burst },
      accessLogSettings: {
        destination: new LogGroupLogDestination(accessLogs),
        // JSON, one line per request; every value quoted because API Gateway
        // writes "-" for missing numbers. Caller = JWT subject or IAM ARN.
        format: AccessLogFormat.custom(
          JSON.stringify({
            requestId: '$context.requestId',
            time: '$context.requestTime',
            ip: '$context.identity.sourceIp',
            method: '$context.httpMethod',
            path: '$context.path',
            routeKey: '$context.routeKey',
            status: '$context.status',
            latencyMs: '$context.responseLatency',
            integrationLatencyMs: '$context.integrationLatency',
            responseLength: '$context.responseLength',
            sub: '$context.authorizer.claims.sub',
            iamArn: '$context.identity.userArn',
            authorizerError: '$context.authorizer.error',
            integrationError: '$context.integrationErrorMessage',
          }),
        ),
      },
    });
    // Heavier routes get tighter limits of their own (a 10k-item batch, promotion requests, rollbacks).
    // routeSettings is passed to CloudFormation as written, hence its PascalCase keys.
    const cfnStage = stage.node.defaultChild as CfnStage;
    cfnStage.routeSettings = Object.fromEntries(
      ROUTES.filter((r) => HEAVY_ROUTES.includes(r.handler)).map((r) => [routeKey(r), { ThrottlingRateLimit: API_THROTTLE.heavyRate, ThrottlingBurstLimit: API_THROTTLE.heavyBurst }]),
    );

    // API Gateway invokes the functions with one role (the integrations' credentials) instead of a
    // resource-based permission on each function: ~60 fewer resources, and the grant lists exactly the
    // functions routes reach.
    const invokeRole = new iam.Role(this, 'ApiInvokeRole', {
      assumedBy: new iam.ServicePrincipal('apigateway.amazonaws.com', { conditions: { StringEquals: { 'aws:SourceAccount': this.account } } }),
      description: 'API Gateway invokes the API functions with this role',
    });
    const invokable = new Set<string>();
    const integrations = new Map<string, RoleInvokedLambda>();
    const integrationOf = (handler: string) => {
      const name = functionOf(handler);
      let integration = integrations.get(name);
      if (!integration) {
        const fn = this.functions.get(name)!.fn;
        if (!invokable.has(name)) {
          invokable.add(name);
          invokeRole.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [fn.functionArn] }));
        }
        integration = new RoleInvokedLambda(`${pascal(name)}Integration`, fn.functionArn, invokeRole);
        integrations.set(name, integration);
      }
      return integration;
    };

    const routesByKey = new Map<string, HttpRoute>();
    for (const route of ROUTES) {
      const [created] = this.api.addRoutes({
        path: route.path,
        methods: [HttpMethod[route.method]],
        integration: integrationOf(route.handler),
        authorizer: authorizers[route.auth],
      });
      routesByKey.set(routeKey(route), created!);
      if (route.auth === 'none' || route.auth === 'app') {
        Validations.of(created!).acknowledge({
          id: 'AwsSolutions-APIG4',
          reason: route.auth === 'app'
            ? `${route.method} ${route.path} authenticates an app key in the function (Bearer or X-API-Key; only the SHA-256 of its secret is stored, checked in constant time against a consistent read of the key record).`
            : (SELF_AUTHENTICATED as readonly string[]).includes(route.handler)
            ? `${route.method} ${route.path} authenticates in the function (${route.summary}): a single-use link token whose hash is stored, Slack's request signature, or a registry link's token whose hash is stored.`
            : `${route.method} ${route.path} is public on purpose (${route.summary}); it reads no tenant data.`,
        });
      }
    }

    // Whatever no route matches: the fallback answers 404 or 405 (with Allow)
    // from the same route table. It must be unauthenticated, or API Gateway
    // would answer 401 for a typo'd path.
    const fallback = new HttpRoute(this, 'DefaultRoute', {
      httpApi: this.api,
      routeKey: HttpRouteKey.DEFAULT,
      integration: integrationOf(FALLBACK_HANDLER),
      authorizer: authorizers.none,
    });
    // The stage names routes by key in its RouteSettings: API Gateway refuses the stage unless those
    // routes exist already, so CloudFormation must create them first.
    for (const key of Object.keys(cfnStage.routeSettings as Record<string, unknown>)) {
      const route = routesByKey.get(key);
      if (!route) throw new Error(`the stage throttles ${key}, which is no route`);
      cfnStage.node.addDependency(route);
    }
    Validations.of(fallback).acknowledge({
      id: 'AwsSolutions-APIG4',
      reason: 'The $default route only returns 404/405 computed from the static route table; it reads no data and has no table permissions.',
    });

    // ---- notifications: the notifier behind one bus rule (retries with backoff, then a DLQ); Slack over
    // the outbound guard, email through SES v2 from a verified identity; Cognito is the directory of approvers
    const notifierFn = this.functions.get('notifier')!.fn;
    this.busRule('Notify', 'Approval requests, decisions, outcomes and break-glass uses go to Slack and email', NOTIFY_ON, notifierFn, 8, Duration.hours(6));
    notifierFn.addEnvironment('PUBLIC_URL', stage.url.replace(/\/$/, ''));
    const notifyFrom = this.node.tryGetContext('notifyFrom') as string | undefined;

    // ---- what each function's bundle needs (infra/adapters.ts): its environment and IAM, nothing else
    // The deployment's one Slack app: its signing secret is deployment configuration, read only by
    // the function behind Slack's request URLs (its bundle holds functions/adapters/slack-app.ts).
    const slackSecretId = this.node.tryGetContext('slackSigningSecret') as string | undefined;
    if (slackSecretId && (/^stageline\//.test(slackSecretId) || /:secret:stageline\//.test(slackSecretId))) {
      throw new Error(`slackSigningSecret '${slackSecretId}': name it outside stageline/ (tenants' manifest secrets live there, and manifest apply may read stageline/*)`);
    }
    const slackSecret = slackSecretId
      ? slackSecretId.startsWith('arn:')
        ? { value: slackSecretId, arns: [slackSecretId] }
        : { value: slackSecretId, arns: [this.formatArn({ service: 'secretsmanager', resource: 'secret', resourceName: `${slackSecretId}-??????`, arnFormat: ArnFormat.COLON_RESOURCE_NAME })] }
      : undefined;
    const deliverFn = this.functions.get('webhook-deliver')!.fn;
    const provided: Record<Resource, ((fn: string) => { value?: string; arns: string[]; nag?: string; why?: string }) | undefined> = {
      promotionMachine: () => ({ value: machineArn, arns: [machineArn] }),
      stagelineSchedules: () => ({
        arns: [scheduleArn],
        nag: 'arn:<AWS::Partition>:scheduler:<AWS::Region>:<AWS::AccountId>:schedule/default/stageline-*',
        why: 'Schedules are made per promotion at run time (stageline-…, AWS names in domain/aws-names.ts), so their names are not known at deploy time; the prefix confines the function to Stageline schedules in the default group.',
      }),
      schedulerRole: () => ({ value: schedulerRole.roleArn, arns: [schedulerRole.roleArn] }),
      // schedule-fire re-arms sweeps to itself: it takes its own ARN from the invocation (as an environment value it would be a cycle).
      scheduleTarget: (fn) => (fn === 'schedule-fire' ? { arns: [] } : { value: fireFn.functionArn, arns: [fireFn.functionArn] }),
      scheduleDlq: () => ({ value: scheduleDlq.queueArn, arns: [scheduleDlq.queueArn] }),
      eventBus: () => ({ value: this.eventBus.eventBusName, arns: [this.eventBus.eventBusArn] }),
      auditKey: () => ({ value: auditKey.keyArn, arns: [auditKey.keyArn] }),
      checkpointBucket: () => ({ value: checkpoints.bucketName, arns: [checkpoints.bucketArn] }),
      checkpointObjects: () => ({
        arns: [checkpoints.arnForObjects('checkpoints/*')],
        nag: '<AuditCheckpoints2FBCE690.Arn>/checkpoints/*',
        why: 'One object per checkpoint, named by tenant and sequence at run time; the prefix confines the consumer to checkpoint objects, and Object Lock makes each write-once.',
      }),
      secretsKey: () => ({ value: secretsKey.secretArn, arns: [secretsKey.secretArn] }),
      tenantSecrets: () => ({
        arns: [this.formatArn({ service: 'secretsmanager', resource: 'secret', resourceName: 'stageline/*', arnFormat: ArnFormat.COLON_RESOURCE_NAME })],
        nag: 'arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:secret:stageline/*',
        why: "Tenants name their secrets in manifests (stageline/<tenant>/<NAME>); the function asks only for its verified tenant's.",
      }),
      registrySecret: registrySecret ? () => ({ value: registrySecret.secretArn, arns: [registrySecret.secretArn] }) : undefined,
      userPool: () => ({ value: this.userPool.userPoolId, arns: [this.userPool.userPoolArn] }),
      // App-key routes pass the gateway unauthenticated: their function checks people's ID tokens as the JWT authorizer would.
      jwtIssuer: () => ({ value: this.userPool.userPoolProviderUrl, arns: [] }),
      jwtAudience: () => ({ value: this.userPoolClient.userPoolClientId, arns: [] }),
      slackSigningSecret: slackSecret ? () => slackSecret : undefined,
      monitoredAlarms: () => ({
        arns: [this.formatArn({ service: 'cloudwatch', resource: 'alarm', resourceName: '*', arnFormat: ArnFormat.COLON_RESOURCE_NAME })],
        nag: 'arn:<AWS::Partition>:cloudwatch:<AWS::Region>:<AWS::AccountId>:alarm:*',
        why: 'Monitors are alarm ARNs tenants list at run time (refused unless of this account and region); DescribeAlarms only reads their state.',
      }),
      deploymentRegion: () => ({ value: this.region, arns: [] }),
      // The delivery function schedules its retries to itself: its own ARN from the invocation (as an environment value it would be a cycle).
      webhookTarget: (fn) => (fn === 'webhook-deliver' ? { arns: [] } : { value: deliverFn.functionArn, arns: [deliverFn.functionArn] }),
      webhookSecrets: () => ({
        arns: [this.formatArn({ service: 'secretsmanager', resource: 'secret', resourceName: 'stageline/*/webhooks/*', arnFormat: ArnFormat.COLON_RESOURCE_NAME })],
        nag: 'arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:secret:stageline/*/webhooks/*',
        why: "One secret per subscription, named by tenant and subscription at run time; the function touches only its verified tenant's.",
      }),
      emailIdentity: notifyFrom
        ? () => {
            const domain = notifyFrom.includes('@') ? notifyFrom.split('@')[1]! : notifyFrom;
            return { value: notifyFrom, arns: [...new Set([domain, notifyFrom])].map((id) => this.formatArn({ service: 'ses', resource: 'identity', resourceName: id })) };
          }
        : undefined,
      tenantDataRole: (fn) => {
        // App-key readers assume the app-read role (reads, plus an app key's lastUsedAt); only they may.
        const role = dataAccessOf(fn) === 'write' ? tenantRoles.write : servesAppKeys(fn) ? appReadRole : tenantRoles.read;
        return { value: role.roleArn, arns: [role.roleArn] };
      },
    };
    const granted = new Set<iam.IRole>();
    for (const [name, needs] of needsByFunction) {
      const fn = this.functions.get(name)!.fn;
      const resolve = (r: Resource) => {
        const make = provided[r];
        if (!make && !OPTIONAL_RESOURCES.has(r)) throw new Error(`${name} needs ${r}, which the stack does not provide (infra/adapters.ts)`);
        return make?.(name);
      };
      for (const [key, r] of needs.env) {
        const value = resolve(r)?.value;
        if (value !== undefined) fn.addEnvironment(key, value);
      }
      // A shared role is granted once (its functions need exactly the same).
      if (granted.has(fn.role!)) continue;
      granted.add(fn.role!);
      for (const g of mergeGrants(needs.grants)) {
        const target = resolve(g.on);
        if (!target || target.arns.length === 0) continue;
        fn.addToRolePolicy(new iam.PolicyStatement({ actions: g.actions, resources: target.arns, ...(g.condition ? { conditions: g.condition } : {}) }));
        if (target.nag) {
          const where = isWorkflowHandler(name) || OWN_ROLE.has(name) ? fn : fn.role!;
          Validations.of(where).acknowledge({ id: `AwsSolutions-IAM5[Resource::${target.nag}]`, reason: target.why! });
        }
      }
    }
    // ---- outbound webhooks (domain/webhooks): the delivery function behind its own bus rule; retries and redeliveries are
    // one-time schedules invoking it (their env and IAM, and the signing secrets' grants, come from infra/adapters.ts)
    this.busRule('Webhooks', "Domain events go to the tenants' webhook subscriptions (Standard Webhooks)", WEBHOOK_BUS_TYPES, deliverFn, 8, Duration.hours(6));
    schedulerRole.addToPolicy(new iam.PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [deliverFn.functionArn] }));
    // ---- someone is told: alarms to one SNS topic (subscribe an address with -c alarmEmail=…)
    const alarmTopic = new sns.Topic(this, 'AlarmTopic', { displayName: 'Stageline alarms', enforceSSL: true });
    Validations.of(alarmTopic).acknowledge({ id: 'AwsSolutions-SNS2', reason: 'CloudWatch alarms cannot publish to a topic encrypted with the AWS-managed SNS key; alarm messages carry no tenant data.' });
    const alarmEmail = this.node.tryGetContext('alarmEmail') as string | undefined;
    if (alarmEmail) new sns.Subscription(this, 'AlarmEmail', { topic: alarmTopic, protocol: sns.SubscriptionProtocol.EMAIL, endpoint: alarmEmail });
    const alarm = (id: string, description: string, metric: cloudwatch.IMetric, threshold = 1) => {
      const a = new cloudwatch.Alarm(this, id, { alarmDescription: description, metric, threshold, evaluationPeriods: 1, comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD, treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING });
      a.addAlarmAction(new cwActions.SnsAction(alarmTopic));
      return a;
    };
    const five = Duration.minutes(5);
    alarm('PromotionExecutionsFailedAlarm', 'A promotion or rollback execution failed or timed out', new cloudwatch.MathExpression({ expression: 'f + t', usingMetrics: { f: machine.metricFailed({ period: five }), t: machine.metricTimedOut({ period: five }) }, period: five }));
    // Account-wide Lambda errors and throttles: deploy Stageline in its own account (or read them per function in the console).
    alarm('FunctionErrorsAlarm', 'Lambda function errors in the account', new cloudwatch.Metric({ namespace: 'AWS/Lambda', metricName: 'Errors', statistic: 'Sum', period: five }), 5);
    alarm('FunctionThrottlesAlarm', 'Lambda throttles in the account', new cloudwatch.Metric({ namespace: 'AWS/Lambda', metricName: 'Throttles', statistic: 'Sum', period: five }));
    alarm('Api5xxAlarm', 'The API answered 5xx', this.api.metricServerError({ period: five, statistic: 'Sum' }));
    for (const [id, q] of Object.entries(this.deadLetterQueues)) alarm(`${id}DepthAlarm`, `Messages in ${id}: something was given up on`, q.metricApproximateNumberOfMessagesVisible({ period: five, statistic: 'Maximum' }));
    alarm('PromotionsStuckAlarm', 'A promotion was stuck past its deadline (its flow was gone) and the sweeper failed it', new cloudwatch.Metric({ namespace: 'Stageline', metricName: 'PromotionsSwept', dimensionsMap: { service: 'stageline' }, statistic: 'Sum', period: five }));
    alarm('StreamLagAlarm', 'The stream consumer is more than 5 minutes behind (audit chain and events wait)', streamFn.metric('IteratorAge', { period: five, statistic: 'Maximum' }), 300_000);
    new CfnOutput(this, 'AlarmTopicArn', { value: alarmTopic.topicArn });

    new CfnOutput(this, 'ApiUrl', { value: stage.url, description: 'Base URL of the HTTP API' });
    new CfnOutput(this, 'UserPoolId', { value: this.userPool.userPoolId });
    new CfnOutput(this, 'UserPoolClientId', { value: this.userPoolClient.userPoolClientId });
    new CfnOutput(this, 'TableName', { value: this.table.tableName });
    new CfnOutput(this, 'PromotionStateMachineArn', { value: this.promotionStateMachine.stateMachineArn });
    new CfnOutput(this, 'EventBusName', { value: this.eventBus.eventBusName });
  }

  /**
   * Least privilege per function: only the item-level actions the adapter
   * uses, on the table and its named indexes (no `index/*` wildcard).
   *
   * Tenant isolation is enforced by the handlers (the tenant comes from the
   * verified principal and prefixes every key). A second, IAM-level fence is
   * possible because every partition key starts with `T#<tenant>#`: a role
   * assumed per tenant with a `dynamodb:LeadingKeys` condition on
   * `T#<tenant>#*` can only touch that tenant's items. We do not assume such
   * a role per request yet.
   */
  /**
   * A role whose DynamoDB access is fenced to one tenant by IAM: `dynamodb:LeadingKeys` must match
   * `T#${aws:PrincipalTag/tenant}#*` (every partition key, index keys included, starts so). Only this
   * stack's API function roles (tagged stageline-api) may assume it, and only with a tenant session tag.
   */
  private tenantDataRole(id: string, actions: string[]): iam.Role {
    const role = new iam.Role(this, id, {
      description: 'Stageline API functions: table access fenced to the tenant in the session tag',
      assumedBy: new iam.AccountPrincipal(this.account).withSessionTags().withConditions({
        StringEquals: { 'aws:PrincipalTag/stageline-api': 'true' },
        StringLike: { 'aws:RequestTag/tenant': '?*' },
      }),
      maxSessionDuration: Duration.hours(1),
    });
    const indexArns = TABLE.indexes.map((i) => `${this.table.tableArn}/index/${i.name}`);
    role.addToPolicy(
      new iam.PolicyStatement({
        actions,
        resources: [this.table.tableArn, ...indexArns],
        conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [TENANT_LEADING_KEYS] } },
      }),
    );
    return role;
  }

  /**
   * Monitors (domain/monitors.ts): the promotion step reads the alarms before executing
   * (cloudwatch:DescribeAlarms on this account's and region's alarms only), the environment
   * functions learn the account and region monitors must be in, and a rule on the default bus
   * sends CloudWatch's own alarm state changes (to ALARM, alarms of this account and region) to
   * alarm-state, which rolls back what bakes under them (table access only, like the other
   * background functions; it starts no flow: the running one finds the promotion failed).
   */
  private monitorAlarms(): void {
    // DescribeAlarms (the step, on this account's and region's alarms) comes from infra/adapters.ts (cloudwatch-alarms).
    for (const handler of ['environments-create', 'environments-update', 'promotion-step']) {
      const fn = this.functions.get(functionOf(handler))!.fn;
      fn.addEnvironment('DEPLOYMENT_ACCOUNT', this.account);
      fn.addEnvironment('DEPLOYMENT_REGION', this.region);
    }
    const dlq = this.awsEventsDlq();
    new events.Rule(this, 'MonitorAlarmsRule', {
      eventBus: events.EventBus.fromEventBusName(this, 'DefaultBus', 'default'),
      description: 'CloudWatch alarms of this account and region going to ALARM: monitored ones roll back what bakes under them',
      eventPattern: {
        source: ['aws.cloudwatch'],
        detailType: ['CloudWatch Alarm State Change'],
        detail: { state: { value: ['ALARM'] } },
      },
      targets: [new targets.LambdaFunction(this.functions.get('alarm-state')!.fn, { deadLetterQueue: dlq, retryAttempts: 4, maxEventAge: Duration.hours(1) })],
    });
  }

  /**
   * Discovery (domain/discovery.ts): a rule on the default bus sends ECR's successful pushes to
   * registry-push, which publishes linked repositories' new tags (table access only, plus the
   * registry credentials secret when configured, as publishing has).
   */
  private registryPush(): void {
    const dlq = this.awsEventsDlq();
    new events.Rule(this, 'RegistryPushRule', {
      eventBus: events.EventBus.fromEventBusName(this, 'DefaultBusEcr', 'default'),
      description: 'ECR image pushes of this account and region: linked repositories publish new versions',
      eventPattern: { source: ['aws.ecr'], detailType: ['ECR Image Action'], detail: { 'action-type': ['PUSH'], result: ['SUCCESS'] } },
      targets: [new targets.LambdaFunction(this.functions.get('registry-push')!.fn, { deadLetterQueue: dlq, retryAttempts: 4, maxEventAge: Duration.hours(2) })],
    });
  }

  private defaultBusDlq?: sqs.Queue;

  /** One dead-letter queue for the targets of the rules on the default bus (AWS services' events: alarms, ECR pushes). */
  private awsEventsDlq(): sqs.Queue {
    return (this.defaultBusDlq ??= this.deadLetters('AwsEventsDlq', 'the dead-letter queue of the rules on the default bus (MonitorAlarms, RegistryPush)'));
  }

  /** An SQS queue that catches what a target could not take (kept 14 days). */
  private deadLetters(id: string, what: string): sqs.Queue {
    const q = new sqs.Queue(this, id, { enforceSSL: true, retentionPeriod: Duration.days(14), encryption: sqs.QueueEncryption.SQS_MANAGED });
    Validations.of(q).acknowledge({ id: 'AwsSolutions-SQS3', reason: `This queue is itself ${what}.` });
    this.deadLetterQueues[id] = q;
    return q;
  }

  /** every DLQ of the stack, each alarmed when it holds a message */
  private readonly deadLetterQueues: Record<string, sqs.Queue> = {};

  /** A rule on the bus sending these detail types to a function, with retries and a DLQ (the local bus has the same rule). */
  private busRule(name: string, description: string, detailTypes: readonly string[], fn: lambda.IFunction, retryAttempts: number, maxEventAge: Duration): void {
    const dlq = this.deadLetters(`${name}Dlq`, `the dead-letter queue of the ${name} rule target`);
    new events.Rule(this, `${name}Rule`, {
      eventBus: this.eventBus,
      description,
      eventPattern: { source: [EVENT_SOURCE], detailType: [...detailTypes] },
      targets: [new targets.LambdaFunction(fn, { deadLetterQueue: dlq, retryAttempts, maxEventAge })],
    });
  }

  private grantData(fn: HandlerFunction, access: DataAccess): void {
    if (access === 'none') return;
    const indexArns = TABLE.indexes.map((i) => `${this.table.tableArn}/index/${i.name}`);
    fn.fn.addToRolePolicy(new iam.PolicyStatement({ actions: READ_ACTIONS, resources: [this.table.tableArn, ...indexArns] }));
    if (access === 'write') {
      fn.fn.addToRolePolicy(new iam.PolicyStatement({ actions: WRITE_ACTIONS, resources: [this.table.tableArn] }));
    }
  }
}

/** A Lambda proxy integration (payload 2.0) that API Gateway invokes with a role rather than through a permission on the function. */
class RoleInvokedLambda extends HttpRouteIntegration {
  constructor(
    id: string,
    private readonly functionArn: string,
    private readonly role: iam.IRole,
  ) {
    super(id);
  }

  bind(_options: HttpRouteIntegrationBindOptions): HttpRouteIntegrationConfig {
    return { type: HttpIntegrationType.AWS_PROXY, uri: this.functionArn, payloadFormatVersion: PayloadFormatVersion.VERSION_2_0, credentials: IntegrationCredentials.fromRole(this.role) };
  }
}
