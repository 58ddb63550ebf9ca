/**
 * THE table of what each AWS adapter needs from the stack: the environment variables it reads and
 * the IAM actions its SDK commands need, on which resource. The stack gives every function exactly
 * the needs of what its bundle contains (infra/bundle.ts: the adapter modules in the bundle, and
 * the port calls its code makes); test/infra/deploy.test.ts checks this table against each
 * adapter's source (every `new XCommand(` and every variable it reads through its accessor in
 * functions/configuration.ts is declared) and the synthesized template against every bundle
 * (nothing missing, nothing extra).
 *
 * Adding an adapter: add one entry here naming its module, the commands it sends and the env it
 * reads (each variable declared in functions/configuration.ts); if it needs a resource the stack
 * does not provide yet, add the resource to `Resource` and provide it in infra/needs.ts
 * (`provided`). Nothing else: no per-function grant.
 */

import type { AdapterDecl, Grant, Need, Resource } from './adapter-types.ts';
import { METRIC_ROLE_CONDITION } from './metric-roles.ts';

export type { AdapterDecl, Grant, Need, Resource } from './adapter-types.ts';

const adapter = (name: string) => `functions/adapters/${name}.ts`;
const on = (resource: Resource, ...actions: string[]): Grant => ({ actions, on: resource });
const SCHEDULE = {
  SCHEDULE_TARGET_ARN: 'scheduleTarget',
  SCHEDULER_ROLE_ARN: 'schedulerRole',
  SCHEDULE_DLQ_ARN: 'scheduleDlq',
  SCHEDULE_GROUP: 'scheduleGroup',
} as const;
/** The scheduler's role may be passed to EventBridge Scheduler only. */
const PASS_SCHEDULER_ROLE: Grant = {
  actions: ['iam:PassRole'],
  on: 'schedulerRole',
  condition: { StringEquals: { 'iam:PassedToService': ['scheduler.amazonaws.com'] } },
};
const SCHEDULE_WRITE = [on('stagelineSchedules', 'scheduler:CreateSchedule'), PASS_SCHEDULER_ROLE];
const SCHEDULE_UPDATE = [on('stagelineSchedules', 'scheduler:UpdateSchedule'), PASS_SCHEDULER_ROLE];
const schedules: Need = { env: SCHEDULE, commands: { CreateSchedule: SCHEDULE_WRITE, UpdateSchedule: SCHEDULE_UPDATE } };
const getSecret = (resource: Resource): Need['commands'] => ({ GetSecretValue: [on(resource, 'secretsmanager:GetSecretValue')] });

export const ADAPTERS: AdapterDecl[] = [
  {
    module: adapter('sfn-workflow'),
    calls: {
      'workflow.start': {
        env: { PROMOTION_STATE_MACHINE_ARN: 'promotionMachine' },
        commands: { StartExecution: [on('promotionMachine', 'states:StartExecution')] },
      },
      'workflow.sendTaskSuccess': { commands: { SendTaskSuccess: [on('promotionMachine', 'states:SendTaskSuccess')] } },
      'workflow.sendTaskFailure': { commands: { SendTaskFailure: [on('promotionMachine', 'states:SendTaskFailure')] } },
    },
  },
  {
    module: adapter('scheduler'),
    calls: {
      'scheduler.scheduleOnce': schedules,
      // Recurring promotions' calendars (domain/promotion/run/recurring.ts): the same commands, a cron expression instead of at(…).
      'scheduler.scheduleRecurring': schedules,
      'scheduler.cancel': { env: { SCHEDULE_GROUP: 'scheduleGroup' }, commands: { DeleteSchedule: [on('stagelineSchedules', 'scheduler:DeleteSchedule')] } },
    },
  },
  {
    module: adapter('events'),
    always: { env: { EVENT_BUS_NAME: 'eventBus' }, commands: { PutEvents: [on('eventBus', 'events:PutEvents')] } },
  },
  {
    module: adapter('kms-s3-anchor'),
    always: { env: { AUDIT_KEY_ID: 'auditKey', CHECKPOINT_BUCKET: 'checkpointBucket' } },
    calls: {
      'anchor.sign': { commands: { Sign: [on('auditKey', 'kms:Sign')] } },
      // A promotion's attestation (domain/attestation/): the same key, by the same function (the stream consumer).
      'anchor.signBytes': { commands: { Sign: [on('auditKey', 'kms:Sign')] } },
      // Signatures are checked locally with the public key, read once per container.
      'anchor.verify': { commands: { GetPublicKey: [on('auditKey', 'kms:GetPublicKey')] } },
      'anchor.publicKey': { commands: { GetPublicKey: [on('auditKey', 'kms:GetPublicKey')] } },
      'anchor.append': { commands: { PutObject: [on('checkpointObjects', 's3:PutObject')] } },
      'anchor.list': {
        commands: { ListObjectsV2: [{ actions: ['s3:ListBucket'], on: 'checkpointBucket', condition: { StringLike: { 's3:prefix': ['checkpoints/*'] } } }] },
      },
    },
  },
  {
    module: adapter('secret-box'),
    always: { env: { SECRETS_KEY_SECRET_ARN: 'secretsKey' }, commands: getSecret('secretsKey') },
    notDeployed: { STAGELINE_SECRETS_KEY: 'local mode: the key itself in the environment' },
  },
  {
    module: adapter('secrets'),
    // SECRETS_PREFIX: the stack's prefix of tenants' secrets (infra/names.ts); unset, the default stack's `stageline/`.
    always: { env: { SECRETS_PREFIX: 'secretsPrefix' }, commands: getSecret('tenantSecrets') },
    // Local mode reads each tenant's secrets from the environment by a name made per tenant (localSecretVariable).
    notDeployed: { AWS_LAMBDA_FUNCTION_NAME: 'set by Lambda' },
  },
  {
    module: adapter('registry-credentials'),
    always: { env: { REGISTRY_CREDENTIALS_SECRET: 'registrySecret' }, commands: getSecret('registrySecret') },
    notDeployed: { REGISTRY_CREDENTIALS: 'local mode: the credentials in the environment' },
  },
  {
    module: adapter('cognito-directory'),
    always: {
      env: { USER_POOL_ID: 'userPool' },
      commands: {
        ListUsers: [on('userPool', 'cognito-idp:ListUsers')],
        ListUsersInGroup: [on('userPool', 'cognito-idp:ListUsersInGroup')],
        AdminListGroupsForUser: [on('userPool', 'cognito-idp:AdminListGroupsForUser')],
      },
    },
  },
  {
    // User management (the users and tenants routes only): invitations, role groups, removal and sign-out.
    module: adapter('cognito-users'),
    always: {
      env: { USER_POOL_ID: 'userPool' },
      commands: {
        ListUsers: [on('userPool', 'cognito-idp:ListUsers')],
        ListUsersInGroup: [on('userPool', 'cognito-idp:ListUsersInGroup')],
        AdminListGroupsForUser: [on('userPool', 'cognito-idp:AdminListGroupsForUser')],
        AdminCreateUser: [on('userPool', 'cognito-idp:AdminCreateUser')],
        AdminAddUserToGroup: [on('userPool', 'cognito-idp:AdminAddUserToGroup')],
        AdminRemoveUserFromGroup: [on('userPool', 'cognito-idp:AdminRemoveUserFromGroup')],
        AdminDeleteUser: [on('userPool', 'cognito-idp:AdminDeleteUser')],
        AdminGetUser: [on('userPool', 'cognito-idp:AdminGetUser')],
        AdminUserGlobalSignOut: [on('userPool', 'cognito-idp:AdminUserGlobalSignOut')],
      },
    },
  },
  {
    module: adapter('channels'),
    always: { env: { NOTIFY_FROM: 'emailIdentity' }, commands: { SendEmail: [on('emailIdentity', 'ses:SendEmail')] } },
  },
  {
    module: adapter('slack-app'),
    always: { env: { SLACK_SIGNING_SECRET_ARN: 'slackSigningSecret' }, commands: getSecret('slackSigningSecret') },
    notDeployed: { STAGELINE_SLACK_SIGNING_SECRET: 'local mode: npm start generates the secret', AWS_LAMBDA_FUNCTION_NAME: 'set by Lambda' },
  },
  {
    // Outbound webhooks: retries and redeliveries are one-time schedules that invoke the delivery function.
    module: adapter('webhooks'),
    calls: {
      'scheduler.scheduleOnce': {
        env: { WEBHOOK_TARGET_ARN: 'webhookTarget', SCHEDULER_ROLE_ARN: 'schedulerRole', SCHEDULE_DLQ_ARN: 'scheduleDlq', SCHEDULE_GROUP: 'scheduleGroup' },
      },
    },
  },
  {
    module: adapter('webhook-secrets'),
    calls: {
      'secrets.put': {
        env: { SECRETS_PREFIX: 'secretsPrefix' },
        commands: {
          PutSecretValue: [on('webhookSecrets', 'secretsmanager:PutSecretValue')],
          CreateSecret: [on('webhookSecrets', 'secretsmanager:CreateSecret', 'secretsmanager:TagResource')],
        },
      },
      'secrets.get': { env: { SECRETS_PREFIX: 'secretsPrefix' }, commands: { GetSecretValue: [on('webhookSecrets', 'secretsmanager:GetSecretValue')] } },
      'secrets.remove': { env: { SECRETS_PREFIX: 'secretsPrefix' }, commands: { DeleteSecret: [on('webhookSecrets', 'secretsmanager:DeleteSecret')] } },
    },
  },
  {
    // Monitors: the promotion step reads the alarms' states before executing.
    module: adapter('cloudwatch-alarms'),
    calls: {
      'alarms.states': { commands: { DescribeAlarms: [on('monitoredAlarms', 'cloudwatch:DescribeAlarms')] } },
    },
    notDeployed: { CLOUDWATCH_ENDPOINT: 'local and tests: another CloudWatch-protocol server' },
  },
  {
    // CloudWatch analysis: the promotion step assumes the role the tenant registered for the target's account (with the
    // tenant's external id, infra/metric-roles.ts) and reads with that session: GetMetricData is authorised in that account.
    module: 'functions/adapters/metrics/cloudwatch.ts',
    calls: {
      'metrics.query': {
        commands: {
          AssumeRole: [{ actions: ['sts:AssumeRole'], on: 'tenantMetricRoles', condition: METRIC_ROLE_CONDITION }],
          GetMetricData: [on('tenantMetricSession', 'cloudwatch:GetMetricData')],
        },
      },
    },
    notDeployed: { CLOUDWATCH_ENDPOINT: 'local and tests: another CloudWatch-protocol server, whose STS answers the AssumeRole' },
  },
  {
    // Where people sign in (GET /api/v1/auth/config): the user pool domain and the app client.
    module: adapter('login'),
    always: { env: { LOGIN_DOMAIN_URL: 'loginDomain', JWT_ISSUER: 'jwtIssuer', JWT_AUDIENCE: 'jwtAudience' } },
  },
  {
    module: 'functions/http/app-read.ts',
    always: { env: { JWT_ISSUER: 'jwtIssuer', JWT_AUDIENCE: 'jwtAudience' } },
  },
  {
    module: adapter('tenant-credentials'),
    // TENANT_DATA_ROLE_ARN is read where the adapter is used (functions/http/tenant-deps.ts depsFor).
    always: { env: { TENANT_DATA_ROLE_ARN: 'tenantDataRole' }, commands: { AssumeRole: [on('tenantDataRole', 'sts:AssumeRole', 'sts:TagSession')] } },
  },
];

/** Resources a stack may leave out (a context key not set): their needs are then not met on purpose, and the adapter says so at run time. */
export const OPTIONAL_RESOURCES: ReadonlySet<Resource> = new Set<Resource>(['registrySecret', 'emailIdentity', 'slackSigningSecret']);
