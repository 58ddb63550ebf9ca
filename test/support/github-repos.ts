import type { GitServer } from './git-server.ts';
import { sample } from './github-contract.ts';
import { now, ok, servedRepos } from './standin-git.ts';
import type { Json } from './standin-server.ts';

export interface Pull {
  number: number;
  title: string;
  body: string;
  head: string;
  base: string;
  draft: boolean;
  state: 'open' | 'closed';
  merged: boolean;
  mergedAt: string | null;
  mergeCommit: string | null;
  closedAt: string | null;
  createdAt: string;
  labels: string[];
  reviewers: string[];
  comments: string[];
  /** who opened it (default: the token's user, stageline-bot) */
  author?: string;
  /** the head it was merged at */
  headAtEnd?: string;
}

export interface CheckRun {
  id: number;
  name: string;
  conclusion: 'success' | 'failure' | null;
  at: string;
}

/** Deep overlay: `over`'s values on `base` (objects merged, everything else replaced). */
export function overlay<T>(base: T, over: Json): T {
  const out: Json = { ...(base as Json) };
  for (const [k, v] of Object.entries(over)) {
    out[k] = v && typeof v === 'object' && !Array.isArray(v) && out[k] && typeof out[k] === 'object' && !Array.isArray(out[k]) ? overlay(out[k], v) : v;
  }
  return out as T;
}

/**
 * What the GitHub stand-in holds (who may see which repository, webhooks, pull requests, check runs) and how
 * GitHub shows it: its answers' JSON, built from the contract's schemas (`sample`) with the real state, and the
 * merge state GitHub computes from the branches (real git on the served repositories).
 */
export class GitHubRepos {
  readonly access = new Map<string, Set<string>>();
  readonly hooks = new Map<string, { url: string; secret: string }>();
  readonly pulls = new Map<string, Pull[]>();
  readonly checks = new Map<string, CheckRun[]>();
  /** installation tokens of a GitHub App, by token: the app's slug (such a token cannot read /user; what it opens is by `<slug>[bot]`) */
  readonly apps = new Map<string, string>();
  /** GitHub App installations: the App (its id, slug and public key) and the repositories it was installed on */
  readonly installations = new Map<number, { appId: string; slug: string; publicKey: string; repos: Set<string> }>();
  /** workflow runs waiting on a deployment protection rule, by `<repo>#<run>#<environment>` (lower case); the reviews they were given */
  readonly waiting = new Map<string, { fullName: string; runId: string; environment: string; reviews: { state: string; comment: string; by: string }[] }>();
  /** workflows a repository has (`<repo>#<file>`, lower case): the inputs each declares */
  readonly workflows = new Map<string, { inputs: string[]; endsAs: string | null }>();
  /** workflow runs started by workflow_dispatch, by id: the inputs they were given, their status and conclusion */
  readonly runs = new Map<
    number,
    { fullName: string; workflow: string; ref: string; inputs: Record<string, string>; status: string; conclusion: string | null }
  >();
  ids = 1000;
  /** the API base (`http://127.0.0.1:<port>/api/v3`), set once the server listens */
  base = '';
  readonly git: (fullName: string, ...args: string[]) => string;
  readonly head: (fullName: string, branch: string) => string | null;
  private readonly mergeInto: (fullName: string, source: string, target: string, message: string) => string | null;

  constructor(private readonly g: GitServer) {
    ({ git: this.git, head: this.head, mergeInto: this.mergeInto } = servedRepos(g));
  }

  /** the repository's pull requests (the list kept, made when there is none yet) */
  list(fullName: string): Pull[] {
    const list = this.pulls.get(fullName) ?? [];
    this.pulls.set(fullName, list);
    return list;
  }

  find(fullName: string, number: number): Pull | undefined {
    return (this.pulls.get(fullName) ?? []).find((x) => x.number === number);
  }

  /** a new open pull request, numbered after the repository's others (not yet in the list) */
  newPull(list: Pull[], p: Pick<Pull, 'title' | 'body' | 'head' | 'base' | 'draft'> & { author?: string }): Pull {
    return {
      number: list.length + 1,
      title: p.title,
      body: p.body,
      head: p.head,
      base: p.base,
      draft: p.draft,
      state: 'open',
      merged: false,
      mergedAt: null,
      mergeCommit: null,
      closedAt: null,
      createdAt: now(),
      labels: [],
      reviewers: [],
      comments: [],
      ...(p.author !== undefined ? { author: p.author } : {}),
    };
  }

  user(login: string) {
    const bot = login.endsWith('[bot]');
    return overlay(sample('/components/schemas/simple-user'), {
      login,
      id: 1,
      type: bot ? 'Bot' : 'User',
      html_url: `https://github.example.test/${bot ? `apps/${login.slice(0, -'[bot]'.length)}` : login}`,
    });
  }

  repository(fullName: string, schema = 'repository') {
    const [owner, name] = fullName.split('/') as [string, string];
    return overlay(sample(`/components/schemas/${schema}`), {
      id: 42,
      name,
      full_name: fullName,
      owner: this.user(owner),
      private: true,
      default_branch: 'main',
      html_url: `${this.base}/${fullName}`,
      clone_url: `${this.g.url}/${fullName}.git`,
    });
  }

  mergeState(fullName: string, p: Pull): { mergeable: boolean | null; state: string } {
    if (p.state !== 'open') return { mergeable: null, state: 'unknown' };
    const b = this.head(fullName, p.base);
    const h = this.head(fullName, p.head);
    if (!b || !h) return { mergeable: false, state: 'dirty' };
    if (!ok(() => this.git(fullName, 'merge-tree', '--write-tree', b, h))) return { mergeable: false, state: 'dirty' };
    if (p.draft) return { mergeable: true, state: 'draft' };
    if (!ok(() => this.git(fullName, 'merge-base', '--is-ancestor', b, h))) return { mergeable: true, state: 'behind' };
    const runs = this.checks.get(`${fullName}@${h}`) ?? [];
    if (runs.some((r) => r.conclusion !== 'success')) return { mergeable: true, state: 'blocked' };
    return { mergeable: true, state: 'clean' };
  }

  pullJson(fullName: string, p: Pull, schema: 'pull-request' | 'pull-request-simple' = 'pull-request') {
    const [owner] = fullName.split('/') as [string];
    const base = this.base;
    // A merged pull request keeps the head it was merged at (GitHub's head.sha), even after its branch is deleted.
    const h = p.headAtEnd ?? this.head(fullName, p.head) ?? p.mergeCommit ?? '0'.repeat(40);
    const ms = this.mergeState(fullName, p);
    const ref = (branch: string, sha: string) => ({ ref: branch, sha, label: `${owner}:${branch}`, repo: this.repository(fullName), user: this.user(owner) });
    return overlay(sample(`/components/schemas/${schema}`), {
      id: p.number + 5000,
      number: p.number,
      state: p.state,
      title: p.title,
      body: p.body,
      draft: p.draft,
      user: this.user(p.author ?? 'stageline-bot'),
      url: `${base}/repos/${fullName}/pulls/${p.number}`,
      html_url: `${base.replace('/api/v3', '')}/${fullName}/pull/${p.number}`,
      created_at: p.createdAt,
      updated_at: now(),
      closed_at: p.closedAt,
      merged_at: p.mergedAt,
      merge_commit_sha: p.mergeCommit,
      head: ref(p.head, h),
      base: ref(p.base, this.head(fullName, p.base) ?? '0'.repeat(40)),
      labels: p.labels.map((name, i) => overlay(sample('/components/schemas/pull-request/properties/labels/items'), { id: i + 1, name })),
      requested_reviewers: p.reviewers.map((login) => this.user(login)),
      ...(schema === 'pull-request'
        ? { merged: p.merged, mergeable: ms.mergeable, mergeable_state: ms.state, comments: p.comments.length, commits: 1, changed_files: 1 }
        : {}),
    });
  }

  /** A real merge commit of the head into the base (no fast-forward), as GitHub's merge button makes: its sha, null when it does not merge. */
  mergeNow(fullName: string, p: Pull): string | null {
    const sha = this.mergeInto(fullName, p.head, p.base, `Merge pull request #${p.number} from ${fullName.split('/')[0]}/${p.head}`);
    if (!sha) return null;
    Object.assign(p, {
      state: 'closed',
      merged: true,
      mergedAt: now(),
      closedAt: now(),
      mergeCommit: sha,
      headAtEnd: this.head(fullName, p.head) ?? undefined,
    });
    return sha;
  }
}
