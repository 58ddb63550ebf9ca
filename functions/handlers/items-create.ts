import { createItem } from '#domain/config/items';
import { createItem as body } from '#domain/kernel/schemas';
import { envParams as params } from '../http/params.ts';
import { httpHandler } from '../http/handler.ts';

export const handler = httpHandler({ params, body, status: 201, errors: [423, 503] }, async ({ deps, ctx, params, body, route }) =>
  createItem(deps, ctx, route.context!.kind!, params.env, body),
);
