import { runStep, stepInput } from '#domain/promotion/step/step-table';
import { alarmsOnFirstUse } from '../adapters/alarms-on-first-use.ts';
import { gatesOnFirstUse } from '../adapters/gates-on-first-use.ts';
import { gitOnFirstUse } from '../adapters/git-on-first-use.ts';
import { probeOnFirstUse } from '../adapters/probe-on-first-use.ts';
import { registryOnFirstUse } from '../adapters/registry-on-first-use.ts';
import { workflowOnFirstUse } from '../adapters/workflow-on-first-use.ts';
import { schedulerOnFirstUse } from '../adapters/scheduler-on-first-use.ts';
import { compose } from '../http/deps.ts';
import { changesOnFirstUse } from '../adapters/change-on-first-use.ts';
import { ciRunsOnFirstUse } from '../adapters/ci-runs-on-first-use.ts';
import { metricsOnFirstUse } from '../adapters/metrics-on-first-use.ts';
import { gitopsStatusOnFirstUse } from '../adapters/gitops-status-on-first-use.ts';
import { logged, withLambdaContext } from '../adapters/observability.ts';
import { anchorOnFirstUse } from '../adapters/anchor-on-first-use.ts';

/**
 * This function's adapters: the store, the workflow (task tokens), the scheduler (a freeze's resume); it alone
 * calls tenant URLs (webhook gates, registries, git targets), reads alarm states, measures analyses and verifies
 * the attestations an environment requires (the audit key's public half).
 */
const wiring = compose({
  workflow: workflowOnFirstUse,
  scheduler: () => schedulerOnFirstUse(),
  gates: gatesOnFirstUse,
  registry: registryOnFirstUse,
  alarms: alarmsOnFirstUse,
  git: gitOnFirstUse,
  probe: probeOnFirstUse,
  metrics: metricsOnFirstUse,
  gitopsStatus: gitopsStatusOnFirstUse,
  anchor: anchorOnFirstUse,
  // Change control (domain/promotion/run/change-hold.ts): the tenants' change management tools, opened with their sealed credentials.
  changes: changesOnFirstUse,
  // CI gates (domain/promotion/run/ci-hold.ts): GitHub Actions workflows and GitLab pipelines, started and read with the tenants' credentials.
  ciRuns: ciRunsOnFirstUse,
});

/**
 * The task Lambda of statemachines/promotion.asl.json: one entry for every step of the step table, its input
 * validated with the table's schema (stepInput). Errors keep their `name` (TargetBusy, PromotionFailed), which
 * Step Functions matches in Retry/Catch. One JSON line per step (tenant, promotion, execution, step, next, ms); a failed step's line names the error.
 */
export const handler = withLambdaContext(async (event: unknown) => {
  const input = stepInput.parse(event);
  return logged(
    'step',
    { tenant: input.tenant, promotionId: input.promotionId, executionArn: input.executionArn, step: input.step },
    () => runStep(wiring.deps(), input),
    (out) => ({ next: (out as { next?: string }).next }),
  );
});
