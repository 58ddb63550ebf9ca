import * as z from '#domain/kernel/zod';
import { deleteItem } from '#domain/config/items';
import { itemParams as params } from '../http/params.ts';
import { httpHandler } from '../http/handler.ts';

const query = z.strictObject({
  version: z.queryInt(1),
  reason: z.optional(z.string().check(z.trim(), z.minLength(1), z.regex(/\S/, 'must not be blank'), z.maxLength(1000))),
});

export const handler = httpHandler({ params, query, status: 204, errors: [423, 503] }, async ({ deps, ctx, params, query, route }) =>
  deleteItem(deps, ctx, route.context!.kind!, params.env, params.id, query),
);
