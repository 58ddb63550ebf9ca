import { createHmac, randomUUID } from 'node:crypto';
import type { GitServer } from './git-server.ts';
import { USED, route } from './github-api.ts';
import { requestViolations, responseViolations, sample, warm, webhookViolations } from './github-contract.ts';
import { GitHubRepos, overlay, type Pull } from './github-repos.ts';
import { checkRunPayload, closedPayload, deliver, sendClosed } from './github-webhooks.ts';
import { now } from './standin-git.ts';
import { routed, startStandinServer } from './standin-server.ts';

export type { Pull } from './github-repos.ts';

/**
 * A stand-in of GitHub's REST API for the pull requests of repositories served by the test git server
 * (git http-backend): what Stageline calls through @octokit/rest, held to GitHub's published OpenAPI
 * description (github-contract.ts): every request it receives and every response it sends is checked,
 * and what does not hold is recorded in `violations` (the tests expect none). Branches, merges and
 * conflicts are real git operations on the served bare repositories. The test drives the host's side:
 * checks reported, a merge, a close by hand, each followed by the signed webhook GitHub would send.
 * The routes are in github-api.ts, the pull requests and their JSON in github-repos.ts, the deliveries in
 * github-webhooks.ts; the HTTP server and the git work are shared with the GitLab stand-in (standin-server.ts,
 * standin-git.ts).
 */
export interface GitHubStandin {
  /** the API base (GitHub Enterprise style: what a git target's pullRequest.apiUrl names) */
  url: string;
  violations: string[];
  /** requests checked against the contract, by "METHOD /template" */
  seen: Map<string, number>;
  /** gives `token` access to the repository `owner/name` (served by the git server as <owner>/<name>.git) */
  allow(token: string, fullName: string): void;
  /** makes `token` an installation token of the GitHub App `slug`: GET /user answers 403, and what it opens is by `<slug>[bot]` */
  installation(token: string, slug: string): void;
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
  /** installs the GitHub App `appId` (its public key, PEM) on these repositories as installation `installationId` */
  installApp(a: { appId: string; slug: string; publicKey: string; installationId: number; repos: string[] }): void;
  /**
   * A workflow job targets `environment`, which has the App's protection rule: the run waits, and GitHub sends the App's
   * webhook (deployment_protection_rule.requested, contract-checked) to `hook.url` signed with `hook.secret`. The
   * receiver's status and JSON answer, and the run's id (`runId` to send the same run again: a redelivery).
   */
  requestDeployment(
    fullName: string,
    a: { environment: string; sha: string; installationId: number; hook: { url: string; secret: string }; runId?: string },
  ): Promise<{ status: number; body: any; runId: string }>;
  /** a workflow of the repository that can be dispatched, declaring these inputs; `endsAs`: its runs are completed with this conclusion at once */
  addWorkflow(fullName: string, file: string, inputs: string[], endsAs?: string): void;
  /** the runs workflow_dispatch started, oldest first */
  workflowRuns(fullName: string): { id: number; workflow: string; ref: string; inputs: Record<string, string>; status: string; conclusion: string | null }[];
  /** a run moves on: in_progress, or completed with a conclusion (success, failure, cancelled…) */
  setRun(id: number, status: string, conclusion?: string | null): void;
  /** the reviews a waiting run was given (its state and comment, by the App's bot), in order */
  reviews(fullName: string, runId: string, environment: string): { state: string; comment: string; by: string }[];
  stop(): Promise<void>;
}

export async function startGitHubStandin(g: GitServer): Promise<GitHubStandin> {
  warm(USED, ['pull-request-closed', 'check-run-completed', 'deployment-protection-rule-requested']);
  const h = new GitHubRepos(g);
  const violations: string[] = [];
  const seen = new Map<string, number>();
  const faults: { method: string; path: RegExp; status: number; left: number; headers: Record<string, string> }[] = [];
  let faulted = 0;

  const server = await startStandinServer({
    violations,
    base: '/api/v3',
    baseRequired: false,
    contentType: 'application/json; charset=utf-8',
    handle(req) {
      const { method, url, body } = req;
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
        return { status: fault.status, body: { message: fault.status === 429 ? 'API rate limit exceeded' : 'Service Unavailable' }, headers: fault.headers };
      }
      const auth = String(req.headers.authorization ?? '');
      const token = auth.replace(/^(token|bearer)\s+/i, '');
      const [status, out] = routed(violations, req, () => route(h, method, url, token, body));
      checked('the response', () => responseViolations(method, url, status, out));
      const key = `${method} ${url.pathname.replace(/\/\d+(?=\/|$)/g, '/{n}')}`;
      seen.set(key, (seen.get(key) ?? 0) + 1);
      return { status, body: out };
    },
  });
  h.base = `${server.origin}/api/v3`;

  return {
    url: h.base,
    violations,
    seen,
    allow(token, fullName) {
      h.access.set(token, (h.access.get(token) ?? new Set()).add(fullName));
    },
    installation(token, slug) {
      h.apps.set(token, slug);
    },
    hook(fullName, url, secret) {
      h.hooks.set(fullName, { url, secret });
    },
    unhook(fullName) {
      h.hooks.delete(fullName);
    },
    pulls: (fullName) => h.pulls.get(fullName) ?? [],
    failNext(method, path, status, times = 1, headers = {}) {
      faults.push({ method, path, status, left: times, headers });
    },
    failed: () => faulted,
    openAs(fullName, o) {
      const list = h.list(fullName);
      const p = h.newPull(list, { title: o.title ?? `From ${o.author}`, body: '', head: o.head, base: o.base, draft: false, author: o.author });
      list.push(p);
      return p;
    },
    retarget(fullName, number, base) {
      const p = h.find(fullName, number)!;
      p.base = base;
    },
    async check(fullName, sha, name, conclusion) {
      const key = `${fullName}@${sha}`;
      const runs = h.checks.get(key) ?? [];
      const run = runs.find((r) => r.name === name) ?? { id: h.ids++, name, conclusion: null, at: now() };
      Object.assign(run, { conclusion, at: now() });
      if (!runs.includes(run)) runs.push(run);
      h.checks.set(key, runs);
      if (!conclusion || !h.hooks.has(fullName)) return null;
      const p = (h.pulls.get(fullName) ?? []).find((x) => h.head(fullName, x.head) === sha);
      const payload = checkRunPayload(h, fullName, sha, run, p?.head ?? null);
      violations.push(...webhookViolations('check-run-completed', payload));
      return deliver(h, fullName, 'check_run', payload);
    },
    async merge(fullName, number) {
      const p = h.find(fullName, number);
      if (!p || p.state !== 'open') throw new Error(`#${number} is not open`);
      if (!h.mergeNow(fullName, p)) throw new Error(`#${number} does not merge`);
      return sendClosed(h, violations, fullName, number);
    },
    async close(fullName, number) {
      const p = h.find(fullName, number);
      if (!p || p.state !== 'open') throw new Error(`#${number} is not open`);
      Object.assign(p, { state: 'closed', closedAt: now() });
      return sendClosed(h, violations, fullName, number);
    },
    deliver: (fullName, event, payload, secret) => deliver(h, fullName, event, payload, secret),
    closedPayload: (fullName, number) => closedPayload(h, fullName, number),
    installApp(a) {
      h.installations.set(a.installationId, { appId: a.appId, slug: a.slug, publicKey: a.publicKey, repos: new Set(a.repos) });
    },
    async requestDeployment(fullName, a) {
      const runId = a.runId ?? String(h.ids++ * 1000 + 7);
      const key = `${fullName}#${runId}#${a.environment}`.toLowerCase();
      if (!h.waiting.has(key)) h.waiting.set(key, { fullName, runId, environment: a.environment, reviews: [] });
      const payload = overlay(sample('/x-webhooks/deployment-protection-rule-requested/post/requestBody/content/application~1json/schema'), {
        action: 'requested',
        environment: a.environment,
        event: 'push',
        sha: a.sha,
        ref: 'refs/heads/main',
        deployment_callback_url: `${h.base}/repos/${fullName}/actions/runs/${runId}/deployment_protection_rule`,
        repository: h.repository(fullName, 'repository-webhooks'),
        installation: { id: a.installationId, node_id: 'MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9uMQ==' },
        sender: h.user('octocat'),
      });
      violations.push(...webhookViolations('deployment-protection-rule-requested', payload));
      const text = JSON.stringify(payload);
      const res = await fetch(a.hook.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-github-event': 'deployment_protection_rule',
          'x-github-delivery': randomUUID(),
          'x-github-hook-installation-target-type': 'integration',
          'x-hub-signature-256': `sha256=${createHmac('sha256', a.hook.secret).update(text).digest('hex')}`,
          'user-agent': 'GitHub-Hookshot/standin',
        },
        body: text,
      });
      const answer = await res.text();
      let body: unknown = answer;
      try {
        body = JSON.parse(answer);
      } catch {
        // not JSON: kept as text
      }
      return { status: res.status, body, runId };
    },
    addWorkflow: (fullName, file, inputs, endsAs) => void h.workflows.set(`${fullName}#${file}`.toLowerCase(), { inputs, endsAs: endsAs ?? null }),
    workflowRuns: (fullName) =>
      [...h.runs.entries()]
        .filter(([, r]) => r.fullName === fullName)
        .map(([id, r]) => ({ id, workflow: r.workflow, ref: r.ref, inputs: r.inputs, status: r.status, conclusion: r.conclusion })),
    setRun: (id, status, conclusion = null) => {
      const run = h.runs.get(id);
      if (!run) throw new Error(`no workflow run ${id}`);
      Object.assign(run, { status, conclusion });
    },
    reviews: (fullName, runId, environment) => h.waiting.get(`${fullName}#${runId}#${environment}`.toLowerCase())?.reviews ?? [],
    stop: () => server.stop(),
  };
}
