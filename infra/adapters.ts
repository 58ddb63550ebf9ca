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

import { ANCHOR_SIGN, ATTESTATION_SIGN, TENANT_KEY_PURPOSE, TENANT_KEY_SPEC, TENANT_KEY_TAG } from '../functions/adapters/kms-s3-anchor.ts';
import type { AdapterDecl, Grant, Need, Resource } from './adapter-types.ts';
import { getSecret, SECRET_ADAPTERS } from './adapters-secrets.ts';
import { TENANT_ROLE_ADAPTERS } from './adapters-tenant-roles.ts';

export type { AdapterDecl, Grant, Need, Resource } from './adapter-types.ts';
export { TENANT_SECRET_SESSION } from './adapters-secrets.ts';

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
/** kms:Sign exactly as the adapter asks (functions/adapters/kms-s3-anchor.ts): its algorithm and message type, nothing else. */
const signingAs = (how: { SigningAlgorithm: string; MessageType: string }): Grant['condition'] => ({
  StringEquals: { 'kms:MessageType': [how.MessageType], 'kms:SigningAlgorithm': [how.SigningAlgorithm] },
});
/** A tenant's attestation key: only keys tagged as one (the adapter tags each it makes; the stack's own keys carry no such tag). */
const TENANT_KEY_ONLY = { StringEquals: { [`aws:ResourceTag/${TENANT_KEY_TAG}`]: [TENANT_KEY_PURPOSE] } };
const onTenantKeys = (...actions: string[]): Grant => ({ actions, on: 'attestationKeys', condition: TENANT_KEY_ONLY });
/** Amazon ECR through its Distribution API (functions/adapters/ecr-tokens.ts): reads are authorised as pulls, writes as pushes. */
export const ADAPTERS: AdapterDecl[] = [
  // Secrets, tenant secrets and registry credentials (infra/adapters-secrets.ts).
  ...SECRET_ADAPTERS,
  ...TENANT_ROLE_ADAPTERS,
  {
    module: adapter('sfn-workflow'),
    calls: {
      'workflow.start': {
        env: { PROMOTION_STATE_MACHINE_ARN: 'promotionMachine' },
        commands: { StartExecution: [on('promotionMachine', 'states:StartExecution')] },
      },
      // A wave of many targets as a child execution (started with the parent's WaveStart token: the wave-start step, a resume, a start window's schedule).
      'workflow.startWave': {
        env: { WAVE_STATE_MACHINE_ARN: 'waveMachine' },
        commands: { StartExecution: [on('waveMachine', 'states:StartExecution')] },
      },
      'workflow.sendTaskSuccess': { commands: { SendTaskSuccess: [on('promotionMachine', 'states:SendTaskSuccess')] } },
      'workflow.sendTaskFailure': { commands: { SendTaskFailure: [on('promotionMachine', 'states:SendTaskFailure')] } },
    },
  },
  {
    module: adapter('scheduler'),
    calls: {
      'scheduler.scheduleOnce': schedules,
      // Recurring promotions' calendars (domain/promotion/request/recurring.ts): the same commands, a cron expression instead of at(…).
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
    always: { env: { AUDIT_KEY_ID: 'auditKey', CHECKPOINT_BUCKET: 'checkpointBucket', ATTESTATION_KEY_ALIAS_PREFIX: 'attestationKeyAliasPrefix' } },
    calls: {
      // The deployment's key signs the Merkle roots alone, as RAW messages (its key policy allows nothing else: infra/audit-anchor.ts).
      'anchor.sign': { commands: { Sign: [{ actions: ['kms:Sign'], on: 'auditKey', condition: signingAs(ANCHOR_SIGN) }] } },
      // A promotion's attestation (domain/attestation/): the tenant's own key, made on its first attestation (tagged, with
      // KMS's default key policy: the account's IAM policies decide, so this role signs by the grant below and no key policy
      // names it), found by its alias; signed as a DIGEST (a PAE may exceed KMS's RAW limit).
      'anchor.signBytes': {
        env: { ATTESTATION_SIGNER_ROLE_ARN: 'attestationSigner' },
        commands: {
          Sign: [
            {
              actions: ['kms:Sign'],
              on: 'attestationKeys',
              condition: { StringEquals: { ...TENANT_KEY_ONLY.StringEquals, ...signingAs(ATTESTATION_SIGN)!.StringEquals } },
            },
          ],
          GetPublicKey: [onTenantKeys('kms:GetPublicKey')],
          CreateKey: [
            {
              actions: ['kms:CreateKey'],
              on: 'newKmsKeys',
              condition: {
                StringEquals: {
                  [`aws:RequestTag/${TENANT_KEY_TAG}`]: [TENANT_KEY_PURPOSE],
                  'kms:KeySpec': [TENANT_KEY_SPEC.KeySpec],
                  'kms:KeyUsage': [TENANT_KEY_SPEC.KeyUsage],
                },
              },
            },
            // Its tags are given with it (TagResource is authorised on the request's tags).
            { actions: ['kms:TagResource'], on: 'newKmsKeys', condition: { StringEquals: { [`aws:RequestTag/${TENANT_KEY_TAG}`]: [TENANT_KEY_PURPOSE] } } },
          ],
          CreateAlias: [on('attestationKeyAliases', 'kms:CreateAlias'), onTenantKeys('kms:CreateAlias')],
          // Two consumers racing on a tenant's first attestation: the one whose alias lost retires its key.
          ScheduleKeyDeletion: [onTenantKeys('kms:ScheduleKeyDeletion')],
        },
      },
      // The public half of the tenant's key: what its attestations verify with (the route, a gate, GET /audit/public-key).
      'anchor.tenantKey': { commands: { GetPublicKey: [onTenantKeys('kms:GetPublicKey')] } },
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
    // A tenant's identity provider connection (PUT/DELETE /access/identity-provider): the user pool's identity provider
    // named for the tenant, and the app client's list of providers. Only the functions that save or remove a connection.
    module: adapter('cognito-identity-providers'),
    calls: {
      'identityProviders.sync': {
        env: { USER_POOL_ID: 'userPool', JWT_AUDIENCE: 'jwtAudience' },
        commands: {
          DescribeIdentityProvider: [on('userPool', 'cognito-idp:DescribeIdentityProvider')],
          CreateIdentityProvider: [on('userPool', 'cognito-idp:CreateIdentityProvider')],
          UpdateIdentityProvider: [on('userPool', 'cognito-idp:UpdateIdentityProvider')],
          DescribeUserPoolClient: [on('userPool', 'cognito-idp:DescribeUserPoolClient')],
          UpdateUserPoolClient: [on('userPool', 'cognito-idp:UpdateUserPoolClient')],
          // a provider this call created goes again when the client's update fails
          DeleteIdentityProvider: [on('userPool', 'cognito-idp:DeleteIdentityProvider')],
        },
      },
      'identityProviders.remove': {
        env: { USER_POOL_ID: 'userPool', JWT_AUDIENCE: 'jwtAudience' },
        commands: {
          DescribeUserPoolClient: [on('userPool', 'cognito-idp:DescribeUserPoolClient')],
          UpdateUserPoolClient: [on('userPool', 'cognito-idp:UpdateUserPoolClient')],
          DeleteIdentityProvider: [on('userPool', 'cognito-idp:DeleteIdentityProvider')],
        },
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
    // Monitors: the promotion step reads the alarms' states before executing.
    module: adapter('cloudwatch-alarms'),
    calls: {
      'alarms.states': { commands: { DescribeAlarms: [on('monitoredAlarms', 'cloudwatch:DescribeAlarms')] } },
    },
    notDeployed: { CLOUDWATCH_ENDPOINT: 'local and tests: another CloudWatch-protocol server' },
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
export const OPTIONAL_RESOURCES: ReadonlySet<Resource> = new Set<Resource>([
  'registrySecret',
  'ecrAuthorization',
  'ecrRepositories',
  'emailIdentity',
  'slackSigningSecret',
]);
