import type { GitLabProjects } from './gitlab-projects.ts';
import { now, ok } from './standin-git.ts';
import type { Json } from './standin-server.ts';

const notFound = { message: '404 Not found' };
/**
 * GitLab's REST API (v4) as the stand-in serves it: [status, body] for a request (its path under /api/v4), answered
 * from the stand-in's state (gitlab-projects.ts) as GitLab answers it. The contract checks run around it (gitlab-standin.ts).
 */
export function route(h: GitLabProjects, method: string, url: URL, token: string, body: Json | undefined): [number, unknown] {
  const p = url.pathname;
  if (method === 'GET' && p === '/users') return [200, [h.userJson(url.searchParams.get('username') ?? 'x', 31)]];
  // The token's own user (every token the stand-in knows is the bot's).
  if (method === 'GET' && p === '/user') return h.access.has(token) ? [200, h.userJson('stageline-bot')] : [401, { message: '401 Unauthorized' }];
  const m = /^\/projects\/([^/]+)(\/.*)?$/.exec(p);
  if (!m) return [404, notFound];
  const path = decodeURIComponent(m[1]!);
  if (!h.access.get(token)?.has(path) || !ok(() => h.git(path, 'rev-parse', '--git-dir'))) return [404, { message: '404 Project Not Found' }];
  const rest = m[2] ?? '';
  const list = h.list(path);
  const find = (iid: string) => list.find((x) => x.iid === Number(iid));
  let r: RegExpExecArray | null;
  if (method === 'GET' && rest === '') return [200, h.projectJson(path)];
  if (method === 'POST' && rest === '/pipeline') {
    // A pipeline on a ref the project has (GitLab answers 400 "Reference not found" otherwise), its variables as given.
    const ref = String(body?.ref);
    const sha = h.head(path, ref);
    if (!sha) return [400, { message: { base: ['Reference not found'] } }];
    const variables = Object.fromEntries(((body?.variables ?? []) as { key: string; value: string }[]).map((v) => [v.key, v.value]));
    const id = h.ids++;
    h.pipelines.set(id, { path, ref, variables, status: h.pipelinesEndAs.get(path) ?? 'pending' });
    return [201, pipelineJson(h, id, sha)];
  }
  if (method === 'GET' && (r = /^\/pipelines\/(\d+)$/.exec(rest))) {
    const found = h.pipelines.get(Number(r[1]));
    if (!found || found.path !== path) return [404, { message: '404 Not found' }];
    return [200, pipelineJson(h, Number(r[1]), h.head(path, found.ref) ?? '0'.repeat(40))];
  }
  if (method === 'POST' && (r = /^\/deployments\/(\d+)\/approval$/.exec(rest))) {
    // An approval is recorded once per user; a deployment that waits for none answers 400, as GitLab does.
    const d = h.deployments.get(`${path}#${r[1]}`);
    if (!d) return [404, { message: '404 Deployment Not Found' }];
    if (d.approvals.some((a) => a.by === 'stageline-bot')) return [400, { message: 'You cannot approve your own deployment.' }];
    d.approvals.push({ status: String(body?.status), comment: String(body?.comment ?? ''), by: 'stageline-bot' });
    return [201, { user: h.userJson('stageline-bot'), status: body?.status, created_at: now(), comment: body?.comment ?? null }];
  }
  if ((r = /^\/repository\/branches\/([^/]+)$/.exec(rest))) {
    const name = decodeURIComponent(r[1]!);
    const sha = h.head(path, name);
    if (!sha) return [404, { message: '404 Branch Not Found' }];
    if (method === 'DELETE') {
      h.git(path, 'update-ref', '-d', `refs/heads/${name}`);
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
        .map((x) => h.mrJson(path, x, false)),
    ];
  }
  if (rest === '/merge_requests' && method === 'POST') {
    const b = body ?? {};
    if (!h.head(path, b.target_branch) || !h.head(path, b.source_branch)) return [404, { message: '404 Branch Not Found' }];
    // One open merge request per source branch of this project (a fork's branch of the same name is another source).
    if (list.some((x) => x.state === 'opened' && x.source === b.source_branch && !x.sourceProjectId))
      return [409, { message: [`Another open merge request already exists for this source branch: !${list.find((x) => x.source === b.source_branch)!.iid}`] }];
    const mr = h.newMergeRequest(list, {
      title: b.title,
      description: b.description ?? '',
      source: b.source_branch,
      target: b.target_branch,
      labels: b.labels ? String(b.labels).split(',') : [],
      reviewerIds: b.reviewer_ids ?? [],
    });
    list.push(mr);
    return [201, h.mrJson(path, mr)];
  }
  if ((r = /^\/merge_requests\/(\d+)$/.exec(rest))) {
    const mr = find(r[1]!);
    if (!mr) return [404, { message: '404 Not found' }];
    if (method === 'PUT' && body?.state_event === 'close' && mr.state === 'opened') Object.assign(mr, { state: 'closed', closedAt: now() });
    return [200, h.mrJson(path, mr)];
  }
  if (method === 'PUT' && (r = /^\/merge_requests\/(\d+)\/merge$/.exec(rest))) {
    const mr = find(r[1]!);
    if (!mr) return [404, { message: '404 Not found' }];
    if (mr.state !== 'opened') return [405, { message: '405 Method Not Allowed' }];
    if (body?.sha && body.sha !== h.head(path, mr.source)) return [409, { message: 'SHA does not match HEAD of source branch' }];
    if (body?.merge_when_pipeline_succeeds || body?.auto_merge) {
      // Auto-merge: set now, merged by GitLab when the head pipeline succeeds.
      if (!(mr.pipeline?.status === 'success' && mr.pipeline.sha === h.head(path, mr.source))) {
        mr.autoMerge = true;
        return [200, h.mrJson(path, mr)];
      }
    }
    if (h.detailedStatus(path, mr) !== 'mergeable' || !h.mergeNow(path, mr)) return [422, { message: 'Branch cannot be merged' }];
    return [200, h.mrJson(path, mr)];
  }
  if (method === 'POST' && (r = /^\/merge_requests\/(\d+)\/notes$/.exec(rest))) {
    const mr = find(r[1]!);
    if (!mr) return [404, { message: '404 Not found' }];
    mr.notes.push(String(body?.body ?? ''));
    return [
      201,
      { id: h.ids++, body: String(body?.body ?? ''), author: h.userJson('stageline-bot'), created_at: now(), system: false, noteable_type: 'MergeRequest' },
    ];
  }
  if (method === 'GET' && (r = /^\/repository\/commits\/([^/]+)\/statuses$/.exec(rest))) return [200, []];
  return [404, notFound];
}

function pipelineJson(h: GitLabProjects, id: number, sha: string) {
  const p = h.pipelines.get(id)!;
  return {
    id,
    iid: id,
    project_id: 1,
    sha,
    ref: p.ref,
    status: p.status,
    source: 'api',
    created_at: now(),
    updated_at: now(),
    web_url: `${h.base}/${p.path}/-/pipelines/${id}`,
  };
}
