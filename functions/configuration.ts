import * as z from '#domain/kernel/zod';

/**
 * THE configuration: every environment variable Stageline's code reads, declared once with its schema
 * (zod), its default, what it is for, who sets it and which modules read it. Nothing else in
 * functions/ reads `process.env` (but the constants the bundler writes in), domain/ never does, and
 * nothing in functions/, domain/ or local/ writes it (test/unit/configuration.test.ts checks all three):
 * the local stack and tests hand values over instead (`overrideConfig` and `localDefaults`,
 * functions/configuration-overrides.ts).
 *
 * A module reads a variable by calling its accessor, always through the namespace:
 * `import * as env from '…/configuration.ts'` and `env.SCHEDULE_GROUP()`. That text is what the
 * deploy checks read (test/infra/deploy.test.ts: each function gets exactly the variables its
 * bundle's adapters read), and what docs/reference/configuration.md is generated from
 * (`npm run docs`).
 *
 * Each variable is its own export, built by a call marked pure: a bundle holds (and its module init
 * parses) only the variables its code reads. The value in the environment is parsed when the module
 * loads, so a malformed one (a typo'd number) fails the function's init with a message naming the
 * variable; it is parsed again only when the value changes (tests change some at run time).
 * The domain reads none of them: its tunables come in its deps (domain/kernel/tunables.ts), filled
 * from here by functions/http/deps.ts.
 */

/** Who gives a variable its value. */
export type Origin = 'stack' | 'lambda' | 'build' | 'operator' | 'local';

/** Raw values by variable name, as the environment holds them: what a test may give an adapter instead of the environment. */
export type Source = Readonly<Record<string, string | undefined>>;

/** A kind of value: how the reference names it, and how its text is parsed. */
interface Kind<T> {
  readonly type: string;
  readonly schema: z.ZodMiniType<T, string>;
}

interface Declaration<T> {
  readonly name: string;
  /** its kind (a function, so that a variable no code reads leaves nothing in a bundle) */
  readonly is: () => Kind<T>;
  /** the value when the environment has none (an empty value counts as none) */
  readonly default?: T;
  /** how the reference shows a default that is not one constant */
  readonly defaultText?: string;
  readonly origin: Origin;
  /** never repeated in a message: the value is a secret */
  readonly secret?: true;
  /** the modules that read it (repo-relative; test/unit/configuration.test.ts checks the list against the code) */
  readonly readBy: readonly string[];
  readonly description: string;
}

/** What the reference and the checks know of a variable. */
export interface Declared {
  readonly name: string;
  readonly type: string;
  /** the default as the environment would hold it, if it is one constant */
  readonly default?: string;
  readonly defaultText?: string;
  readonly origin: Origin;
  readonly secret: boolean;
  readonly readBy: readonly string[];
  readonly description: string;
}

/** A variable's accessor: its value (from the environment, or from `source` when a test gives one), and its declaration. */
export interface Variable<T> {
  (source?: Source): T;
  readonly declared: Declared;
}

/** Given by the local stack or a test, ahead of the environment. */
const given = new Map<string, string | undefined>();
/** The local stack's defaults: used where the environment has no value (an operator's own setting wins). */
const fallbacks = new Map<string, string | undefined>();
/** Every variable this process declared, by name (what overrides are parsed with). */
const readers = new Map<string, (source?: Source) => unknown>();

function raw(name: string): string | undefined {
  if (given.has(name)) return given.get(name);
  const value = process.env[name];
  // An empty value counts as unset, here too.
  return value === undefined || value === '' ? (fallbacks.get(name) ?? value) : value;
}

const shown = (value: unknown) => (Array.isArray(value) ? value.join(',') : String(value));

function variable<T>(d: Declaration<T> & { default: T }): Variable<T>;
function variable<T>(d: Declaration<T>): Variable<T | undefined>;
function variable<T>(d: Declaration<T>): Variable<T | undefined> {
  const kind = d.is();
  const parse = (text: string | undefined): T | undefined => {
    if (text === undefined || text === '') return d.default;
    const r = kind.schema.safeParse(text);
    if (r.success) return r.data;
    const why = r.error.issues.map((i) => i.message).join('; ');
    throw new Error(`configuration: ${d.name}${d.secret ? '' : `=${JSON.stringify(text)}`} is not valid: ${why}`);
  };
  let seen: { text: string | undefined; value: T | undefined } | undefined;
  const read = (source?: Source): T | undefined => {
    if (source) return parse(source[d.name]);
    const text = raw(d.name);
    if (!seen || seen.text !== text) seen = { text, value: parse(text) };
    return seen.value;
  };
  // Parsed at start: a malformed value fails module init, naming the variable.
  read();
  readers.set(d.name, read);
  const info: Declared = {
    name: d.name,
    type: kind.type,
    ...(d.default === undefined ? {} : { default: shown(d.default) }),
    ...(d.defaultText ? { defaultText: d.defaultText } : {}),
    origin: d.origin,
    secret: !!d.secret,
    readBy: d.readBy,
    description: d.description,
  };
  return Object.assign(read, { declared: info });
}

/**
 * Values this process's code reads instead of the environment's, by variable name, as the environment
 * would hold them (undefined: as if unset), until the returned function undoes it. `override`: ahead of
 * the environment (the local stack's table, a test's setting); `fallback`: only where the environment
 * sets nothing (the local stack's defaults). Each value is parsed first: a malformed one throws, naming
 * it. Called through functions/configuration-overrides.ts, which types the names.
 */
export function giveValues(how: 'override' | 'fallback', values: Readonly<Record<string, string | undefined>>): () => void {
  const map = how === 'override' ? given : fallbacks;
  const entries = Object.entries(values);
  for (const [name, value] of entries) {
    const read = readers.get(name);
    if (!read) throw new Error(`configuration: no variable ${name} is declared (functions/configuration.ts)`);
    read({ [name]: value });
  }
  const before = new Map<string, { had: boolean; value: string | undefined }>();
  for (const [name, value] of entries) {
    if (!before.has(name)) before.set(name, { had: map.has(name), value: map.get(name) });
    map.set(name, value);
  }
  return () => {
    for (const [name, { had, value }] of before) {
      if (had) map.set(name, value);
      else map.delete(name);
    }
  };
}

// ---------------------------------------------------------------------------------------------
// Kinds of value.

const text = (type = 'string'): Kind<string> => ({ type, schema: z.string() });

const url = (): Kind<string> => ({ type: 'URL', schema: z.url() });

/** A number in decimal digits, within its range. */
function decimal(range: { min: number; above?: true; max?: number; integer?: true }): Kind<number> {
  const digits = range.integer ? /^\d{1,15}$/ : /^\d{1,15}(\.\d{1,20})?$/;
  const checks = [range.above ? z.gt(range.min) : z.gte(range.min), ...(range.max === undefined ? [] : [z.lte(range.max)])];
  return {
    type: range.integer ? 'integer' : 'number',
    schema: z.pipe(
      z.pipe(
        z.string().check(z.regex(digits, `must be ${range.integer ? 'a whole number' : 'a number'} in decimal digits`)),
        z.transform((s: string) => Number(s)),
      ),
      z.number().check(...checks),
    ),
  };
}

/** `true` or `false`. */
const flag = (): Kind<boolean> => ({
  type: 'true | false',
  schema: z.pipe(
    z.enum(['true', 'false']),
    z.transform((v) => v === 'true'),
  ),
});

/** A switch written on/off (also true/false, 1/0, in any case). */
const onOff = (): Kind<boolean> => ({
  type: 'on | off',
  schema: z.pipe(
    z.string().check(z.regex(/^(on|off|true|false|1|0)$/i, 'must be on or off')),
    z.transform((v) => /^(on|true|1)$/i.test(v)),
  ),
});

/** A JSON document (its shape is checked by the module that reads it). */
const json = (): Kind<unknown> => ({
  type: 'JSON',
  schema: z.pipe(
    z.string(),
    z.transform((s, ctx) => {
      try {
        return JSON.parse(s) as unknown;
      } catch {
        z.addIssue(ctx, { code: 'custom', message: 'must be JSON' });
        return z.NEVER;
      }
    }),
  ),
});

/** A comma-separated list (items trimmed, empty ones dropped). */
const list = (): Kind<string[]> => ({
  type: 'comma list',
  schema: z.pipe(
    z.string(),
    z.transform((s) =>
      s
        .split(',')
        .map((x) => x.trim())
        .filter(Boolean),
    ),
  ),
});

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

// ---------------------------------------------------------------------------------------------
// Set by Lambda, or by the bundler.

export const AWS_REGION = /* @__PURE__ */ variable({
  name: 'AWS_REGION',
  is: () => text(),
  origin: 'lambda',
  readBy: ['functions/http/deps.ts', 'local/dynamodb.ts'],
  description: "the function's region",
});

export const AWS_LAMBDA_FUNCTION_NAME = /* @__PURE__ */ variable({
  name: 'AWS_LAMBDA_FUNCTION_NAME',
  is: () => text(),
  origin: 'lambda',
  readBy: ['functions/adapters/secrets.ts', 'functions/adapters/slack-app.ts'],
  description: "set on Lambda only: tenants' secrets and the Slack signing secret come from Secrets Manager there, from the environment locally",
});

export const STAGELINE_TRACE_SDK = /* @__PURE__ */ variable({
  name: 'STAGELINE_TRACE_SDK',
  is: () => flag(),
  default: false,
  origin: 'build',
  readBy: ['functions/adapters/tracing.ts'],
  description:
    'X-Ray subsegments around every AWS SDK call and outbound HTTPS request (context `traceSdk`): written into each bundle as a constant, so a function that does not trace carries no Tracer',
});

export const STAGELINE_SERVED_ROUTES = /* @__PURE__ */ variable({
  name: 'STAGELINE_SERVED_ROUTES',
  is: () => json(),
  defaultText: 'the whole route table (outside a bundle)',
  origin: 'build',
  readBy: ['functions/http/served-routes.ts'],
  description: 'the rows of the route table a function serves, written into its bundle as a constant (infra/bundle.ts)',
});

export const STAGELINE_ROUTE_PATHS = /* @__PURE__ */ variable({
  name: 'STAGELINE_ROUTE_PATHS',
  is: () => json(),
  defaultText: 'the whole route table (outside a bundle)',
  origin: 'build',
  readBy: ['functions/http/router.ts', 'functions/http/served-routes.ts'],
  description:
    "every route's method and path, written into a bundle as a constant: what the $default fallback tells 405 from 404 with (outside a bundle the router matches on the table itself)",
});

export const STAGELINE_OPENAPI_DOCUMENT = /* @__PURE__ */ variable({
  name: 'STAGELINE_OPENAPI_DOCUMENT',
  is: () => text(),
  defaultText: 'the checked-in document (outside a bundle)',
  origin: 'build',
  readBy: ['functions/handlers/openapi.ts'],
  description:
    "the OpenAPI document, brotli-compressed and base64-encoded, written into the openapi function's bundle as a constant (infra/bundle.ts): a string its module init only reads, inflated on the first request",
});

// ---------------------------------------------------------------------------------------------
// Tuning: unset by the stack; an operator may set them. The domain's tunables are among them: their defaults are
// DEFAULT_TUNABLES' (domain/kernel/tunables.ts; test/unit/configuration.test.ts checks they agree), written out
// here because a bundle drops an unused variable only when nothing in its declaration reads another module.

export const STAGELINE_RETRY_BUDGET_MS = /* @__PURE__ */ variable({
  name: 'STAGELINE_RETRY_BUDGET_MS',
  is: () => decimal({ min: 0, integer: true }),
  default: 7000,
  origin: 'operator',
  readBy: ['functions/http/deps.ts'],
  description: "how long a write keeps retrying lost races (ms) before it answers 409 with Retry-After: inside the API functions' 10 s timeout",
});

export const STAGELINE_SWEEP_GRACE_SECONDS = /* @__PURE__ */ variable({
  name: 'STAGELINE_SWEEP_GRACE_SECONDS',
  is: () => decimal({ min: 0 }),
  default: 900,
  origin: 'operator',
  readBy: ['functions/http/deps.ts'],
  description:
    "how long past a state's own deadline (approval window, go window, a step's time-out) the sweeper waits before it fails a promotion whose flow is gone (s)",
});

export const STAGELINE_PENDING_EXPIRY_HOURS = /* @__PURE__ */ variable({
  name: 'STAGELINE_PENDING_EXPIRY_HOURS',
  is: () => decimal({ min: 0, above: true }),
  default: 72,
  origin: 'operator',
  readBy: ['functions/http/deps.ts'],
  description: 'how long a promotion may wait for `validate` before the scheduler expires it (hours)',
});

export const STAGELINE_ANCHOR_INTERVAL_SECONDS = /* @__PURE__ */ variable({
  name: 'STAGELINE_ANCHOR_INTERVAL_SECONDS',
  is: () => decimal({ min: 0 }),
  default: 10,
  origin: 'operator',
  readBy: ['functions/handlers/stream.ts'],
  description:
    'the stream consumer: how often at most it signs one Merkle root over every audit chain that moved (a change after a quiet spell is signed at once; `0` signs after every batch). The newest audit link is signed at most this long after it is linked while batches keep coming; `/audit/verify` reports the lag',
});

export const APP_READ_CACHE_MS = /* @__PURE__ */ variable({
  name: 'APP_READ_CACHE_MS',
  is: () => decimal({ min: 0, max: 1000, integer: true }),
  default: 1000,
  origin: 'operator',
  readBy: ['functions/http/read-cache.ts'],
  description: "how long a warm function keeps an app key's record (ms, at most 1000; `0`: never): a revoked or rotated-away key is refused within this time",
});

export const STAGELINE_ACCESS_LOG = /* @__PURE__ */ variable({
  name: 'STAGELINE_ACCESS_LOG',
  is: () => onOff(),
  defaultText: 'on (Lambda), off (local stack)',
  origin: 'operator',
  readBy: ['functions/adapters/observability.ts', 'local/terminal.ts'],
  description:
    '`off` silences the one-line JSON access log per request on Lambda; locally `on` (or `npm start -- --verbose`) turns on the access log, the EMF metric lines and full stack traces',
});

export const POWERTOOLS_METRICS_DISABLED = /* @__PURE__ */ variable({
  name: 'POWERTOOLS_METRICS_DISABLED',
  is: () => text('true | false'),
  defaultText: 'unset (Lambda); `true` in the quiet local stack',
  origin: 'operator',
  readBy: ['local/terminal.ts'],
  description: "Powertools Metrics' own switch (the library reads it): `true` writes no EMF metric documents",
});

// ---------------------------------------------------------------------------------------------
// Local mode: `npm start` and the tests (never set by the stack).

export const STAGELINE_ALLOW_LOOPBACK_OUTBOUND = /* @__PURE__ */ variable({
  name: 'STAGELINE_ALLOW_LOOPBACK_OUTBOUND',
  is: () => flag(),
  default: false,
  defaultText: '`false`; `npm start`: `true`',
  origin: 'local',
  readBy: ['functions/adapters/outbound.ts', 'functions/http/deps.ts', 'functions/adapters/metrics/datadog.ts'],
  description:
    'local mode only (never set by CDK: an infra test asserts it): webhook gates, registries, Slack webhooks and git targets may be on loopback; private and metadata ranges stay refused',
});

export const DYNAMODB_ENDPOINT = /* @__PURE__ */ variable({
  name: 'DYNAMODB_ENDPOINT',
  is: () => url(),
  defaultText: "none: DynamoDB itself; `npm start`: the local stack's DynamoDB Local",
  origin: 'local',
  readBy: ['functions/http/deps.ts'],
  description: 'a DynamoDB-protocol endpoint the functions use instead of DynamoDB (DynamoDB Local)',
});

export const STAGELINE_REGION = /* @__PURE__ */ variable({
  name: 'STAGELINE_REGION',
  is: () => text(),
  defaultText: '`AWS_REGION`, else `us-east-1`',
  origin: 'local',
  readBy: ['functions/http/deps.ts', 'local/dynamodb.ts'],
  description: 'the region local clients sign for and the local API claims (SigV4 scope), so the local stack can point at any AWS-protocol endpoint',
});

export const STAGELINE_SECRETS_KEY = /* @__PURE__ */ variable({
  name: 'STAGELINE_SECRETS_KEY',
  is: () => text('base64'),
  defaultText: '`npm start`: generated into `.stageline/secrets.key`',
  origin: 'local',
  secret: true,
  readBy: ['functions/adapters/secret-box.ts', 'local/stack.ts'],
  description: "the key sealing tenants' secrets at rest (base64, 32 bytes); on AWS `SECRETS_KEY_SECRET_ARN` instead",
});

export const STAGELINE_SLACK_SIGNING_SECRET = /* @__PURE__ */ variable({
  name: 'STAGELINE_SLACK_SIGNING_SECRET',
  is: () => text(),
  defaultText: '`npm start`: generated into `.stageline/slack-signing-secret`',
  origin: 'local',
  secret: true,
  readBy: ['functions/adapters/slack-app.ts', 'local/stack.ts'],
  description: "the local deployment's Slack app signing secret; on AWS `SLACK_SIGNING_SECRET_ARN` instead",
});

export const REGISTRY_CREDENTIALS = /* @__PURE__ */ variable({
  name: 'REGISTRY_CREDENTIALS',
  is: () => json(),
  default: [],
  defaultText: '`[]`',
  origin: 'local',
  secret: true,
  readBy: ['functions/adapters/registry-credentials.ts'],
  description:
    'JSON list `[{"tenant","origin":"https://registry.example.com","username","password","realmOrigins":[]}]` for cross-registry sync; each credential is bound to one tenant and one registry origin. On AWS `REGISTRY_CREDENTIALS_SECRET` instead',
});

export const CLOUDWATCH_ENDPOINT = /* @__PURE__ */ variable({
  name: 'CLOUDWATCH_ENDPOINT',
  is: () => url(),
  defaultText: 'none: the local stand-in (CloudWatch itself on AWS)',
  origin: 'local',
  readBy: ['functions/adapters/cloudwatch-alarms.ts', 'local/stack.ts'],
  description: "a CloudWatch-protocol server (e.g. `moto_server`) the monitors' pre-check reads instead of the local stand-in",
});

export const DATADOG_API_URL = /* @__PURE__ */ variable({
  name: 'DATADOG_API_URL',
  is: () => url(),
  defaultText: "none: `https://api.<site>` of the template's Datadog site",
  origin: 'local',
  readBy: ['functions/adapters/metrics/datadog.ts'],
  description:
    "local mode only (read when STAGELINE_ALLOW_LOOPBACK_OUTBOUND is set): the base URL analysis templates' Datadog queries are sent to instead of Datadog (tests: a local stand-in answering Datadog's API)",
});

export const VITEST = /* @__PURE__ */ variable({
  name: 'VITEST',
  is: () => text(),
  origin: 'local',
  readBy: ['functions/adapters/observability.ts'],
  description: 'set by the test runner: the functions log errors only',
});

export const STAGELINE_WEBHOOK_RETRY_BASE_MS = /* @__PURE__ */ variable({
  name: 'STAGELINE_WEBHOOK_RETRY_BASE_MS',
  is: () => decimal({ min: 0, above: true, integer: true }),
  defaultText: '`5000`',
  origin: 'local',
  readBy: ['local/webhooks.ts'],
  description: '`npm start`: the first retry delay of a failed webhook delivery (ms; tests shrink it)',
});

export const STAGELINE_ALLOWED_ORIGINS = /* @__PURE__ */ variable({
  name: 'STAGELINE_ALLOWED_ORIGINS',
  is: () => list(),
  default: ['*'],
  origin: 'local',
  readBy: ['local/gateway.ts'],
  description: '`npm start`: browser origins allowed by CORS on `/api/*`, `/ofrep/*` and `/health`',
});

export const STAGELINE_ALLOWED_HOSTS = /* @__PURE__ */ variable({
  name: 'STAGELINE_ALLOWED_HOSTS',
  is: () => list(),
  default: [],
  defaultText: 'none (`127.0.0.1`, `localhost`, `[::1]` with its port)',
  origin: 'local',
  readBy: ['local/gateway.ts'],
  description: '`npm start`: more Host headers the local gateway answers (`name:port`)',
});

export const PORT = /* @__PURE__ */ variable({
  name: 'PORT',
  is: () => decimal({ min: 0, max: 65535, integer: true }),
  default: 3000,
  origin: 'local',
  readBy: ['local/start.ts'],
  description: "`npm start`: the local gateway's port",
});

export const DYNAMODB_PORT = /* @__PURE__ */ variable({
  name: 'DYNAMODB_PORT',
  is: () => decimal({ min: 0, max: 65535, integer: true }),
  defaultText: 'a free port',
  origin: 'local',
  readBy: ['local/start.ts'],
  description: "`npm start`: DynamoDB Local's port",
});

export const STAGELINE_DATA_DIR = /* @__PURE__ */ variable({
  name: 'STAGELINE_DATA_DIR',
  is: () => text('path'),
  defaultText: '`.stageline/`',
  origin: 'local',
  readBy: ['local/start.ts'],
  description: '`npm start`: DynamoDB data, issuer keys, executions journal, tokens',
});

// ---------------------------------------------------------------------------------------------
// A family of variables: tenants' secrets in local mode.

/** The first part of every local tenant secret's name (functions/adapters/secrets.ts localSecretVariable). */
const LOCAL_SECRET_PREFIX = 'STAGELINE_SECRET_';

/**
 * A tenant's secret in local mode: `STAGELINE_SECRET_<TENANT>__<PURPOSE>__<NAME>` (never read on Lambda,
 * where tenants' secrets are in Secrets Manager). Only names of that family are read.
 */
export const localSecret = /* @__PURE__ */ Object.assign(
  (variable: string, source?: Source): string | undefined => {
    if (!variable.startsWith(LOCAL_SECRET_PREFIX)) throw new Error(`configuration: ${variable} is not a local tenant secret (${LOCAL_SECRET_PREFIX}…)`);
    if (source) return Object.hasOwn(source, variable) ? source[variable] : undefined;
    return raw(variable) || undefined;
  },
  {
    declared: {
      name: 'STAGELINE_SECRET_<TENANT>__<PURPOSE>__<NAME>',
      type: 'string',
      origin: 'local',
      secret: true,
      readBy: ['functions/adapters/secrets.ts'],
      description:
        "local mode: a tenant's secret named in a manifest or a git target (`${NAME}`), tenant and purpose upper-cased with dashes as underscores (acme's git push token GITOPS_TOKEN: `STAGELINE_SECRET_ACME__GIT_TOKEN__GITOPS_TOKEN`); on AWS the Secrets Manager secret `<prefix><tenant>/<purpose>/<NAME>`",
    } satisfies Declared,
  },
);
