import type { GitOpsStatus } from '#domain/promotion/ports';
import { onFirstUse } from './on-first-use.ts';

/** Argo CD and Flux reads of a GitOps confirmation (functions/adapters/gitops-status.ts): loaded by the first poll. */
export const gitopsStatusOnFirstUse = (): GitOpsStatus =>
  onFirstUse<GitOpsStatus>(() => import('./gitops-status.ts').then((m) => new m.GuardedGitOpsStatus()), { argocdApplication: true, fluxKustomization: true });
