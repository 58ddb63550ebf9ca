import type { GitServer } from './git-server.ts';
import { now, ok, servedRepos } from './standin-git.ts';

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

/**
 * What the GitLab stand-in holds (who may see which project, webhooks, merge requests) and how GitLab shows it:
 * its answers' JSON with the real state, and the detailed merge status GitLab computes from the branches (real
 * git on the served repositories).
 */
export class GitLabProjects {
  readonly access = new Map<string, Set<string>>();
  readonly hooks = new Map<string, { url: string; token: string }>();
  readonly mrs = new Map<string, MergeRequest[]>();
  /** deployments blocked for an approval, by `<path>#<id>`: their environment and the approvals given */
  readonly deployments = new Map<string, { environment: string; approvals: { status: string; comment: string; by: string }[] }>();
  /** pipelines created through the API, by id: the ref and variables they were given, their status */
  readonly pipelines = new Map<number, { path: string; ref: string; variables: Record<string, string>; status: string }>();
  /** projects whose pipelines end at once, with this status */
  readonly pipelinesEndAs = new Map<string, string>();
  ids = 500;
  /** the host (`http://127.0.0.1:<port>`), set once the server listens */
  base = '';
  readonly git: (path: string, ...args: string[]) => string;
  readonly head: (path: string, branch: string) => string | null;
  private readonly mergeInto: (path: string, source: string, target: string, message: string) => string | null;

  constructor(private readonly g: GitServer) {
    ({ git: this.git, head: this.head, mergeInto: this.mergeInto } = servedRepos(g));
  }

  /** the project's merge requests (the list kept, made when there is none yet) */
  list(path: string): MergeRequest[] {
    const list = this.mrs.get(path) ?? [];
    this.mrs.set(path, list);
    return list;
  }

  /** a new open merge request, numbered after the project's others (not yet in the list) */
  newMergeRequest(
    list: MergeRequest[],
    m: Pick<MergeRequest, 'title' | 'description' | 'source' | 'target' | 'labels' | 'reviewerIds'> & Pick<Partial<MergeRequest>, 'author' | 'sourceProjectId'>,
  ): MergeRequest {
    return {
      iid: list.length + 1,
      title: m.title,
      description: m.description,
      source: m.source,
      target: m.target,
      state: 'opened',
      labels: m.labels,
      reviewerIds: m.reviewerIds,
      autoMerge: false,
      mergeCommit: null,
      pipeline: null,
      notes: [],
      createdAt: now(),
      mergedAt: null,
      closedAt: null,
      ...(m.author !== undefined ? { author: m.author } : {}),
      ...(m.sourceProjectId ? { sourceProjectId: m.sourceProjectId } : {}),
    };
  }

  userJson(username: string, id = 7) {
    return { id, username, name: username, state: 'active', web_url: `${this.base}/${username}` };
  }

  projectJson(path: string) {
    return {
      id: 99,
      name: path.split('/').pop()!,
      path: path.split('/').pop()!,
      path_with_namespace: path,
      default_branch: 'main',
      web_url: `${this.base}/${path}`,
      http_url_to_repo: `${this.g.url}/${path}.git`,
    };
  }

  detailedStatus(path: string, m: MergeRequest): string {
    if (m.state !== 'opened') return 'not_open';
    const b = this.head(path, m.target);
    const h = this.head(path, m.source);
    if (!b || !h || !ok(() => this.git(path, 'merge-tree', '--write-tree', b, h))) return 'conflict';
    if (/^Draft: /.test(m.title)) return 'draft_status';
    if (!ok(() => this.git(path, 'merge-base', '--is-ancestor', b, h))) return 'need_rebase';
    if (m.pipeline && m.pipeline.sha === h && m.pipeline.status !== 'success') return m.pipeline.status === 'running' ? 'ci_still_running' : 'ci_must_pass';
    return 'mergeable';
  }

  mrJson(path: string, m: MergeRequest, withPipeline = true) {
    const base = this.base;
    // A merged merge request keeps the head it was merged at (GitLab's sha), even after its source branch is removed.
    const sha = m.headAtEnd ?? this.head(path, m.source) ?? m.mergeCommit ?? '0'.repeat(40);
    const ds = this.detailedStatus(path, m);
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
      author: this.userJson(m.author ?? 'stageline-bot'),
      reviewers: m.reviewerIds.map((id) => this.userJson(`user${id}`, id)),
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

  /** A real merge commit of the source branch into the target (no fast-forward), as GitLab makes: its sha, null when it does not merge. */
  mergeNow(path: string, m: MergeRequest): string | null {
    const sha = this.mergeInto(path, m.source, m.target, `Merge branch '${m.source}' into '${m.target}'`);
    if (!sha) return null;
    Object.assign(m, { state: 'merged', mergedAt: now(), mergeCommit: sha, headAtEnd: this.head(path, m.source) ?? undefined });
    return sha;
  }
}
