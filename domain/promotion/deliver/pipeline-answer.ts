import type { With } from '../../kernel/deps.ts';
import { apiBaseOf, reviewComment, reviewOf, type DeploymentGate, type DeploymentRun } from '../../gitops/deployment-gate.ts';

/**
 * The answers to pipeline runs gated by Stageline (domain/gitops/deployment-gate.ts; the runs are recorded by
 * request/pipeline-gate.ts): once a promotion has ended, each run waiting on it is told — GitHub's review endpoint
 * with an installation token made from the App's key, GitLab's deployment approval with the approver's token.
 * Apart from the request side, so the delivery function that answers carries none of the promotion's request code.
 */

/**
 * Answers the runs waiting on a promotion once it has ended (on the promotion's final events, by the delivery
 * function): approved when it completed, rejected otherwise. Each run is answered once (its answer recorded by a
 * conditional write); GitHub's own "already answered" counts as answered.
 */
export async function answerDeploymentRuns(deps: With<'secrets' | 'deploymentHosts'>, tenant: string, promotionId: string): Promise<number> {
  const runs = (await deps.store.deploymentRunsOf(tenant, promotionId)).filter((r) => !r.answer);
  let n = 0;
  for (const run of runs) {
    const gate = await deps.store.getDeploymentGate(tenant, run.environment);
    if (gate && (await answerRun(deps, gate, run))) n++;
  }
  return n;
}

export async function answerRun(
  deps: With<'secrets' | 'deploymentHosts'>,
  gate: DeploymentGate,
  run: DeploymentRun,
  refused?: string,
): Promise<DeploymentRun | null> {
  if (run.answer) return run;
  const p = run.promotionId ? await deps.store.getPromotion(run.tenant, run.promotionId) : null;
  const state = refused || !p ? 'rejected' : reviewOf(p.status);
  if (!state) return null;
  const link = p && deps.publicUrl ? `${deps.publicUrl}/dashboard#/promotions/${p.id}` : null;
  const comment = reviewComment(state, p, link, refused);
  const apiUrl = apiBaseOf(gate);
  if (gate.app) {
    const privateKey = await deps.secrets.resolve(run.tenant, gate.app.privateKeySecret, 'github-app-key');
    if (!privateKey) throw new Error(`the GitHub App's private key (secret ${gate.app.privateKeySecret}) is gone: run ${run.runId} cannot be answered`);
    const token = await deps.deploymentHosts.githubInstallationToken({ apiUrl, appId: gate.app.id, privateKey, installationId: run.installationId });
    await deps.deploymentHosts.githubReview({
      apiUrl,
      token,
      repository: run.repository,
      runId: run.runId,
      environmentName: run.hostEnvironment,
      state,
      comment,
    });
  } else {
    const token = await deps.secrets.resolve(run.tenant, gate.gitlab!.tokenSecret, 'gitlab-token');
    if (!token) throw new Error(`the GitLab token (secret ${gate.gitlab!.tokenSecret}) is gone: deployment ${run.runId} cannot be answered`);
    await deps.deploymentHosts.gitlabApproval({ apiUrl, token, project: run.repository, deploymentId: run.runId, status: state, comment });
  }
  const answer = { state, comment, at: deps.clock().toISOString() } as const;
  await deps.store.answerDeploymentRun(run, answer);
  return { ...run, answer };
}
