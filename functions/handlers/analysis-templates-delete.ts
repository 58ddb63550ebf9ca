import { deleteAnalysisTemplate } from '#domain/verification/templates';
import { httpHandler, WithHeaders } from '../http/handler.ts';
import { templateParams } from '../http/template-params.ts';

/** Removes one analysis template (409 while something attaches or uses it). */
export const handler = httpHandler({ params: templateParams, status: 204 }, async ({ deps, ctx, params }) => {
  await deleteAnalysisTemplate(deps, ctx, params.name);
  return new WithHeaders(null, {}, 204);
});
