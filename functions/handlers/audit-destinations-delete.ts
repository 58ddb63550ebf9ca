import { deleteAuditDestination } from '#domain/audit/stream';
import { httpHandler, WithHeaders } from '../http/handler.ts';
import { destinationParams as params } from '../http/audit-params.ts';

/** Removes a destination of the audit stream, its sealed secrets and its cursor (its dead letters with it). */
export const handler = httpHandler({ params, status: 204 }, async ({ deps, ctx, params }) => {
  await deleteAuditDestination(deps, ctx, params.name);
  return new WithHeaders(null, {}, 204);
});
