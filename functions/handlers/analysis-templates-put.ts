import { analysisTemplateBody, putAnalysisTemplate } from '#domain/verification/templates';
import { httpHandler } from '../http/handler.ts';
import { templateParams } from '../http/template-params.ts';

/** Creates or replaces one analysis template (checked: conditions compiled, placeholders named, bakes that attach it long enough). */
export const handler = httpHandler({ params: templateParams, body: analysisTemplateBody }, async ({ deps, ctx, params, body }) =>
  putAnalysisTemplate(deps, ctx, params.name, body),
);
