import type { Role } from '#domain/access/auth';

/**
 * THE route table. CDK creates one API Gateway route (and one Lambda per
 * handler) from it; the local gateway serves exactly these routes. Each route
 * names the role it needs; the handler middleware enforces it.
 */
export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
/** 'app': an app key (Authorization: Bearer slk.… or X-API-Key), checked by the handler (functions/http/app-read.ts); API Gateway lets the request through (NONE). */
export type AuthType = 'jwt' | 'iam' | 'none' | 'app';

export interface Route {
  method: Method;
  path: string;
  /** file in functions/handlers/ (one Lambda each) */
  handler: string;
  auth: AuthType;
  role: Role | null;
  summary: string;
  /** the success status, where a handler serving several routes answers this one differently (a DELETE's 204) */
  status?: number;
  /** static values the handler reads for this route */
  context?: { kind?: 'config' | 'flag'; subject?: 'config'; scope?: 'tenant' | 'environment' };
  /** what the success answer is, where it is not the JSON its handler's entry in RESPONSES (functions/http/responses/) describes */
  response?: RouteResponse;
  /** the request body is a form (application/x-www-form-urlencoded), not JSON; its fields are FORMS[handler] in functions/http/responses/forms.ts (or FORMS[name] where a name is given: one handler serving different forms) */
  form?: true | string;
  /** request headers the route reads beyond the usual ones: name → meaning (the OpenAPI document lists them) */
  headers?: Record<string, string>;
}

/** Answers that are text, not JSON. */
export type TextMediaType = 'text/html' | 'text/plain' | 'application/yaml' | 'application/x-ndjson' | 'text/javascript' | 'text/css';

export interface RouteResponse {
  /** the entry of RESPONSES a JSON answer matches, where it is not the handler's own (one handler serving routes that answer differently) */
  schema?: string;
  /** the answer as text: media type → what the text holds (with `schema` too, the route answers either, e.g. by ?format=) */
  text?: Partial<Record<TextMediaType, string>>;
  /** response headers of a success: name → meaning */
  headers?: Record<string, string>;
  /** errors the handler answers itself in the format of its success (an HTML page, a Slack reply) instead of the API's Error: status → when */
  errors?: Record<number, string | { description: string; headers?: Record<string, string>; schema?: string }>;
}

const v1 = '/api/v1';
/** Headers Slack signs its requests with (the deployment's Slack app). */
const SLACK_HEADERS = {
  'X-Slack-Request-Timestamp': 'set by Slack: Unix seconds, within 5 minutes of now',
  'X-Slack-Signature': "set by Slack: v0= and the hex HMAC-SHA256 of v0:<timestamp>:<raw body>, keyed with the signing secret of the deployment's Slack app",
};
/** What a signed review link answers when it cannot be used: a page saying why (functions/review/serve.ts). GET shows other refusals on its 200 page. */
const REVIEW_ERRORS: RouteResponse['errors'] = {
  404: 'The link is unknown or was altered',
  429: { description: 'Too many unknown links from this address in a minute', headers: { 'Retry-After': 'seconds to wait' } },
  500: 'The page failed on our side (it names the request id)',
};
const itemRoutes = (kind: 'config' | 'flag'): Route[] => {
  const base = `${v1}/environments/{env}/${kind}s`;
  const ctx = { kind };
  return [
    { method: 'GET', path: base, handler: 'items-list', auth: 'jwt', role: 'viewer', summary: `List ${kind}s of an environment`, context: ctx },
    { method: 'POST', path: base, handler: 'items-create', auth: 'jwt', role: 'deployer', summary: `Create a ${kind}`, context: ctx },
    { method: 'GET', path: `${base}/{id}`, handler: 'items-get', auth: 'jwt', role: 'viewer', summary: `Get a ${kind}`, context: ctx },
    { method: 'PUT', path: `${base}/{id}`, handler: 'items-update', auth: 'jwt', role: 'deployer', summary: `Change a ${kind}`, context: ctx },
    { method: 'DELETE', path: `${base}/{id}`, handler: 'items-delete', auth: 'jwt', role: 'deployer', summary: `Delete a ${kind}`, context: ctx },
  ];
};

/** Promotion routes exist twice: /api/v1/promotions (all subjects) and /api/v1/config/promotions. */
const promotionRoutes = (base: string, context?: Route['context']): Route[] => [
  { method: 'POST', path: base, handler: 'promotions-create', auth: 'jwt', role: 'deployer', summary: 'Request a promotion (dryRun: preview only)', context },
  {
    method: 'GET',
    path: base,
    handler: 'promotions-list',
    auth: 'jwt',
    role: 'viewer',
    summary: 'Promotions, newest first (status/source/target/subject filters)',
    context,
  },
  { method: 'GET', path: `${base}/{id}`, handler: 'promotions-get', auth: 'jwt', role: 'viewer', summary: 'One promotion', context },
  { method: 'DELETE', path: `${base}/{id}`, handler: 'promotions-cancel', auth: 'jwt', role: 'deployer', summary: 'Cancel (before execution)', context },
  {
    method: 'POST',
    path: `${base}/{id}/validate`,
    handler: 'promotions-validate',
    auth: 'jwt',
    role: 'deployer',
    summary: 'Start gates for a promotion created with autoStart=false',
    context,
  },
  {
    method: 'POST',
    path: `${base}/{id}/approve`,
    handler: 'promotions-approve',
    auth: 'jwt',
    role: 'approver',
    summary: 'Approve (idempotent, bound to the release digest)',
    context,
  },
  { method: 'POST', path: `${base}/{id}/reject`, handler: 'promotions-reject', auth: 'jwt', role: 'approver', summary: 'Reject with a reason', context },
  {
    method: 'POST',
    path: `${base}/{id}/execute`,
    handler: 'promotions-execute',
    auth: 'jwt',
    role: 'deployer',
    summary: 'Execute an approved manual promotion (dryRun: preview)',
    context,
  },
  {
    method: 'POST',
    path: `${base}/{id}/schedule`,
    handler: 'promotions-schedule',
    auth: 'jwt',
    role: 'deployer',
    summary: 'Schedule an approved manual promotion',
    context,
  },
  {
    method: 'POST',
    path: `${base}/{id}/rollback`,
    handler: 'promotions-rollback',
    auth: 'jwt',
    role: 'deployer',
    summary: 'Roll back what a completed promotion changed (dryRun: preview)',
    context,
  },
  {
    method: 'POST',
    path: `${base}/{id}/rebase`,
    handler: 'promotions-rebase',
    auth: 'jwt',
    role: 'deployer',
    summary:
      "Move a pending config promotion onto its source's current snapshot (voids approvals); only while AWAITING_APPROVAL (409 in any other state, naming the actions allowed then)",
    context,
  },
  {
    method: 'GET',
    path: `${base}/{id}/changes`,
    handler: 'promotions-changes',
    auth: 'jwt',
    role: 'viewer',
    summary: 'What it moves: the key-by-key diff (secrets masked) or the artifact version and digest, before and after',
    context,
  },
  {
    method: 'GET',
    path: `${base}/{id}/decision`,
    handler: 'promotions-decision',
    auth: 'jwt',
    role: 'viewer',
    summary: 'Decision record: gates, policy digest, approvals, outcome',
    context,
  },
  {
    method: 'POST',
    path: `${base}/{id}/evidence`,
    handler: 'promotions-evidence',
    auth: 'jwt',
    role: 'deployer',
    summary: 'Attach typed evidence (tests, scan, cost, benchmark, policy, metrics)',
    context,
  },
];

const ruleRoutes = (base: string): Route[] => [
  { method: 'POST', path: base, handler: 'rules-create', auth: 'jwt', role: 'admin', summary: 'Create a promotion rule / approval policy' },
  { method: 'GET', path: base, handler: 'rules-list', auth: 'jwt', role: 'viewer', summary: 'Rules / approval policies' },
  { method: 'GET', path: `${base}/{id}`, handler: 'rules-get', auth: 'jwt', role: 'viewer', summary: 'One rule' },
  { method: 'PUT', path: `${base}/{id}`, handler: 'rules-update', auth: 'jwt', role: 'admin', summary: 'Update a rule (optimistic locking)' },
  { method: 'DELETE', path: `${base}/{id}`, handler: 'rules-delete', auth: 'jwt', role: 'admin', summary: 'Delete a rule' },
];

/**
 * Applications read their environment: app keys (admins manage them), the effective config with
 * ETags, and OFREP flag evaluation (https://openfeature.dev/specification/appendix-c).
 */
const OFREP_ERRORS =
  'OFREP error: {key, errorCode, errorDetails}; errorCode PARSE_ERROR (not JSON), INVALID_CONTEXT (context not an object, targetingKey not a string) or TARGETING_KEY_MISSING (a rollout without context.targetingKey)';
const CONDITIONAL = { 'If-None-Match': 'the ETag of the copy you hold: 304 with no body while it is current' };
const consumeRoutes: Route[] = [
  {
    method: 'GET',
    path: `${v1}/app-keys`,
    handler: 'app-keys-list',
    auth: 'jwt',
    role: 'viewer',
    summary: 'App keys of the tenant (?environment=); never their secrets',
  },
  {
    method: 'POST',
    path: `${v1}/app-keys`,
    handler: 'app-keys-create',
    auth: 'jwt',
    role: 'admin',
    summary: 'Create a read-only app key for one environment (optionally a key prefix); the key is shown once',
  },
  {
    method: 'POST',
    path: `${v1}/app-keys/{id}/rotate`,
    handler: 'app-keys-rotate',
    auth: 'jwt',
    role: 'admin',
    summary: 'Rotate: a new secret (shown once); the previous one keeps working for overlapSeconds',
  },
  {
    method: 'DELETE',
    path: `${v1}/app-keys/{id}`,
    handler: 'app-keys-revoke',
    auth: 'jwt',
    role: 'admin',
    summary: 'Revoke an app key: refused within 1 s on every instance (an instance keeps a key it checked for at most a second)',
  },
  {
    method: 'GET',
    path: `${v1}/users`,
    handler: 'users-list',
    auth: 'jwt',
    role: 'admin',
    summary: "The tenant's users with their roles and sign-in status (admin)",
  },
  {
    method: 'POST',
    path: `${v1}/users`,
    handler: 'users-invite',
    auth: 'jwt',
    role: 'admin',
    summary: 'Invite a user into your tenant with roles: on AWS Cognito emails a temporary password; audited',
  },
  {
    method: 'PATCH',
    path: `${v1}/users/{id}`,
    handler: 'users-roles',
    auth: 'jwt',
    role: 'admin',
    summary: "Replace a user's roles (never your own; the tenant keeps at least one admin); audited",
  },
  {
    method: 'DELETE',
    path: `${v1}/users/{id}`,
    handler: 'users-remove',
    auth: 'jwt',
    role: 'admin',
    summary: 'Remove a user from your tenant (never yourself, never the last admin); tokens already issued expire within the hour; audited',
    status: 204,
  },
  {
    method: 'POST',
    path: `${v1}/tenants`,
    handler: 'tenants-create',
    auth: 'jwt',
    role: 'admin',
    summary: "Create a tenant and invite its first admin: platform operators only (the platform-admin group); audited in the new tenant's trail",
  },
  {
    method: 'GET',
    path: `${v1}/environments/{env}/effective`,
    handler: 'effective',
    auth: 'app',
    role: 'viewer',
    summary: "The environment's current configs and flags as one document (app key); ETag = snapshot digest, If-None-Match → 304",
    response: {
      headers: { ETag: 'the snapshot digest, quoted', 'Cache-Control': "from the environment's cacheMaxAgeSeconds (private, no-cache by default)" },
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
      headers: { ETag: 'the snapshot digest, quoted', 'Cache-Control': "from the environment's cacheMaxAgeSeconds" },
      errors: { 304: 'Not modified (no body)' },
    },
  },
  {
    method: 'POST',
    path: '/ofrep/v1/evaluate/flags/{key}',
    handler: 'ofrep',
    auth: 'app',
    role: 'viewer',
    summary: "OFREP: evaluate one flag in the app key's environment",
    response: {
      errors: {
        400: { description: OFREP_ERRORS, schema: 'ofrep-error' },
        404: { description: 'OFREP error FLAG_NOT_FOUND: no such flag in the environment (or outside the key prefix)', schema: 'ofrep-error' },
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
      schema: 'ofrep-bulk',
      headers: { ETag: 'the snapshot digest and a digest of the context' },
      errors: {
        304: 'Not modified (no body)',
        400: { description: 'OFREP bulk error: {errorCode, errorDetails} (PARSE_ERROR, INVALID_CONTEXT)', schema: 'ofrep-error' },
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
    response: { schema: 'ofrep-configuration' },
  },
];

export const ROUTES: Route[] = [
  { method: 'GET', path: '/health', handler: 'health', auth: 'none', role: null, summary: 'Liveness' },
  {
    method: 'GET',
    path: `${v1}/auth/config`,
    handler: 'auth-config',
    auth: 'none',
    role: null,
    summary:
      'Where people sign in: the OAuth 2.0 authorization code + PKCE endpoints (the user pool domain on AWS, the local stand-in locally) and the public client id',
  },
  {
    method: 'GET',
    path: '/dashboard',
    handler: 'dashboard',
    auth: 'none',
    role: null,
    summary: 'The console (a page that signs people in with authorization code + PKCE and calls this API with their token)',
    response: { text: { 'text/html': 'The console page: its hashed script and stylesheet (Subresource Integrity), no inline code' } },
  },
  {
    method: 'GET',
    path: '/dashboard/assets/{file}',
    handler: 'dashboard',
    auth: 'none',
    role: null,
    summary: "The console's script and stylesheet, named by their content hash (cached for a year)",
    response: {
      text: { 'text/javascript': "The console's script", 'text/css': "The console's stylesheet" },
      errors: { 404: 'No console asset of that name (a page of an older build): a comment, harmless as script or style' },
    },
  },
  {
    method: 'GET',
    path: `${v1}/openapi.json`,
    handler: 'openapi',
    auth: 'none',
    role: null,
    summary: 'This API as OpenAPI 3.1 (generated from the route table and the zod schemas)',
  },
  { method: 'GET', path: `${v1}/environments`, handler: 'environments-list', auth: 'jwt', role: 'viewer', summary: 'Environments in line order' },
  { method: 'POST', path: `${v1}/environments`, handler: 'environments-create', auth: 'jwt', role: 'admin', summary: 'Create an environment' },
  { method: 'GET', path: `${v1}/environments/{env}`, handler: 'environments-get', auth: 'jwt', role: 'viewer', summary: 'Get an environment' },
  {
    method: 'PATCH',
    path: `${v1}/environments/{env}`,
    handler: 'environments-update',
    auth: 'jwt',
    role: 'admin',
    summary: 'Update an environment (optimistic locking)',
  },
  { method: 'DELETE', path: `${v1}/environments/{env}`, handler: 'environments-delete', auth: 'jwt', role: 'admin', summary: 'Delete an empty environment' },
  ...itemRoutes('config'),
  ...itemRoutes('flag'),
  {
    method: 'POST',
    path: `${v1}/environments/{env}/items/batch`,
    handler: 'items-batch',
    auth: 'jwt',
    role: 'deployer',
    summary: 'Set and delete many configs/flags as one snapshot',
  },
  {
    method: 'POST',
    path: `${v1}/machine/environments/{env}/items/batch`,
    handler: 'items-batch',
    auth: 'iam',
    role: 'deployer',
    summary: 'Same, for pipelines signing with IAM (SigV4)',
  },
  {
    method: 'GET',
    path: `${v1}/environments/{env}/snapshots`,
    handler: 'snapshots-list',
    auth: 'jwt',
    role: 'viewer',
    summary: 'Snapshot history, newest first',
  },
  { method: 'GET', path: `${v1}/environments/{env}/snapshots/{seq}`, handler: 'snapshots-get', auth: 'jwt', role: 'viewer', summary: 'One snapshot' },
  {
    method: 'POST',
    path: `${v1}/environments/{env}/snapshots/{seq}/evidence`,
    handler: 'snapshots-evidence',
    auth: 'jwt',
    role: 'deployer',
    summary: 'Attach evidence to a config release (a snapshot)',
  },
  {
    method: 'POST',
    path: `${v1}/environments/{env}/snapshots/{seq}/restore`,
    handler: 'snapshots-restore',
    auth: 'jwt',
    role: 'admin',
    summary: 'Point the environment back at a snapshot',
  },
  {
    method: 'GET',
    path: `${v1}/config/promotions/diff`,
    handler: 'diff-environments',
    auth: 'jwt',
    role: 'viewer',
    summary: 'Diff two environments (source → target, key by key)',
  },
  { method: 'GET', path: `${v1}/snapshots/diff`, handler: 'diff-snapshots', auth: 'jwt', role: 'viewer', summary: 'Diff two snapshots' },
  {
    method: 'POST',
    path: `${v1}/environments/{env}/rollback`,
    handler: 'environments-rollback',
    auth: 'jwt',
    role: 'deployer',
    summary: 'Roll an environment back to a version or snapshot, with impact analysis (dryRun: analysis only)',
  },
  {
    method: 'GET',
    path: `${v1}/status`,
    handler: 'status',
    auth: 'jwt',
    role: 'viewer',
    summary: 'Per environment: what runs, promoted when/by, gate marks; pending promotions and why',
  },
  { method: 'GET', path: `${v1}/audit`, handler: 'audit-list', auth: 'jwt', role: 'viewer', summary: 'Audit trail (filters, cursor pagination)' },
  { method: 'GET', path: `${v1}/audit/verify`, handler: 'audit-verify', auth: 'jwt', role: 'viewer', summary: 'Verify the audit hash chain' },
  {
    method: 'GET',
    path: `${v1}/audit/public-key`,
    handler: 'audit-verify',
    auth: 'jwt',
    role: 'viewer',
    summary: 'The public key that verifies every audit checkpoint signature (ECDSA P-256): pin it once to verify exports offline',
    response: { schema: 'audit-public-key' },
  },
  {
    method: 'GET',
    path: `${v1}/audit/export`,
    handler: 'audit-export',
    auth: 'jwt',
    role: 'viewer',
    summary:
      'The audit chain as JSON Lines (entries with their links, anchors with their inclusion proofs and signed roots), verifiable offline with the public key; pages continue with ?fromSeq',
    response: {
      text: {
        'application/x-ndjson':
          'JSON Lines (format stageline-audit-export/v3), one JSON object per line, each with a `type`: a `header` (tenant, range, how the hashes are computed and the roots signed), one `entry` per chain link in order (seq, prevHash, entryHash, hash, the audit entry), the `anchor`s in the range (tenant, seq, hash, and the inclusion proof root, size, index, path of the chain head in a Merkle tree whose root is signed once for every chain anchored together: at, sig, ECDSA P-256 over the root; the page ends at one, so it holds the chain up to its newest anchor), then a `trailer` (count, firstSeq, lastSeq, headSeq, checkpoints, next: {fromSeq} or null)',
      },
      headers: { 'X-Next-Cursor': 'the fromSeq of the next page, when there is one' },
    },
  },
  ...promotionRoutes(`${v1}/promotions`),
  ...promotionRoutes(`${v1}/config/promotions`, { subject: 'config' }),
  {
    method: 'POST',
    path: `${v1}/promotions/auto-check`,
    handler: 'promotions-auto-check',
    auth: 'jwt',
    role: 'deployer',
    summary: 'Check (and run) auto-promotion for a release',
  },
  ...ruleRoutes(`${v1}/promotions/rules`),
  ...ruleRoutes(`${v1}/approval-policies`),
  {
    method: 'POST',
    path: `${v1}/machine/promotions/{id}/evidence`,
    handler: 'promotions-evidence',
    auth: 'iam',
    role: 'deployer',
    summary: 'Evidence from a pipeline (IAM): what an evidenceFrom=machine policy counts',
  },
  {
    method: 'POST',
    path: `${v1}/machine/artifacts/{name}/versions/{version}/evidence`,
    handler: 'artifacts-evidence',
    auth: 'iam',
    role: 'deployer',
    summary: 'Release evidence from a pipeline (IAM)',
  },
  {
    method: 'POST',
    path: `${v1}/platform/deployments`,
    handler: 'deployments-record',
    auth: 'iam',
    role: 'deployer',
    summary: 'The CD pipeline records a deployment (IAM)',
  },
  {
    method: 'GET',
    path: `${v1}/platform/deployments/history`,
    handler: 'deployments-history',
    auth: 'jwt',
    role: 'viewer',
    summary: 'Deployment history of an environment, newest first',
    response: { headers: { 'X-Next-Cursor': 'the cursor of the next page, when there is one' } },
  },
  {
    method: 'GET',
    path: `${v1}/platform/metrics`,
    handler: 'deployments-metrics',
    auth: 'jwt',
    role: 'viewer',
    summary: 'Frequency, rollback rate, duration, lead time, version drift',
  },
  {
    method: 'POST',
    path: `${v1}/artifacts/{name}/versions`,
    handler: 'artifacts-publish',
    auth: 'jwt',
    role: 'deployer',
    summary: 'Publish an artifact version into the first environment',
  },
  {
    method: 'GET',
    path: `${v1}/artifacts/{name}/versions`,
    handler: 'artifacts-versions',
    auth: 'jwt',
    role: 'viewer',
    summary: 'Versions of an artifact (?environment= for what entered it)',
  },
  {
    method: 'GET',
    path: `${v1}/artifacts/{name}/tags/{tag}`,
    handler: 'artifacts-tag',
    auth: 'jwt',
    role: 'viewer',
    summary: 'Resolve a tag (v1.2.3-prod, latest-prod, v1.2.2-prod-rollback)',
  },
  {
    method: 'GET',
    path: `${v1}/artifacts/{name}/resolve`,
    handler: 'artifacts-resolve',
    auth: 'jwt',
    role: 'viewer',
    summary: 'Which version a constraint gets (exact, range, caret, mutable tag)',
  },
  {
    method: 'GET',
    path: `${v1}/artifacts/{name}/consumers`,
    handler: 'consumers-list',
    auth: 'jwt',
    role: 'viewer',
    summary: 'Pinned consumers of an artifact',
  },
  {
    method: 'PUT',
    path: `${v1}/artifacts/{name}/consumers/{consumer}`,
    handler: 'consumers-put',
    auth: 'jwt',
    role: 'deployer',
    summary: 'Register or change a consumer version constraint',
  },
  {
    method: 'GET',
    path: `${v1}/artifacts/{name}/links`,
    handler: 'artifacts-links',
    auth: 'jwt',
    role: 'viewer',
    summary: 'Registry repositories whose pushes become versions of the artifact (tag filters)',
  },
  {
    method: 'POST',
    path: `${v1}/artifacts/{name}/links`,
    handler: 'artifacts-links-create',
    auth: 'jwt',
    role: 'admin',
    summary: 'Link a registry repository: tags passing the filter become versions (the answer shows the notification token once)',
  },
  {
    method: 'DELETE',
    path: `${v1}/artifacts/{name}/links/{id}`,
    handler: 'artifacts-links',
    auth: 'jwt',
    role: 'admin',
    summary: 'Unlink a registry repository',
    status: 204,
  },
  {
    method: 'POST',
    path: `${v1}/registry/notifications/{tenant}/{artifact}/{link}`,
    handler: 'registry-notifications',
    auth: 'none',
    role: null,
    summary: "A registry's push notifications (distribution's notifications.endpoints), authenticated by the link's token",
    headers: { Authorization: "Bearer and the link's notifyToken (shown once when the link was made)" },
    response: {
      errors: {
        400: { description: 'Not a registry notification envelope ({"events":[…]}): what is wrong is named', schema: 'error' },
        401: { description: "No such link, or the token is not the link's (the same answer for both)", schema: 'error' },
        413: { description: 'The request is larger than the body limit', schema: 'error' },
      },
    },
  },
  {
    method: 'POST',
    path: `${v1}/artifacts/{name}/versions/{version}/evidence`,
    handler: 'artifacts-evidence',
    auth: 'jwt',
    role: 'deployer',
    summary: 'Attach evidence to a release',
  },
  {
    method: 'GET',
    path: `${v1}/notifications`,
    handler: 'notifications-get',
    auth: 'jwt',
    role: 'viewer',
    summary: 'Where notifications go, tenant-wide (secrets never shown)',
    context: { scope: 'tenant' },
  },
  {
    method: 'PUT',
    path: `${v1}/notifications`,
    handler: 'notifications-put',
    auth: 'jwt',
    role: 'admin',
    summary: 'Set tenant-wide notifications (Slack and email)',
    context: { scope: 'tenant' },
  },
  {
    method: 'GET',
    path: `${v1}/environments/{env}/notifications`,
    handler: 'notifications-get',
    auth: 'jwt',
    role: 'viewer',
    summary: 'Notifications for promotions into this environment',
    context: { scope: 'environment' },
  },
  {
    method: 'PUT',
    path: `${v1}/environments/{env}/notifications`,
    handler: 'notifications-put',
    auth: 'jwt',
    role: 'admin',
    summary: 'Set notifications for promotions into this environment (overrides the tenant-wide ones)',
    context: { scope: 'environment' },
  },
  // ---- GitOps delivery: where promotions into an environment are committed (domain/gitops)
  {
    method: 'GET',
    path: `${v1}/environments/{env}/git-target`,
    handler: 'git-target',
    auth: 'jwt',
    role: 'viewer',
    summary: "The environment's git target (repository, branch, file, path; the token's secret name only)",
  },
  {
    method: 'PUT',
    path: `${v1}/environments/{env}/git-target`,
    handler: 'git-target-put',
    auth: 'jwt',
    role: 'admin',
    summary: 'Commit promoted versions to a file in a git repository (YAML/JSON path, e.g. image.tag); version to change it',
  },
  {
    method: 'DELETE',
    path: `${v1}/environments/{env}/git-target`,
    handler: 'git-target',
    auth: 'jwt',
    role: 'admin',
    summary: 'Stop committing promotions of this environment to git',
    status: 204,
  },
  // ---- outbound webhooks (Standard Webhooks; domain/webhooks)
  {
    method: 'POST',
    path: `${v1}/webhooks`,
    handler: 'webhooks-create',
    auth: 'jwt',
    role: 'admin',
    summary: 'Subscribe a URL to events (tenant-wide or one environment); the answer shows the signing secret, once',
  },
  {
    method: 'GET',
    path: `${v1}/webhooks`,
    handler: 'webhooks-read',
    auth: 'jwt',
    role: 'viewer',
    summary: 'Webhook subscriptions with their health (secrets never shown)',
    response: { schema: 'webhooks-list' },
  },
  {
    method: 'GET',
    path: `${v1}/webhooks/{id}`,
    handler: 'webhooks-read',
    auth: 'jwt',
    role: 'viewer',
    summary: 'One webhook subscription (its secret never shown)',
    response: { schema: 'webhook' },
  },
  {
    method: 'PATCH',
    path: `${v1}/webhooks/{id}`,
    handler: 'webhooks-update',
    auth: 'jwt',
    role: 'admin',
    summary: 'Change a webhook subscription (optimistic locking)',
  },
  {
    method: 'DELETE',
    path: `${v1}/webhooks/{id}`,
    handler: 'webhooks-delete',
    auth: 'jwt',
    role: 'admin',
    summary: 'Remove a webhook subscription and its secrets',
    status: 204,
  },
  {
    method: 'POST',
    path: `${v1}/webhooks/{id}/rotate`,
    handler: 'webhooks-rotate',
    auth: 'jwt',
    role: 'admin',
    summary: 'New signing secret (shown once); the previous one keeps signing during the overlap',
  },
  {
    method: 'GET',
    path: `${v1}/webhooks/{id}/deliveries`,
    handler: 'webhooks-read',
    auth: 'jwt',
    role: 'viewer',
    summary: 'Delivery log: attempts, status codes, latency, next retry; newest first',
    response: { schema: 'webhook-deliveries', headers: { 'X-Next-Cursor': 'the cursor of the next page, when there is one' } },
  },
  {
    method: 'POST',
    path: `${v1}/webhooks/{id}/deliveries/{delivery}/redeliver`,
    handler: 'webhooks-redeliver',
    auth: 'jwt',
    role: 'deployer',
    summary: 'Send a delivery again (same webhook-id, a new round of retries)',
  },
  {
    method: 'GET',
    path: `${v1}/freeze-windows`,
    handler: 'freeze-windows',
    auth: 'jwt',
    role: 'viewer',
    summary: 'Freeze windows of the tenant (tenant-wide and per environment), each with its open and next occurrence',
  },
  {
    method: 'POST',
    path: `${v1}/freeze-windows`,
    handler: 'freeze-create',
    auth: 'jwt',
    role: 'admin',
    summary: 'Add a freeze window: one-off (start/end) or recurring (cron/endCron/timezone), tenant-wide or for one environment',
  },
  {
    method: 'DELETE',
    path: `${v1}/freeze-windows/{id}`,
    handler: 'freeze-windows',
    auth: 'jwt',
    role: 'admin',
    summary: 'Remove a freeze window',
    status: 204,
  },
  {
    method: 'GET',
    path: `${v1}/environments/{env}/freeze-windows`,
    handler: 'freeze-windows',
    auth: 'jwt',
    role: 'viewer',
    summary: 'Freeze windows over this environment; the current and the next one',
  },
  {
    method: 'POST',
    path: `${v1}/environments/{env}/freeze-windows`,
    handler: 'freeze-create',
    auth: 'jwt',
    role: 'admin',
    summary: 'Add a freeze window for this environment',
  },
  {
    method: 'GET',
    path: `${v1}/manifest`,
    handler: 'manifest',
    auth: 'jwt',
    role: 'viewer',
    summary: "The tenant's promotion setup as a manifest (manifest.yaml; ?format=yaml|json); export | apply changes nothing",
    response: {
      text: {
        'application/yaml':
          'The manifest as YAML (?format=yaml, the default), after a comment line naming the tenant and the digest of its setup; ?format=json answers the same document as JSON',
      },
      schema: 'manifest-document',
      headers: { 'X-Manifest-Digest': 'the digest of the setup the document was exported from (what a plan states and apply expects)' },
    },
  },
  {
    method: 'POST',
    path: `${v1}/manifest/plan`,
    handler: 'manifest',
    auth: 'jwt',
    role: 'viewer',
    summary:
      'What applying a manifest would change, field by field, and the digest of the setup it was planned against (a document of at most 256 KiB, at most 1,000 keys per mapping, each key once)',
  },
  {
    method: 'POST',
    path: `${v1}/manifest/apply`,
    handler: 'manifest-apply',
    auth: 'jwt',
    role: 'admin',
    summary: 'Apply a manifest as one audited change (all or nothing; expectedDigest refuses a stale plan)',
  },
  {
    method: 'GET',
    path: `${v1}/manifest/schema.json`,
    handler: 'openapi',
    auth: 'none',
    role: null,
    summary: "The manifest's JSON Schema",
    response: { schema: 'manifest-schema' },
  },
  {
    method: 'GET',
    path: '/review/{tenant}/{token}',
    handler: 'review',
    auth: 'none',
    role: null,
    summary: 'Signed approve/reject link: the review page (never acts)',
    response: {
      text: {
        'text/html':
          'The review page: the promotion, its changes and policy, and an approve/reject form when the link may still act (otherwise a notice why not)',
      },
      errors: REVIEW_ERRORS,
    },
  },
  {
    method: 'POST',
    path: '/review/{tenant}/{token}',
    handler: 'review',
    auth: 'none',
    role: null,
    summary: 'Signed approve/reject link: approve, or reject with a reason (single use)',
    form: true,
    response: {
      text: { 'text/html': 'A page saying what was done' },
      errors: {
        ...REVIEW_ERRORS,
        400: 'The form says neither approve nor reject, or rejects without a reason',
        403: "The form was not served by this service in the last 30 minutes, or the link's approver may not act on this promotion",
        409: 'The link was used already, the promotion no longer waits for this decision or its release changed, or the promotion refused the action (separation of duties, …)',
        410: 'The link has expired',
      },
    },
  },
  {
    method: 'POST',
    path: `${v1}/slack/actions`,
    handler: 'slack',
    auth: 'none',
    role: null,
    summary:
      "The deployment's Slack app, interactivity request URL: Approve/Reject buttons (verified with the app's signing secret; the Slack user acts as the account they linked)",
    form: 'slack-actions',
    headers: SLACK_HEADERS,
    response: {
      errors: {
        400: 'Not a Slack interaction payload, or not an approve/reject action of a tenant',
        401: 'This deployment has no Slack signing secret, or the signature does not hold (the reply says why)',
        413: 'The request is larger than 64 KiB',
      },
    },
  },
  {
    method: 'POST',
    path: `${v1}/slack/commands`,
    handler: 'slack',
    auth: 'none',
    role: null,
    summary: "The deployment's Slack app, slash command request URL: `/stageline link CODE` links the Slack user who sends it to the account that got the code",
    form: 'slack-commands',
    headers: SLACK_HEADERS,
    response: {
      errors: {
        400: 'Not a Slack slash command (no team_id or user_id)',
        401: 'This deployment has no Slack signing secret, or the signature does not hold (the reply says why)',
        413: 'The request is larger than 64 KiB',
      },
    },
  },
  {
    method: 'POST',
    path: `${v1}/slack/link-codes`,
    handler: 'slack-links',
    auth: 'jwt',
    role: 'approver',
    summary: 'A one-time code (10 minutes, single use) to link your own Slack account: send `/stageline link CODE` from Slack',
    status: 201,
  },
  {
    method: 'GET',
    path: `${v1}/slack/links`,
    handler: 'slack-links',
    auth: 'jwt',
    role: 'viewer',
    summary: "Slack users linked to accounts: an admin sees the tenant's, anyone else their own",
    response: { schema: 'slack-links-list' },
  },
  {
    method: 'DELETE',
    path: `${v1}/slack/links/{team}/{user}`,
    handler: 'slack-links',
    auth: 'jwt',
    role: 'approver',
    summary: "Unlink a Slack user: your own, or (admin) anyone's; nobody links anyone else",
    status: 204,
  },
  ...consumeRoutes,
];

/** Browser access (CORS): which paths are open to other origins, with which headers (functions/http/cors.ts). */
export { CORS, corsOpen } from './cors.ts';

/** Handles what no route matches ($default on API Gateway): 404 or 405. */
export const FALLBACK_HANDLER = 'fallback';

export const routeKey = (r: Pick<Route, 'method' | 'path'>) => `${r.method} ${r.path}`;

const compiled = ROUTES.map((route) => {
  const names: string[] = [];
  const pattern = route.path.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{(\w+)\}/g, (_m, n: string) => {
    names.push(n);
    return '([^/]+)';
  });
  return { route, names, re: new RegExp(`^${pattern}$`), literals: route.path.split('/').filter((s) => !s.startsWith('{')).length };
});

export type Match = { kind: 'route'; route: Route; params: Record<string, string> } | { kind: 'method-not-allowed'; allowed: string[] } | { kind: 'not-found' };

/** Matches like API Gateway: the most specific path (most literal segments) wins. */
export function matchRoute(method: string, path: string): Match {
  const hits = compiled.filter((c) => c.re.test(path)).sort((a, b) => b.literals - a.literals);
  if (hits.length === 0) return { kind: 'not-found' };
  const best = hits.filter((h) => h.literals === hits[0]!.literals);
  const hit = best.find((h) => h.route.method === method.toUpperCase());
  if (!hit) return { kind: 'method-not-allowed', allowed: [...new Set(best.map((h) => h.route.method))] };
  const values = hit.re.exec(path)!.slice(1);
  const params = Object.fromEntries(hit.names.map((n, i) => [n, decodeURIComponent(values[i]!)]));
  return { kind: 'route', route: hit.route, params };
}

export const HANDLERS = [...new Set([...ROUTES.map((r) => r.handler), FALLBACK_HANDLER])];

/** Public routes that authenticate the caller themselves: a signed review link's token, a Slack request signature. They act, so they write. */
export const SELF_AUTHENTICATED = ['review', 'slack', 'registry-notifications'] as const;

/** The handlers behind the Slack app's request URLs: the only ones that read its signing secret. */
export const SLACK_HANDLERS = ['slack'] as const;

/** Lambda entries that no route reaches: tasks of the state machines (statemachines/*.asl.json), the scheduler's and the bus's targets, and the table's stream consumer. */
export const WORKFLOW_HANDLERS = [
  'promotion-step',
  'schedule-fire',
  'auto-promote',
  'stream',
  'notifier',
  'webhook-deliver',
  'alarm-state',
  'registry-push',
] as const;

/** Every handler module in functions/handlers/. */
export const ALL_HANDLERS = [...HANDLERS, ...WORKFLOW_HANDLERS];

/**
 * Lambda functions that serve several handlers: the read-only routes of one area. Their handlers
 * need exactly the same permissions (the tenant read role, no grants of their own, no flows, no IAM
 * route, the default timeout; infra/stack.ts refuses a group that mixes), so one function each loses
 * no least privilege and saves a function and an API integration per handler merged. This is the
 * one place a group is declared: its Lambda entry is generated from it (infra/bundle.ts), importing
 * its handlers and dispatching on the route key (functions/http/group.ts).
 */
export const FUNCTION_GROUPS = {
  'environments-read': ['environments-list', 'environments-get', 'status', 'diff-environments'],
  'snapshots-read': ['snapshots-list', 'snapshots-get', 'diff-snapshots'],
  'items-read': ['items-list', 'items-get'],
  'promotions-read': ['promotions-list', 'promotions-get', 'promotions-decision', 'promotions-changes'],
  'rules-read': ['rules-list', 'rules-get'],
  'deployments-read': ['deployments-history', 'deployments-metrics'],
  'artifacts-read': ['artifacts-versions', 'artifacts-tag', 'artifacts-resolve', 'consumers-list'],
  // People: one function holds the user pool's Admin* grants (domain/access).
  'users-admin': ['users-list', 'users-invite', 'users-roles', 'users-remove', 'tenants-create'],
} as const satisfies Record<string, readonly string[]>;

export type FunctionGroup = keyof typeof FUNCTION_GROUPS;

/** The Lambda function that runs a handler: its group, or a function of its own. */
export function functionOf(handler: string): string {
  const group = Object.entries(FUNCTION_GROUPS).find(([, members]) => (members as readonly string[]).includes(handler));
  return group ? group[0] : handler;
}

/** The handlers a Lambda function runs. */
export const handlersOf = (fn: string): readonly string[] => (FUNCTION_GROUPS as Record<string, readonly string[]>)[fn] ?? [fn];

/** Every Lambda function (CDK creates one each; the local gateway invokes the same entries). */
export const FUNCTIONS = [...new Set(ALL_HANDLERS.map(functionOf))];
