import { createPublicKey, randomBytes, verify } from 'node:crypto';
import { sample } from './github-contract.ts';
import { overlay, type GitHubRepos } from './github-repos.ts';
import { now, ok } from './standin-git.ts';
import type { Json } from './standin-server.ts';

/** The operations Stageline calls, compiled before the first request. */
export const USED: [string, string, number[]][] = [
  ['GET', '/user', [200, 403]],
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
  ['POST', '/app/installations/{installation_id}/access_tokens', [201, 401, 404]],
  ['POST', '/repos/{owner}/{repo}/actions/runs/{run_id}/deployment_protection_rule', [204]],
  ['GET', '/repos/{owner}/{repo}/installation', [200, 401, 404]],
  ['POST', '/repos/{owner}/{repo}/actions/workflows/{workflow_id}/dispatches', [200, 204, 404, 422]],
  ['GET', '/repos/{owner}/{repo}/actions/runs/{run_id}', [200, 404]],
];

const notFound = { message: 'Not Found', documentation_url: 'https://docs.github.com/rest' };

/**
 * GitHub's REST API as the stand-in serves it: [status, body] for a request, answered from the stand-in's state
 * (github-repos.ts) as GitHub answers it. The contract checks run around it (github-standin.ts).
 */
export function route(h: GitHubRepos, method: string, url: URL, token: string, body: Json | undefined): [number, unknown] {
  // The token's own user (every token the stand-in knows is the bot's). A GitHub App's installation token has no user:
  // GitHub answers 403 "Resource not accessible by integration".
  if (method === 'GET' && url.pathname === '/user')
    return h.apps.has(token)
      ? [
          403,
          {
            message: 'Resource not accessible by integration',
            documentation_url: 'https://docs.github.com/rest/users/users#get-the-authenticated-user',
            status: '403',
          },
        ]
      : h.access.has(token)
        ? [200, overlay(sample('/components/schemas/private-user'), h.user('stageline-bot'))]
        : [401, { message: 'Bad credentials', documentation_url: '' }];
  // A GitHub App's installation token, for a JWT the App signed with its private key (RS256; at most ten minutes).
  let t: RegExpExecArray | null;
  if (method === 'POST' && (t = /^\/app\/installations\/(\d+)\/access_tokens$/.exec(url.pathname))) {
    const inst = h.installations.get(Number(t[1]));
    const why = inst ? appJwtProblem(token, inst.appId, inst.publicKey) : null;
    if (!inst) return [404, notFound];
    if (why) return [401, { message: `A JSON web token could not be decoded (${why})`, documentation_url: 'https://docs.github.com/rest' }];
    const issued = `ghs_${randomBytes(18).toString('hex')}`;
    h.apps.set(issued, inst.slug);
    h.access.set(issued, new Set(inst.repos));
    return [201, overlay(sample('/components/schemas/installation-token'), { token: issued, expires_at: new Date(Date.now() + 3600_000).toISOString() })];
  }
  const m = /^\/repos\/([^/]+)\/([^/]+)(\/.*)?$/.exec(url.pathname);
  if (!m) return [404, notFound];
  const fullName = `${m[1]}/${m[2]}`;
  // The App's installation on a repository, asked with the App's JWT.
  if (method === 'GET' && m[3] === '/installation') {
    const found = [...h.installations.entries()].find(([, i]) => i.repos.has(fullName));
    if (!found) return [404, notFound];
    const why = appJwtProblem(token, found[1].appId, found[1].publicKey);
    if (why) return [401, { message: `A JSON web token could not be decoded (${why})`, documentation_url: 'https://docs.github.com/rest' }];
    return [200, overlay(sample('/components/schemas/installation'), { id: found[0], app_id: Number(found[1].appId), app_slug: found[1].slug })];
  }
  // GitHub answers 404 for a repository the token cannot see (never 403: that would confirm it exists).
  if (!h.access.get(token)?.has(fullName) || !ok(() => h.git(fullName, 'rev-parse', '--git-dir'))) return [404, notFound];
  const rest = m[3] ?? '';
  const list = h.list(fullName);
  const pull = (n: string) => list.find((p) => p.number === Number(n));
  let r: RegExpExecArray | null;
  if (method === 'GET' && rest === '') return [200, h.repository(fullName, 'full-repository')];
  if (method === 'POST' && (r = /^\/actions\/runs\/(\d+)\/deployment_protection_rule$/.exec(rest))) {
    // Only an App's installation token reviews; GitHub records the review on the waiting run (the stand-in keeps every one).
    const wait = h.waiting.get(`${fullName}#${r[1]}#${String(body?.environment_name ?? '')}`.toLowerCase());
    if (h.apps.has(token) && wait) wait.reviews.push({ state: String(body?.state), comment: String(body?.comment ?? ''), by: `${h.apps.get(token)}[bot]` });
    return [204, null];
  }
  if (method === 'POST' && (r = /^\/actions\/workflows\/([^/]+)\/dispatches$/.exec(rest))) {
    // An installation token needs Actions write; GitHub answers 404 for a workflow it does not know, 422 for inputs it does not declare.
    const file = decodeURIComponent(r[1]!);
    const wf = h.workflows.get(`${fullName}#${file}`.toLowerCase());
    if (!wf) return [404, notFound];
    if (!h.head(fullName, String(body?.ref))) return [422, { message: `No ref found for: ${String(body?.ref)}`, documentation_url: '' }];
    const inputs = (body?.inputs ?? {}) as Record<string, string>;
    const unexpected = Object.keys(inputs).filter((k) => !wf.inputs.includes(k));
    if (unexpected.length) return [422, { message: `Unexpected inputs provided: ${JSON.stringify(unexpected)}`, documentation_url: '' }];
    const id = h.ids++ * 1000 + 11;
    // A workflow set to end at once (endsAs) is completed when first read; otherwise it stays queued until the test moves it.
    h.runs.set(id, { fullName, workflow: file, ref: String(body?.ref), inputs, status: wf.endsAs ? 'completed' : 'queued', conclusion: wf.endsAs });
    if (!body?.return_run_details) return [204, undefined];
    return [200, { workflow_run_id: id, run_url: `${h.base}/repos/${fullName}/actions/runs/${id}`, html_url: `${h.base}/${fullName}/actions/runs/${id}` }];
  }
  if (method === 'GET' && (r = /^\/actions\/runs\/(\d+)$/.exec(rest))) {
    const run = h.runs.get(Number(r[1]));
    if (!run || run.fullName !== fullName) return [404, notFound];
    return [
      200,
      overlay(sample('/components/schemas/workflow-run'), {
        id: Number(r[1]),
        status: run.status,
        conclusion: run.conclusion,
        head_branch: run.ref,
        path: `.github/workflows/${run.workflow}`,
        event: 'workflow_dispatch',
        html_url: `${h.base}/${fullName}/actions/runs/${r[1]}`,
        url: `${h.base}/repos/${fullName}/actions/runs/${r[1]}`,
      }),
    ];
  }
  if (method === 'GET' && (r = /^\/branches\/(.+)$/.exec(rest))) {
    const sha = h.head(fullName, decodeURIComponent(r[1]!));
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
      .map((p) => h.pullJson(fullName, p, 'pull-request-simple'));
    return [200, found];
  }
  if (method === 'POST' && rest === '/pulls') {
    const b = body ?? {};
    if (!h.head(fullName, b.base))
      return [422, { message: 'Validation Failed', errors: [{ resource: 'PullRequest', field: 'base', code: 'invalid' }], documentation_url: '' }];
    if (!h.head(fullName, b.head))
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
    // What an installation token opens is by the app's bot (`<slug>[bot]`), not by a user.
    const app = h.apps.get(token);
    const p = h.newPull(list, { title: b.title, body: b.body ?? '', head: b.head, base: b.base, draft: !!b.draft, ...(app ? { author: `${app}[bot]` } : {}) });
    list.push(p);
    return [201, h.pullJson(fullName, p)];
  }
  if ((r = /^\/pulls\/(\d+)$/.exec(rest))) {
    const p = pull(r[1]!);
    if (!p) return [404, notFound];
    if (method === 'GET') return [200, h.pullJson(fullName, p)];
    if (method === 'PATCH') {
      if (body?.state === 'closed' && p.state === 'open') Object.assign(p, { state: 'closed', closedAt: now() });
      return [200, h.pullJson(fullName, p)];
    }
  }
  if (method === 'PUT' && (r = /^\/pulls\/(\d+)\/merge$/.exec(rest))) {
    const p = pull(r[1]!);
    if (!p) return [404, notFound];
    const ms = h.mergeState(fullName, p);
    if (p.state !== 'open' || ms.state !== 'clean') return [405, { message: 'Pull Request is not mergeable', documentation_url: '' }];
    if (body?.sha && body.sha !== h.head(fullName, p.head))
      return [409, { message: 'Head branch was modified. Review and try the merge again.', documentation_url: '' }];
    const sha = h.mergeNow(fullName, p);
    if (!sha) return [405, { message: 'Pull Request is not mergeable', documentation_url: '' }];
    return [200, { sha, merged: true, message: 'Pull Request successfully merged' }];
  }
  if (method === 'POST' && (r = /^\/pulls\/(\d+)\/requested_reviewers$/.exec(rest))) {
    const p = pull(r[1]!);
    if (!p) return [404, notFound];
    p.reviewers.push(...((body?.reviewers as string[]) ?? []));
    return [201, h.pullJson(fullName, p, 'pull-request-simple')];
  }
  if (method === 'POST' && (r = /^\/issues\/(\d+)\/labels$/.exec(rest))) {
    const p = pull(r[1]!);
    if (!p) return [404, notFound];
    p.labels.push(...((body?.labels as string[]) ?? []));
    return [
      200,
      p.labels.map((name, i) => overlay(sample('/components/schemas/label'), { id: i + 1, name, url: `${h.base}/repos/${fullName}/labels/${name}` })),
    ];
  }
  if (method === 'POST' && (r = /^\/issues\/(\d+)\/comments$/.exec(rest))) {
    const p = pull(r[1]!);
    if (!p) return [404, notFound];
    p.comments.push(String(body?.body ?? ''));
    return [201, overlay(sample('/components/schemas/issue-comment'), { id: h.ids++, body: String(body?.body ?? ''), user: h.user('stageline-bot') })];
  }
  if (method === 'GET' && (r = /^\/commits\/(.+)\/check-runs$/.exec(rest))) {
    const runs = h.checks.get(`${fullName}@${decodeURIComponent(r[1]!)}`) ?? [];
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
            html_url: `${h.base}/${fullName}/runs/${c.id}`,
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
        repository: h.repository(fullName, 'minimal-repository'),
      }),
    ];
  }
  if (method === 'DELETE' && (r = /^\/git\/refs\/(.+)$/.exec(rest)) && decodeURIComponent(r[1]!).startsWith('heads/')) {
    const branch = decodeURIComponent(r[1]!).slice('heads/'.length);
    if (!h.head(fullName, branch)) return [422, { message: 'Reference does not exist', documentation_url: '' }];
    h.git(fullName, 'update-ref', '-d', `refs/heads/${branch}`);
    return [204, undefined];
  }
  return [404, notFound];
}

/** Why a GitHub App JWT does not hold (null: it does): RS256 by the App's key, issued by the App, alive, at most ten minutes long. */
function appJwtProblem(jwt: string, appId: string, publicKey: string): string | null {
  const [h64, p64, s64] = jwt.split('.');
  if (!h64 || !p64 || !s64) return 'not a JWT';
  const json = (x: string) => JSON.parse(Buffer.from(x, 'base64url').toString('utf8')) as Record<string, unknown>;
  try {
    if (json(h64).alg !== 'RS256') return 'alg must be RS256';
    if (!verify('RSA-SHA256', Buffer.from(`${h64}.${p64}`), createPublicKey(publicKey), Buffer.from(s64, 'base64url'))) return 'bad signature';
    const c = json(p64);
    const now = Math.floor(Date.now() / 1000);
    if (String(c.iss) !== appId) return "'iss' is not the App's id";
    if (typeof c.exp !== 'number' || c.exp <= now) return 'expired';
    if (typeof c.iat !== 'number' || c.iat > now + 60 || c.exp - c.iat > 600) return "'exp' too far in the future";
    return null;
  } catch {
    return 'not a JWT';
  }
}
