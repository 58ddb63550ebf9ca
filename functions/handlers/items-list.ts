import * as z from '#domain/zod';
import { listItems } from '#domain/items';
import { page as query } from '#domain/schemas';
import { envParams as params } from '../http/params.ts';
import { httpHandler } from '../http/handler.ts';

export const handler = httpHandler({ params, query: z.strictObject(query.shape) }, async ({ deps, ctx, params, query, route }) =>
  listItems(deps, ctx, route.context!.kind!, params.env, query.limit, query.cursor),
);
