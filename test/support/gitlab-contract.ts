import * as z from '../../domain/kernel/zod.ts';

/**
 * GitLab's REST API (v4) as its documentation describes it, written down here since GitLab publishes no
 * machine-readable description of these endpoints (docs.gitlab.com/api/merge_requests, /api/branches,
 * /api/projects, /api/commits#list-the-statuses-of-a-commit, /api/notes, /api/users,
 * /user/project/integrations/webhook_events, /api/deployments#approve-or-reject-a-blocked-deployment): the GitLab stand-in's requests, answers and webhook payloads are
 * held to these shapes.
 */
const time = z.string().check(z.regex(/^\d{4}-\d{2}-\d{2}T/));
const user = z.looseObject({ id: z.number(), username: z.string(), name: z.string(), state: z.string(), web_url: z.string() });
const project = z.looseObject({
  id: z.number(),
  name: z.string(),
  path: z.string(),
  path_with_namespace: z.string(),
  default_branch: z.string(),
  web_url: z.string(),
  http_url_to_repo: z.string(),
});
const branch = z.looseObject({
  name: z.string(),
  merged: z.boolean(),
  protected: z.boolean(),
  default: z.boolean(),
  commit: z.looseObject({ id: z.string() }),
});
const pipeline = z.looseObject({ id: z.number(), sha: z.string(), ref: z.string(), status: z.string(), web_url: z.string() });
const pipelineDetail = z.looseObject({
  id: z.number(),
  iid: z.number(),
  project_id: z.number(),
  sha: z.string(),
  ref: z.string(),
  status: z.enum(['created', 'waiting_for_resource', 'preparing', 'pending', 'running', 'success', 'failed', 'canceled', 'skipped', 'manual', 'scheduled']),
  source: z.string(),
  created_at: time,
  updated_at: time,
  web_url: z.string(),
});
const mergeRequest = z.looseObject({
  id: z.number(),
  iid: z.number(),
  project_id: z.number(),
  title: z.string(),
  description: z.nullable(z.string()),
  state: z.enum(['opened', 'closed', 'locked', 'merged']),
  created_at: time,
  updated_at: time,
  merged_at: z.nullable(time),
  closed_at: z.nullable(time),
  target_branch: z.string(),
  source_branch: z.string(),
  author: user,
  reviewers: z.array(user),
  labels: z.array(z.string()),
  draft: z.boolean(),
  work_in_progress: z.boolean(),
  merge_when_pipeline_succeeds: z.boolean(),
  merge_status: z.string(),
  detailed_merge_status: z.enum([
    'approvals_syncing',
    'checking',
    'ci_must_pass',
    'ci_still_running',
    'commits_status',
    'conflict',
    'discussions_not_resolved',
    'draft_status',
    'jira_association_missing',
    'mergeable',
    'merge_request_blocked',
    'merge_time',
    'need_rebase',
    'not_approved',
    'not_open',
    'preparing',
    'requested_changes',
    'security_policy_violations',
    'status_checks_must_pass',
    'unchecked',
    'locked_paths',
    'locked_lfs_files',
    'title_regex',
  ]),
  sha: z.string(),
  merge_commit_sha: z.nullable(z.string()),
  squash_commit_sha: z.nullable(z.string()),
  web_url: z.string(),
});
const detailed = z.extend(mergeRequest, { head_pipeline: z.nullable(pipeline) });
const commitStatus = z.looseObject({
  id: z.number(),
  sha: z.string(),
  ref: z.nullable(z.string()),
  status: z.string(),
  name: z.string(),
  target_url: z.nullable(z.string()),
});
const note = z.looseObject({ id: z.number(), body: z.string(), author: user, created_at: time, system: z.boolean(), noteable_type: z.string() });

type Shape = z.ZodMiniType;
const int = z.string().check(z.regex(/^\d+$/));
/** method, path pattern, documented query parameters, documented body fields, answers by status */
const ENDPOINTS: { method: string; re: RegExp; name: string; query?: Record<string, Shape>; body?: Shape; answers: Record<number, Shape | null> }[] = [
  { method: 'GET', re: /^\/projects\/([^/]+)$/, name: 'GET /projects/:id', answers: { 200: project, 404: null } },
  {
    method: 'GET',
    re: /^\/projects\/([^/]+)\/repository\/branches\/([^/]+)$/,
    name: 'GET /projects/:id/repository/branches/:branch',
    answers: { 200: branch, 404: null },
  },
  { method: 'GET', re: /^\/user$/, name: 'GET /user', answers: { 200: user, 401: null } },
  {
    method: 'DELETE',
    re: /^\/projects\/([^/]+)\/repository\/branches\/([^/]+)$/,
    name: 'DELETE /projects/:id/repository/branches/:branch',
    answers: { 204: null, 404: null },
  },
  {
    method: 'GET',
    re: /^\/projects\/([^/]+)\/merge_requests$/,
    name: 'GET /projects/:id/merge_requests',
    query: {
      source_branch: z.string(),
      target_branch: z.string(),
      state: z.enum(['opened', 'closed', 'locked', 'merged', 'all']),
      order_by: z.enum(['created_at', 'updated_at', 'title', 'merged_at']),
      sort: z.enum(['asc', 'desc']),
      per_page: int,
      page: int,
      pagination: z.enum(['offset', 'keyset']),
    },
    answers: { 200: z.array(mergeRequest), 404: null },
  },
  {
    method: 'POST',
    re: /^\/projects\/([^/]+)\/merge_requests$/,
    name: 'POST /projects/:id/merge_requests',
    body: z.strictObject({
      source_branch: z.string(),
      target_branch: z.string(),
      title: z.string(),
      description: z.optional(z.string().check(z.maxLength(1_048_576))),
      labels: z.optional(z.string()),
      reviewer_ids: z.optional(z.array(z.number())),
      assignee_ids: z.optional(z.array(z.number())),
      remove_source_branch: z.optional(z.boolean()),
      squash: z.optional(z.boolean()),
    }),
    answers: { 201: detailed, 409: null, 404: null },
  },
  { method: 'GET', re: /^\/projects\/([^/]+)\/merge_requests\/(\d+)$/, name: 'GET /projects/:id/merge_requests/:iid', answers: { 200: detailed, 404: null } },
  {
    method: 'PUT',
    re: /^\/projects\/([^/]+)\/merge_requests\/(\d+)$/,
    name: 'PUT /projects/:id/merge_requests/:iid',
    body: z.strictObject({ state_event: z.optional(z.enum(['close', 'reopen'])), title: z.optional(z.string()), description: z.optional(z.string()) }),
    answers: { 200: detailed, 404: null },
  },
  {
    method: 'PUT',
    re: /^\/projects\/([^/]+)\/merge_requests\/(\d+)\/merge$/,
    name: 'PUT /projects/:id/merge_requests/:iid/merge',
    body: z.strictObject({
      sha: z.optional(z.string()),
      merge_when_pipeline_succeeds: z.optional(z.boolean()),
      auto_merge: z.optional(z.boolean()),
      should_remove_source_branch: z.optional(z.boolean()),
      merge_commit_message: z.optional(z.string()),
    }),
    answers: { 200: detailed, 401: null, 405: null, 406: null, 409: null, 422: null },
  },
  {
    method: 'POST',
    re: /^\/projects\/([^/]+)\/merge_requests\/(\d+)\/notes$/,
    name: 'POST /projects/:id/merge_requests/:iid/notes',
    body: z.strictObject({ body: z.string().check(z.maxLength(1_000_000)) }),
    answers: { 201: note, 404: null },
  },
  {
    method: 'GET',
    re: /^\/projects\/([^/]+)\/repository\/commits\/([^/]+)\/statuses$/,
    name: 'GET /projects/:id/repository/commits/:sha/statuses',
    query: { ref: z.string(), stage: z.string(), name: z.string(), all: z.enum(['true', 'false']), per_page: int, page: int },
    answers: { 200: z.array(commitStatus), 404: null },
  },
  { method: 'GET', re: /^\/users$/, name: 'GET /users', query: { username: z.string() }, answers: { 200: z.array(user) } },
  // docs.gitlab.com/api/pipelines#create-a-new-pipeline and #get-a-single-pipeline
  {
    method: 'POST',
    re: /^\/projects\/([^/]+)\/pipeline$/,
    name: 'POST /projects/:id/pipeline',
    body: z.strictObject({
      ref: z.string(),
      variables: z.optional(z.array(z.strictObject({ key: z.string(), value: z.string(), variable_type: z.optional(z.enum(['env_var', 'file'])) }))),
      inputs: z.optional(z.record(z.string(), z.unknown())),
    }),
    answers: { 201: pipelineDetail, 400: null, 401: null, 403: null, 404: null },
  },
  {
    method: 'GET',
    re: /^\/projects\/([^/]+)\/pipelines\/(\d+)$/,
    name: 'GET /projects/:id/pipelines/:pipeline_id',
    answers: { 200: pipelineDetail, 401: null, 404: null },
  },
  // docs.gitlab.com/api/deployments#approve-or-reject-a-blocked-deployment
  {
    method: 'POST',
    re: /^\/projects\/([^/]+)\/deployments\/(\d+)\/approval$/,
    name: 'POST /projects/:id/deployments/:deployment_id/approval',
    body: z.strictObject({
      status: z.enum(['approved', 'rejected']),
      comment: z.optional(z.string()),
      represented_as: z.optional(z.string()),
    }),
    answers: {
      201: z.looseObject({ user, status: z.enum(['approved', 'rejected']), created_at: time, comment: z.nullable(z.string()) }),
      400: null,
      401: null,
      403: null,
      404: null,
    },
  },
];
const errorShape = z.looseObject({ message: z.union([z.string(), z.record(z.string(), z.unknown())]) });

// Webhook payloads (webhook_events#merge-request-events, #pipeline-events): the fields GitLab documents as always sent.
const hookProject = z.looseObject({ id: z.number(), name: z.string(), web_url: z.string(), path_with_namespace: z.string(), default_branch: z.string() });
export const mergeRequestHook = z.looseObject({
  object_kind: z.literal('merge_request'),
  event_type: z.literal('merge_request'),
  user: z.looseObject({ id: z.number(), name: z.string(), username: z.string() }),
  project: hookProject,
  object_attributes: z.looseObject({
    id: z.number(),
    iid: z.number(),
    source_branch: z.string(),
    target_branch: z.string(),
    state: z.enum(['opened', 'closed', 'locked', 'merged']),
    action: z.optional(z.enum(['open', 'close', 'reopen', 'update', 'approved', 'unapproved', 'approval', 'unapproval', 'merge'])),
    url: z.string(),
    last_commit: z.looseObject({ id: z.string() }),
  }),
});
export const pipelineHook = z.looseObject({
  object_kind: z.literal('pipeline'),
  object_attributes: z.looseObject({ id: z.number(), ref: z.string(), sha: z.string(), status: z.string() }),
  merge_request: z.nullable(z.looseObject({ id: z.number(), iid: z.number(), source_branch: z.string(), target_branch: z.string(), url: z.string() })),
  project: hookProject,
});

// webhook_events#deployment-events: a deployment's status changed (`blocked`: it waits for an approval).
export const deploymentHook = z.looseObject({
  object_kind: z.literal('deployment'),
  status: z.enum(['created', 'running', 'success', 'failed', 'canceled', 'blocked']),
  status_changed_at: z.string(),
  deployment_id: z.number(),
  deployable_id: z.number(),
  deployable_url: z.string(),
  environment: z.string(),
  environment_tier: z.string(),
  environment_slug: z.string(),
  environment_external_url: z.nullable(z.string()),
  project: hookProject,
  short_sha: z.string(),
  user: z.looseObject({ id: z.number(), name: z.string(), username: z.string() }),
  user_url: z.string(),
  commit_url: z.string(),
  commit_title: z.string(),
  ref: z.string(),
});

export const issues = (r: { success: boolean; error?: { issues: { path: PropertyKey[]; message: string }[] } }) =>
  (r.error?.issues ?? [])
    .slice(0, 4)
    .map((i) => `${i.path.join('.') || '/'}: ${i.message}`)
    .join('; ');

/**
 * What does not hold in an exchange: the request must be a documented endpoint with documented parameters of the
 * documented types, the answer a documented status with the documented fields.
 */
export function contractViolations(method: string, url: URL, body: unknown, status: number, out: unknown): string[] {
  const violations: string[] = [];
  const e = ENDPOINTS.find((x) => x.method === method && x.re.test(url.pathname));
  if (!e) return [`${method} ${url.pathname}: not a documented endpoint`];
  for (const [k, v] of url.searchParams) {
    const s = e.query?.[k];
    if (!s) violations.push(`${e.name}: query parameter '${k}' is not documented`);
    else {
      const r = z.safeParse(s, v);
      if (!r.success) violations.push(`${e.name}: ${k}=${v}: ${issues(r)}`);
    }
  }
  if (e.body) {
    const r = z.safeParse(e.body, body ?? {});
    if (!r.success) violations.push(`${e.name}: body: ${issues(r)}`);
  } else if (body !== undefined) violations.push(`${e.name}: takes no body`);
  if (!(status in e.answers)) return [...violations, `${e.name} → ${status}: not a documented answer`];
  const shape = e.answers[status] ?? (status >= 400 ? errorShape : null);
  if (shape) {
    const r = z.safeParse(shape, out);
    if (!r.success) violations.push(`${e.name} → ${status}: ${issues(r)}`);
  }
  return violations;
}
