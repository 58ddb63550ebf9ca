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
});

export const EVENT_BUS_NAME = /* @__PURE__ */ variable({
  name: 'EVENT_BUS_NAME',
  is: () => text(),
  origin: 'stack',
});

export const PROMOTION_STATE_MACHINE_ARN = /* @__PURE__ */ variable({
  name: 'PROMOTION_STATE_MACHINE_ARN',
  is: () => text('ARN'),
  origin: 'stack',
});

export const WAVE_STATE_MACHINE_ARN = /* @__PURE__ */ variable({
  name: 'WAVE_STATE_MACHINE_ARN',
  is: () => text('ARN'),
  origin: 'stack',
});

export const SCHEDULE_TARGET_ARN = /* @__PURE__ */ variable({
  name: 'SCHEDULE_TARGET_ARN',
  is: () => text('ARN'),
  origin: 'stack',
});

export const SCHEDULER_ROLE_ARN = /* @__PURE__ */ variable({
  name: 'SCHEDULER_ROLE_ARN',
  is: () => text('ARN'),
  origin: 'stack',
});

export const SCHEDULE_DLQ_ARN = /* @__PURE__ */ variable({
  name: 'SCHEDULE_DLQ_ARN',
  is: () => text('ARN'),
  origin: 'stack',
});

export const SCHEDULE_GROUP = /* @__PURE__ */ variable({
  name: 'SCHEDULE_GROUP',
  is: () => text(),
  origin: 'stack',
});

export const WEBHOOK_TARGET_ARN = /* @__PURE__ */ variable({
  name: 'WEBHOOK_TARGET_ARN',
  is: () => text('ARN'),
  origin: 'stack',
});

export const AUDIT_KEY_ID = /* @__PURE__ */ variable({
  name: 'AUDIT_KEY_ID',
  is: () => text('ARN'),
  origin: 'stack',
});

export const ATTESTATION_KEY_ALIAS_PREFIX = /* @__PURE__ */ variable({
  name: 'ATTESTATION_KEY_ALIAS_PREFIX',
  is: () => text(),
  default: 'alias/stageline/tenant/',
  origin: 'stack',
});

export const ATTESTATION_SIGNER_ROLE_ARN = /* @__PURE__ */ variable({
  name: 'ATTESTATION_SIGNER_ROLE_ARN',
  is: () => text('ARN'),
  origin: 'stack',
});

export const CHECKPOINT_BUCKET = /* @__PURE__ */ variable({
  name: 'CHECKPOINT_BUCKET',
  is: () => text(),
  origin: 'stack',
});

export const SECRETS_KEY_SECRET_ARN = /* @__PURE__ */ variable({
  name: 'SECRETS_KEY_SECRET_ARN',
  is: () => text('ARN'),
  origin: 'stack',
});

export const SECRETS_PREFIX = /* @__PURE__ */ variable({
  name: 'SECRETS_PREFIX',
  is: () => text(),
  default: 'stageline/',
  origin: 'stack',
});

export const REGISTRY_CREDENTIALS_SECRET = /* @__PURE__ */ variable({
  name: 'REGISTRY_CREDENTIALS_SECRET',
  is: () => text('ARN'),
  origin: 'stack',
});

export const USER_POOL_ID = /* @__PURE__ */ variable({
  name: 'USER_POOL_ID',
  is: () => text(),
  origin: 'stack',
});

export const NOTIFY_FROM = /* @__PURE__ */ variable({
  name: 'NOTIFY_FROM',
  is: () => text(),
  origin: 'stack',
});

export const SLACK_SIGNING_SECRET_ARN = /* @__PURE__ */ variable({
  name: 'SLACK_SIGNING_SECRET_ARN',
  is: () => text('ARN'),
  origin: 'stack',
});

export const LOGIN_DOMAIN_URL = /* @__PURE__ */ variable({
  name: 'LOGIN_DOMAIN_URL',
  is: () => url(),
  origin: 'stack',
});

export const JWT_ISSUER = /* @__PURE__ */ variable({
  name: 'JWT_ISSUER',
  is: () => url(),
  origin: 'stack',
});

export const JWT_AUDIENCE = /* @__PURE__ */ variable({
  name: 'JWT_AUDIENCE',
  is: () => text(),
  origin: 'stack',
});

export const TENANT_DATA_ROLE_ARN = /* @__PURE__ */ variable({
  name: 'TENANT_DATA_ROLE_ARN',
  is: () => text('ARN'),
  origin: 'stack',
});

export const TENANT_SECRETS_ROLE_ARN = /* @__PURE__ */ variable({
  name: 'TENANT_SECRETS_ROLE_ARN',
  is: () => text('ARN'),
  origin: 'stack',
});

export const MACHINE_PRINCIPALS = /* @__PURE__ */ variable({
  name: 'MACHINE_PRINCIPALS',
  is: () => json(),
  default: [],
  origin: 'stack',
});

export const PUBLIC_URL = /* @__PURE__ */ variable({
  name: 'PUBLIC_URL',
  is: () => url(),
  origin: 'stack',
});

export const DEPLOYMENT_ACCOUNT = /* @__PURE__ */ variable({
  name: 'DEPLOYMENT_ACCOUNT',
  is: () => text(),
  origin: 'stack',
});

export const DEPLOYMENT_REGION = /* @__PURE__ */ variable({
  name: 'DEPLOYMENT_REGION',
  is: () => text(),
  origin: 'stack',
});

export const CORS_ALLOWED_ORIGINS = /* @__PURE__ */ variable({
  name: 'CORS_ALLOWED_ORIGINS',
  is: () => list(),
  default: [],
  origin: 'stack',
});
