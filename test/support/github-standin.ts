import { createHmac, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requestViolations, responseViolations, sample, warm, webhookViolations } from './github-contract.ts';
import type { GitServer } from './git-server.ts';

/**
 * A stand-in of GitHub's REST API for the pull requests of repositories served by the test git server
 * (git http-backend): what Stageline calls through @octokit/rest, held to GitHub's published OpenAPI
 * description (github-contract.ts): every request it receives and every response it sends is checked,
 * and what does not hold is recorded in `violations` (the tests expect none). Branches, merges and
 * conflicts are real git operations on the served bare repositories. The test drives the host's side:
 * checks reported, a merge, a close by hand, each followed by the signed webhook GitHub would send.
 */
export interface GitHubStandin {
  /** the API base (GitHub Enterprise style: what a git target's pullRequest.apiUrl names) */
  url: string;
  violations: string[];
  /** requests checked against the contract, by "METHOD /template" */
  seen: Map<string, number>;
  /** gives `token` access to the repository `owner/name` (served by the git server as <owner>/<name>.git) */
  allow(token: string, fullName: string): void;
  /** where the repository's webhook goes and the secret it is signed with */
  hook(fullName: string, url: string, secret: string): void;
  /** removes the repository's webhook (the host then says nothing: Stageline's poll must find out) */
  unhook(fullName: string): void;
  pulls(fullName: string): Pull[];
  /** reports a check run on a commit (conclusion null: in progress) and sends check_run.completed when it completes */
  check(fullName: string, sha: string, name: string, conclusion: 'success' | 'failure' | null): Promise<number | null>;
  /** merges the pull request as the merge button does (a real merge commit on the base) and sends pull_request.closed */
  merge(fullName: string, number: number): Promise<number | null>;
  /** closes it without merge (by hand) and sends pull_request.closed */
  close(fullName: string, number: number): Promise<number | null>;
  /** opens a pull request as someone else (not through the API Stageline uses): from `head` into `base`, by `author` */
  openAs(fullName: string, p: { head: string; base: string; author: string; title?: string }): Pull;
  /** answers the next `times` requests matching with `status` (a host's hiccup: 502, 503, or 429 with Retry-After) instead of serving them */
  failNext(method: string, path: RegExp, status: number, times?: number, headers?: Record<string, string>): void;
  /** how many injected failures were answered */
  failed(): number;
  /** changes a pull request's base branch (as "Edit" on the pull request page does) */
  retarget(fullName: string, number: number, base: string): void;
  /** sends a webhook delivery signed with `secret` (the test's own, e.g. a wrong one): the receiver's status */
  deliver(fullName: string, event: string, payload: unknown, secret?: string): Promise<number>;
  /** a pull_request.closed payload (contract-checked) for a pull request */
  closedPayload(fullName: string, number: number): unknown;
  stop(): Promise<void>;
}

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

type Json = Record<string, any>;

/** Deep overlay: `over`'s values on `base` (objects merged, everything else replaced). */
function overlay<T>(base: T, over: Json): T {
  const out: Json = { ...(base as Json) };
  for (const [k, v] of Object.entries(over)) {
    out[k] = v && typeof v === 'object' && !Array.isArray(v) && out[k] && typeof out[k] === 'object' && !Array.isArray(out[k]) ? overlay(out[k], v) : v;
  }
  return out as T;
}

const now = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z');

/** The operations Stageline calls, compiled before the first request. */
const USED: [string, string, number[]][] = [
  ['GET', '/user', [200]],
  ['GET', '/repos/{owner}/{repo}', [200, 404]],
  ['GET', '/repos/{owner}/{repo}/branches/{branch}', [200, 404]],
  ['GET', '/repos/{owner}/{repo}/pulls', [200]],
  ['POST', '/repos/{owner}/{repo}/pulls', [201, 422]],
  ['GET', '/repos/{owner}/{repo}/pulls/{pull_number}', [200, 404]],
  ['PATCH', '/repos/{owner}/{repo}/pulls/{pull_number}', [200]],
  ['PUT', '/repos/{owner}/{repo}/pulls/{pull_number}/merge', [200, 405, 409]],
  ['POST', '/repos/{owner}/{repo}/pulls/{pull_number}/requested_reviewers', [201]],
  ['POST', '/repos/{owner}/{repo}/issues/{issue_number}/labels', [200]],
  ['POST', '/repos/{owner}/{repo}/issues/{issue_number}/comments', [201]],
  ['GET', '/repos/{owner}/{repo}/commits/{ref}/check-runs', [200]],
  ['GET', '/repos/{owner}/{repo}/commits/{ref}/status', [200]],
  ['DELETE', '/repos/{owner}/{repo}/git/refs/{ref}', [204, 422]],
];

export async function startGitHubStandin(g: GitServer): Promise<GitHubStandin> {
  warm(USED, ['pull-request-closed', 'check-run-completed']);
  const access = new Map<string, Set<string>>();
  const hooks = new Map<string, { url: string; secret: string }>();
  const pulls = new Map<string, Pull[]>();
  const checks = new Map<string, { id: number; name: string; conclusion: 'success' | 'failure' | null; at: string }[]>();
  const violations: string[] = [];
  const seen = new Map<string, number>();
  let ids = 1000;

  const bare = (fullName: string) => join(g.root, `${fullName}.git`);
  const git = (fullName: string, ...args: string[]) => g.git(bare(fullName), ...args).trim();
  const head = (fullName: string, branch: string): string | null => {
    try {
      return git(fullName, 'rev-parse', '--verify', '-q', `refs/heads/${branch}`);
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

  function user(login: string) {
    return overlay(sample('/components/schemas/simple-user'), { login, id: 1, type: 'User', html_url: `https://github.example.test/${login}` });
  }
  function repository(fullName: string, schema = 'repository') {
    const [owner, name] = fullName.split('/') as [string, string];
    return overlay(sample(`/components/schemas/${schema}`), {
      id: 42,
      name,
      full_name: fullName,
      owner: user(owner),
      private: true,
      default_branch: 'main',
      html_url: `${base}/${fullName}`,
      clone_url: `${g.url}/${fullName}.git`,
    });
  }
  function mergeState(fullName: string, p: Pull): { mergeable: boolean | null; state: string } {
    if (p.state !== 'open') return { mergeable: null, state: 'unknown' };
    const b = head(fullName, p.base);
    const h = head(fullName, p.head);
    if (!b || !h) return { mergeable: false, state: 'dirty' };
    if (!ok(() => git(fullName, 'merge-tree', '--write-tree', b, h))) return { mergeable: false, state: 'dirty' };
    if (p.draft) return { mergeable: true, state: 'draft' };
    if (!ok(() => git(fullName, 'merge-base', '--is-ancestor', b, h))) return { mergeable: true, state: 'behind' };
    const runs = checks.get(`${fullName}@${h}`) ?? [];
    if (runs.some((r) => r.conclusion !== 'success')) return { mergeable: true, state: 'blocked' };
    return { mergeable: true, state: 'clean' };
  }
  function pullJson(fullName: string, p: Pull, schema: 'pull-request' | 'pull-request-simple' = 'pull-request') {
    const [owner] = fullName.split('/') as [string];
    // A merged pull request keeps the head it was merged at (GitHub's head.sha), even after its branch is deleted.
    const h = p.headAtEnd ?? head(fullName, p.head) ?? p.mergeCommit ?? '0'.repeat(40);
    const ms = mergeState(fullName, p);
    const ref = (branch: string, sha: string) => ({ ref: branch, sha, label: `${owner}:${branch}`, repo: repository(fullName), user: user(owner) });
    return overlay(sample(`/components/schemas/${schema}`), {
      id: p.number + 5000,
      number: p.number,
      state: p.state,
      title: p.title,
      body: p.body,
      draft: p.draft,
      user: user(p.author ?? 'stageline-bot'),
      url: `${base}/repos/${fullName}/pulls/${p.number}`,
      html_url: `${base.replace('/api/v3', '')}/${fullName}/pull/${p.number}`,
      created_at: p.createdAt,
      updated_at: now(),
      closed_at: p.closedAt,
      merged_at: p.mergedAt,
      merge_commit_sha: p.mergeCommit,
      head: ref(p.head, h),
      base: ref(p.base, head(fullName, p.base) ?? '0'.repeat(40)),
      labels: p.labels.map((name, i) => overlay(sample('/components/schemas/pull-request/properties/labels/items'), { id: i + 1, name })),
      requested_reviewers: p.reviewers.map(user),
      ...(schema === 'pull-request'
        ? { merged: p.merged, mergeable: ms.mergeable, mergeable_state: ms.state, comments: p.comments.length, commits: 1, changed_files: 1 }
        : {}),
    });
  }

  const notFound = { message: 'Not Found', documentation_url: 'https://docs.github.com/rest' };

  /** The API: [status, body]; the contract checks run around it. */
  function route(method: string, url: URL, token: string, body: Json | undefined): [number, unknown] {
    // The token's own user (every token the stand-in knows is the bot's).
    if (method === 'GET' && url.pathname === '/user')
      return access.has(token)
        ? [200, overlay(sample('/components/schemas/private-user'), user('stageline-bot'))]
        : [401, { message: 'Bad credentials', documentation_url: '' }];
    const m = /^\/repos\/([^/]+)\/([^/]+)(\/.*)?$/.exec(url.pathname);
    if (!m) return [404, notFound];
    const fullName = `${m[1]}/${m[2]}`;
    // GitHub answers 404 for a repository the token cannot see (never 403: that would confirm it exists).
    if (!access.get(token)?.has(fullName) || !ok(() => git(fullName, 'rev-parse', '--git-dir'))) return [404, notFound];
    const rest = m[3] ?? '';
    const list = pulls.get(fullName) ?? [];
    pulls.set(fullName, list);
    const pull = (n: string) => list.find((p) => p.number === Number(n));
    let r: RegExpExecArray | null;
    if (method === 'GET' && rest === '') return [200, repository(fullName, 'full-repository')];
    if (method === 'GET' && (r = /^\/branches\/(.+)$/.exec(rest))) {
      const sha = head(fullName, decodeURIComponent(r[1]!));
      if (!sha) return [404, notFound];
      return [
        200,
        overlay(sample('/components/schemas/branch-with-protection'), {
          name: decodeURIComponent(r[1]!),
          commit: overlay(sample('/components/schemas/commit'), { sha }),
          protected: true,
        }),
      ];
    }
    if (method === 'GET' && rest === '/pulls') {
      const want = url.searchParams.get('head');
      const state = url.searchParams.get('state') ?? 'open';
      const found = list
        .filter((p) => (!want || `${m[1]}:${p.head}` === want) && (state === 'all' || p.state === state))
        .sort((a, b) => b.number - a.number)
        .map((p) => pullJson(fullName, p, 'pull-request-simple'));
      return [200, found];
    }
    if (method === 'POST' && rest === '/pulls') {
      const b = body ?? {};
      if (!head(fullName, b.base))
        return [422, { message: 'Validation Failed', errors: [{ resource: 'PullRequest', field: 'base', code: 'invalid' }], documentation_url: '' }];
      if (!head(fullName, b.head))
        return [422, { message: 'Validation Failed', errors: [{ resource: 'PullRequest', field: 'head', code: 'invalid' }], documentation_url: '' }];
      // GitHub allows one open pull request per head and base.
      if (list.some((p) => p.state === 'open' && p.head === b.head && p.base === b.base))
        return [
          422,
          {
            message: 'Validation Failed',
            errors: [{ resource: 'PullRequest', code: 'custom', message: `A pull request already exists for ${m[1]}:${b.head}.` }],
            documentation_url: '',
          },
        ];
      const p: Pull = {
        number: list.length + 1,
        title: b.title,
        body: b.body ?? '',
        head: b.head,
        base: b.base,
        draft: !!b.draft,
        state: 'open',
        merged: false,
        mergedAt: null,
        mergeCommit: null,
        closedAt: null,
        createdAt: now(),
        labels: [],
        reviewers: [],
        comments: [],
      };
      list.push(p);
      return [201, pullJson(fullName, p)];
    }
    if ((r = /^\/pulls\/(\d+)$/.exec(rest))) {
      const p = pull(r[1]!);
      if (!p) return [404, notFound];
      if (method === 'GET') return [200, pullJson(fullName, p)];
      if (method === 'PATCH') {
        if (body?.state === 'closed' && p.state === 'open') Object.assign(p, { state: 'closed', closedAt: now() });
        return [200, pullJson(fullName, p)];
      }
    }
    if (method === 'PUT' && (r = /^\/pulls\/(\d+)\/merge$/.exec(rest))) {
      const p = pull(r[1]!);
      if (!p) return [404, notFound];
      const ms = mergeState(fullName, p);
      if (p.state !== 'open' || ms.state !== 'clean') return [405, { message: 'Pull Request is not mergeable', documentation_url: '' }];
      if (body?.sha && body.sha !== head(fullName, p.head))
        return [409, { message: 'Head branch was modified. Review and try the merge again.', documentation_url: '' }];
      const sha = mergeNow(fullName, p);
      if (!sha) return [405, { message: 'Pull Request is not mergeable', documentation_url: '' }];
      return [200, { sha, merged: true, message: 'Pull Request successfully merged' }];
    }
    if (method === 'POST' && (r = /^\/pulls\/(\d+)\/requested_reviewers$/.exec(rest))) {
      const p = pull(r[1]!);
      if (!p) return [404, notFound];
      p.reviewers.push(...((body?.reviewers as string[]) ?? []));
      return [201, pullJson(fullName, p, 'pull-request-simple')];
    }
    if (method === 'POST' && (r = /^\/issues\/(\d+)\/labels$/.exec(rest))) {
      const p = pull(r[1]!);
      if (!p) return [404, notFound];
      p.labels.push(...((body?.labels as string[]) ?? []));
      return [
        200,
        p.labels.map((name, i) => overlay(sample('/components/schemas/label'), { id: i + 1, name, url: `${base}/repos/${fullName}/labels/${name}` })),
      ];
    }
    if (method === 'POST' && (r = /^\/issues\/(\d+)\/comments$/.exec(rest))) {
      const p = pull(r[1]!);
      if (!p) return [404, notFound];
      p.comments.push(String(body?.body ?? ''));
      return [201, overlay(sample('/components/schemas/issue-comment'), { id: ids++, body: String(body?.body ?? ''), user: user('stageline-bot') })];
    }
    if (method === 'GET' && (r = /^\/commits\/(.+)\/check-runs$/.exec(rest))) {
      const runs = checks.get(`${fullName}@${decodeURIComponent(r[1]!)}`) ?? [];
      return [
        200,
        {
          total_count: runs.length,
          check_runs: runs.map((c) =>
            overlay(sample('/components/schemas/check-run'), {
              id: c.id,
              name: c.name,
              head_sha: decodeURIComponent(r![1]!),
              status: c.conclusion ? 'completed' : 'in_progress',
              conclusion: c.conclusion,
              html_url: `${base}/${fullName}/runs/${c.id}`,
              started_at: c.at,
              completed_at: c.conclusion ? c.at : null,
            }),
          ),
        },
      ];
    }
    if (method === 'GET' && (r = /^\/commits\/(.+)\/status$/.exec(rest))) {
      return [
        200,
        overlay(sample('/components/schemas/combined-commit-status'), {
          state: 'success',
          statuses: [],
          sha: decodeURIComponent(r[1]!),
          total_count: 0,
          repository: repository(fullName, 'minimal-repository'),
        }),
      ];
    }
    if (method === 'DELETE' && (r = /^\/git\/refs\/(.+)$/.exec(rest)) && decodeURIComponent(r[1]!).startsWith('heads/')) {
      const branch = decodeURIComponent(r[1]!).slice('heads/'.length);
      if (!head(fullName, branch)) return [422, { message: 'Reference does not exist', documentation_url: '' }];
      git(fullName, 'update-ref', '-d', `refs/heads/${branch}`);
      return [204, undefined];
    }
    return [404, notFound];
  }

  /** A real merge commit of the head into the base (no fast-forward), as GitHub's merge button makes. */
  function mergeNow(fullName: string, p: Pull): string | null {
    const work = mkdtempSync(join(tmpdir(), 'standin-merge-'));
    try {
      g.git(work, 'clone', '-q', bare(fullName), 'w');
      const w = join(work, 'w');
      g.git(w, 'checkout', '-q', p.base);
      try {
        g.git(w, 'merge', '--no-ff', '-q', '-m', `Merge pull request #${p.number} from ${fullName.split('/')[0]}/${p.head}`, `origin/${p.head}`);
      } catch {
        return null;
      }
      g.git(w, 'push', '-q', 'origin', p.base);
      const sha = g.git(w, 'rev-parse', 'HEAD').trim();
      Object.assign(p, { state: 'closed', merged: true, mergedAt: now(), closedAt: now(), mergeCommit: sha, headAtEnd: head(fullName, p.head) ?? undefined });
      return sha;
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }

  const faults: { method: string; path: RegExp; status: number; left: number; headers: Record<string, string> }[] = [];
  let faulted = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://standin');
      url.pathname = url.pathname.replace(/^\/api\/v3/, '');
      const method = req.method ?? 'GET';
      const raw = Buffer.concat(chunks).toString('utf8');
      let body: Json | undefined;
      try {
        body = raw ? (JSON.parse(raw) as Json) : undefined;
      } catch {
        violations.push(`${method} ${url.pathname}: the body is not JSON`);
      }
      const checked = (what: string, fn: () => string[]) => {
        try {
          violations.push(...fn());
        } catch (err) {
          violations.push(`${method} ${url.pathname}: ${what} could not be checked: ${(err as Error).message}`);
        }
      };
      checked('the request', () => requestViolations(method, url, body));
      // An injected hiccup: the host answers with an error of its infrastructure, not of the API (no contract answer).
      const fault = faults.find((f) => f.left > 0 && f.method === method && f.path.test(url.pathname));
      if (fault) {
        fault.left--;
        faulted++;
        res.writeHead(fault.status, { 'content-type': 'application/json; charset=utf-8', ...fault.headers });
        res.end(JSON.stringify({ message: fault.status === 429 ? 'API rate limit exceeded' : 'Service Unavailable' }));
        return;
      }
      const auth = String(req.headers.authorization ?? '');
      const token = auth.replace(/^(token|bearer)\s+/i, '');
      let status: number;
      let out: unknown;
      try {
        [status, out] = route(method, url, token, body);
      } catch (err) {
        [status, out] = [500, { message: (err as Error).message }];
        violations.push(`${method} ${url.pathname}: the stand-in failed: ${(err as Error).message}`);
      }
      checked('the response', () => responseViolations(method, url, status, out));
      const key = `${method} ${url.pathname.replace(/\/\d+(?=\/|$)/g, '/{n}')}`;
      seen.set(key, (seen.get(key) ?? 0) + 1);
      res.writeHead(status, out === undefined ? {} : { 'content-type': 'application/json; charset=utf-8' });
      res.end(out === undefined ? undefined : JSON.stringify(out));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const base = `http://127.0.0.1:${(server.address() as { port: number }).port}/api/v3`;

  function closedPayload(fullName: string, number: number) {
    const p = (pulls.get(fullName) ?? []).find((x) => x.number === number)!;
    const prSchema = '/x-webhooks/pull-request-closed/post/requestBody/content/application~1json/schema';
    const payload = overlay(sample(prSchema), {
      action: 'closed',
      number,
      pull_request: { ...pullJson(fullName, p), merged: p.merged, state: 'closed', closed_at: p.closedAt ?? now() },
      repository: repository(fullName),
      sender: user('someone'),
    });
    return payload;
  }

  async function deliver(fullName: string, event: string, payload: unknown, secret?: string): Promise<number> {
    const h = hooks.get(fullName);
    if (!h) return 0;
    const text = JSON.stringify(payload);
    const res = await fetch(h.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-github-event': event,
        'x-github-delivery': randomUUID(),
        'x-hub-signature-256': `sha256=${createHmac('sha256', secret ?? h.secret)
          .update(text)
          .digest('hex')}`,
        'user-agent': 'GitHub-Hookshot/standin',
      },
      body: text,
    });
    await res.text();
    return res.status;
  }

  async function sendClosed(fullName: string, number: number) {
    const payload = closedPayload(fullName, number);
    violations.push(...webhookViolations('pull-request-closed', payload));
    return hooks.has(fullName) ? deliver(fullName, 'pull_request', payload) : null;
  }

  return {
    url: base,
    violations,
    seen,
    allow(token, fullName) {
      access.set(token, (access.get(token) ?? new Set()).add(fullName));
    },
    hook(fullName, url, secret) {
      hooks.set(fullName, { url, secret });
    },
    unhook(fullName) {
      hooks.delete(fullName);
    },
    pulls: (fullName) => pulls.get(fullName) ?? [],
    failNext(method, path, status, times = 1, headers = {}) {
      faults.push({ method, path, status, left: times, headers });
    },
    failed: () => faulted,
    openAs(fullName, o) {
      const list = pulls.get(fullName) ?? [];
      pulls.set(fullName, list);
      const p: Pull = {
        number: list.length + 1,
        title: o.title ?? `From ${o.author}`,
        body: '',
        head: o.head,
        base: o.base,
        draft: false,
        state: 'open',
        merged: false,
        mergedAt: null,
        mergeCommit: null,
        closedAt: null,
        createdAt: now(),
        labels: [],
        reviewers: [],
        comments: [],
        author: o.author,
      };
      list.push(p);
      return p;
    },
    retarget(fullName, number, base) {
      const p = (pulls.get(fullName) ?? []).find((x) => x.number === number)!;
      p.base = base;
    },
    async check(fullName, sha, name, conclusion) {
      const key = `${fullName}@${sha}`;
      const runs = checks.get(key) ?? [];
      const run = runs.find((r) => r.name === name) ?? { id: ids++, name, conclusion: null, at: now() };
      Object.assign(run, { conclusion, at: now() });
      if (!runs.includes(run)) runs.push(run);
      checks.set(key, runs);
      if (!conclusion || !hooks.has(fullName)) return null;
      const p = (pulls.get(fullName) ?? []).find((x) => head(fullName, x.head) === sha);
      const payload = overlay(sample('/x-webhooks/check-run-completed/post/requestBody/content/application~1json/schema'), {
        action: 'completed',
        check_run: {
          id: run.id,
          name,
          head_sha: sha,
          status: 'completed',
          conclusion,
          check_suite: { head_branch: p?.head ?? null, head_sha: sha },
        },
        repository: repository(fullName),
        sender: user('ci'),
      });
      violations.push(...webhookViolations('check-run-completed', payload));
      return deliver(fullName, 'check_run', payload);
    },
    async merge(fullName, number) {
      const p = (pulls.get(fullName) ?? []).find((x) => x.number === number);
      if (!p || p.state !== 'open') throw new Error(`#${number} is not open`);
      if (!mergeNow(fullName, p)) throw new Error(`#${number} does not merge`);
      return sendClosed(fullName, number);
    },
    async close(fullName, number) {
      const p = (pulls.get(fullName) ?? []).find((x) => x.number === number);
      if (!p || p.state !== 'open') throw new Error(`#${number} is not open`);
      Object.assign(p, { state: 'closed', closedAt: now() });
      return sendClosed(fullName, number);
    },
    deliver,
    closedPayload,
    stop: () => new Promise<void>((r) => server.close(() => r())),
  };
}
