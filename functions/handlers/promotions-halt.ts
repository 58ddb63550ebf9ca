import * as z from '#domain/kernel/zod';
import { haltRollout } from '#domain/promotion/waves';
import { promotionDetail } from '#domain/promotion/views';
import { promotionParams as params } from '../http/params.ts';
import { httpHandler } from '../http/handler.ts';

const body = /* @__PURE__ */ z.schema(() =>
  z.strictObject({
    reason: z._default(z.string().check(z.trim(), z.minLength(1), z.regex(/\S/, 'must not be blank'), z.maxLength(1000)), 'halted by the release manager'),
  }),
);

/** Halting writes the promotion only: the next wave's task finds it halted and keeps its token for the resume. */
export const handler = httpHandler({ params, body, bodyOptional: true }, async ({ deps, ctx, params, body }) =>
  promotionDetail(deps, await haltRollout(deps, ctx, params.id, body.reason)),
);
