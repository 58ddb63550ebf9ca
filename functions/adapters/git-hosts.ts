import type { GitTarget, PullRequestClient, PullRequestState } from '#domain/gitops/ports';
import type { SecretResolver } from '#domain/kernel/ports';
import type { CheckState } from '#domain/kernel/promotion-model';
import { GitDeliveryError, transientGitFailure } from './git-errors.ts';
import { guardedFetch, HOST_RETRY, OutboundRefused, readLimited, sleep, transientWait } from './outbound.ts';

export { HOST_RETRY };

/** Largest API answer read from a pull-request host. */
const API_READ_MAX = 4 * 1024 * 1024;
const API_TIMEOUT_MS = 15_000;

/**
 * fetch for the hosts' client libraries, on the outbound guard: public addresses only after DNS
 * (loopback only in local mode), no redirects followed, a time limit and a bounded answer. The API
 * URL is the tenant's (a GitHub Enterprise or GitLab host), so it is called like any tenant URL.
 * Transient answers are retried here, below both clients (HOST_RETRY), so one hiccup of the host costs
 * a short wait, never a promotion.
 */
export async function guardedApiFetch(input: string | URL | Request, init: RequestInit = {}): Promise<Response> {
  const req = input instanceof Request ? input : null;
  const url = req ? req.url : String(input);
  const method = (init.method ?? req?.method ?? 'GET').toUpperCase();
  const headers: Record<string, string> = {};
  new Headers(init.headers ?? req?.headers ?? {}).forEach((v, k) => (headers[k] = v));
  let body: string | Uint8Array | undefined;
  const raw = init.body ?? (req && method !== 'GET' && method !== 'HEAD' ? await req.text() : undefined);
  if (typeof raw === 'string') body = raw;
  else if (raw instanceof Uint8Array) body = raw;
  else if (raw != null) body = new Uint8Array(await new Response(raw as ConstructorParameters<typeof Response>[0]).arrayBuffer());
  for (let attempt = 0; ; attempt++) {
    let res: Response | null = null;
    let failure: unknown = null;
    try {
      res = await guardedFetch(url, { method, headers, ...(body !== undefined ? { body } : {}), timeoutMs: API_TIMEOUT_MS });
    } catch (err) {
      // A refused URL (the outbound guard) is no hiccup: it is thrown as it is.
      if (err instanceof OutboundRefused) throw err;
      failure = err;
    }
    // A read is tried again after no answer (a reset connection, a time-out); a write may have happened, so not.
    // After a 5xx a read or an idempotent write is sent again; a POST may have been processed, so not (its step finds out).
    const read = method === 'GET' || method === 'HEAD';
    const wait = attempt < HOST_RETRY.retries ? transientWait(res, attempt, { noAnswer: read, serverError: method !== 'POST' }) : null;
    if (wait !== null && wait <= HOST_RETRY.maxWaitMs) {
      if (res?.body) await res.body.cancel().catch(() => undefined);
      await sleep(wait);
      continue;
    }
    if (!res) throw failure;
    const text = res.body ? await readLimited(res, API_READ_MAX) : '';
    return new Response(res.status === 204 || res.status === 304 ? null : text, { status: res.status, statusText: res.statusText, headers: res.headers });
  }
}

/** `owner/repo` (GitHub) or the project path (GitLab) of a repository URL. */
export function repositoryPath(repository: string): string {
  const path = new URL(repository).pathname.replace(/^\/+|\/+$/g, '').replace(/\.git$/, '');
  return path;
}

const statusOf = (err: unknown): number | undefined => {
  const e = err as { status?: number; cause?: { response?: { status?: number } } };
  return e.status ?? e.cause?.response?.status;
};

/** The pull-request APIs of GitHub (@octokit/rest) and GitLab (@gitbeaker/rest), by the target's `pullRequest.host`. */
export class HostedPullRequests implements PullRequestClient {
  constructor(private readonly secrets: SecretResolver) {}

  private async token(tenant: string, target: GitTarget): Promise<string> {
    const pr = options(target);
    const purpose = pr.host === 'github' ? 'github-token' : 'gitlab-token';
    const token = await this.secrets.resolve(tenant, pr.tokenSecret, purpose);
    if (!token) throw new GitDeliveryError(`the ${pr.host} token secret '${pr.tokenSecret}' does not exist for this tenant (purpose ${purpose})`);
    return token;
  }

  private async host(tenant: string, target: GitTarget): Promise<PullRequestClient> {
    const pr = options(target);
    const token = await this.token(tenant, target);
    return pr.host === 'github'
      ? new GitHubPullRequests(token, pr.apiUrl ?? 'https://api.github.com')
      : new GitLabPullRequests(token, pr.apiUrl ?? 'https://gitlab.com');
  }

  check: PullRequestClient['check'] = (i) => read(i.target, async () => (await this.host(i.tenant, i.target)).check(i));
  find: PullRequestClient['find'] = (i) => read(i.target, async () => (await this.host(i.tenant, i.target)).find(i));
  whoami: PullRequestClient['whoami'] = (i) => read(i.target, async () => (await this.host(i.tenant, i.target)).whoami(i));
  open: PullRequestClient['open'] = async (i) => (await this.host(i.tenant, i.target)).open(i);
  get: PullRequestClient['get'] = (i) => read(i.target, async () => (await this.host(i.tenant, i.target)).get(i));
  merge: PullRequestClient['merge'] = async (i) => (await this.host(i.tenant, i.target)).merge(i);
  close: PullRequestClient['close'] = async (i) => (await this.host(i.tenant, i.target)).close(i);
  deleteBranch: PullRequestClient['deleteBranch'] = async (i) => (await this.host(i.tenant, i.target)).deleteBranch(i);
}

/**
 * A read of the host whose failure was of the moment (no answer, a 5xx or a 429 after the client's own retries) is said
 * to be one (transient): nothing was written, and the step's next try reads again. Chaos run, seed 20261130 at 10 %:
 * one reset connection to a pull request's read failed the promotion.
 */
async function read<T>(target: GitTarget, f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (err) {
    if (err instanceof GitDeliveryError || !transientGitFailure(err)) throw err;
    throw new GitDeliveryError(`${target.pullRequest?.host === 'gitlab' ? 'GitLab' : 'GitHub'} did not answer a read (${why(err)})`, false, true);
  }
}

function options(target: GitTarget) {
  if (!target.pullRequest) throw new GitDeliveryError(`the git target of '${target.environment}' is not in pull-request mode`);
  return target.pullRequest;
}

/** What an API error says, for the promotion (no token, no body beyond the host's message). */
function why(err: unknown): string {
  const s = statusOf(err);
  const m = ((err as Error).message ?? String(err)).split('\n')[0]!.slice(0, 200);
  return s ? `HTTP ${s}: ${m}` : m;
}

// --- GitHub -----------------------------------------------------------------------------------------------

type Octo = import('@octokit/rest').Octokit;

const ghCheck = (status: string | null | undefined, conclusion: string | null | undefined): CheckState =>
  status !== 'completed' ? 'pending' : conclusion === 'success' ? 'success' : conclusion === 'neutral' || conclusion === 'skipped' ? 'neutral' : 'failure';
const ghStatus = (state: string): CheckState => (state === 'success' ? 'success' : state === 'pending' ? 'pending' : 'failure');
const ghMergeState = (s: string | undefined, draft: boolean | undefined): PullRequestState['mergeState'] => {
  if (draft) return 'draft';
  switch (s) {
    case 'clean':
    case 'has_hooks':
      return 'clean';
    case 'blocked':
    case 'unstable':
      return 'blocked';
    case 'behind':
      return 'behind';
    case 'dirty':
      return 'dirty';
    case 'draft':
      return 'draft';
    default:
      return 'unknown';
  }
};

/** GitHub (github.com or GitHub Enterprise at `baseUrl`) through @octokit/rest. */
export class GitHubPullRequests implements PullRequestClient {
  private octo?: Promise<Octo>;
  constructor(
    private readonly token: string,
    private readonly baseUrl: string,
  ) {}

  private client(): Promise<Octo> {
    this.octo ??= import('@octokit/rest').then(
      ({ Octokit }) =>
        new Octokit({
          auth: this.token,
          baseUrl: this.baseUrl.replace(/\/+$/, ''),
          userAgent: 'stageline',
          request: { fetch: guardedApiFetch, redirect: 'manual' },
          log: { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} },
        }),
    );
    return this.octo;
  }

  private where(target: GitTarget) {
    const parts = repositoryPath(target.repository).split('/');
    if (parts.length < 2) throw new GitDeliveryError(`${target.repository} does not name a GitHub repository (https://<host>/<owner>/<repo>)`);
    return { owner: parts[parts.length - 2]!, repo: parts[parts.length - 1]! };
  }

  async check({ target }: { target: GitTarget }): Promise<void> {
    const o = await this.client();
    const w = this.where(target);
    try {
      await o.rest.repos.get(w);
    } catch (err) {
      if (transientGitFailure(err)) throw new GitDeliveryError(`GitHub did not answer for ${w.owner}/${w.repo} (${why(err)})`, false, true);
      throw new GitDeliveryError(`the GitHub token cannot reach ${w.owner}/${w.repo} (${why(err)}): check the repository and the token's access`);
    }
    try {
      await o.rest.repos.getBranch({ ...w, branch: target.branch });
    } catch (err) {
      if (statusOf(err) === 404) throw new GitDeliveryError(`the base branch '${target.branch}' does not exist in ${w.owner}/${w.repo}`);
      throw new GitDeliveryError(`cannot read the branch '${target.branch}' of ${w.owner}/${w.repo} (${why(err)})`, false, transientGitFailure(err));
    }
  }

  async find({ target, head }: { target: GitTarget; head: string }): Promise<PullRequestState[]> {
    const o = await this.client();
    const w = this.where(target);
    const { data } = await o.rest.pulls.list({ ...w, head: `${w.owner}:${head}`, state: 'all', sort: 'created', direction: 'desc', per_page: 10 });
    return Promise.all(data.filter((p) => p.head.ref === head).map((p) => this.get({ target, number: p.number })));
  }

  private me?: Promise<string | null>;
  async whoami(): Promise<string | null> {
    const o = await this.client();
    // An installation token (GitHub App) cannot read /user (403): null, and the git target must name the app (pullRequest.appSlug,
    // domain/gitops/pull-request-owner.ts ourAuthor). Any other failure is not an answer: it is thrown, never read as "nobody".
    this.me ??= o.rest.users.getAuthenticated().then(
      (r) => r.data.login,
      (err) => {
        if (statusOf(err) === 401 || statusOf(err) === 403) return null;
        throw new GitDeliveryError(`GitHub did not say who the token is (${why(err)})`, false, transientGitFailure(err));
      },
    );
    return this.me;
  }

  async open({ target, head, title, body }: { target: GitTarget; head: string; title: string; body: string }): Promise<PullRequestState> {
    const o = await this.client();
    const w = this.where(target);
    const opts = options(target);
    let number: number;
    try {
      ({
        data: { number },
      } = await o.rest.pulls.create({ ...w, head, base: target.branch, title, body, draft: opts.draft }));
    } catch (err) {
      const s = statusOf(err);
      throw new GitDeliveryError(
        `GitHub ${s && s < 500 ? 'refused to open' : 'did not answer whether it opened'} the pull request from ${head} into ${target.branch} of ${w.owner}/${w.repo} (${why(err)})`,
        !s || s >= 500,
        // Rate-limited, nothing was opened; or no answer, and the step's next try finds it by its branch (or opens it):
        // either way the step may ask again.
        s === 429 || !s || s >= 500,
      );
    }
    // Reviewers and labels are wishes: a name GitHub refuses leaves the pull request open (the promotion says so in its checks).
    if (opts.reviewers.length) await o.rest.pulls.requestReviewers({ ...w, pull_number: number, reviewers: opts.reviewers }).catch(() => undefined);
    if (opts.labels.length) await o.rest.issues.addLabels({ ...w, issue_number: number, labels: opts.labels }).catch(() => undefined);
    return this.get({ target, number });
  }

  async get({ target, number }: { target: GitTarget; number: number }): Promise<PullRequestState> {
    const o = await this.client();
    const w = this.where(target);
    let pr;
    try {
      ({ data: pr } = await o.rest.pulls.get({ ...w, pull_number: number }));
    } catch (err) {
      throw new GitDeliveryError(`cannot read pull request #${number} of ${w.owner}/${w.repo} (${why(err)})`, false, transientGitFailure(err));
    }
    const [runs, statuses] = await Promise.all([
      o.rest.checks.listForRef({ ...w, ref: pr.head.sha, per_page: 100 }).then(
        (r) => r.data.check_runs,
        () => [],
      ),
      o.rest.repos.getCombinedStatusForRef({ ...w, ref: pr.head.sha, per_page: 100 }).then(
        (r) => r.data.statuses,
        () => [],
      ),
    ]);
    return {
      host: 'github',
      number: pr.number,
      url: pr.html_url,
      state: pr.merged ? 'merged' : pr.state === 'closed' ? 'closed' : 'open',
      draft: pr.draft ?? false,
      headBranch: pr.head.ref,
      baseBranch: pr.base.ref,
      headSha: pr.head.sha,
      fromFork: (pr.head.repo?.full_name ?? '').toLowerCase() !== `${w.owner}/${w.repo}`.toLowerCase(),
      author: pr.user?.login ?? null,
      mergeState: ghMergeState(pr.mergeable_state, pr.draft),
      mergeCommit: pr.merged ? (pr.merge_commit_sha ?? null) : null,
      checks: [
        ...runs.map((r) => ({ name: r.name, state: ghCheck(r.status, r.conclusion), url: r.html_url ?? null })),
        ...statuses.map((s) => ({ name: s.context, state: ghStatus(s.state), url: s.target_url ?? null })),
      ],
    };
  }

  async merge({ target, number, sha }: { target: GitTarget; number: number; sha: string }): Promise<boolean> {
    const o = await this.client();
    try {
      const { data } = await o.rest.pulls.merge({ ...this.where(target), pull_number: number, sha, merge_method: 'merge' });
      return data.merged;
    } catch (err) {
      const s = statusOf(err);
      // 405: not mergeable (checks, reviews, conflict); 409: the head moved. Both wait for the next look.
      if (s === 405 || s === 409) return false;
      throw new GitDeliveryError(`GitHub refused to merge #${number} (${why(err)})`);
    }
  }

  async close({ target, number, comment }: { target: GitTarget; number: number; comment: string }): Promise<void> {
    const o = await this.client();
    const w = this.where(target);
    await o.rest.issues.createComment({ ...w, issue_number: number, body: comment }).catch(() => undefined);
    await o.rest.pulls.update({ ...w, pull_number: number, state: 'closed' });
  }

  async deleteBranch({ target, head }: { target: GitTarget; head: string }): Promise<void> {
    const o = await this.client();
    await o.rest.git.deleteRef({ ...this.where(target), ref: `heads/${head}` }).catch((err: unknown) => {
      if (statusOf(err) !== 404 && statusOf(err) !== 422) throw err;
    });
  }
}

// --- GitLab -----------------------------------------------------------------------------------------------

const glPipeline = (s: string | undefined): CheckState =>
  s === 'success' ? 'success' : s === 'failed' || s === 'canceled' ? 'failure' : s === 'skipped' || s === 'manual' ? 'neutral' : 'pending';
const glMergeState = (s: string | undefined, draft: boolean): PullRequestState['mergeState'] => {
  if (draft || s === 'draft_status') return 'draft';
  switch (s) {
    case 'mergeable':
      return 'clean';
    case 'need_rebase':
      return 'behind';
    case 'conflict':
    case 'broken_status':
      return 'dirty';
    case 'checking':
    case 'unchecked':
    case 'preparing':
    case undefined:
      return 'unknown';
    default:
      return 'blocked';
  }
};

/**
 * A requester for @gitbeaker/rest on the outbound guard (its default one calls the global fetch):
 * gitbeaker's own option handling (snake_case bodies and queries) with guardedApiFetch underneath.
 */
async function guardedRequesterFn() {
  const { createRequesterFn } = await import('@gitbeaker/requester-utils');
  type Opts = { prefixUrl?: string; searchParams?: string; method?: string; headers?: Record<string, string>; body?: string };
  return createRequesterFn(
    (_: unknown, o: unknown) => Promise.resolve(o as never),
    async (endpoint: string, o?: Record<string, unknown>) => {
      const { prefixUrl, searchParams, method, headers, body } = (o ?? {}) as Opts;
      const url = new URL(endpoint, prefixUrl ? (prefixUrl.endsWith('/') ? prefixUrl : `${prefixUrl}/`) : undefined);
      url.search = searchParams ?? '';
      const res = await guardedApiFetch(url, { method: method ?? 'GET', headers: headers ?? {}, ...(body !== undefined ? { body } : {}) });
      const text = await res.text();
      const json = (res.headers.get('content-type') ?? '').includes('application/json') && text ? JSON.parse(text) : text || null;
      const hdrs = Object.fromEntries(res.headers.entries());
      if (!res.ok) {
        const msg =
          json && typeof json === 'object'
            ? String((json as { message?: unknown; error?: unknown }).message ?? (json as { error?: unknown }).error ?? '')
            : String(text);
        throw Object.assign(new Error(typeof msg === 'string' ? msg : JSON.stringify(msg)), { status: res.status });
      }
      return { body: res.status === 204 ? null : json, headers: hdrs, status: res.status };
    },
  );
}

type Gl = InstanceType<(typeof import('@gitbeaker/rest'))['Gitlab']>;

/** GitLab (gitlab.com or a self-managed host) through @gitbeaker/rest. */
export class GitLabPullRequests implements PullRequestClient {
  private gl?: Promise<Gl>;
  constructor(
    private readonly token: string,
    private readonly hostUrl: string,
  ) {}

  private client(): Promise<Gl> {
    this.gl ??= Promise.all([import('@gitbeaker/rest'), guardedRequesterFn()]).then(
      ([{ Gitlab }, requesterFn]) => new Gitlab({ host: this.hostUrl.replace(/\/+$/, ''), token: this.token, requesterFn } as never) as Gl,
    );
    return this.gl;
  }

  private project(target: GitTarget): string {
    const path = repositoryPath(target.repository);
    if (!path.includes('/')) throw new GitDeliveryError(`${target.repository} does not name a GitLab project (https://<host>/<group>/<project>)`);
    return path;
  }

  async check({ target }: { target: GitTarget }): Promise<void> {
    const g = await this.client();
    const project = this.project(target);
    try {
      await g.Projects.show(project);
    } catch (err) {
      if (transientGitFailure(err)) throw new GitDeliveryError(`GitLab did not answer for ${project} (${why(err)})`, false, true);
      throw new GitDeliveryError(`the GitLab token cannot reach ${project} (${why(err)}): check the project and the token's access`);
    }
    try {
      await g.Branches.show(project, target.branch);
    } catch (err) {
      if (statusOf(err) === 404) throw new GitDeliveryError(`the base branch '${target.branch}' does not exist in ${project}`);
      throw new GitDeliveryError(`cannot read the branch '${target.branch}' of ${project} (${why(err)})`, false, transientGitFailure(err));
    }
  }

  async find({ target, head }: { target: GitTarget; head: string }): Promise<PullRequestState[]> {
    const g = await this.client();
    const list = (await g.MergeRequests.all({ projectId: this.project(target), sourceBranch: head, orderBy: 'created_at', sort: 'desc', perPage: 10 })) as {
      iid: number;
      source_branch: string;
    }[];
    return Promise.all(list.filter((m) => m.source_branch === head).map((m) => this.get({ target, number: m.iid })));
  }

  private me?: Promise<string | null>;
  async whoami(): Promise<string | null> {
    const g = await this.client();
    this.me ??= (g.Users.showCurrentUser() as Promise<{ username?: string }>).then(
      (u) => u.username ?? null,
      (err) => {
        if (statusOf(err) === 401 || statusOf(err) === 403) return null;
        throw new GitDeliveryError(`GitLab did not say who the token is (${why(err)})`, false, transientGitFailure(err));
      },
    );
    return this.me;
  }

  async open({ target, head, title, body }: { target: GitTarget; head: string; title: string; body: string }): Promise<PullRequestState> {
    const g = await this.client();
    const project = this.project(target);
    const opts = options(target);
    let reviewerIds: number[] = [];
    if (opts.reviewers.length) {
      const found = await Promise.all(
        opts.reviewers.map((username) =>
          g.Users.all({ username }).then(
            (u) => (u as { id: number }[])[0]?.id,
            () => undefined,
          ),
        ),
      );
      reviewerIds = found.filter((id): id is number => typeof id === 'number');
    }
    let iid: number;
    try {
      const mr = (await g.MergeRequests.create(project, head, target.branch, opts.draft ? `Draft: ${title}` : title, {
        description: body,
        removeSourceBranch: true,
        ...(opts.labels.length ? { labels: opts.labels.join(',') } : {}),
        ...(reviewerIds.length ? { reviewerIds } : {}),
      })) as { iid: number };
      iid = mr.iid;
    } catch (err) {
      const s = statusOf(err);
      throw new GitDeliveryError(
        `GitLab ${s && s < 500 ? 'refused to open' : 'did not answer whether it opened'} the merge request from ${head} into ${target.branch} of ${project} (${why(err)})`,
        !s || s >= 500,
        // Rate-limited, nothing was opened; or no answer, and the step's next try finds it by its branch (or opens it):
        // either way the step may ask again.
        s === 429 || !s || s >= 500,
      );
    }
    if (opts.autoMerge) {
      // GitLab merges it itself when the pipeline succeeds (auto-merge); refused now (no pipeline yet) it is tried on each look.
      await g.MergeRequests.merge(project, iid, { mergeWhenPipelineSucceeds: true } as never).catch(() => undefined);
    }
    return this.get({ target, number: iid });
  }

  async get({ target, number }: { target: GitTarget; number: number }): Promise<PullRequestState> {
    const g = await this.client();
    const project = this.project(target);
    let mr: Record<string, any>;
    try {
      mr = (await g.MergeRequests.show(project, number)) as Record<string, any>;
    } catch (err) {
      throw new GitDeliveryError(`cannot read merge request !${number} of ${project} (${why(err)})`, false, transientGitFailure(err));
    }
    const statuses = (await g.Commits.allStatuses(project, String(mr.sha)).catch(() => [])) as { name: string; status: string; target_url?: string | null }[];
    const pipeline = mr.head_pipeline as { id: number; status: string; web_url?: string } | null | undefined;
    const draft = Boolean(mr.draft ?? mr.work_in_progress);
    return {
      host: 'gitlab',
      number: Number(mr.iid),
      url: String(mr.web_url),
      state: mr.state === 'merged' ? 'merged' : mr.state === 'closed' ? 'closed' : 'open',
      draft,
      headBranch: String(mr.source_branch),
      baseBranch: String(mr.target_branch),
      headSha: String(mr.sha),
      fromFork: Number(mr.source_project_id) !== Number(mr.target_project_id),
      author: typeof mr.author?.username === 'string' ? mr.author.username : null,
      mergeState: glMergeState(mr.detailed_merge_status as string | undefined, draft),
      mergeCommit: mr.state === 'merged' ? ((mr.merge_commit_sha ?? mr.squash_commit_sha ?? null) as string | null) : null,
      checks: [
        ...(pipeline ? [{ name: `pipeline #${pipeline.id}`, state: glPipeline(pipeline.status), url: pipeline.web_url ?? null }] : []),
        ...statuses.map((s) => ({ name: s.name, state: glPipeline(s.status), url: s.target_url ?? null })),
      ],
    };
  }

  async merge({ target, number, sha }: { target: GitTarget; number: number; sha: string }): Promise<boolean> {
    const g = await this.client();
    try {
      const mr = (await g.MergeRequests.merge(this.project(target), number, { sha, mergeWhenPipelineSucceeds: true } as never)) as { state?: string };
      return mr.state === 'merged';
    } catch (err) {
      const s = statusOf(err);
      if (s === 405 || s === 406 || s === 409 || s === 422) return false;
      throw new GitDeliveryError(`GitLab refused to merge !${number} (${why(err)})`);
    }
  }

  async close({ target, number, comment }: { target: GitTarget; number: number; comment: string }): Promise<void> {
    const g = await this.client();
    const project = this.project(target);
    await g.MergeRequestNotes.create(project, number, comment).catch(() => undefined);
    await g.MergeRequests.edit(project, number, { stateEvent: 'close' });
  }

  async deleteBranch({ target, head }: { target: GitTarget; head: string }): Promise<void> {
    const g = await this.client();
    await g.Branches.remove(this.project(target), head).catch((err: unknown) => {
      if (statusOf(err) !== 404) throw err;
    });
  }
}
