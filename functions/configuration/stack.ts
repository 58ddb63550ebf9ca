import { variable, text, url, json, list } from './variable.ts';

/**
 * The configuration's variables the stack sets (functions/configuration.ts re-exports them): the resources a
 * function's adapters reach, its identity provider, its deployment's account and URLs.
 */

// ---------------------------------------------------------------------------------------------
// Set by the stack (infra/adapters.ts and infra/functions.ts say on which functions; the deploy checks prove it).

export const TABLE_NAME = /* @__PURE__ */ variable({
  name: 'TABLE_NAME',
  is: () => text(),
  origin: 'stack',
  readBy: ['functions/http/deps.ts', 'functions/http/tenant-deps.ts'],
  description: "the DynamoDB table (every function; locally the local stack's own table)",
});

export const EVENT_BUS_NAME = /* @__PURE__ */ variable({
  name: 'EVENT_BUS_NAME',
  is: () => text(),
  origin: 'stack',
  readBy: ['functions/adapters/events.ts'],
  description: "the stack's event bus, which the stream consumer publishes the outbox's domain events to",
});

export const PROMOTION_STATE_MACHINE_ARN = /* @__PURE__ */ variable({
  name: 'PROMOTION_STATE_MACHINE_ARN',
  is: () => text('ARN'),
  origin: 'stack',
  readBy: ['functions/adapters/sfn-workflow.ts'],
  description: 'the promotion state machine (promotions and rollbacks), for the functions that start flows',
});

export const SCHEDULE_TARGET_ARN = /* @__PURE__ */ variable({
  name: 'SCHEDULE_TARGET_ARN',
  is: () => text('ARN'),
  origin: 'stack',
  readBy: ['functions/adapters/scheduler.ts'],
  description: 'the schedule-fire function, which one-time schedules invoke (schedule-fire itself is given its own ARN by its invocation)',
});

export const SCHEDULER_ROLE_ARN = /* @__PURE__ */ variable({
  name: 'SCHEDULER_ROLE_ARN',
  is: () => text('ARN'),
  origin: 'stack',
  readBy: ['functions/adapters/scheduler.ts', 'functions/adapters/webhooks.ts'],
  description: 'the role EventBridge Scheduler invokes schedule targets with',
});

export const SCHEDULE_DLQ_ARN = /* @__PURE__ */ variable({
  name: 'SCHEDULE_DLQ_ARN',
  is: () => text('ARN'),
  origin: 'stack',
  readBy: ['functions/adapters/scheduler.ts', 'functions/adapters/webhooks.ts'],
  description: 'the queue a schedule whose target keeps failing goes to (alarmed)',
});

export const SCHEDULE_GROUP = /* @__PURE__ */ variable({
  name: 'SCHEDULE_GROUP',
  is: () => text(),
  defaultText: "the account's `default` group",
  origin: 'stack',
  readBy: ['functions/adapters/scheduler.ts', 'functions/adapters/webhooks.ts'],
  description: "the stack's own EventBridge Scheduler schedule group (named after the stack), so two stacks in one account never share schedules",
});

export const WEBHOOK_TARGET_ARN = /* @__PURE__ */ variable({
  name: 'WEBHOOK_TARGET_ARN',
  is: () => text('ARN'),
  origin: 'stack',
  readBy: ['functions/adapters/webhooks.ts'],
  description: 'the webhook delivery function, which retries and redeliveries are scheduled to (webhook-deliver itself is given its own ARN by its invocation)',
});

export const AUDIT_KEY_ID = /* @__PURE__ */ variable({
  name: 'AUDIT_KEY_ID',
  is: () => text('ARN'),
  origin: 'stack',
  readBy: ['functions/adapters/kms-s3-anchor.ts'],
  description: 'the KMS key audit checkpoints are signed with',
});

export const CHECKPOINT_BUCKET = /* @__PURE__ */ variable({
  name: 'CHECKPOINT_BUCKET',
  is: () => text(),
  origin: 'stack',
  readBy: ['functions/adapters/kms-s3-anchor.ts'],
  description: 'the Object Lock bucket of signed audit checkpoints',
});

export const SECRETS_KEY_SECRET_ARN = /* @__PURE__ */ variable({
  name: 'SECRETS_KEY_SECRET_ARN',
  is: () => text('ARN'),
  origin: 'stack',
  readBy: ['functions/adapters/secret-box.ts'],
  description: "the Secrets Manager secret whose SHA-256 is the key sealing tenants' secrets at rest in the table (read once per container)",
});

export const SECRETS_PREFIX = /* @__PURE__ */ variable({
  name: 'SECRETS_PREFIX',
  is: () => text(),
  default: 'stageline/',
  origin: 'stack',
  readBy: ['functions/adapters/secrets.ts', 'functions/adapters/webhook-secrets.ts'],
  description: "the Secrets Manager prefix of tenants' secrets (`<stack name in lower case>/`), the only secrets the functions may read",
});

export const REGISTRY_CREDENTIALS_SECRET = /* @__PURE__ */ variable({
  name: 'REGISTRY_CREDENTIALS_SECRET',
  is: () => text('ARN'),
  origin: 'stack',
  readBy: ['functions/adapters/registry-credentials.ts'],
  description: 'the Secrets Manager secret holding the registry credentials (context `registryCredentialsSecret`; same shape as `REGISTRY_CREDENTIALS`)',
});

export const USER_POOL_ID = /* @__PURE__ */ variable({
  name: 'USER_POOL_ID',
  is: () => text(),
  origin: 'stack',
  readBy: ['functions/adapters/cognito-directory.ts', 'functions/adapters/cognito-users.ts'],
  description: "the Cognito user pool: the directory of approvers, and the users routes' identity provider",
});

export const NOTIFY_FROM = /* @__PURE__ */ variable({
  name: 'NOTIFY_FROM',
  is: () => text(),
  defaultText: 'none: email deliveries are recorded as failed',
  origin: 'stack',
  readBy: ['functions/adapters/channels.ts'],
  description: 'the SES identity approval emails come from (context `notifyFrom`)',
});

export const SLACK_SIGNING_SECRET_ARN = /* @__PURE__ */ variable({
  name: 'SLACK_SIGNING_SECRET_ARN',
  is: () => text('ARN'),
  defaultText: 'none: Slack buttons and linking answer 401 "not set up"',
  origin: 'stack',
  readBy: ['functions/adapters/slack-app.ts'],
  description: "the Secrets Manager secret holding the Slack app's Signing Secret (context `slackSigningSecret`; only the functions serving Slack read it)",
});

export const LOGIN_DOMAIN_URL = /* @__PURE__ */ variable({
  name: 'LOGIN_DOMAIN_URL',
  is: () => url(),
  defaultText: "none: the local stack's sign-in",
  origin: 'stack',
  readBy: ['functions/adapters/login.ts'],
  description: 'the Cognito user pool domain people sign in at (GET /api/v1/auth/config)',
});

export const JWT_ISSUER = /* @__PURE__ */ variable({
  name: 'JWT_ISSUER',
  is: () => url(),
  origin: 'stack',
  readBy: ['functions/adapters/login.ts', 'functions/http/app-read.ts'],
  description: "the user pool's token issuer: app-key routes check people's ID tokens against it as the JWT authorizer would",
});

export const JWT_AUDIENCE = /* @__PURE__ */ variable({
  name: 'JWT_AUDIENCE',
  is: () => text(),
  origin: 'stack',
  readBy: ['functions/adapters/login.ts', 'functions/http/app-read.ts'],
  description: "the user pool's app client (the ID tokens' audience)",
});

export const TENANT_DATA_ROLE_ARN = /* @__PURE__ */ variable({
  name: 'TENANT_DATA_ROLE_ARN',
  is: () => text('ARN'),
  defaultText: "none: the function's own access (locally, background functions)",
  origin: 'stack',
  readBy: ['functions/http/tenant-deps.ts'],
  description:
    "the tenant-fenced role an API function reaches the table through, one session per tenant tagged with it (IAM keeps each request inside its tenant's items)",
});

export const MACHINE_PRINCIPALS = /* @__PURE__ */ variable({
  name: 'MACHINE_PRINCIPALS',
  is: () => json(),
  default: [],
  defaultText: '`[]` (locally the printed pipeline credential is bound to `acme`)',
  origin: 'stack',
  readBy: ['functions/http/principal.ts'],
  description: 'JSON list of `{arn (glob), tenant, roles, name}` binding IAM callers of the machine routes to a tenant (context `machinePrincipals`)',
});

export const PUBLIC_URL = /* @__PURE__ */ variable({
  name: 'PUBLIC_URL',
  is: () => url(),
  origin: 'stack',
  readBy: ['functions/http/deps.ts'],
  description: "the API's base URL, which review links in notifications point at (the notifier), and attestations name as their verifier (the stream consumer)",
});

export const DEPLOYMENT_ACCOUNT = /* @__PURE__ */ variable({
  name: 'DEPLOYMENT_ACCOUNT',
  is: () => text(),
  defaultText: '`npm start`: `000000000000`',
  origin: 'stack',
  readBy: ['functions/http/deps.ts'],
  description: 'the account monitors must be alarms of (functions whose bundle holds the monitor checks)',
});

export const DEPLOYMENT_REGION = /* @__PURE__ */ variable({
  name: 'DEPLOYMENT_REGION',
  is: () => text(),
  defaultText: '`AWS_REGION`; `npm start`: `us-east-1`',
  origin: 'stack',
  readBy: ['functions/http/deps.ts'],
  description: "the region monitors must be alarms of (a target's may be of the target's region; each alarm is read in its own region)",
});

export const CORS_ALLOWED_ORIGINS = /* @__PURE__ */ variable({
  name: 'CORS_ALLOWED_ORIGINS',
  is: () => list(),
  default: [],
  defaultText: 'none',
  origin: 'stack',
  readBy: ['functions/http/cors.ts'],
  description:
    'browser origins the functions answer CORS for on `/api/*`, `/ofrep/*` and `/health` (context `allowedOrigins`; `*`: any), never `/review/*` or `/dashboard`: the API has no CORS configuration, the functions answer it',
});
