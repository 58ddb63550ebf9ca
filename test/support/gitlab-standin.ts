import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as z from '../../domain/kernel/zod.ts';
import type { GitServer } from './git-server.ts';

/**
 * A stand-in of GitLab's REST API (v4) for the merge requests of projects served by the test git server,
 * driven in the tests by the real @gitbeaker/rest client. GitLab publishes no machine-readable description
 * of these endpoints, so the documented shapes are written down here (docs.gitlab.com/api/merge_requests,
 * /api/branches, /api/projects, /api/commits#list-the-statuses-of-a-commit, /api/notes, /api/users,
 * /user/project/integrations/webhook_events): every request must be a documented endpoint with documented
 * parameters of the documented types, every answer must have the documented fields; what does not hold
 * is recorded in `violations`. Branches, merges and conflicts are real git on the served repositories.
 */
export interface GitLabStandin {
  /** the host (what a git target's pullRequest.apiUrl names; the API is under /api/v4) */
  url: string;
  violations: string[];
  allow(token: string, path: string): void;
  hook(path: string, url: string, token: string): void;
  mergeRequests(path: string): MergeRequest[];
  /** opens a merge request as someone else (not through the API Stageline uses), e.g. from a fork (`sourceProjectId`) */
  openAs(path: string, m: { source: string; target: string; author: string; sourceProjectId?: number }): MergeRequest;
  /** reports the head pipeline of the merge request at `sha` and sends the Pipeline Hook; success merges a merge request set to auto-merge */
  pipeline(path: string, sha: string, status: 'running' | 'success' | 'failed'): Promise<number | null>;
  merge(path: string, iid: number): Promise<number | null>;
  close(path: string, iid: number): Promise<number | null>;
  /** sends a Merge Request Hook for it with this token (the test's own, e.g. a wrong one) */
  deliver(path: string, iid: number, token?: string): Promise<number>;
  stop(): Promise<void>;
}

export interface MergeRequest {
  iid: number;
  title: string;
  description: string;
  source: string;
  target: string;
  state: 'opened' | 'closed' | 'merged';
  labels: string[];
  reviewerIds: number[];
  autoMerge: boolean;
  mergeCommit: string | null;
  pipeline: { id: number; sha: string; status: string } | null;
  notes: string[];
  createdAt: string;
  mergedAt: string | null;
  closedAt: string | null;
  /** the project the source branch is in (a fork's id; default: this project, 99) */
  sourceProjectId?: number;
  /** who opened it (default: the token's user, stageline-bot) */
  author?: string;
  /** the head it was merged at */
  headAtEnd?: string;
}

// --- the documented shapes ---------------------------------------------------------------------------------
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
];
const errorShape = z.looseObject({ message: z.union([z.string(), z.record(z.string(), z.unknown())]) });

// Webhook payloads (webhook_events#merge-request-events, #pipeline-events): the fields GitLab documents as always sent.
const hookProject = z.looseObject({ id: z.number(), name: z.string(), web_url: z.string(), path_with_namespace: z.string(), default_branch: z.string() });
const mergeRequestHook = z.looseObject({
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
const pipelineHook = z.looseObject({
  object_kind: z.literal('pipeline'),
  object_attributes: z.looseObject({ id: z.number(), ref: z.string(), sha: z.string(), status: z.string() }),
  merge_request: z.nullable(z.looseObject({ id: z.number(), iid: z.number(), source_branch: z.string(), target_branch: z.string(), url: z.string() })),
  project: hookProject,
});

const issues = (r: { success: boolean; error?: { issues: { path: PropertyKey[]; message: string }[] } }) =>
  (r.error?.issues ?? [])
    .slice(0, 4)
    .map((i) => `${i.path.join('.') || '/'}: ${i.message}`)
    .join('; ');

const now = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z');

export async function startGitLabStandin(g: GitServer): Promise<GitLabStandin> {
  const access = new Map<string, Set<string>>();
  const hooks = new Map<string, { url: string; token: string }>();
  const mrs = new Map<string, MergeRequest[]>();
  const violations: string[] = [];
  let ids = 500;

  const bare = (path: string) => join(g.root, `${path}.git`);
  const git = (path: string, ...args: string[]) => g.git(bare(path), ...args).trim();
  const head = (path: string, b: string): string | null => {
    try {
      return git(path, 'rev-parse', '--verify', '-q', `refs/heads/${b}`);
    } catch {
      return null;
    }
  };
  const ok = (fn: () => unknown) => {
    try {
      fn();
      return true;
    } catch {
      return false;
    }
  };

  const userJson = (username: string, id = 7) => ({ id, username, name: username, state: 'active', web_url: `${base}/${username}` });
  const projectJson = (path: string) => ({
    id: 99,
    name: path.split('/').pop()!,
    path: path.split('/').pop()!,
    path_with_namespace: path,
    default_branch: 'main',
    web_url: `${base}/${path}`,
    http_url_to_repo: `${g.url}/${path}.git`,
  });
  function detailedStatus(path: string, m: MergeRequest): string {
    if (m.state !== 'opened') return 'not_open';
    const b = head(path, m.target);
    const h = head(path, m.source);
    if (!b || !h || !ok(() => git(path, 'merge-tree', '--write-tree', b, h))) return 'conflict';
    if (/^Draft: /.test(m.title)) return 'draft_status';
    if (!ok(() => git(path, 'merge-base', '--is-ancestor', b, h))) return 'need_rebase';
    if (m.pipeline && m.pipeline.sha === h && m.pipeline.status !== 'success') return m.pipeline.status === 'running' ? 'ci_still_running' : 'ci_must_pass';
    return 'mergeable';
  }
  function mrJson(path: string, m: MergeRequest, withPipeline = true) {
    // A merged merge request keeps the head it was merged at (GitLab's sha), even after its source branch is removed.
    const sha = m.headAtEnd ?? head(path, m.source) ?? m.mergeCommit ?? '0'.repeat(40);
    const ds = detailedStatus(path, m);
    return {
      id: m.iid + 9000,
      iid: m.iid,
      project_id: 99,
      title: m.title,
      description: m.description,
      state: m.state,
      created_at: m.createdAt,
      updated_at: now(),
      merged_at: m.mergedAt,
      closed_at: m.closedAt,
      target_branch: m.target,
      source_branch: m.source,
      source_project_id: m.sourceProjectId ?? 99,
      target_project_id: 99,
      author: userJson(m.author ?? 'stageline-bot'),
      reviewers: m.reviewerIds.map((id) => userJson(`user${id}`, id)),
      labels: m.labels,
      draft: /^Draft: /.test(m.title),
      work_in_progress: /^Draft: /.test(m.title),
      merge_when_pipeline_succeeds: m.autoMerge,
      merge_status: ds === 'mergeable' ? 'can_be_merged' : 'cannot_be_merged',
      detailed_merge_status: ds,
      sha,
      merge_commit_sha: m.mergeCommit,
      squash_commit_sha: null,
      web_url: `${base}/${path}/-/merge_requests/${m.iid}`,
      ...(withPipeline ? { head_pipeline: m.pipeline ? { ...m.pipeline, ref: m.source, web_url: `${base}/${path}/-/pipelines/${m.pipeline.id}` } : null } : {}),
    };
  }

  function mergeNow(path: string, m: MergeRequest): string | null {
    const work = mkdtempSync(join(tmpdir(), 'standin-merge-'));
    try {
      g.git(work, 'clone', '-q', bare(path), 'w');
      const w = join(work, 'w');
      g.git(w, 'checkout', '-q', m.target);
      try {
        g.git(w, 'merge', '--no-ff', '-q', '-m', `Merge branch '${m.source}' into '${m.target}'`, `origin/${m.source}`);
      } catch {
        return null;
      }
      g.git(w, 'push', '-q', 'origin', m.target);
      const sha = g.git(w, 'rev-parse', 'HEAD').trim();
      Object.assign(m, { state: 'merged', mergedAt: now(), mergeCommit: sha, headAtEnd: head(path, m.source) ?? undefined });
      return sha;
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }

  const notFound = { message: '404 Not found' };
  function route(method: string, url: URL, token: string, body: Record<string, any> | undefined): [number, unknown] {
    const p = url.pathname;
    if (method === 'GET' && p === '/users') return [200, [userJson(url.searchParams.get('username') ?? 'x', 31)]];
    // The token's own user (every token the stand-in knows is the bot's).
    if (method === 'GET' && p === '/user') return access.has(token) ? [200, userJson('stageline-bot')] : [401, { message: '401 Unauthorized' }];
    const m = /^\/projects\/([^/]+)(\/.*)?$/.exec(p);
    if (!m) return [404, notFound];
    const path = decodeURIComponent(m[1]!);
    if (!access.get(token)?.has(path) || !ok(() => git(path, 'rev-parse', '--git-dir'))) return [404, { message: '404 Project Not Found' }];
    const rest = m[2] ?? '';
    const list = mrs.get(path) ?? [];
    mrs.set(path, list);
    const find = (iid: string) => list.find((x) => x.iid === Number(iid));
    let r: RegExpExecArray | null;
    if (method === 'GET' && rest === '') return [200, projectJson(path)];
    if ((r = /^\/repository\/branches\/([^/]+)$/.exec(rest))) {
      const name = decodeURIComponent(r[1]!);
      const sha = head(path, name);
      if (!sha) return [404, { message: '404 Branch Not Found' }];
      if (method === 'DELETE') {
        git(path, 'update-ref', '-d', `refs/heads/${name}`);
        return [204, undefined];
      }
      return [200, { name, merged: false, protected: name === 'main', default: name === 'main', commit: { id: sha } }];
    }
    if (rest === '/merge_requests' && method === 'GET') {
      const source = url.searchParams.get('source_branch');
      return [
        200,
        list
          .filter((x) => !source || x.source === source)
          .sort((a, b) => b.iid - a.iid)
          .map((x) => mrJson(path, x, false)),
      ];
    }
    if (rest === '/merge_requests' && method === 'POST') {
      const b = body ?? {};
      if (!head(path, b.target_branch) || !head(path, b.source_branch)) return [404, { message: '404 Branch Not Found' }];
      // One open merge request per source branch of this project (a fork's branch of the same name is another source).
      if (list.some((x) => x.state === 'opened' && x.source === b.source_branch && !x.sourceProjectId))
        return [
          409,
          { message: [`Another open merge request already exists for this source branch: !${list.find((x) => x.source === b.source_branch)!.iid}`] },
        ];
      const mr: MergeRequest = {
        iid: list.length + 1,
        title: b.title,
        description: b.description ?? '',
        source: b.source_branch,
        target: b.target_branch,
        state: 'opened',
        labels: b.labels ? String(b.labels).split(',') : [],
        reviewerIds: b.reviewer_ids ?? [],
        autoMerge: false,
        mergeCommit: null,
        pipeline: null,
        notes: [],
        createdAt: now(),
        mergedAt: null,
        closedAt: null,
      };
      list.push(mr);
      return [201, mrJson(path, mr)];
    }
    if ((r = /^\/merge_requests\/(\d+)$/.exec(rest))) {
      const mr = find(r[1]!);
      if (!mr) return [404, { message: '404 Not found' }];
      if (method === 'PUT' && body?.state_event === 'close' && mr.state === 'opened') Object.assign(mr, { state: 'closed', closedAt: now() });
      return [200, mrJson(path, mr)];
    }
    if (method === 'PUT' && (r = /^\/merge_requests\/(\d+)\/merge$/.exec(rest))) {
      const mr = find(r[1]!);
      if (!mr) return [404, { message: '404 Not found' }];
      if (mr.state !== 'opened') return [405, { message: '405 Method Not Allowed' }];
      if (body?.sha && body.sha !== head(path, mr.source)) return [409, { message: 'SHA does not match HEAD of source branch' }];
      if (body?.merge_when_pipeline_succeeds || body?.auto_merge) {
        // Auto-merge: set now, merged by GitLab when the head pipeline succeeds.
        if (!(mr.pipeline?.status === 'success' && mr.pipeline.sha === head(path, mr.source))) {
          mr.autoMerge = true;
          return [200, mrJson(path, mr)];
        }
      }
      if (detailedStatus(path, mr) !== 'mergeable' || !mergeNow(path, mr)) return [422, { message: 'Branch cannot be merged' }];
      return [200, mrJson(path, mr)];
    }
    if (method === 'POST' && (r = /^\/merge_requests\/(\d+)\/notes$/.exec(rest))) {
      const mr = find(r[1]!);
      if (!mr) return [404, { message: '404 Not found' }];
      mr.notes.push(String(body?.body ?? ''));
      return [
        201,
        { id: ids++, body: String(body?.body ?? ''), author: userJson('stageline-bot'), created_at: now(), system: false, noteable_type: 'MergeRequest' },
      ];
    }
    if (method === 'GET' && (r = /^\/repository\/commits\/([^/]+)\/statuses$/.exec(rest))) return [200, []];
    return [404, notFound];
  }

  function check(method: string, url: URL, body: unknown, status: number, out: unknown) {
    const e = ENDPOINTS.find((x) => x.method === method && x.re.test(url.pathname));
    if (!e) return violations.push(`${method} ${url.pathname}: not a documented endpoint`);
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
    if (!(status in e.answers)) return violations.push(`${e.name} → ${status}: not a documented answer`);
    const shape = e.answers[status] ?? (status >= 400 ? errorShape : null);
    if (shape) {
      const r = z.safeParse(shape, out);
      if (!r.success) violations.push(`${e.name} → ${status}: ${issues(r)}`);
    }
  }

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://standin');
      const method = req.method ?? 'GET';
      if (!url.pathname.startsWith('/api/v4/')) {
        violations.push(`${method} ${url.pathname}: not under /api/v4`);
        res.writeHead(404).end();
        return;
      }
      url.pathname = url.pathname.slice('/api/v4'.length);
      const raw = Buffer.concat(chunks).toString('utf8');
      let body: Record<string, any> | undefined;
      try {
        body = raw ? JSON.parse(raw) : undefined;
      } catch {
        violations.push(`${method} ${url.pathname}: the body is not JSON`);
      }
      const token = String(req.headers['private-token'] ?? String(req.headers.authorization ?? '').replace(/^Bearer /, ''));
      let status: number;
      let out: unknown;
      try {
        [status, out] = route(method, url, token, body);
      } catch (err) {
        [status, out] = [500, { message: (err as Error).message }];
        violations.push(`${method} ${url.pathname}: the stand-in failed: ${(err as Error).message}`);
      }
      check(method, url, body, status, out);
      res.writeHead(status, out === undefined ? {} : { 'content-type': 'application/json' });
      res.end(out === undefined ? undefined : JSON.stringify(out));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;

  async function send(path: string, event: string, payload: unknown, token?: string): Promise<number> {
    const h = hooks.get(path);
    if (!h) return 0;
    const res = await fetch(h.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-gitlab-event': event, 'x-gitlab-token': token ?? h.token, 'x-gitlab-event-uuid': randomUUID() },
      body: JSON.stringify(payload),
    });
    await res.text();
    return res.status;
  }
  function mrHook(path: string, m: MergeRequest, action: 'merge' | 'close' | 'update') {
    const payload = {
      object_kind: 'merge_request',
      event_type: 'merge_request',
      user: { id: 7, name: 'someone', username: 'someone' },
      project: projectJson(path),
      object_attributes: {
        id: m.iid + 9000,
        iid: m.iid,
        source_branch: m.source,
        target_branch: m.target,
        state: m.state,
        action,
        url: `${base}/${path}/-/merge_requests/${m.iid}`,
        last_commit: { id: head(path, m.source) ?? m.mergeCommit ?? '' },
      },
    };
    const r = z.safeParse(mergeRequestHook, payload);
    if (!r.success) violations.push(`Merge Request Hook: ${issues(r)}`);
    return payload;
  }

  return {
    url: base,
    violations,
    allow(token, path) {
      access.set(token, (access.get(token) ?? new Set()).add(path));
    },
    hook(path, url, token) {
      hooks.set(path, { url, token });
    },
    mergeRequests: (path) => mrs.get(path) ?? [],
    openAs(path, o) {
      const list = mrs.get(path) ?? [];
      mrs.set(path, list);
      const m: MergeRequest = {
        iid: list.length + 1,
        title: `From ${o.author}`,
        description: '',
        source: o.source,
        target: o.target,
        state: 'opened',
        labels: [],
        reviewerIds: [],
        autoMerge: false,
        mergeCommit: null,
        pipeline: null,
        notes: [],
        createdAt: now(),
        mergedAt: null,
        closedAt: null,
        author: o.author,
        ...(o.sourceProjectId ? { sourceProjectId: o.sourceProjectId } : {}),
      };
      list.push(m);
      return m;
    },
    async pipeline(path, sha, status) {
      const m = (mrs.get(path) ?? []).find((x) => x.state === 'opened' && head(path, x.source) === sha);
      if (!m) throw new Error(`no open merge request at ${sha}`);
      m.pipeline = { id: m.pipeline?.sha === sha ? m.pipeline.id : ids++, sha, status };
      const payload = {
        object_kind: 'pipeline',
        object_attributes: { id: m.pipeline.id, ref: m.source, sha, status },
        merge_request: { id: m.iid + 9000, iid: m.iid, source_branch: m.source, target_branch: m.target, url: `${base}/${path}/-/merge_requests/${m.iid}` },
        project: projectJson(path),
      };
      const r = z.safeParse(pipelineHook, payload);
      if (!r.success) violations.push(`Pipeline Hook: ${issues(r)}`);
      if (status === 'success' && m.autoMerge && detailedStatus(path, m) === 'mergeable' && mergeNow(path, m))
        return send(path, 'Merge Request Hook', mrHook(path, m, 'merge'));
      return send(path, 'Pipeline Hook', payload);
    },
    async merge(path, iid) {
      const m = (mrs.get(path) ?? []).find((x) => x.iid === iid);
      if (!m || m.state !== 'opened' || !mergeNow(path, m)) throw new Error(`!${iid} does not merge`);
      return send(path, 'Merge Request Hook', mrHook(path, m, 'merge'));
    },
    async close(path, iid) {
      const m = (mrs.get(path) ?? []).find((x) => x.iid === iid);
      if (!m || m.state !== 'opened') throw new Error(`!${iid} is not open`);
      Object.assign(m, { state: 'closed', closedAt: now() });
      return send(path, 'Merge Request Hook', mrHook(path, m, 'close'));
    },
    async deliver(path, iid, token) {
      const m = (mrs.get(path) ?? []).find((x) => x.iid === iid)!;
      return send(path, 'Merge Request Hook', mrHook(path, m, 'update'), token);
    },
    stop: () => new Promise<void>((r) => server.close(() => r())),
  };
}
