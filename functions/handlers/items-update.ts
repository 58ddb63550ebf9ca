import { updateItem } from '#domain/config/items';
import { updateItem as body } from '#domain/kernel/schemas';
import { itemParams as params } from '../http/params.ts';
import { httpHandler } from '../http/handler.ts';

export const handler = httpHandler(
  { readOnly: ['id', 'kind', 'key', 'updatedAt', 'updatedBy'], params, body, errors: [423, 503] },
  async ({ deps, ctx, params, body, route }) => updateItem(deps, ctx, route.context!.kind!, params.env, params.id, body),
);
