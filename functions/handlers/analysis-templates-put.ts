import { ValidationFailed } from '#domain/kernel/errors';
import { analysisTemplateBody, putAnalysisTemplate } from '#domain/verification/templates';
import { httpHandler } from '../http/handler.ts';
import { templateParams } from '../http/template-params.ts';

/**
 * Creates or replaces one analysis template (checked: conditions compiled, placeholders named, bakes that attach it long
 * enough; a Prometheus query parsed with Prometheus' own grammar, which only this function carries, loaded on first use).
 */
export const handler = httpHandler({ params: templateParams, body: analysisTemplateBody }, async ({ deps, ctx, params, body }) => {
  // The parser is loaded on first use (a chunk of its own): module init never reads it.
  const problem = body.provider.type === 'prometheus' ? (await import('#domain/verification/promql')).promqlProblem(body.provider.query) : null;
  if (problem) throw new ValidationFailed([{ path: 'body.provider.query', message: problem }]);
  return putAnalysisTemplate(deps, ctx, params.name, body);
});
