import * as z from '#domain/kernel/zod';
import { listFreezeWindows, removeFreezeWindow } from '#domain/freeze/windows';
import { envName } from '#domain/kernel/schemas';
import { freezeHoldsEnded } from '#domain/promotion/run/freeze-hold';
import { httpHandler, WithHeaders } from '../http/handler.ts';
import { compose } from '../http/deps.ts';
import { freezeParams } from '../http/params.ts';
import { schedulerOnFirstUse } from '../adapters/scheduler-on-first-use.ts';

/**
 * Freeze windows: list (viewer) and remove (admin); adding one is freeze-create. One function for
 * the three routes without a body; each route's role is checked by the middleware as everywhere.
 * Its adapters: the store and the scheduler (a window removed moves the schedules of what it held to now).
 */
const wiring = compose({ scheduler: () => schedulerOnFirstUse() });

const params = z.object({ env: z.optional(envName), id: z.optional(freezeParams.shape.id) });

export const handler = httpHandler({ wiring, params }, async ({ deps, ctx, params, route }) => {
  if (route.method === 'DELETE') {
    // The freeze ends now: what it held is looked at again now, not at the end it was told.
    await freezeHoldsEnded(deps, await removeFreezeWindow(deps, ctx, params.id!));
    return new WithHeaders(null, {}, 204);
  }
  return listFreezeWindows(deps, ctx, params.env);
});
