import { deleteEnvironment } from '#domain/config/environments';
import { envParams as params, optionalReason as query } from '../http/params.ts';
import { httpHandler } from '../http/handler.ts';

export const handler = httpHandler({ params, query, status: 204 }, async ({ deps, ctx, params, query }) =>
  deleteEnvironment(deps, ctx, params.env, query.reason),
);
