import { createPromotion } from '#domain/promotion/request/request';
import { promotionView } from '#domain/promotion/views';
import * as z from '#domain/kernel/zod';
import { ValidationFailed } from '#domain/kernel/errors';
import {
  createAgentPromotion,
  createArtifactPromotion,
  createBundlePromotion,
  createConfigPromotion,
  createPromotion as anySubject,
  type CreateConfigPromotion,
} from '#domain/kernel/promotion-schemas';
import type { Route } from '../http/routes.ts';
import { httpHandler, WithHeaders } from '../http/handler.ts';
import { sfnWorkflowFromEnv } from '../adapters/sfn-workflow.ts';
import { schedulerOnFirstUse } from '../adapters/scheduler-on-first-use.ts';
import { compose } from '../http/deps.ts';

/**
 * /config/promotions takes only config promotions and leaves the
 * promotion waiting for `validate` unless autoStart is given; /promotions takes either subject
 * and starts the gates at once. A dry-run creates nothing: 200, not 201.
 */
const anyShape = /* @__PURE__ */ z.union([createConfigPromotion, createArtifactPromotion, createBundlePromotion, createAgentPromotion]);
const docBody = (route: Route) => (route.context?.subject === 'config' ? createConfigPromotion : anyShape);

/** This function's adapters: the store, and workflow and scheduler (a promotion starts its flow and schedules its deadline). */
const wiring = compose({ workflow: sfnWorkflowFromEnv, scheduler: () => schedulerOnFirstUse() });

export const handler = httpHandler(
  { wiring, body: anySubject, docBody, status: 201, otherSuccess: { 200: 'A dry run (dryRun: true): the preview; nothing is created' } },
  async ({ deps, ctx, body, route }) => {
    const configRoute = route.context?.subject === 'config';
    if (configRoute && ('artifact' in body || 'agentId' in body || 'bundle' in body)) {
      const field = 'artifact' in body ? 'artifact' : 'bundle' in body ? 'bundle' : 'agentId';
      throw new ValidationFailed([
        { path: `body.${field}`, message: `${route.path} promotes configs only; promote an artifact, a bundle or an agent with POST /api/v1/promotions` },
      ]);
    }
    const input = configRoute ? { ...(body as CreateConfigPromotion), autoStart: body.autoStart ?? false } : body;
    const result = await createPromotion(deps, ctx, input);
    return 'dryRun' in result ? new WithHeaders(result, {}, 200) : promotionView(result);
  },
);
