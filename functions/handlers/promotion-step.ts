import * as z from '#domain/kernel/zod';
import { awaitGoStep, decideStep, executeStep } from '#domain/promotion/steps';
import { expireStep, failStep, verifyStep } from '#domain/promotion/finish';
import { ConfiguredRegistrySync } from '../adapters/registry-credentials.ts';
import { HttpGateProvider } from '../adapters/webhook-gates.ts';
import { CloudWatchAlarms } from '../adapters/cloudwatch-alarms.ts';
import { compose } from '../http/deps.ts';
import { IsomorphicGitWriter } from '../adapters/git-writer.ts';
import { logged } from '../adapters/observability.ts';
import { sfnWorkflowFromEnv } from '../adapters/sfn-workflow.ts';
import { schedulerFromEnv } from '../adapters/scheduler.ts';

/**
 * This function's adapters: the store, the workflow (task tokens) and the scheduler (a freeze's
 * resume); it alone calls tenant URLs (webhook gates, registries), reads monitors' alarm states
 * before executing (DescribeAlarms) and commits to environments' git targets (isomorphic-git, in memory).
 */
const wiring = compose({
  workflow: sfnWorkflowFromEnv,
  scheduler: schedulerFromEnv,
  gates: () => new HttpGateProvider(),
  registry: () => new ConfiguredRegistrySync(),
  alarms: () => new CloudWatchAlarms(),
  git: () => new IsomorphicGitWriter(),
});

/**
 * The task Lambda of statemachines/promotion.asl.json: one entry for every
 * step, validated with zod. Errors keep their `name` (TargetBusy,
 * PromotionFailed), which Step Functions matches in Retry/Catch.
 */
export const stepInput = z.object({
  step: z.enum(['decide', 'await-go', 'execute', 'verify', 'expire', 'fail']),
  tenant: z.string().check(z.minLength(1)),
  promotionId: z.string().check(z.minLength(1)),
  taskToken: z.optional(z.string()),
  error: z.optional(z.unknown()),
  /** execute: whether a bake time follows (false: change the target and complete in one step) */
  bake: z.optional(z.boolean()),
  /** the execution running this step ($$.Execution.Id): logged with the step, for following one promotion across services */
  executionArn: z.optional(z.string()),
});

/** One JSON line per step (tenant, promotion, execution, step, next, ms); a failed step's line names the error. */
export const handler = async (event: unknown) => {
  const input = stepInput.parse(event);
  const keys = { tenant: input.tenant, promotionId: input.promotionId, executionArn: input.executionArn, step: input.step };
  return logged(
    'step',
    keys,
    () => runStep(input),
    (out) => ({ next: (out as { next?: string }).next }),
  );
};

async function runStep(input: z.infer<typeof stepInput>) {
  const d = wiring.deps();
  switch (input.step) {
    case 'decide':
      return decideStep(d, input.tenant, input.promotionId, z.string().check(z.minLength(1)).parse(input.taskToken));
    case 'await-go':
      await awaitGoStep(d, input.tenant, input.promotionId, z.string().check(z.minLength(1)).parse(input.taskToken));
      return {};
    case 'execute':
      return executeStep(d, input.tenant, input.promotionId, input.bake ?? true);
    case 'verify':
      return verifyStep(d, input.tenant, input.promotionId);
    case 'expire':
      return expireStep(d, input.tenant, input.promotionId);
    case 'fail':
      return failStep(d, input.tenant, input.promotionId, input.error);
  }
}
