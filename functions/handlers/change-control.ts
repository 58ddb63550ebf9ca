import { deleteChangeControl, getChangeControl } from '#domain/change/service';
import { httpHandler, WithHeaders } from '../http/handler.ts';
import { envParams as params } from '../http/params.ts';

/** An environment's change-control rule: read it (viewer) or remove it (admin). Setting it is change-control-put. */
export const handler = httpHandler({ params }, async ({ deps, ctx, params, route }) => {
  if (route.method === 'DELETE') {
    await deleteChangeControl(deps, ctx, params.env);
    return new WithHeaders(null, {}, 204);
  }
  return getChangeControl(deps, ctx, params.env);
});
