import { variable, text, url, decimal, flag, json, list, raw, type Source, type Declared } from './variable.ts';

/**
 * The configuration's variables of local mode, `npm start` and the tests, never set by the stack, and the
 * family of local tenant secrets (functions/configuration.ts re-exports them).
 */

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
