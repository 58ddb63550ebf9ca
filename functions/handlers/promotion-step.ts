import * as z from '#domain/kernel/zod';
import { runStep, STEP_NAMES } from '#domain/promotion/run/step-table';
import { alarmsOnFirstUse } from '../adapters/alarms-on-first-use.ts';
import { gatesOnFirstUse } from '../adapters/gates-on-first-use.ts';
import { gitOnFirstUse } from '../adapters/git-on-first-use.ts';
import { probeOnFirstUse } from '../adapters/probe-on-first-use.ts';
import { registryOnFirstUse } from '../adapters/registry-on-first-use.ts';
import { workflowOnFirstUse } from '../adapters/workflow-on-first-use.ts';
import { schedulerOnFirstUse } from '../adapters/scheduler-on-first-use.ts';
import { compose } from '../http/deps.ts';
import { metricsOnFirstUse } from '../adapters/metrics-on-first-use.ts';
import { gitopsStatusOnFirstUse } from '../adapters/gitops-status-on-first-use.ts';
import { logged } from '../adapters/observability.ts';

/**
 * This function's adapters: the store, the workflow (task tokens) and the scheduler (a freeze's
 * resume); it alone calls tenant URLs (webhook gates, registries), reads monitors' alarm states
 * before executing (DescribeAlarms), measures analyses (Prometheus, CloudWatch GetMetricData, Datadog, web) and commits to environments' git targets (isomorphic-git, in memory).
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
});

/**
 * The task Lambda of statemachines/promotion.asl.json: one entry for every
 * step of the step table (domain/promotion/run/step-table.ts), validated with zod.
 * Errors keep their `name` (TargetBusy, PromotionFailed), which Step Functions
 * matches in Retry/Catch.
 */
export const stepInput = z.object({
  step: z.enum(STEP_NAMES),
  tenant: z.string().check(z.minLength(1)),
  promotionId: z.string().check(z.minLength(1)),
  taskToken: z.optional(z.string()),
  error: z.optional(z.unknown()),
  /** execute: whether a bake time follows (false: change the target and complete in one step) */
  bake: z.optional(z.boolean()),
  /** a rollout's steps: the target (target-apply, target-health, target-baked), the wave (wave-start), the wave's bake (target-baked) */
  target: z.optional(z.string().check(z.minLength(1), z.maxLength(40))),
  wave: z.optional(z.number().check(z.int(), z.minimum(1))),
  bakeSeconds: z.optional(z.number().check(z.int(), z.minimum(0))),
  /** the execution running this step ($$.Execution.Id): logged with the step, for following one promotion across services */
  executionArn: z.optional(z.string()),
});

/** One JSON line per step (tenant, promotion, execution, step, next, ms); a failed step's line names the error. */
export const handler = async (event: unknown) => {
  const input = stepInput.parse(event);
  return logged(
    'step',
    { tenant: input.tenant, promotionId: input.promotionId, executionArn: input.executionArn, step: input.step },
    () => runStep(wiring.deps(), input),
    (out) => ({ next: (out as { next?: string }).next }),
  );
};
