import * as z from '#domain/kernel/zod';
import { targetName } from '#domain/kernel/target-schemas';
import { confirmTarget } from '#domain/promotion/rollout/confirm';
import { haltRollout, resumeRollout } from '#domain/promotion/rollout/halt';
import { promotionDetail } from '#domain/promotion/views';
import { promotionParams } from '../http/params.ts';
import { httpHandler } from '../http/handler.ts';
import { sfnWorkflowFromEnv } from '../adapters/sfn-workflow.ts';
import { schedulerOnFirstUse } from '../adapters/scheduler-on-first-use.ts';
import { compose } from '../http/deps.ts';

/**
 * A rollout through an environment's targets (domain/promotion/rollout/): halt before the next wave,
 * resume, and a deployer's confirmation of one target. One function for the three routes (one role);
 * the workflow answers the task token a resume or a confirmation releases (a resumed wave that may not start yet,
 * for a freeze or a start window, is handed back to WaveStart, which checks it and waits).
 */
const wiring = compose({ workflow: sfnWorkflowFromEnv, scheduler: () => schedulerOnFirstUse() });

const params = /* @__PURE__ */ z.schema(() => z.extend(promotionParams, { target: z.optional(targetName) }));
const text = (max: number) => z.optional(z.string().check(z.trim(), z.minLength(1), z.regex(/\S/, 'must not be blank'), z.maxLength(max)));
const body = /* @__PURE__ */ z.schema(() => z.strictObject({ reason: text(1000), note: text(500) }));

export const handler = httpHandler({ wiring, params, body, bodyOptional: true }, async ({ deps, ctx, params, body, route }) => {
  if (params.target) {
    const t = await confirmTarget(deps, ctx, params.id, params.target, body.note ?? body.reason);
    return { promotionId: params.id, target: t.name, state: t.state, confirmedAt: t.confirm!.at!, confirmedBy: t.confirm!.by! };
  }
  if (route.path.endsWith('/halt')) return promotionDetail(deps, await haltRollout(deps, ctx, params.id, body.reason ?? 'halted by the release manager'));
  return promotionDetail(deps, await resumeRollout(deps, ctx, params.id, body.reason));
});
