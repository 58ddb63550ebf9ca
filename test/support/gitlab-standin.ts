import { randomUUID } from 'node:crypto';
import * as z from '../../domain/kernel/zod.ts';
import type { GitServer } from './git-server.ts';
import { route } from './gitlab-api.ts';
import { contractViolations, deploymentHook, issues, mergeRequestHook, pipelineHook } from './gitlab-contract.ts';
import { GitLabProjects, type MergeRequest } from './gitlab-projects.ts';
import { now } from './standin-git.ts';
import { postHook, routed, startStandinServer } from './standin-server.ts';

export type { MergeRequest } from './gitlab-projects.ts';

/**
 * A stand-in of GitLab's REST API (v4) for the merge requests of projects served by the test git server,
 * driven in the tests by the real @gitbeaker/rest client. GitLab publishes no machine-readable description
 * of these endpoints, so the documented shapes are written down in gitlab-contract.ts (docs.gitlab.com/api/merge_requests,
 * /api/branches, /api/projects, /api/commits#list-the-statuses-of-a-commit, /api/notes, /api/users,
 * /user/project/integrations/webhook_events): every request must be a documented endpoint with documented
 * parameters of the documented types, every answer must have the documented fields; what does not hold
 * is recorded in `violations`. Branches, merges and conflicts are real git on the served repositories.
 * The routes are in gitlab-api.ts, the merge requests and their JSON in gitlab-projects.ts; the HTTP server and
 * the git work are shared with the GitHub stand-in (standin-server.ts, standin-git.ts).
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
  /**
   * A deploy job targets `environment`, which is protected and needs an approval: its deployment is blocked, and the
   * project's webhook gets the Deployment Hook (status blocked, contract-checked), with its token or `token`. The
   * receiver's status and JSON answer, and the deployment's id (`deploymentId` to send the same deployment again).
   */
  blockedDeployment(
    path: string,
    a: { environment: string; sha: string; deploymentId?: number; token?: string },
  ): Promise<{ status: number; body: any; deploymentId: number }>;
  /** the project's pipelines end at once with this status (success, failed…); left unset they stay pending until setPipeline */
  pipelinesEndAs(path: string, status: string): void;
  /** the pipelines created through the API, oldest first */
  pipelinesOf(path: string): { id: number; ref: string; variables: Record<string, string>; status: string }[];
  setPipeline(id: number, status: string): void;
  /** the approvals a blocked deployment was given */
  approvals(path: string, deploymentId: number): { status: string; comment: string; by: string }[];
  stop(): Promise<void>;
}

export async function startGitLabStandin(g: GitServer): Promise<GitLabStandin> {
  const h = new GitLabProjects(g);
  const violations: string[] = [];

  const server = await startStandinServer({
    violations,
    base: '/api/v4',
    baseRequired: true,
    contentType: 'application/json',
    handle(req) {
      const { method, url, body } = req;
      const token = String(req.headers['private-token'] ?? String(req.headers.authorization ?? '').replace(/^Bearer /, ''));
      const [status, out] = routed(violations, req, () => route(h, method, url, token, body));
      violations.push(...contractViolations(method, url, body, status, out));
      return { status, body: out };
    },
  });
  h.base = server.origin;
  const base = h.base;

  async function send(path: string, event: string, payload: unknown, token?: string): Promise<number> {
    const hook = h.hooks.get(path);
    if (!hook) return 0;
    return postHook(
      hook.url,
      { 'content-type': 'application/json', 'x-gitlab-event': event, 'x-gitlab-token': token ?? hook.token, 'x-gitlab-event-uuid': randomUUID() },
      JSON.stringify(payload),
    );
  }
  function mrHook(path: string, m: MergeRequest, action: 'merge' | 'close' | 'update') {
    const payload = {
      object_kind: 'merge_request',
      event_type: 'merge_request',
      user: { id: 7, name: 'someone', username: 'someone' },
      project: h.projectJson(path),
      object_attributes: {
        id: m.iid + 9000,
        iid: m.iid,
        source_branch: m.source,
        target_branch: m.target,
        state: m.state,
        action,
        url: `${base}/${path}/-/merge_requests/${m.iid}`,
        last_commit: { id: h.head(path, m.source) ?? m.mergeCommit ?? '' },
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
      h.access.set(token, (h.access.get(token) ?? new Set()).add(path));
    },
    hook(path, url, token) {
      h.hooks.set(path, { url, token });
    },
    mergeRequests: (path) => h.mrs.get(path) ?? [],
    openAs(path, o) {
      const list = h.list(path);
      const m = h.newMergeRequest(list, {
        title: `From ${o.author}`,
        description: '',
        source: o.source,
        target: o.target,
        labels: [],
        reviewerIds: [],
        author: o.author,
        sourceProjectId: o.sourceProjectId,
      });
      list.push(m);
      return m;
    },
    async pipeline(path, sha, status) {
      const m = (h.mrs.get(path) ?? []).find((x) => x.state === 'opened' && h.head(path, x.source) === sha);
      if (!m) throw new Error(`no open merge request at ${sha}`);
      m.pipeline = { id: m.pipeline?.sha === sha ? m.pipeline.id : h.ids++, sha, status };
      const payload = {
        object_kind: 'pipeline',
        object_attributes: { id: m.pipeline.id, ref: m.source, sha, status },
        merge_request: { id: m.iid + 9000, iid: m.iid, source_branch: m.source, target_branch: m.target, url: `${base}/${path}/-/merge_requests/${m.iid}` },
        project: h.projectJson(path),
      };
      const r = z.safeParse(pipelineHook, payload);
      if (!r.success) violations.push(`Pipeline Hook: ${issues(r)}`);
      if (status === 'success' && m.autoMerge && h.detailedStatus(path, m) === 'mergeable' && h.mergeNow(path, m))
        return send(path, 'Merge Request Hook', mrHook(path, m, 'merge'));
      return send(path, 'Pipeline Hook', payload);
    },
    async merge(path, iid) {
      const m = (h.mrs.get(path) ?? []).find((x) => x.iid === iid);
      if (!m || m.state !== 'opened' || !h.mergeNow(path, m)) throw new Error(`!${iid} does not merge`);
      return send(path, 'Merge Request Hook', mrHook(path, m, 'merge'));
    },
    async close(path, iid) {
      const m = (h.mrs.get(path) ?? []).find((x) => x.iid === iid);
      if (!m || m.state !== 'opened') throw new Error(`!${iid} is not open`);
      Object.assign(m, { state: 'closed', closedAt: now() });
      return send(path, 'Merge Request Hook', mrHook(path, m, 'close'));
    },
    async deliver(path, iid, token) {
      const m = (h.mrs.get(path) ?? []).find((x) => x.iid === iid)!;
      return send(path, 'Merge Request Hook', mrHook(path, m, 'update'), token);
    },
    async blockedDeployment(path, a) {
      const id = a.deploymentId ?? h.ids++;
      const key = `${path}#${id}`;
      if (!h.deployments.has(key)) h.deployments.set(key, { environment: a.environment, approvals: [] });
      const project = h.projectJson(path);
      const payload = {
        object_kind: 'deployment',
        status: 'blocked',
        status_changed_at: now()
          .replace('T', ' ')
          .replace(/\.\d+Z$/, ' +0000'),
        deployment_id: id,
        deployable_id: id + 100,
        deployable_url: `${project.web_url}/-/jobs/${id + 100}`,
        environment: a.environment,
        environment_tier: 'production',
        environment_slug: a.environment.toLowerCase().replace(/[^a-z0-9]+/g, '-'),
        environment_external_url: null,
        project,
        short_sha: a.sha.slice(0, 8),
        user: { id: 7, name: 'someone', username: 'someone' },
        user_url: `${base}/someone`,
        commit_url: `${project.web_url}/-/commit/${a.sha}`,
        commit_title: 'Release',
        ref: 'main',
      };
      const r = z.safeParse(deploymentHook, payload);
      if (!r.success) violations.push(`Deployment Hook: ${issues(r)}`);
      const hook = h.hooks.get(path);
      if (!hook) throw new Error(`${path} has no webhook`);
      const res = await fetch(hook.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-gitlab-event': 'Deployment Hook',
          'x-gitlab-token': a.token ?? hook.token,
          'x-gitlab-event-uuid': randomUUID(),
        },
        body: JSON.stringify(payload),
      });
      const text = await res.text();
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        // not JSON: kept as text
      }
      return { status: res.status, body, deploymentId: id };
    },
    pipelinesEndAs: (path, status) => void h.pipelinesEndAs.set(path, status),
    pipelinesOf: (path) =>
      [...h.pipelines.entries()].filter(([, x]) => x.path === path).map(([id, x]) => ({ id, ref: x.ref, variables: x.variables, status: x.status })),
    setPipeline: (id, status) => {
      const found = h.pipelines.get(id);
      if (!found) throw new Error(`no pipeline ${id}`);
      found.status = status;
    },
    approvals: (path, deploymentId) => h.deployments.get(`${path}#${deploymentId}`)?.approvals ?? [],
    stop: () => server.stop(),
  };
}
