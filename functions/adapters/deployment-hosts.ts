import { createPrivateKey } from 'node:crypto';
import type { DeploymentHosts } from '#domain/gitops/ports';
import { guardedFetch, readLimited } from './outbound.ts';

/**
 * The calls that answer gated deploy jobs, through the outbound rules (public addresses only, no redirects, bounded
 * time). GitHub: the App's JWT (RS256, ten minutes at most, as GitHub documents; signed with the App's private key,
 * PKCS#1 as GitHub hands it out or PKCS#8), exchanged for an installation token (an hour, never stored), and the
 * review of a run's deployment protection rule with that token. GitLab: the deployment's approval or rejection
 * with the approving user's token.
 */
export class DeploymentHostCalls implements DeploymentHosts {
  async githubInstallationToken(a: { apiUrl: string; appId: string; privateKey: string; installationId: number }): Promise<string> {
    const jwt = await githubAppJwt(a.appId, a.privateKey);
    const res = await guardedFetch(`${a.apiUrl}/app/installations/${a.installationId}/access_tokens`, {
      method: 'POST',
      headers: headers(jwt),
      timeoutMs: 10_000,
    });
    const text = await readLimited(res);
    if (res.status !== 201) throw new Error(`GitHub refused an installation token for installation ${a.installationId}: ${res.status} ${brief(text)}`);
    const token = (JSON.parse(text) as { token?: unknown }).token;
    if (typeof token !== 'string' || !token) throw new Error('GitHub answered an installation token without its token');
    return token;
  }

  async githubReview(a: {
    apiUrl: string;
    token: string;
    repository: string;
    runId: string;
    environmentName: string;
    state: 'approved' | 'rejected';
    comment: string;
  }): Promise<void> {
    const res = await guardedFetch(`${a.apiUrl}/repos/${a.repository}/actions/runs/${a.runId}/deployment_protection_rule`, {
      method: 'POST',
      headers: { ...headers(a.token), 'content-type': 'application/json' },
      body: JSON.stringify({ environment_name: a.environmentName, state: a.state, comment: a.comment }),
      timeoutMs: 10_000,
    });
    const text = await readLimited(res);
    // 204: answered. GitHub answers 422 when the run waits on nothing any more (answered before, or cancelled): nothing to do.
    if (res.status === 204 || res.status === 422) return;
    throw new Error(`GitHub refused the review of run ${a.runId}: ${res.status} ${brief(text)}`);
  }

  async gitlabApproval(a: {
    apiUrl: string;
    token: string;
    project: string;
    deploymentId: string;
    status: 'approved' | 'rejected';
    comment: string;
  }): Promise<void> {
    const res = await guardedFetch(`${a.apiUrl}/api/v4/projects/${encodeURIComponent(a.project)}/deployments/${a.deploymentId}/approval`, {
      method: 'POST',
      headers: { 'private-token': a.token, 'content-type': 'application/json', 'user-agent': 'stageline' },
      body: JSON.stringify({ status: a.status, comment: a.comment }),
      timeoutMs: 10_000,
    });
    const text = await readLimited(res);
    // 201: recorded. GitLab answers 400 when the deployment waits for no approval any more (approved or rejected before): nothing to do.
    if (res.status === 201 || res.status === 400) return;
    throw new Error(`GitLab refused the approval of deployment ${a.deploymentId}: ${res.status} ${brief(text)}`);
  }
}

/** The GitHub App's JWT: RS256 with its private key (PKCS#1 as GitHub hands it out, or PKCS#8), issued a minute back (GitHub's advice against clock drift), expiring within GitHub's ten minutes. */
export async function githubAppJwt(appId: string, privateKey: string): Promise<string> {
  let key;
  try {
    key = createPrivateKey(privateKey);
  } catch {
    throw new Error("the GitHub App's private key is not a PEM private key");
  }
  const now = Math.floor(Date.now() / 1000);
  // jose on first use: the delivery function's other events never load it.
  const { SignJWT } = await import('jose');
  return new SignJWT({})
    .setProtectedHeader({ alg: 'RS256', typ: 'JWT' })
    .setIssuer(appId)
    .setIssuedAt(now - 60)
    .setExpirationTime(now + 540)
    .sign(key);
}

export const headers = (credential: string) => ({
  accept: 'application/vnd.github+json',
  authorization: `Bearer ${credential}`,
  'x-github-api-version': '2022-11-28',
  'user-agent': 'stageline',
});

/** GitHub's message, never more than a line (an answer never carries the token). */
export const brief = (text: string) => {
  try {
    const m = (JSON.parse(text) as { message?: unknown }).message;
    return typeof m === 'string' ? m.slice(0, 200) : '';
  } catch {
    return text.slice(0, 200);
  }
};
