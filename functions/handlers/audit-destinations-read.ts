import * as z from '#domain/kernel/zod';
import { getAuditDestination, listAuditDestinations } from '#domain/audit/stream';
import { httpHandler } from '../http/handler.ts';
import { destinationParams } from '../http/audit-params.ts';

const params = z.object({ name: z.optional(destinationParams.shape.name) });

/** The audit stream's destinations (list, one): settings with every secret masked, where shipping stands, the lag and the dead letters. */
export const handler = httpHandler({ params }, async ({ deps, ctx, params }) =>
  params.name ? getAuditDestination(deps, ctx, params.name) : listAuditDestinations(deps, ctx),
);
