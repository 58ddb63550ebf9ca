import * as env from '../configuration.ts';
import type { RuntimeDeclared } from './variable.ts';

/**
 * The configuration's reference text: for every variable (functions/configuration.ts), how the reference shows
 * a default that is not one constant, the modules that read it, and what it is for. The reference page
 * (docs/reference/configuration.md, `npm run docs`), the deploy checks (test/infra/deploy.test.ts) and the stack
 * (infra/function.ts: which functions get TABLE_NAME) read it, no function's code does: kept here, it stays out
 * of every function's bundle (about 4 KiB each). This module imports the configuration module, which does not
 * re-export it, so no bundle loads it.
 */

/** A variable's reference text. */
export interface Reference {
  /** how the reference shows a default that is not one constant */
  readonly defaultText?: string;
  /** the modules that read it (repo-relative; test/unit/configuration.test.ts checks the list against the code) */
  readonly readBy: readonly string[];
  readonly description: string;
}

/** What the reference and the checks know of a variable: its declaration, and its reference text. */
export interface Declared extends RuntimeDeclared, Reference {}

/** The names the configuration module exports its variables under: each variable's own, and `localSecret` for the family. */
export type DeclaredName = { [K in keyof typeof env]: (typeof env)[K] extends { readonly declared: RuntimeDeclared } ? K : never }[keyof typeof env];

/** Every variable's reference text, by the name it is exported under: the compiler asks for each one, and refuses any other. */
export const REFERENCE: { readonly [K in DeclaredName]: Reference } = {
  // Set by the stack (functions/configuration/stack.ts).
  TABLE_NAME: {
    readBy: ['functions/adapters/app-client-lock.ts', 'functions/http/deps.ts', 'functions/http/tenant-deps.ts', 'functions/adapters/group-mapping-reader.ts'],
    description: "the DynamoDB table (every function; locally the local stack's own table)",
  },
  EVENT_BUS_NAME: {
    readBy: ['functions/adapters/events.ts'],
    description: "the stack's event bus, which the stream consumer publishes the outbox's domain events to",
  },
  PROMOTION_STATE_MACHINE_ARN: {
    readBy: ['functions/adapters/sfn-workflow.ts'],
    description: 'the promotion state machine (promotions and rollbacks), for the functions that start flows',
  },
  WAVE_STATE_MACHINE_ARN: {
    readBy: ['functions/adapters/sfn-workflow.ts'],
    description:
      "the wave state machine (a wave of many targets as a child execution), for the paths that let a wave go on (wave-start, resume, a start window's schedule)",
  },
  SCHEDULE_TARGET_ARN: {
    readBy: ['functions/adapters/scheduler.ts'],
    description: 'the schedule-fire function, which one-time schedules invoke (schedule-fire itself is given its own ARN by its invocation)',
  },
  SCHEDULER_ROLE_ARN: {
    readBy: ['functions/adapters/scheduler.ts', 'functions/adapters/webhooks.ts'],
    description: 'the role EventBridge Scheduler invokes schedule targets with',
  },
  SCHEDULE_DLQ_ARN: {
    readBy: ['functions/adapters/scheduler.ts', 'functions/adapters/webhooks.ts'],
    description: 'the queue a schedule whose target keeps failing goes to (alarmed)',
  },
  SCHEDULE_GROUP: {
    defaultText: "the account's `default` group",
    readBy: ['functions/adapters/scheduler.ts', 'functions/adapters/webhooks.ts'],
    description: "the stack's own EventBridge Scheduler schedule group (named after the stack), so two stacks in one account never share schedules",
  },
  WEBHOOK_TARGET_ARN: {
    readBy: ['functions/adapters/webhooks.ts'],
    description:
      'the webhook delivery function, which retries and redeliveries are scheduled to (webhook-deliver itself is given its own ARN by its invocation)',
  },
  AUDIT_KEY_ID: {
    readBy: ['functions/adapters/kms-s3-anchor.ts'],
    description: 'the KMS key audit checkpoints are signed with',
  },
  ATTESTATION_KEY_ALIAS_PREFIX: {
    defaultText: '`alias/stageline/tenant/`',
    readBy: ['functions/adapters/kms-s3-anchor.ts'],
    description:
      "where each tenant's attestation key is found: its KMS alias is this prefix and the tenant's id (`alias/<stack name in lower case>/tenant/<tenant>`)",
  },
  ATTESTATION_SIGNER_ROLE_ARN: {
    readBy: ['functions/adapters/kms-s3-anchor.ts'],
    description:
      "the stream consumer's role, set on the signer alone: the function that makes a tenant's attestation key on the tenant's first attestation and signs with it (by its role's IAM policy: no key policy names the role)",
  },
  CHECKPOINT_BUCKET: {
    readBy: ['functions/adapters/kms-s3-anchor.ts'],
    description: 'the Object Lock bucket of signed audit checkpoints',
  },
  SECRETS_KEY_SECRET_ARN: {
    readBy: ['functions/adapters/secret-box.ts'],
    description: "the Secrets Manager secret whose SHA-256 is the key sealing tenants' secrets at rest in the table (read once per container)",
  },
  SECRETS_PREFIX: {
    readBy: ['functions/adapters/secrets.ts', 'functions/adapters/webhook-secrets.ts'],
    description: "the Secrets Manager prefix of tenants' secrets (`<stack name in lower case>/`), the only secrets the functions may read",
  },
  REGISTRY_CREDENTIALS_SECRET: {
    readBy: ['functions/adapters/registry-credentials.ts'],
    description: 'the Secrets Manager secret holding the registry credentials (context `registryCredentialsSecret`; same shape as `REGISTRY_CREDENTIALS`)',
  },
  USER_POOL_ID: {
    readBy: ['functions/adapters/cognito-directory.ts', 'functions/adapters/cognito-users.ts', 'functions/adapters/cognito-identity-providers.ts'],
    description: "the Cognito user pool: the directory of approvers, the users routes' identity provider, and the tenants' identity providers",
  },
  NOTIFY_FROM: {
    defaultText: 'none: email deliveries are recorded as failed',
    readBy: ['functions/adapters/channels.ts'],
    description: 'the SES identity approval emails come from (context `notifyFrom`)',
  },
  SLACK_SIGNING_SECRET_ARN: {
    defaultText: 'none: Slack buttons and linking answer 401 "not set up"',
    readBy: ['functions/adapters/slack-app.ts'],
    description: "the Secrets Manager secret holding the Slack app's Signing Secret (context `slackSigningSecret`; only the functions serving Slack read it)",
  },
  LOGIN_DOMAIN_URL: {
    defaultText: "none: the local stack's sign-in",
    readBy: ['functions/adapters/login.ts'],
    description: 'the Cognito user pool domain people sign in at (GET /api/v1/auth/config)',
  },
  JWT_ISSUER: {
    readBy: ['functions/adapters/login.ts', 'functions/http/app-read.ts'],
    description: "the user pool's token issuer: app-key routes check people's ID tokens against it as the JWT authorizer would",
  },
  JWT_AUDIENCE: {
    readBy: ['functions/adapters/login.ts', 'functions/http/app-read.ts', 'functions/adapters/cognito-identity-providers.ts'],
    description: "the user pool's app client (the ID tokens' audience; the tenants' identity providers are added to its list)",
  },
  TENANT_DATA_ROLE_ARN: {
    defaultText: "none: the function's own access (locally, background functions)",
    readBy: ['functions/adapters/app-client-lock.ts', 'functions/http/tenant-deps.ts'],
    description:
      "the tenant-fenced role an API function reaches the table through, one session per tenant tagged with it (IAM keeps each request inside its tenant's items)",
  },
  TENANT_SECRETS_ROLE_ARN: {
    defaultText: "none: the function's own access (locally there is no Secrets Manager)",
    readBy: ['functions/adapters/secrets-session.ts'],
    description:
      "the role every read and write of a tenant's secrets goes through, one session per tenant tagged with it: it may touch only `<prefix><tenant>/…` of the tenant in the session tag",
  },
  MACHINE_PRINCIPALS: {
    defaultText: '`[]` (locally the printed pipeline credential is bound to `acme`)',
    readBy: ['functions/http/principal.ts'],
    description: 'JSON list of `{arn (glob), tenant, roles, name}` binding IAM callers of the machine routes to a tenant (context `machinePrincipals`)',
  },
  PUBLIC_URL: {
    readBy: ['functions/http/deps.ts'],
    description:
      "the API's base URL, which review links in notifications point at (the notifier), and attestations name as their verifier (the stream consumer)",
  },
  DEPLOYMENT_ACCOUNT: {
    defaultText: '`npm start`: `000000000000`',
    readBy: ['functions/http/deps.ts'],
    description: 'the account monitors must be alarms of (functions whose bundle holds the monitor checks)',
  },
  DEPLOYMENT_REGION: {
    defaultText: '`AWS_REGION`; `npm start`: `us-east-1`',
    readBy: ['functions/http/deps.ts'],
    description: "the region monitors must be alarms of (a target's may be of the target's region; each alarm is read in its own region)",
  },
  CORS_ALLOWED_ORIGINS: {
    defaultText: 'none',
    readBy: ['functions/http/cors.ts'],
    description:
      'browser origins the functions answer CORS for on `/api/*`, `/ofrep/*` and `/health` (context `allowedOrigins`; `*`: any), never `/review/*` or `/dashboard`: the API has no CORS configuration, the functions answer it',
  },
  // Set by Lambda or the bundler, and the tuning an operator may set (functions/configuration/runtime.ts).
  AWS_REGION: {
    readBy: ['functions/http/deps.ts', 'local/dynamodb.ts'],
    description: "the function's region",
  },
  AWS_LAMBDA_FUNCTION_NAME: {
    readBy: ['functions/adapters/secrets.ts', 'functions/adapters/slack-app.ts'],
    description: "set on Lambda only: tenants' secrets and the Slack signing secret come from Secrets Manager there, from the environment locally",
  },
  STAGELINE_TRACE_SDK: {
    readBy: ['functions/adapters/tracing.ts'],
    description:
      'X-Ray subsegments around every AWS SDK call and outbound HTTPS request (context `traceSdk`): written into each bundle as a constant, so a function that does not trace carries no Tracer',
  },
  STAGELINE_SERVED_ROUTES: {
    defaultText: 'the whole route table (outside a bundle)',
    readBy: ['functions/http/served-routes.ts'],
    description: 'the rows of the route table a function serves, written into its bundle as a constant (infra/bundle.ts)',
  },
  STAGELINE_ROUTE_PATHS: {
    defaultText: 'the whole route table (outside a bundle)',
    readBy: ['functions/http/router.ts', 'functions/http/served-routes.ts'],
    description:
      "every route's method and path, written into a bundle as a constant: what the $default fallback tells 405 from 404 with (outside a bundle the router matches on the table itself)",
  },
  STAGELINE_OPENAPI_DOCUMENT: {
    defaultText: 'the checked-in document (outside a bundle)',
    readBy: ['functions/handlers/openapi.ts'],
    description:
      "the OpenAPI document, brotli-compressed and base64-encoded, written into the openapi function's bundle as a constant (infra/bundle.ts): a string its module init only reads, inflated on the first request",
  },
  STAGELINE_RETRY_BUDGET_MS: {
    readBy: ['functions/http/deps.ts'],
    description: "how long a write keeps retrying lost races (ms) before it answers 409 with Retry-After: inside the API functions' 10 s timeout",
  },
  STAGELINE_OUTBOUND_RETRY_BASE_MS: {
    readBy: ['functions/adapters/outbound.ts'],
    description:
      "the first wait before a tenant host's transient answer (a 5xx, a 429, a reset connection) is tried again, doubling each try (ms); a Retry-After the host sends is waited for when longer",
  },
  STAGELINE_SWEEP_GRACE_SECONDS: {
    readBy: ['functions/http/deps.ts'],
    description:
      "how long past a state's own deadline (approval window, go window, a step's time-out) the sweeper waits before it fails a promotion whose flow is gone (s)",
  },
  STAGELINE_FLEET_MAX_INSTANCES: {
    readBy: ['functions/http/deps.ts'],
    description:
      'the most instances of one target a fleet confirmation counts (the first by instance id); those over it are not counted, and the rollout says how many (`fleet.over`, "N instances over the cap (M) were not counted")',
  },
  STAGELINE_WAVE_HISTORY_EVENTS: {
    readBy: ['functions/http/deps.ts'],
    description:
      "the history one execution of a wave run as a child execution may reach (events; Step Functions fails an execution past 25,000): the wave's execution that has looped (polled, measured) as often as this allows continues as a new execution of the wave with where it was",
  },
  STAGELINE_PENDING_EXPIRY_HOURS: {
    readBy: ['functions/http/deps.ts'],
    description: 'how long a promotion may wait for `validate` before the scheduler expires it (hours)',
  },
  STAGELINE_MAX_RECURRING_PROMOTIONS: {
    readBy: ['functions/http/deps.ts'],
    description:
      'the quota of recurring promotions per tenant (each may run every 5 minutes): creating one more, through the API or a manifest, is refused with 422 (`RULE_VIOLATION`, with `limit` and `count`) until one is deleted or an operator raises this',
  },
  STAGELINE_ANCHOR_INTERVAL_SECONDS: {
    readBy: ['functions/handlers/stream.ts'],
    description:
      'the stream consumer: how often at most it signs one Merkle root over every audit chain that moved (a change after a quiet spell is signed at once; `0` signs after every batch). The newest audit link is signed at most this long after it is linked while batches keep coming; `/audit/verify` reports the lag',
  },
  STAGELINE_AUDIT_STREAM_RETRY_MS: {
    readBy: ['functions/handlers/audit-ship.ts'],
    description:
      'the audit stream shipper: the first wait (ms, doubling) before a batch a SIEM destination answered transiently (429, 5xx, no answer) is sent again; after three tries it is left for the next move of the chain, the destination showing its lag and last error',
  },
  APP_READ_CACHE_MS: {
    readBy: ['functions/http/read-cache.ts'],
    description: "how long a warm function keeps an app key's record (ms, at most 1000; `0`: never): a revoked or rotated-away key is refused within this time",
  },
  STAGELINE_ACCESS_LOG: {
    defaultText: 'on (Lambda), off (local stack)',
    readBy: ['functions/adapters/observability.ts', 'local/terminal.ts'],
    description:
      '`off` silences the one-line JSON access log per request on Lambda; locally `on` (or `npm start -- --verbose`) turns on the access log, the EMF metric lines and full stack traces',
  },
  POWERTOOLS_METRICS_DISABLED: {
    defaultText: 'unset (Lambda); `true` in the quiet local stack',
    readBy: ['local/terminal.ts'],
    description: "Powertools Metrics' own switch (the library reads it): `true` writes no EMF metric documents",
  },
  // Local mode: `npm start` and the tests (functions/configuration/local.ts).
  STAGELINE_ALLOW_LOOPBACK_OUTBOUND: {
    defaultText: '`false`; `npm start`: `true`',
    readBy: ['functions/adapters/outbound.ts', 'functions/http/deps.ts', 'functions/adapters/metrics/datadog.ts', 'functions/adapters/siem/datadog.ts'],
    description:
      'local mode only (never set by CDK: an infra test asserts it): webhook gates, registries, Slack webhooks and git targets may be on loopback; private and metadata ranges stay refused',
  },
  DYNAMODB_ENDPOINT: {
    defaultText: "none: DynamoDB itself; `npm start`: the local stack's DynamoDB Local",
    readBy: ['functions/http/deps.ts'],
    description: 'a DynamoDB-protocol endpoint the functions use instead of DynamoDB (DynamoDB Local)',
  },
  STAGELINE_REGION: {
    defaultText: '`AWS_REGION`, else `us-east-1`',
    readBy: ['functions/http/deps.ts', 'local/dynamodb.ts'],
    description: 'the region local clients sign for and the local API claims (SigV4 scope), so the local stack can point at any AWS-protocol endpoint',
  },
  STAGELINE_SECRETS_KEY: {
    defaultText: '`npm start`: generated into `.stageline/secrets.key`',
    readBy: ['functions/adapters/secret-box.ts', 'local/stack.ts'],
    description: "the key sealing tenants' secrets at rest (base64, 32 bytes); on AWS `SECRETS_KEY_SECRET_ARN` instead",
  },
  STAGELINE_SLACK_SIGNING_SECRET: {
    defaultText: '`npm start`: generated into `.stageline/slack-signing-secret`',
    readBy: ['functions/adapters/slack-app.ts', 'local/stack.ts'],
    description: "the local deployment's Slack app signing secret; on AWS `SLACK_SIGNING_SECRET_ARN` instead",
  },
  REGISTRY_CREDENTIALS: {
    defaultText: '`[]`',
    readBy: ['functions/adapters/registry-credentials.ts'],
    description:
      'JSON list `[{"tenant","origin":"https://registry.example.com","username","password","realmOrigins":[]}]` for cross-registry sync; each credential is bound to one tenant and one registry origin. An Amazon ECR origin takes `{"tenant","origin","ecr":true}` (tokens from ecr:GetAuthorizationToken, renewed before they expire), never a static password. On AWS `REGISTRY_CREDENTIALS_SECRET` instead',
  },
  CLOUDWATCH_ENDPOINT: {
    defaultText: 'none: the local stand-in (CloudWatch itself on AWS)',
    readBy: ['functions/adapters/cloudwatch-alarms.ts', 'functions/adapters/metrics/cloudwatch.ts', 'local/stack.ts'],
    description:
      "a CloudWatch-protocol server (e.g. `moto_server`) the monitors' pre-check reads instead of the local stand-in; CloudWatch analysis assumes the tenants' metric roles (STS) and reads metrics there too",
  },
  DATADOG_API_URL: {
    defaultText: "none: `https://api.<site>` of the template's Datadog site",
    readBy: ['functions/adapters/metrics/datadog.ts'],
    description:
      "local mode only (read when STAGELINE_ALLOW_LOOPBACK_OUTBOUND is set): the base URL analysis templates' Datadog queries are sent to instead of Datadog (tests: a local stand-in answering Datadog's API)",
  },
  VITEST: {
    readBy: ['functions/adapters/observability.ts'],
    description: 'set by the test runner: the functions log errors only',
  },
  STAGELINE_WEBHOOK_RETRY_BASE_MS: {
    defaultText: '`5000`',
    readBy: ['local/webhooks.ts'],
    description: '`npm start`: the first retry delay of a failed webhook delivery (ms; tests shrink it)',
  },
  STAGELINE_ALLOWED_ORIGINS: {
    readBy: ['local/gateway.ts'],
    description: '`npm start`: browser origins allowed by CORS on `/api/*`, `/ofrep/*` and `/health`',
  },
  STAGELINE_ALLOWED_HOSTS: {
    defaultText: 'none (`127.0.0.1`, `localhost`, `[::1]` with its port)',
    readBy: ['local/gateway.ts'],
    description: '`npm start`: more Host headers the local gateway answers (`name:port`)',
  },
  PORT: {
    readBy: ['local/start.ts'],
    description: "`npm start`: the local gateway's port",
  },
  DYNAMODB_PORT: {
    defaultText: 'a free port',
    readBy: ['local/start.ts'],
    description: "`npm start`: DynamoDB Local's port",
  },
  STAGELINE_DATA_DIR: {
    defaultText: '`.stageline/`',
    readBy: ['local/start.ts'],
    description: '`npm start`: DynamoDB data, issuer keys, executions journal, tokens',
  },
  // The family of local tenant secrets (functions/configuration/local.ts localSecret).
  localSecret: {
    readBy: ['functions/adapters/secrets.ts'],
    description:
      "local mode: a tenant's secret named in a manifest or a git target (`${NAME}`), tenant and purpose upper-cased with dashes as underscores (acme's git push token GITOPS_TOKEN: `STAGELINE_SECRET_ACME__GIT_TOKEN__GITOPS_TOKEN`); on AWS the Secrets Manager secret `<prefix><tenant>/<purpose>/<NAME>`",
  },
};

/** Every variable the configuration module declares, and the family of local tenant secrets, each with its reference text. */
export function declaredVariables(): Declared[] {
  return Object.entries(env).flatMap(([key, v]) => {
    if (typeof v !== 'function' || !('declared' in v)) return [];
    const d: RuntimeDeclared = v.declared;
    const { defaultText, readBy, description } = REFERENCE[key as DeclaredName];
    return [
      {
        name: d.name,
        type: d.type,
        ...(d.default === undefined ? {} : { default: d.default }),
        ...(defaultText ? { defaultText } : {}),
        origin: d.origin,
        secret: d.secret,
        readBy,
        description,
      },
    ];
  });
}
