import * as z from '#domain/kernel/zod';
import { listItems } from '#domain/config/items';
import { page as query } from '#domain/kernel/schemas';
import { envParams as params } from '../http/params.ts';
import { httpHandler } from '../http/handler.ts';

export const handler = httpHandler({ params, query: z.strictObject(query.shape) }, async ({ deps, ctx, params, query, route }) =>
  listItems(deps, ctx, route.context!.kind!, params.env, query.limit, query.cursor),
);
