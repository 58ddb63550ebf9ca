import { ValidationFailed } from '#domain/kernel/errors';
import { promqlProblem } from '#domain/verification/promql';
import { analysisTemplateBody, putAnalysisTemplate } from '#domain/verification/templates';
import { httpHandler } from '../http/handler.ts';
import { templateParams } from '../http/template-params.ts';

/**
 * Creates or replaces one analysis template (checked: conditions compiled, placeholders named, bakes that attach it long
 * enough; a Prometheus query parsed with Prometheus' own grammar, which only this function carries).
 */
export const handler = httpHandler({ params: templateParams, body: analysisTemplateBody }, async ({ deps, ctx, params, body }) => {
  const problem = body.provider.type === 'prometheus' ? promqlProblem(body.provider.query) : null;
  if (problem) throw new ValidationFailed([{ path: 'body.provider.query', message: problem }]);
  return putAnalysisTemplate(deps, ctx, params.name, body);
});
