import { httpHandler, WithHeaders } from '../http/handler.ts';
import { envParams as params } from '../http/params.ts';

/** An environment's deployment gate: read it (viewer) or remove it (admin). Setting it is deployment-gate-put. */
export const handler = httpHandler({ params }, async ({ deps, ctx, params, route }) => {
  // The use cases on first use: the function's other admin saves never need them.
  const { deleteDeploymentGate, getDeploymentGate } = await import('#domain/gitops/deployment-gate-service');
  if (route.method === 'DELETE') {
    await deleteDeploymentGate(deps, ctx, params.env);
    return new WithHeaders(null, {}, 204);
  }
  return getDeploymentGate(deps, ctx, params.env);
});
