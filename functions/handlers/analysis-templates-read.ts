import * as z from '#domain/kernel/zod';
import { getAnalysisTemplate, listAnalysisTemplates } from '#domain/verification/templates';
import { httpHandler } from '../http/handler.ts';
import { templateParams } from '../http/template-params.ts';

const params = /* @__PURE__ */ z.schema(() => z.object({ name: z.optional(templateParams.shape.name) }));

/** The tenant's analysis templates (the list with the set's version), or one of them. */
export const handler = httpHandler({ params }, async ({ deps, ctx, params }) =>
  params.name ? getAnalysisTemplate(deps, ctx, params.name) : listAnalysisTemplates(deps, ctx),
);
