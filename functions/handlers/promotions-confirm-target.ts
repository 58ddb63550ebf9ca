import * as z from '#domain/kernel/zod';
import { targetName } from '#domain/kernel/target-schemas';
import { confirmTarget } from '#domain/promotion/waves';
import { promotionParams } from '../http/params.ts';
import { httpHandler } from '../http/handler.ts';
import { sfnWorkflowFromEnv } from '../adapters/sfn-workflow.ts';
import { compose } from '../http/deps.ts';

/** This function's adapters: the store, and the workflow (a confirmation answers the target's task token). */
const wiring = compose({ workflow: sfnWorkflowFromEnv });

const params = /* @__PURE__ */ z.schema(() => z.extend(promotionParams, { target: targetName }));
const body = /* @__PURE__ */ z.schema(() => z.strictObject({ note: z.optional(z.string().check(z.trim(), z.minLength(1), z.maxLength(500))) }));

export const handler = httpHandler({ wiring, params, body, bodyOptional: true }, async ({ deps, ctx, params, body }) => {
  const t = await confirmTarget(deps, ctx, params.id, params.target, body.note);
  return { promotionId: params.id, target: t.name, state: t.state, confirmedAt: t.confirm!.at!, confirmedBy: t.confirm!.by! };
});
