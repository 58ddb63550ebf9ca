import * as z from '#domain/kernel/zod';
import { listFreezeWindows, removeFreezeWindow } from '#domain/freeze/windows';
import { envName } from '#domain/kernel/schemas';
import { httpHandler, WithHeaders } from '../http/handler.ts';
import { freezeParams } from '../http/params.ts';

/**
 * Freeze windows: list (viewer) and remove (admin); adding one is freeze-create. One function for
 * the three routes without a body; each route's role is checked by the middleware as everywhere.
 */
const params = z.object({ env: z.optional(envName), id: z.optional(freezeParams.shape.id) });

export const handler = httpHandler({ params }, async ({ deps, ctx, params, route }) => {
  if (route.method === 'DELETE') {
    await removeFreezeWindow(deps, ctx, params.id!);
    return new WithHeaders(null, {}, 204);
  }
  return listFreezeWindows(deps, ctx, params.env);
});
