import {
  appKey,
  appKeysListResponse,
  effectiveResponse,
  ofrepBulkResponse,
  ofrepConfigurationResponse,
  ofrepError,
  ofrepSuccess,
  withSecret,
} from '../responses/consume.ts';
import { v1, type Route } from './row.ts';

const OFREP_ERRORS =
  'OFREP error: {key, errorCode, errorDetails}; errorCode PARSE_ERROR (not JSON), INVALID_CONTEXT (context not an object, targetingKey not a string) or TARGETING_KEY_MISSING (a rollout without context.targetingKey)';

const INSTANCE_COUNTED =
  "when the read names an instance (Stageline-Instance, context.instanceId): `yes` when it counts for a fleet target, or `no; <why>` (the read is the environment's, or the credential is not bound to the target it read: only an app key scoped to the target reports its instances)";

/**
 * Applications read their environment: app keys (admins manage them), the effective config with
 * ETags, and OFREP flag evaluation (https://openfeature.dev/specification/appendix-c).
 */
export const CONSUME_ROUTES: Route[] = [
  {
    method: 'GET',
    path: `${v1}/app-keys`,
    handler: 'app-keys-list',
    auth: 'jwt',
    role: 'viewer',
    summary: 'App keys of the tenant (?environment=); never their secrets',
    response: { schema: appKeysListResponse },
  },
  {
    method: 'POST',
    path: `${v1}/app-keys`,
    handler: 'app-keys-create',
    auth: 'jwt',
    role: 'admin',
    env: { body: 'environment' },
    summary: 'Create a read-only app key for one environment (optionally a key prefix, or one target of it); the key is shown once',
    response: { schema: withSecret },
  },
  {
    method: 'POST',
    path: `${v1}/app-keys/{id}/rotate`,
    handler: 'app-keys-rotate',
    auth: 'jwt',
    role: 'admin',
    env: 'tenant',
    summary: 'Rotate: a new secret (shown once); the previous one keeps working for overlapSeconds',
    response: { schema: withSecret },
  },
  {
    method: 'DELETE',
    path: `${v1}/app-keys/{id}`,
    handler: 'app-keys-revoke',
    auth: 'jwt',
    role: 'admin',
    env: 'tenant',
    summary: 'Revoke an app key: refused within 1 s on every instance (an instance keeps a key it checked for at most a second)',
    response: { schema: appKey },
  },
  {
    method: 'GET',
    path: `${v1}/environments/{env}/effective`,
    handler: 'effective',
    auth: 'app',
    role: 'viewer',
    summary:
      "The environment's current configs and flags as one document (app key), or one target's (the key's, or ?target=) with its parameters; ETag = snapshot digest, If-None-Match → 304; Stageline-Instance names the application instance (recorded on a 200 when what it read changed; counted by a fleet target only when the key is scoped to that target)",
    response: {
      schema: effectiveResponse,
      headers: {
        ETag: "the snapshot digest, quoted (a target's: with a digest of its name and parameters)",
        'Cache-Control': "from the environment's cacheMaxAgeSeconds (private, no-cache by default)",
        'Stageline-Instance-Counted': INSTANCE_COUNTED,
      },
      errors: { 304: 'Not modified: the If-None-Match ETag is current (no body)' },
    },
  },
  {
    method: 'GET',
    path: `${v1}/machine/environments/{env}/effective`,
    handler: 'effective',
    auth: 'iam',
    role: 'viewer',
    summary: 'Same, for services signing with IAM (SigV4)',
    response: {
      schema: effectiveResponse,
      headers: {
        ETag: 'the snapshot digest, quoted',
        'Cache-Control': "from the environment's cacheMaxAgeSeconds",
        'Stageline-Instance-Counted': INSTANCE_COUNTED,
      },
      errors: { 304: 'Not modified (no body)' },
    },
  },
  {
    method: 'POST',
    path: '/ofrep/v1/evaluate/flags/{key}',
    handler: 'ofrep',
    auth: 'app',
    role: 'viewer',
    summary: "OFREP: evaluate one flag in the app key's environment (as its target, or context.target, sees it)",
    response: {
      schema: ofrepSuccess,
      headers: { 'Stageline-Instance-Counted': INSTANCE_COUNTED },
      errors: {
        400: { description: OFREP_ERRORS, schema: ofrepError },
        404: {
          description: 'OFREP error FLAG_NOT_FOUND: no such flag in the environment (or outside the key prefix); or an Error TARGET_NOT_FOUND (context.target)',
          schema: ofrepError,
        },
      },
    },
  },
  {
    method: 'POST',
    path: '/ofrep/v1/evaluate/flags',
    handler: 'ofrep',
    auth: 'app',
    role: 'viewer',
    summary: "OFREP: evaluate every flag of the app key's environment; ETag + If-None-Match → 304",
    response: {
      schema: ofrepBulkResponse,
      headers: { ETag: 'the snapshot digest and a digest of the context', 'Stageline-Instance-Counted': INSTANCE_COUNTED },
      errors: {
        304: 'Not modified (no body)',
        400: { description: 'OFREP bulk error: {errorCode, errorDetails} (PARSE_ERROR, INVALID_CONTEXT)', schema: ofrepError },
      },
    },
  },
  {
    method: 'GET',
    path: '/ofrep/v1/configuration',
    handler: 'ofrep',
    auth: 'app',
    role: 'viewer',
    summary: 'OFREP provider configuration: polling supported, its minimum interval',
    response: { schema: ofrepConfigurationResponse },
  },
];
