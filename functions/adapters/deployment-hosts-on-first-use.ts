import type { DeploymentHosts } from '#domain/gitops/ports';
import { onFirstUse } from './on-first-use.ts';

/** The answers to gated deploy jobs (functions/adapters/deployment-hosts.ts), loaded on first use: most events a delivery function takes end no gated run. */
export const deploymentHostsOnFirstUse = (): DeploymentHosts =>
  onFirstUse<DeploymentHosts>(() => import('./deployment-hosts.ts').then((m) => new m.DeploymentHostCalls()), {
    githubInstallationToken: true,
    githubReview: true,
    gitlabApproval: true,
  });
