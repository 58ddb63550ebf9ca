import * as z from 'zod';
import { awaitStep, executeStep, expireStep, failStep, gatesStep, verifyStep } from '#domain/promotion/steps';
import { ConfiguredRegistrySync } from '../adapters/registry-credentials.ts';
import { HttpGateProvider } from '../adapters/webhook-gates.ts';
import { deps, registerOutbound } from '../http/deps.ts';

// Only this function calls tenant URLs (webhook gates, registries): it alone bundles those adapters.
registerOutbound(() => ({ gates: new HttpGateProvider(), registry: new ConfiguredRegistrySync() }));

/**
 * The task Lambda of statemachines/promotion.asl.json: one entry for every
 * step, validated with zod. Errors keep their `name` (TargetBusy,
 * PromotionFailed), which Step Functions matches in Retry/Catch.
 */
export const stepInput = z.object({
  step: z.enum(['gates', 'await-approval', 'await-go', 'execute', 'verify', 'expire', 'fail']),
  tenant: z.string().min(1),
  promotionId: z.string().min(1),
  taskToken: z.string().optional(),
  error: z.unknown().optional(),
  /** execute: whether a bake time follows (false: change the target and complete in one step) */
  bake: z.boolean().optional(),
});

export const handler = async (event: unknown) => {
  const input = stepInput.parse(event);
  const d = deps();
  switch (input.step) {
    case 'gates':
      return gatesStep(d, input.tenant, input.promotionId);
    case 'await-approval':
    case 'await-go':
      await awaitStep(d, input.tenant, input.promotionId, z.string().min(1).parse(input.taskToken), input.step === 'await-approval' ? 'approval' : 'go');
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
};
