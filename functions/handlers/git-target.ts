import { deleteGitTarget, getGitTarget } from '#domain/gitops/service';
import { httpHandler, WithHeaders } from '../http/handler.ts';
import { envParams } from '../http/params.ts';

/** An environment's git target: read it (viewer) or remove it (admin). Setting it is git-target-put. */
export const handler = httpHandler({ params: envParams }, async ({ deps, ctx, params, route }) => {
  if (route.method === 'DELETE') {
    await deleteGitTarget(deps, ctx, params.env);
    return new WithHeaders(null, {}, 204);
  }
  return getGitTarget(deps, ctx, params.env);
});
