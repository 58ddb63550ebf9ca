import { variable, text, url, decimal, flag, json, list, raw, type Source, type RuntimeDeclared } from './variable.ts';

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
  origin: 'local',
});

export const DYNAMODB_ENDPOINT = /* @__PURE__ */ variable({
  name: 'DYNAMODB_ENDPOINT',
  is: () => url(),
  origin: 'local',
});

export const STAGELINE_REGION = /* @__PURE__ */ variable({
  name: 'STAGELINE_REGION',
  is: () => text(),
  origin: 'local',
});

export const STAGELINE_SECRETS_KEY = /* @__PURE__ */ variable({
  name: 'STAGELINE_SECRETS_KEY',
  is: () => text('base64'),
  origin: 'local',
  secret: true,
});

export const STAGELINE_SLACK_SIGNING_SECRET = /* @__PURE__ */ variable({
  name: 'STAGELINE_SLACK_SIGNING_SECRET',
  is: () => text(),
  origin: 'local',
  secret: true,
});

export const REGISTRY_CREDENTIALS = /* @__PURE__ */ variable({
  name: 'REGISTRY_CREDENTIALS',
  is: () => json(),
  default: [],
  origin: 'local',
  secret: true,
});

export const CLOUDWATCH_ENDPOINT = /* @__PURE__ */ variable({
  name: 'CLOUDWATCH_ENDPOINT',
  is: () => url(),
  origin: 'local',
});

export const DATADOG_API_URL = /* @__PURE__ */ variable({
  name: 'DATADOG_API_URL',
  is: () => url(),
  origin: 'local',
});

export const VITEST = /* @__PURE__ */ variable({
  name: 'VITEST',
  is: () => text(),
  origin: 'local',
});

export const STAGELINE_WEBHOOK_RETRY_BASE_MS = /* @__PURE__ */ variable({
  name: 'STAGELINE_WEBHOOK_RETRY_BASE_MS',
  is: () => decimal({ min: 0, above: true, integer: true }),
  origin: 'local',
});

export const STAGELINE_ALLOWED_ORIGINS = /* @__PURE__ */ variable({
  name: 'STAGELINE_ALLOWED_ORIGINS',
  is: () => list(),
  default: ['*'],
  origin: 'local',
});

export const STAGELINE_ALLOWED_HOSTS = /* @__PURE__ */ variable({
  name: 'STAGELINE_ALLOWED_HOSTS',
  is: () => list(),
  default: [],
  origin: 'local',
});

export const PORT = /* @__PURE__ */ variable({
  name: 'PORT',
  is: () => decimal({ min: 0, max: 65535, integer: true }),
  default: 3000,
  origin: 'local',
});

export const DYNAMODB_PORT = /* @__PURE__ */ variable({
  name: 'DYNAMODB_PORT',
  is: () => decimal({ min: 0, max: 65535, integer: true }),
  origin: 'local',
});

export const STAGELINE_DATA_DIR = /* @__PURE__ */ variable({
  name: 'STAGELINE_DATA_DIR',
  is: () => text('path'),
  origin: 'local',
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
    } satisfies RuntimeDeclared,
  },
);
