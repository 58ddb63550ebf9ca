import type { RegistrySync } from '#domain/artifacts/ports';
import type { AlarmReader } from '#domain/freeze/monitors';
import type { GitWriter, PullRequestClient } from '#domain/gitops/ports';
import type { GateProvider, HealthProbe, Workflow } from '#domain/promotion/ports';
import type { Source } from '../configuration.ts';
import { onFirstUse } from './on-first-use.ts';

/**
 * Adapters that only some requests of a function use, each loaded on the first call of one of its
 * methods (onFirstUse): the same adapter modules, env and IAM (infra/adapters.ts reads them in the
 * bundle's chunks), but module init reads neither them nor their SDK clients.
 */

/** Step Functions (functions/adapters/sfn-workflow.ts): starts flows and resumes waiting tasks. */
export const workflowOnFirstUse = (source?: Source): Workflow =>
  onFirstUse<Workflow>(() => import('./sfn-workflow.ts').then(({ sfnWorkflowFromEnv }) => sfnWorkflowFromEnv(source)), {
    start: true,
    sendTaskSuccess: true,
    sendTaskFailure: true,
  });

/** Webhook gates (functions/adapters/webhook-gates.ts), called through the guarded outbound client. */
export const gatesOnFirstUse = (): GateProvider =>
  onFirstUse<GateProvider>(() => import('./webhook-gates.ts').then((m) => new m.HttpGateProvider()), { call: true });

/** Registry copies and referrers (functions/adapters/registry-credentials.ts, the OCI client under it). */
export const registryOnFirstUse = (): RegistrySync =>
  onFirstUse<RegistrySync>(() => import('./registry-credentials.ts').then((m) => new m.ConfiguredRegistrySync()), {
    sync: true,
    attach: true,
    verifySignature: true,
  });

/** CloudWatch alarm states of monitors (functions/adapters/cloudwatch-alarms.ts). */
export const alarmsOnFirstUse = (): AlarmReader =>
  onFirstUse<AlarmReader>(() => import('./cloudwatch-alarms.ts').then((m) => new m.CloudWatchAlarms()), { states: true });

/** Git targets' commits and pull requests (functions/adapters/git-writer.ts, the git hosts' APIs under it): one writer, made on first use. */
export function gitOnFirstUse(): GitWriter {
  let made: Promise<GitWriter> | undefined;
  const writer = () => (made ??= import('./git-writer.ts').then((m) => new m.IsomorphicGitWriter()));
  const own = onFirstUse<Pick<GitWriter, 'commit' | 'pushBranch'>>(writer, { commit: true, pushBranch: true });
  const hosts = onFirstUse<PullRequestClient>(() => writer().then((w) => w.hosts), {
    check: true,
    find: true,
    whoami: true,
    open: true,
    get: true,
    merge: true,
    close: true,
    deleteBranch: true,
  });
  return { ...own, hosts };
}

/** Health checks of a target after a change (functions/adapters/health-probe.ts). */
export const probeOnFirstUse = (): HealthProbe =>
  onFirstUse<HealthProbe>(() => import('./health-probe.ts').then((m) => new m.GuardedHealthProbe()), { check: true });
