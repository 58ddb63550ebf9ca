import * as z from 'zod';
import { deleteItem } from '#domain/items';
import { itemParams as params } from '../http/params.ts';
import { httpHandler } from '../http/handler.ts';

const query = z
  .object({ version: z.coerce.number().int().min(1).optional(), reason: z.string().trim().min(1).regex(/\S/, 'must not be blank').max(1000).optional() })
  .strict();

export const handler = httpHandler({ params, query, status: 204, errors: [423, 503] }, async ({ deps, ctx, params, query, route }) =>
  deleteItem(deps, ctx, route.context!.kind!, params.env, params.id, query),
);
