import type { SecretResolver } from '#domain/kernel/ports';
import { ciApiBase, type CiGate } from '#domain/kernel/ci-gate';
import { CiRefused, type CiRunState, type CiRuns } from '#domain/promotion/ports';
import { DeploymentHostCalls, brief, githubAppJwt, headers } from './deployment-hosts.ts';
import { guardedFetch, readLimited } from './outbound.ts';
import { secretsFromEnv } from './secrets.ts';

/**
 * The CI gates' runs, through the outbound rules (public addresses only, no redirects, bounded time).
 * - GitHub: the App's installation on the repository (GET /repos/{owner}/{repo}/installation with the App's JWT),
 *   an installation token (an hour, never stored), `workflow_dispatch` asking for the run's details
 *   (`return_run_details`), and the run read by its id.
 * - GitLab: a pipeline created on the ref with the inputs as variables (POST /projects/:id/pipeline), read by its id;
 *   with the token the tenant's secret holds (api scope).
 * A 4xx answer is CiRefused (looking again changes nothing); anything else thrown is a host that may come back.
 */
export class CiRunCalls implements CiRuns {
  constructor(
    private readonly secrets: SecretResolver = secretsFromEnv(),
    private readonly github = new DeploymentHostCalls(),
  ) {}

  async start(a: { tenant: string; gate: CiGate; inputs: Record<string, string> }): Promise<{ id: string; url: string }> {
    const base = ciApiBase(a.gate);
    if (a.gate.host === 'github') {
      const token = await this.githubToken(a.tenant, a.gate);
      const res = await guardedFetch(`${base}/repos/${a.gate.repository}/actions/workflows/${encodeURIComponent(a.gate.workflow!)}/dispatches`, {
        method: 'POST',
        headers: { ...headers(token), 'content-type': 'application/json' },
        body: JSON.stringify({ ref: a.gate.ref, inputs: a.inputs, return_run_details: true }),
        timeoutMs: 10_000,
      });
      const text = await readLimited(res);
      refuseOn4xx(res.status, `GitHub refused to run ${a.gate.workflow} on ${a.gate.ref}`, text);
      if (res.status !== 200) throw new Error(`GitHub answered the dispatch of ${a.gate.workflow} with ${res.status} ${brief(text)}`);
      const b = JSON.parse(text) as { workflow_run_id?: unknown; html_url?: unknown };
      if (typeof b.workflow_run_id !== 'number' || typeof b.html_url !== 'string') throw new Error("GitHub answered the dispatch without the run's details");
      return { id: String(b.workflow_run_id), url: webUrl(b.html_url) };
    }
    const token = await this.gitlabToken(a.tenant, a.gate);
    const res = await guardedFetch(`${base}/api/v4/projects/${encodeURIComponent(a.gate.repository)}/pipeline`, {
      method: 'POST',
      headers: gitlabHeaders(token),
      body: JSON.stringify({ ref: a.gate.ref, variables: Object.entries(a.inputs).map(([key, value]) => ({ key, value, variable_type: 'env_var' })) }),
      timeoutMs: 10_000,
    });
    const text = await readLimited(res);
    refuseOn4xx(res.status, `GitLab refused to run a pipeline of ${a.gate.repository} on ${a.gate.ref}`, text);
    if (res.status !== 201) throw new Error(`GitLab answered the pipeline's creation with ${res.status} ${brief(text)}`);
    const b = JSON.parse(text) as { id?: unknown; web_url?: unknown };
    if (typeof b.id !== 'number' || typeof b.web_url !== 'string') throw new Error('GitLab answered the pipeline without its id');
    return { id: String(b.id), url: webUrl(b.web_url) };
  }

  async read(a: { tenant: string; gate: CiGate; runId: string }): Promise<CiRunState> {
    const base = ciApiBase(a.gate);
    if (!/^[0-9]{1,20}$/.test(a.runId)) throw new CiRefused(`run id ${a.runId} is not a number`);
    if (a.gate.host === 'github') {
      const token = await this.githubToken(a.tenant, a.gate);
      const res = await guardedFetch(`${base}/repos/${a.gate.repository}/actions/runs/${a.runId}`, { headers: headers(token), timeoutMs: 10_000 });
      const text = await readLimited(res);
      if (res.status !== 200) throw new Error(`GitHub answered run ${a.runId} with ${res.status} ${brief(text)}`);
      const b = JSON.parse(text) as { status?: unknown; conclusion?: unknown; html_url?: unknown };
      return { status: String(b.status ?? 'unknown'), conclusion: typeof b.conclusion === 'string' ? b.conclusion : null, url: webUrl(b.html_url) };
    }
    const token = await this.gitlabToken(a.tenant, a.gate);
    const res = await guardedFetch(`${base}/api/v4/projects/${encodeURIComponent(a.gate.repository)}/pipelines/${a.runId}`, {
      headers: gitlabHeaders(token),
      timeoutMs: 10_000,
    });
    const text = await readLimited(res);
    if (res.status !== 200) throw new Error(`GitLab answered pipeline ${a.runId} with ${res.status} ${brief(text)}`);
    const b = JSON.parse(text) as { status?: unknown; web_url?: unknown };
    const status = String(b.status ?? 'unknown');
    return { status, conclusion: null, url: webUrl(b.web_url) };
  }

  private async githubToken(tenant: string, gate: CiGate): Promise<string> {
    const app = gate.app!;
    const privateKey = await this.secrets.resolve(tenant, app.privateKeySecret, 'github-app-key');
    if (!privateKey) throw new CiRefused(`the GitHub App's private key (secret ${app.privateKeySecret}) is not set`);
    const apiUrl = ciApiBase(gate);
    // The App's installation on the repository, asked with the App's own JWT.
    const res = await guardedFetch(`${apiUrl}/repos/${gate.repository}/installation`, {
      headers: headers(await githubAppJwt(app.id, privateKey)),
      timeoutMs: 10_000,
    });
    const text = await readLimited(res);
    refuseOn4xx(res.status, `the GitHub App ${app.id} is not installed on ${gate.repository}`, text);
    if (res.status !== 200) throw new Error(`GitHub answered the App's installation with ${res.status} ${brief(text)}`);
    const installationId = (JSON.parse(text) as { id?: unknown }).id;
    if (typeof installationId !== 'number') throw new Error("GitHub answered the App's installation without its id");
    return this.github.githubInstallationToken({ apiUrl, appId: app.id, privateKey, installationId });
  }

  private async gitlabToken(tenant: string, gate: CiGate): Promise<string> {
    const token = await this.secrets.resolve(tenant, gate.gitlab!.tokenSecret, 'gitlab-token');
    if (!token) throw new CiRefused(`the GitLab token (secret ${gate.gitlab!.tokenSecret}) is not set`);
    return token;
  }
}

const gitlabHeaders = (token: string) => ({ 'private-token': token, 'content-type': 'application/json', 'user-agent': 'stageline' });

/** A 4xx (but a rate limit) is the host's refusal: its message, never a credential. */
function refuseOn4xx(status: number, what: string, text: string): void {
  if (status >= 400 && status < 500 && status !== 429) throw new CiRefused(`${what}: ${status} ${brief(text)}`);
}

/** A run's page as the host names it, kept only when it is an http(s) URL (it is shown as a link), bounded. */
const webUrl = (u: unknown) => (typeof u === 'string' && /^https?:\/\/[^\s]+$/i.test(u) ? u.slice(0, 2048) : '');
